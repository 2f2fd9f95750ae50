"""NAVCO DEFECT draw by draw: what each parameter vector of a check does with the campaigns.

`defection validation` reports the calibrated sample as a whole: a cell's model value is the rate
over every draw's runs, its interval spans the draws. A sample can pass or fail a cell for
reasons the whole hides: draws that disagree with each other (one with no defection in violent
campaigns, another with most nonviolent ones defecting), or draws that agree on the rate but read
no campaign feature at all. This module splits a check's NAVCO runs by draw: per draw, the share
of its campaign runs with a DEFECT by method and by participation bin, and the correlation
across campaigns of the run's DEFECT with the data's (near 0 when the draw's defection does not
depend on the campaign). It reads the committed results of a check (``runs.parquet`` and
``design.parquet``), runs nothing, and reads only fitting-set campaigns (a check of the test set
is refused).

Usage::

    python -m defection.calibration.bydraw calibration/validation [--params a,b]

(``--params`` adds the draws' values of those parameters, columns of the check's design).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from defection.calibration.navco import BIN_LABELS as BINS


def campaign_runs(folder: Path, params: Sequence[str] = ()) -> pd.DataFrame:
    """The check's NAVCO campaign runs that ended, one row each, with their draw and campaign.

    Columns: ``draw``, ``sample_row``, ``navco_id``, ``method``, ``bin``, ``model`` (the run's
    DEFECT, 0 or 1), ``data`` (the campaign's DEFECT), then the ``params`` (the draw's values).

    Raises:
        ValueError: The folder is not a check's results, has no NAVCO runs, or holds test-set
            campaigns.
    """
    from defection.calibration import navcases

    runs_path, design_path = folder / "runs.parquet", folder / "design.parquet"
    for path in (runs_path, design_path):
        if not path.is_file():
            raise ValueError(f"{path}: not found (a check's results folder has runs and design)")
    runs = pd.read_parquet(runs_path)
    design = pd.read_parquet(design_path)
    if "draw" not in design.columns or "target:navco_defect" not in runs.columns:
        raise ValueError(f"{folder}: not a check's results with the target navco_defect")
    missing = [p for p in params if p not in design.columns]
    if missing:
        raise ValueError(f"--params {','.join(missing)}: not a parameter of this check's design")
    runs = runs[runs["case"].str.startswith("navco_") & (runs["status"] == "ok")]
    if runs.empty:
        raise ValueError(f"{folder}: no NAVCO campaign run ended")
    df = runs[["point", "case", "target:navco_defect"]].merge(
        design[["point", "draw", "sample_row", *params]], on="point", how="left"
    )
    df["navco_id"] = df["case"].str.extract(r"^navco_(\d+)_")[0].astype(int)
    split = navcases._split().set_index("NAVCO ID")
    test = sorted(set(df["navco_id"]) & set(split.index[split["set"] == "test"]))
    if test:
        raise ValueError(f"{folder}: holds test-set campaigns ({test[:5]}...); read fitting runs")
    units = navcases._units().set_index("NAVCO ID")
    df["method"] = units.loc[df["navco_id"], "method"].to_numpy()
    df["bin"] = units.loc[df["navco_id"], "bin"].to_numpy()
    df["data"] = units.loc[df["navco_id"], "DEFECT"].to_numpy().astype(int)
    df["model"] = df["target:navco_defect"].astype(float)
    return df[["draw", "sample_row", "navco_id", "method", "bin", "model", "data", *params]]


def by_draw(df: pd.DataFrame, params: Sequence[str] = ()) -> pd.DataFrame:
    """One row per draw: its runs, DEFECT overall, by method and by bin, and the correlation.

    ``corr`` is the Pearson correlation across the draw's runs of the run's DEFECT with the
    campaign's (NaN when either is constant). Two last rows: ``all`` pools every draw, ``data``
    is the data over the same campaigns (each once). The ``params`` columns (of ``df``) follow.
    """

    def row(g: pd.DataFrame) -> dict[str, float]:
        out: dict[str, float] = {"runs": len(g), "defect": g["model"].mean()}
        for m in ("nonviolent", "violent"):
            out[m] = g.loc[g["method"] == m, "model"].mean()
        for b in BINS:
            out[b] = g.loc[g["bin"] == b, "model"].mean()
        ok = g["model"].std() > 0 and g["data"].std() > 0
        out["corr"] = float(np.corrcoef(g["model"], g["data"])[0, 1]) if ok else float("nan")
        return out

    rows = [
        {
            "draw": int(d),
            "sample_row": int(g["sample_row"].iloc[0]),
            **row(g),
            **{p: float(g[p].iloc[0]) for p in params},
        }
        for d, g in df.groupby("draw", sort=True)
    ]
    rows.append({"draw": "all", "sample_row": "", **row(df)})
    data = {
        "draw": "data",
        "sample_row": "",
        **row(df.drop_duplicates("navco_id").assign(model=lambda x: x["data"])),
    }
    data["runs"], data["corr"] = df["navco_id"].nunique(), float("nan")
    rows.append(data)
    return pd.DataFrame(rows)


def markdown(table: pd.DataFrame, params: Sequence[str] = ()) -> str:
    """The table as Markdown: shares to two decimals, ``-`` where a draw has no such run.

    The ``params`` columns are printed to three significant digits.
    """
    cols = ["draw", "sample_row", "runs", "defect", "nonviolent", "violent", *BINS, "corr"]
    cols += list(params)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, r in table.iterrows():
        cells = []
        for c in cols:
            v = r[c]
            if isinstance(v, float) and np.isnan(v):
                cells.append("-")
            elif isinstance(v, float):
                cells.append(f"{v:.3g}" if c in params else f"{v:.2f}")
            else:
                cells.append(str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the by-draw table of a check's results folder; exit 2 with a message on bad input."""
    ap = argparse.ArgumentParser(prog="python -m defection.calibration.bydraw")
    ap.add_argument("folder", type=Path, help="a check's results folder (calibration/validation)")
    ap.add_argument("--params", default="", help="comma-separated parameters to show per draw")
    args = ap.parse_args(argv)
    params = [p.strip() for p in args.params.split(",") if p.strip()]
    try:
        df = campaign_runs(args.folder, params)
    except ValueError as exc:
        print(exc)
        return 2
    print(markdown(by_draw(df, params), params))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
