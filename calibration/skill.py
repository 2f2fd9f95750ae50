"""Out-of-sample skill of probabilistic predictions (issue #10 section 6), as pure functions.

The validation report compares the model's P(DEFECT) and P(SUCCESS) per campaign with what
happened, on the test split, next to a logistic regression on the same coded features fitted on
the fitting split. Everything here works on plain arrays: ``y`` the observed 0/1 outcomes, ``p``
the predicted probabilities, one entry per campaign.

* Brier score: mean of ``(p - y)^2`` (Brier 1950); lower is better.
* AUC: the probability that a random positive is ranked above a random negative, ties counting
  half (the Mann-Whitney form of the area under the ROC curve).
* Paired bootstrap: campaigns are resampled with replacement, the same resample for both
  predictors, and the statistic's difference is recomputed per resample; the interval is the
  percentile interval of those differences (Efron & Tibshirani 1993).
* Reliability: predictions binned by value; per bin the mean prediction against the observed
  rate with its Wilson interval.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from defection.stats import wilson

Metric = Callable[[NDArray[np.float64], NDArray[np.float64]], float]


def _arrays(y: ArrayLike, p: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    y_, p_ = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    if y_.shape != p_.shape or y_.ndim != 1:
        raise ValueError(f"y and p must be 1-d and of one length (got {y_.shape}, {p_.shape})")
    if not np.isin(y_, (0.0, 1.0)).all():
        raise ValueError("y must be 0 or 1")
    if ((p_ < 0) | (p_ > 1) | ~np.isfinite(p_)).any():
        raise ValueError("p must be probabilities in [0, 1]")
    return y_, p_


def brier(y: ArrayLike, p: ArrayLike) -> float:
    """Brier score ``mean((p - y)^2)``."""
    y_, p_ = _arrays(y, p)
    return float(np.mean((p_ - y_) ** 2))


def auc(y: ArrayLike, p: ArrayLike) -> float:
    """Area under the ROC curve, ``P(p_pos > p_neg) + 0.5 P(p_pos = p_neg)``.

    Returns NaN when ``y`` has only one class (the AUC is undefined).
    """
    y_, p_ = _arrays(y, p)
    pos, neg = p_[y_ == 1], p_[y_ == 0]
    if pos.size == 0 or neg.size == 0:
        return float("nan")
    greater = (pos[:, None] > neg[None, :]).sum()
    ties = (pos[:, None] == neg[None, :]).sum()
    return float((greater + 0.5 * ties) / (pos.size * neg.size))


def paired_bootstrap(
    y: ArrayLike,
    p_a: ArrayLike,
    p_b: ArrayLike,
    metric: Metric,
    n: int = 2000,
    level: float = 0.90,
    seed: int = 0,
) -> dict[str, float]:
    """Paired bootstrap of ``metric(y, p_a) - metric(y, p_b)``.

    Args:
        y: Observed outcomes (0/1).
        p_a: Predictions of the first model (e.g. the ABM).
        p_b: Predictions of the second (e.g. the logistic baseline).
        metric: :func:`brier` or :func:`auc`.
        n: Resamples.
        level: Interval level.
        seed: Seed of the resampling.

    Returns:
        ``a``, ``b`` and ``diff`` on the data, ``lo`` and ``hi`` of the percentile interval of
        the difference, and ``a_lo``, ``a_hi``, ``b_lo``, ``b_hi``, each model's own interval.
        Resamples where the metric is undefined (one class only, for the AUC) are skipped.
    """
    y_, a_ = _arrays(y, p_a)
    _, b_ = _arrays(y, p_b)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, y_.size, size=(n, y_.size))
    ma, mb = [], []
    for rows in idx:
        va, vb = metric(y_[rows], a_[rows]), metric(y_[rows], b_[rows])
        if np.isfinite(va) and np.isfinite(vb):
            ma.append(va)
            mb.append(vb)
    ma_, mb_ = np.array(ma), np.array(mb)
    q = [(1 - level) / 2, (1 + level) / 2]
    d_lo, d_hi = np.quantile(ma_ - mb_, q)
    a_lo, a_hi = np.quantile(ma_, q)
    b_lo, b_hi = np.quantile(mb_, q)
    a, b = metric(y_, a_), metric(y_, b_)
    return {
        "a": a,
        "b": b,
        "diff": a - b,
        "lo": float(d_lo),
        "hi": float(d_hi),
        "a_lo": float(a_lo),
        "a_hi": float(a_hi),
        "b_lo": float(b_lo),
        "b_hi": float(b_hi),
        "resamples": len(ma),
    }


def reliability(
    y: ArrayLike, p: ArrayLike, bins: int = 5, level: float = 0.90
) -> list[dict[str, float]]:
    """Reliability table: per bin of the prediction, mean prediction and observed rate.

    Bins are equal-width on [0, 1]; empty bins are left out. Each row has ``lo``, ``hi``,
    ``n``, ``mean_p``, ``rate`` and the rate's Wilson interval ``rate_lo``, ``rate_hi``.
    """
    y_, p_ = _arrays(y, p)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.searchsorted(edges, p_, side="right") - 1, 0, bins - 1)
    rows = []
    for b in range(bins):
        mine = which == b
        k, m = int(y_[mine].sum()), int(mine.sum())
        if m == 0:
            continue
        lo, hi = wilson(k, m, level)
        rows.append(
            {
                "lo": float(edges[b]),
                "hi": float(edges[b + 1]),
                "n": m,
                "mean_p": float(p_[mine].mean()),
                "rate": k / m,
                "rate_lo": lo,
                "rate_hi": hi,
            }
        )
    return rows
