"""How often a wave's runs show each case's event, and how its campaign runs read NAVCO.

Reads a committed wave folder (``runs.parquet`` and ``spec.toml``) and prints, for each case
target with a range, the share of that case's runs inside the range; for the NAVCO campaign
runs, the share that defect by method and by the data's DEFECT (the discrimination gap);
the share of each case's runs inside all of its own ranges at once (Syria's defected share
*and* desertion at least defection, for instance); with ``--fell-by DAY``, the share of each
case's runs in which the regime fell (collapse or transition) on or before that day; and, with
``--by NAME``, the same split into quartiles of one parameter of the design (with each method's
success gap among the quartile's campaign runs, when the wave has success cells); and, for a wave
with success cells, its campaign runs read as the data's tables (DEFECT, SUCCESS and the success
gap by method, :func:`navco_tables`). These are
the numbers docs/CALIBRATION.md quotes for a wave ("share of the runs of each case inside its
range"), with the outcome days of the runs inside each range.

Usage::

    python scripts/wave_events.py calibration/wave7_1 [--by elites.softline_gap] [--late 36]
        [--fell-by 60]
"""

from __future__ import annotations

import argparse
import sys
from functools import reduce
from operator import and_
from pathlib import Path

import pandas as pd

from defection.calibration import navco
from defection.calibration.spec import load_calibration
from defection.model.address import ScenarioError
from defection.model.outputs import SUCCESS_OUTCOMES


def ranged_runs(runs: pd.DataFrame, calib):
    """For each case target with a range: ``(name, its cases' finished runs, inside mask)``."""
    for t in calib.targets:
        if t.range is None:
            continue
        lo, hi = t.range
        rows = runs[runs["case"].isin(t.cases) & (runs["status"] == "ok")]
        values = rows[f"target:{t.name}"]
        yield t.name, rows, (values >= lo) & (values <= hi)


def case_shares(runs: pd.DataFrame, calib) -> pd.Series:
    """Share of each ranged case target's runs inside its range, by target name."""
    out = {
        name: float(inside.mean()) if len(rows) else float("nan")
        for name, rows, inside in ranged_runs(runs, calib)
    }
    return pd.Series(out, dtype=float)


def joint_shares(runs: pd.DataFrame, calib) -> pd.Series:
    """Share of each case's runs inside every ranged target of that case alone, by case name.

    Only cases with two or more such targets are reported (a target over several cases, such as
    ``cases_detained``, is left out): the done-when asks for a case's clauses in the same runs.
    """
    case_of = {t.name: t.cases[0] for t in calib.targets if len(t.cases) == 1}
    masks: dict[str, list[pd.Series]] = {}
    for name, _rows, inside in ranged_runs(runs, calib):
        if name in case_of:
            masks.setdefault(case_of[name], []).append(inside)
    return pd.Series(
        {c: float(reduce(and_, ms).mean()) for c, ms in masks.items() if len(ms) >= 2}, dtype=float
    )


def fell_by(runs: pd.DataFrame, day: int) -> pd.Series:
    """Share of each case's runs (campaigns excluded) that fell on or before ``day``.

    Fell means an outcome in ``SUCCESS_OUTCOMES`` (collapse or transition, as
    calibration/targets.py's ``fell_before`` counts it), whatever its rule.
    """
    rows = runs[~runs["case"].str.startswith("navco_") & (runs["status"] == "ok")]
    fell = rows["outcome"].isin(SUCCESS_OUTCOMES) & (rows["outcome_day"].astype(float) <= day)
    return fell.groupby(rows["case"], sort=False).mean().astype(float)


def event_days(runs: pd.DataFrame, calib, late: int | None = None) -> pd.DataFrame:
    """Outcome days of the runs inside each ranged case target.

    Their count, median day, and how many ended on day ``late`` or later: a target met by an
    early fall reads the same as one met by a late fall.
    """
    out = {}
    for name, rows, inside in ranged_runs(runs, calib):
        days = rows.loc[inside, "outcome_day"].astype(float)
        row = {"inside": float(len(days)), "median_day": float(days.median())}
        if late is not None:
            row[f"day_{late}_or_later"] = float((days >= late).sum())
        out[name] = row
    return pd.DataFrame(out).T


def navco_reading(runs: pd.DataFrame) -> pd.Series:
    """DEFECT rate of the campaign runs by method and by the data's DEFECT, and the gap."""
    rows = runs[runs["case"].str.startswith("navco_") & (runs["status"] == "ok")].copy()
    if rows.empty:
        return pd.Series(dtype=float)
    ids = rows["case"].str.split("_").str[1].astype(int)
    data = navco.fitting_units().set_index(navco.ID)
    rows["method"] = ids.map(data["method"]).to_numpy()
    rows["data_defect"] = ids.map(data["DEFECT"]).to_numpy()
    run = rows["target:defect_nonviolent"]
    out = {
        "runs": float(len(rows)),
        "defect": float(run.mean()),
        "defect_nonviolent": float(run[rows["method"] == "nonviolent"].mean()),
        "defect_violent": float(run[rows["method"] == "violent"].mean()),
        "on_data_defect": float(run[rows["data_defect"] == 1].mean()),
        "on_data_no_defect": float(run[rows["data_defect"] == 0].mean()),
    }
    out["gap"] = out["on_data_defect"] - out["on_data_no_defect"]
    return pd.Series(out)


