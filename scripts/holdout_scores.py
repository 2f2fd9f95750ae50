"""A held-out check's per-vector NAVCO scores, next to the same vectors' scores in selection.

A refinement by runs (``calibration/refineN``) keeps vectors on their runs of some fitting
campaigns; its held-out check (``calibration/holdoutN``) runs the kept vectors on the other
fitting campaigns. This script scores each kept vector on the held-out runs with the
refinement's own rule (``refine.vector_scores`` and ``refine.select`` with the cut its
``refined.json`` names) and sets its DEFECT rate and discrimination gap next to those it had in
selection (under ``by_method_success`` also each method's SUCCESS rate and success gap out of
selection):

    python scripts/holdout_scores.py calibration/holdout8 calibration/refine8

The last lines give the mean gap out of and in selection, their correlation across vectors,
how many gaps are negative out of selection and how many vectors pass all the rule's cuts
again (and, under ``by_method_success``, the mean SUCCESS rate and success gap by method).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from defection.calibration import navco, refine, validation


def compare(holdout: Path, refined: Path) -> pd.DataFrame:
    """One row per kept vector: its held-out scores and its scores in selection.

    Args:
        holdout: A check folder whose sample is ``refined``'s ``refined.parquet``.
        refined: The refinement's folder (``refined.parquet`` and ``scores.parquet``).

    Returns:
        Columns ``wave_row`` (the vector's row in the wave's sample), ``p_in``, ``p_out``,
        ``p_data_out``, ``gap_in``, ``gap_out``, ``z_nonviolent``, ``z_violent`` and ``fails``
        (cuts failed out of selection), in the held-out rule's order.
    """
    facts = validation.unit_facts(navco.fitting_units())
    cut = rule(refined)
    out = refine.select(
        refine.vector_scores(validation.load_committed(holdout).runs, facts), cut=cut
    ).reset_index(drop=True)
    kept = pd.read_parquet(refined / "refined.parquet")
    wave_row = kept["sample_row"].to_numpy()[out["sample_row"].astype(int).to_numpy()]
    ins = pd.read_parquet(refined / "scores.parquet").set_index("sample_row")
    more = {}
    if cut == "by_method_success":
        for m in refine.METHODS:
            more[f"s_{m}"] = out[f"s_{m}"]
            more[f"s_data_{m}"] = out[f"s_data_{m}"]
            more[f"zs_{m}"] = out[f"zs_{m}"]
        for m in refine.METHODS:
            more[f"sgap_{m}"] = out[f"sgap_{m}"]
    return pd.DataFrame(
        {
            "wave_row": wave_row,
            "p_in": ins.loc[wave_row, "p_model"].to_numpy(),
            "p_out": out["p_model"],
            "p_data_out": out["p_data"],
            "gap_in": ins.loc[wave_row, "gap"].to_numpy(),
            "gap_out": out["gap"],
            "z_nonviolent": out["z_nonviolent"],
            "z_violent": out["z_violent"],
            **more,
            "fails": out["fails"],
        }
    )


def rule(refined: Path) -> str:
    """The cut the refinement kept its vectors by (its ``refined.json``; default ``by_method``)."""
    path = refined / refine.MANIFEST_FILE
    if not path.is_file():
        return refine.CUTS[0]
    return str(json.loads(path.read_text(encoding="utf-8")).get("rule", {}).get("cut", "by_method"))


def summary(table: pd.DataFrame) -> dict[str, float]:
    """The mean gaps, their correlation, negative gaps out and vectors passing all cuts."""
    return {
        "gap_out": float(table["gap_out"].mean()),
        "gap_in": float(table["gap_in"].mean()),
        "gap_correlation": float(np.corrcoef(table["gap_out"], table["gap_in"])[0, 1]),
        "p_correlation": float(np.corrcoef(table["p_out"], table["p_in"])[0, 1]),
        "negative_gaps_out": int((table["gap_out"] < 0).sum()),
        "pass_all_cuts_out": int((table["fails"] == 0).sum()),
        **{
            f"success_{m}_out": float(table[f"s_{m}"].mean())
            for m in refine.METHODS
            if f"s_{m}" in table
        },
        **{
            f"success_gap_{m}_out": float(table[f"sgap_{m}"].mean())
            for m in refine.METHODS
            if f"sgap_{m}" in table
        },
    }


def main(argv: list[str] | None = None) -> int:
    """Print the per-vector table and the summary."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("holdout", type=Path, help="the held-out check, e.g. calibration/holdout8")
    ap.add_argument("refined", type=Path, help="its refinement, e.g. calibration/refine8")
    args = ap.parse_args(argv)
    need = (
        (args.holdout, "runs.parquet"),
        (args.refined, "refined.parquet"),
        (args.refined, "scores.parquet"),
    )
    for folder, name in need:
        if not (folder / name).is_file():
            print(f"error: {folder}: no {name} there", file=sys.stderr)
            return 2
    table = compare(args.holdout, args.refined)
    print(table.round(2).to_string(index=False))
    for key, value in summary(table).items():
        print(f"{key}: {value:.2f}" if isinstance(value, float) else f"{key}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
