"""Small statistics shared by the sweep report and the calibration (standard library only)."""

from __future__ import annotations

import math
from statistics import NormalDist


def wilson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial share ``k / n``.

    ``(p + z^2/2n -/+ z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)`` with ``z`` the normal quantile
    of ``(1 + level) / 2``; it stays inside [0, 1] and is honest for small ``n`` and shares near 0
    or 1, unlike the normal interval (Wilson 1927, JASA 22:209; Brown, Cai & DasGupta 2001,
    Stat. Sci. 16:101).

    Args:
        k: Successes.
        n: Trials.
        level: Two-sided confidence level.

    Returns:
        ``(low, high)``, which contains ``k / n``; ``(nan, nan)`` when ``n`` is 0.

    Raises:
        ValueError: ``k`` is not between 0 and ``n``.
    """
    if n == 0:
        return math.nan, math.nan
    if not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    z = NormalDist().inv_cdf(0.5 + level / 2)
    p = k / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # the interval contains p (rounding can put an end a hair past it when k is 0 or n)
    return min(max(0.0, centre - half), p), max(min(1.0, centre + half), p)