def navco_tables(runs: pd.DataFrame) -> pd.DataFrame:
    """The campaign runs read as the data's tables, by method (``navcases.model_rates``).

    DEFECT, SUCCESS (finished campaigns) and the success gap, each campaign's runs averaged
    first, next to the data's over the fitting set. The runs mix the wave's design points, so
    this reads the wave's space as a whole, not any one parameter vector. Empty when the wave
    has no success cell.
    """
    from defection.calibration import navcases

    if "target:success_nonviolent" not in runs.columns:
        return pd.DataFrame()
    rows = runs[runs["case"].str.startswith("navco_")].copy()
    rows["navco_id"] = rows["case"].str.split("_").str[1].astype(int)
    rows["navco_defect"] = rows["target:defect_nonviolent"]
    rows["navco_success"] = rows["target:success_nonviolent"]
    rows = rows.dropna(subset=["navco_defect", "navco_success"])
    t = navcases.model_rates(rows)
    out = {}
    for m in navco.METHODS:
        gap = t["success_gap"].set_index("method").loc[m]
        out[m] = {
            "defect": t["defect_by_method"].set_index("method").loc[m, "p"],
            "data defect": navcases.data_cell("defect_by_method", m)["observed"],
            "success": t["success_by_method"].set_index("method").loc[m, "p"],
            "data success": navcases.data_cell("success_by_method", m)["observed"],
            "success with DEFECT": gap["p_defect"],
            "success without": gap["p_no_defect"],
            "gap": gap["gap"],
            "data gap": navcases.data_cell("success_gap", m)["observed"],
        }
    return pd.DataFrame(out)


def success_gaps(runs: pd.DataFrame) -> pd.Series:
    """Each method's success gap among the runs (:func:`navco_tables`), as ``success_gap_<method>``.

    Empty when the runs hold no campaign or the wave has no success cell; a method none of
    whose campaign runs had (or lacked) a DEFECT gets NaN.
    """
    if not runs["case"].str.startswith("navco_").any():
        return pd.Series(dtype=float)
    tables = navco_tables(runs)
    if not len(tables):
        return pd.Series(dtype=float)
    return pd.Series({f"success_gap_{m}": float(tables.loc["gap", m]) for m in tables.columns})


def main(argv: list[str] | None = None) -> int:
    """Print the report; 2 for a folder that is not a committed wave or a ``--by`` not in it."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path, help="a committed wave folder, e.g. calibration/wave7_1")
    ap.add_argument("--by", help="also split by quartiles of this design parameter")
    ap.add_argument(
        "--late", type=int, help="count the runs inside a range that ended this day or later"
    )
    ap.add_argument(
        "--fell-by",
        type=int,
        help="also print each case's share of runs that fell on or before this day",
    )
    args = ap.parse_args(argv)
    if not (args.folder / "runs.parquet").is_file() or not (args.folder / "spec.toml").is_file():
        print(
            f"{args.folder}: not a committed wave (no runs.parquet or spec.toml)", file=sys.stderr
        )
        return 2
    try:
        calib = load_calibration(args.folder / "spec.toml")
    except ScenarioError as exc:  # a spec this model no longer reads (a stale sample, say)
        print(str(exc), file=sys.stderr)
        return 2
    if calib.kind != "wave":
        print(
            f"{args.folder}: a {calib.kind}, not a wave; a check's runs are read by "
            f"`python -m defection.calibration.bydraw {args.folder}`",
            file=sys.stderr,
        )
        return 2
    runs = pd.read_parquet(args.folder / "runs.parquet")
    print(f"{args.folder}: {len(runs)} runs, {(runs['status'] != 'ok').sum()} failed")
    print("\nshare of each case's runs inside the target's range:")
    print(case_shares(runs, calib).round(3).to_string())
    joint = joint_shares(runs, calib)
    if len(joint):
        print("\nshare of each case's runs inside all of its own ranges at once:")
        print(joint.round(3).to_string())
    if args.fell_by is not None:
        print(
            f"\nshare of each case's runs that fell (collapse or transition) by day {args.fell_by}:"
        )
        print(fell_by(runs, args.fell_by).round(3).to_string())
    print("\noutcome days of the runs inside each range:")
    print(event_days(runs, calib, args.late).to_string())
    print("\nNAVCO campaign runs (a run's DEFECT):")
    print(navco_reading(runs).round(3).to_string())
    tables = navco_tables(runs)
    if len(tables):
        print("\nNAVCO campaign runs as the data's tables (each campaign's runs averaged first):")
        print(tables.round(2).to_string())
    if args.by:
        if args.by not in runs.columns:
            print(f"{args.by}: not a parameter of this wave", file=sys.stderr)
            return 2
        bands = pd.qcut(runs[args.by], 4)
        rows = {
            str(band): pd.concat([case_shares(g, calib), navco_reading(g), success_gaps(g)])
            for band, g in runs.groupby(bands, observed=True)
        }
        print(f"\nby quartile of {args.by}:")
        print(pd.DataFrame(rows).round(3).to_string())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
