"""How far soldiers' best option falls short of staying: the gap D behind the choice noise.

With the random-utility choice (``soldiers.choice_noise`` tau > 0, ODD section 7.4) a soldier
whose best option (defect or desert) falls short of his threshold by ``D = theta - max(g_def,
g_des)`` still leaves with a daily chance of about ``exp(-D / tau)``, so over a year of T days
with about ``T exp(-D / tau)``. The registry's meaning text for ``soldiers.choice_noise`` reads
its range from the size of D at the calibrated defaults; this script measures D in a run:

    python scripts/choice_gap.py syria_2011 soviet_1991 [--days 100] [--seed 1] [--set NAME=VALUE]

For each scenario it runs ``--days`` days (at most) and prints the quantiles of D over every
soldier still in service on the first five and on the last five days decided, and the share of
them whose D is below ``tau ln T`` (about where ``T exp(-D / tau)`` reaches 1, a soldier who
would likely leave within a year at that noise) for tau = 0.5, 1 and 2. Nothing is stored.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence

import numpy as np

#: Quantiles printed.
QUANTILES = (0.01, 0.1, 0.5, 0.9)
#: Noise scales at which the share of soldiers likely to leave within a year is printed.
TAUS = (0.5, 1.0, 2.0)
#: Days of a year (the horizon of ``T exp(-D / tau)``).
YEAR = 365


def gaps(scenario: str, days: int, seed: int, overrides: dict) -> list[np.ndarray]:
    """Run ``scenario`` and return, per day decided, D of every soldier still in service.

    Raises:
        ValueError: The run's ``soldiers.choice_noise`` is 0 (the deterministic rule, no D).
    """
    from defection.model import soldier_rules, soldiers
    from defection.model.regime import RegimeModel

    m = RegimeModel(scenario, rng=seed, overrides={**overrides, "run.horizon": days})
    if m.p["soldiers.choice_noise"] <= 0:
        raise ValueError(
            f"{scenario}: soldiers.choice_noise is 0 (the deterministic threshold rule), so the "
            "gap D is never read; set it above 0"
        )
    out: list[np.ndarray] = []
    original = soldier_rules.choice_probabilities

    def recording(defect, desert, threshold, noise):
        best = np.maximum(np.asarray(defect, dtype=float), np.asarray(desert, dtype=float))
        out.append(np.asarray(threshold, dtype=float) - best)
        return original(defect, desert, threshold, noise)

    soldiers.soldier_rules.choice_probabilities = recording
    try:
        m.run()
    finally:
        soldiers.soldier_rules.choice_probabilities = original
    return out


def summary(name: str, days: list[np.ndarray]) -> list[str]:
    """Lines for one scenario: quantiles of D and the shares below ``tau ln T``."""
    lines = []
    for label, part in (("days 1-5", days[:5]), ("last 5 days", days[-5:])):
        d = np.concatenate(part) if part else np.zeros(0)
        if d.size == 0:
            lines.append(f"{name}, {label}: no soldier in service")
            continue
        q = ", ".join(
            f"{int(100 * p)}% {v:.1f}"
            for p, v in zip(QUANTILES, np.quantile(d, QUANTILES), strict=True)
        )
        below = ", ".join(f"tau {t:g}: {float((d < t * math.log(YEAR)).mean()):.0%}" for t in TAUS)
        lines.append(
            f"{name}, {label} ({d.size} choices): D quantiles {q}; D below tau ln {YEAR}: {below}"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Print the lines; exit 2 with a message on bad input."""
    from defection.cli import parse_sets
    from defection.model.scenario import ScenarioError

    ap = argparse.ArgumentParser(prog="python scripts/choice_gap.py")
    ap.add_argument("scenarios", nargs="+", help="scenario names or files")
    ap.add_argument("--days", type=int, default=100, help="days to run (default 100)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    args = ap.parse_args(argv)
    if args.days < 5 or args.seed < 0:
        print("--days must be at least 5 and --seed non-negative")
        return 2
    try:
        overrides = parse_sets(args.set)
        for name in args.scenarios:
            for line in summary(name, gaps(name, args.days, args.seed, overrides)):
                print(line)
    except (ScenarioError, ValueError) as exc:
        print(exc)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
