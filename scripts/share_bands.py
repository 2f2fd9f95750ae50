"""Where the cases' defected shares fall: none, below, inside or above the historical range.

A case clause such as "Syria: 1-4 % of the force defected on day 365" is met by few runs. This
script shows whether the misses are runs in which (almost) nobody defected or runs in which a
cascade took far more, from any committed folder of runs (a wave's or a check's):

    python scripts/share_bands.py calibration/refine8

It reads ``runs.parquet`` (finished runs only) and prints, for each share clause below, the share
of runs at exactly 0, above 0 and below the range, inside it, and above it, with the quartiles.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from defection.calibration.validation import CASE_CHECKS

#: The done-when's defected-share clauses (Syria 1-4 %, Myanmar 1-6 %), as validation reads them.
CLAUSES = tuple(
    c for c in CASE_CHECKS if c.target in ("syria_defected_365", "myanmar_defected_730")
)


def bands(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per share clause present in ``runs``: the share of runs in each band.

    Args:
        runs: A folder's ``runs.parquet`` (columns ``case``, ``status`` and the targets).

    Returns:
        Columns ``runs``, ``zero``, ``below``, ``inside``, ``above``, ``q25``, ``median``, ``q75``.
    """
    ok = runs[runs["status"] == "ok"] if "status" in runs else runs
    rows = {}
    for clause in CLAUSES:
        case, col, lo, hi = clause.case, f"target:{clause.target}", clause.lo, clause.hi
        if col not in ok:
            continue
        v = ok.loc[ok["case"] == case, col].astype(float).dropna().to_numpy()
        if not len(v):
            continue
        rows[f"{case} {lo:.0%}-{hi:.0%}"] = {
            "runs": len(v),
            "zero": float(np.mean(v == 0)),
            "below": float(np.mean((v > 0) & (v < lo))),
            "inside": float(np.mean((v >= lo) & (v <= hi))),
            "above": float(np.mean(v > hi)),
            "q25": float(np.quantile(v, 0.25)),
            "median": float(np.median(v)),
            "q75": float(np.quantile(v, 0.75)),
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def main(argv: list[str] | None = None) -> int:
    """Print the bands for a folder of runs."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder", type=Path, help="a folder of runs, e.g. calibration/refine8")
    args = ap.parse_args(argv)
    path = args.folder / "runs.parquet"
    if not path.is_file():
        print(f"error: {args.folder}: no runs.parquet there", file=sys.stderr)
        return 2
    table = bands(pd.read_parquet(path))
    if table.empty:
        print(f"{args.folder}: no runs of syria or myanmar with their share targets")
        return 0
    print(table.round(3).to_string())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
