"""Draw the NAVCO fitting campaigns a run-based refinement runs (calibration/specs/refine6.toml).

Stratified random draw from the runnable fitting campaigns (``navcases.runnable_fit_ids``; never
a test-set campaign): ``per_method`` campaigns of each method, so that the refinement's
per-method DEFECT cut has the same power for both, allocated within a method to participation
bins in proportion to the fitting set (largest remainders, as the NAVCO split allocates:
``calibration/split.py``), then drawn without replacement with
``numpy.random.default_rng(seed)``. Prints the sorted IDs and the allocation.

Usage::

    .venv/bin/python scripts/refine_campaigns.py [--per-method 18] [--seed 20261209]
"""

from __future__ import annotations

import argparse

import numpy as np

from defection.calibration import navcases, navco, validation
from defection.calibration.split import allocate


def draw(per_method: int, seed: int) -> tuple[list[int], dict[tuple[str, str], int]]:
    """The drawn campaign IDs (sorted) and the allocation by (method, bin)."""
    ids = navcases.runnable_fit_ids()
    facts = validation.unit_facts(navco.fitting_units()).loc[ids]
    rng = np.random.default_rng(seed)
    chosen: list[int] = []
    plan: dict[tuple[str, str], int] = {}
    for method in sorted(facts["method"].astype(str).unique()):
        mine = facts[facts["method"].astype(str) == method]
        sizes = mine.groupby(mine["bin"].astype(str)).size().to_dict()
        for b, k in sorted(allocate(sizes, sizes, per_method).items()):
            pool = sorted(int(i) for i in mine.index[mine["bin"].astype(str) == b])
            chosen += [int(i) for i in rng.choice(pool, size=k, replace=False)]
            plan[(method, b)] = k
    return sorted(chosen), plan


def main() -> None:
    """Print the allocation and the drawn IDs."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-method", type=int, default=18)
    ap.add_argument("--seed", type=int, default=20261209)
    args = ap.parse_args()
    ids, plan = draw(args.per_method, args.seed)
    print(", ".join(f"{m}/{b} {k}" for (m, b), k in plan.items() if k))
    print(ids)


if __name__ == "__main__":
    main()
