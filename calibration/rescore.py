r"""Score a first wave's runs against a new spec's targets, without repeating a model run.

A wave's targets are measures of its runs. When a new spec keeps a first wave's design exactly
(the same parameters, ranges, cases, seed, seeds and points, hence the same runs, bit for bit)
and changes only targets that read the run's outcome and its day, its runs need not be run
again: this module scores the committed runs against the new targets and analyses them as the
new wave, into a folder of its own (docs/CALIBRATION.md, "The ninth calibration: East Germany's
fall day"):

    python -m defection.calibration.rescore calibration/wave11_1 \
        --spec calibration/specs/wave12_1.toml --out calibration/wave12_1

It refuses unless the new spec's drawn design equals the old folder's ``design.parquet``, the
model version is the old wave's, and every target is either one of the old wave's (same
measure, arguments and cases; its column is kept) or a measure of the run's row alone
(:data:`ROW_MEASURES`). As a check that the row holds what a worker saw, every old target of
such a measure is recomputed from the rows and must equal its stored column. The new folder is
a complete wave folder (``spec.toml`` the new spec, run ids renamed to the new spec's), and its
manifest records ``rescored_from`` (the folder, its spec hash, the time, the commit). The old
folder is not touched.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from defection.calibration.runs import _commit, out_problems, wave_manifest, write_results
from defection.calibration.spec import load_calibration
from defection.calibration.targets import MEASURES, RunView, column
from defection.model import version
from defection.model.scenario import ScenarioError

__all__ = ["ROW_MEASURES", "main", "rescore_wave", "row_value"]

#: Measures that read only the run's row (``outcome`` and ``outcome_day``), never its series.
ROW_MEASURES = ("fell_before", "collapse_before", "fall_day", "fell_between")

_EMPTY = pd.DataFrame({"day": []})


def row_value(measure: str, args: dict[str, Any], row: dict[str, Any]) -> float:
    """A row measure's value for one run's row (``outcome``, ``outcome_day``).

    Raises:
        ValueError: ``measure`` is not one of :data:`ROW_MEASURES`.
    """
    if measure not in ROW_MEASURES:
        raise ValueError(f"{measure!r} reads the run's series, not only its row")
    day = row.get("outcome_day")
    if day is not None and isinstance(day, float) and math.isnan(day):
        day = None
    view = RunView({"outcome": row.get("outcome"), "outcome_day": day}, _EMPTY)
    return float(MEASURES[measure].fn(view, **args))


def _definition(t: Any) -> tuple[Any, ...]:
    return (t["measure"], tuple(sorted(t["args"].items())), tuple(t["cases"]))


def rescore_wave(folder: str | Path, spec: str | Path, out: str | Path) -> dict[str, Any]:
    """Write ``out``: ``folder``'s runs scored against ``spec``'s targets and analysed as its wave.

    Returns:
        The new manifest's ``wave`` entry.

    Raises:
        ScenarioError: ``folder`` is not a first wave's folder, ``spec`` is not a first wave with
            the same design, a target cannot be scored from the rows, a recomputed target differs
            from its stored column, or ``out`` cannot take the results.
    """
    folder, out = Path(folder), Path(out)
    old = wave_manifest(folder)
    if old.get("previous"):
        raise ScenarioError(
            [
                f"{folder}: a later wave (its design came from {old['previous']['folder']}); "
                "only a first wave's runs can be rescored"
            ]
        )
    if str(old.get("model_version")) != str(version.MODEL_VERSION):
        raise ScenarioError(
            [
                f"{folder}: ran model version {old.get('model_version')}, this code is version "
                f"{version.MODEL_VERSION}; its runs are not this model's"
            ]
        )
    problems = out_problems(out)
    if out.exists():
        problems.append(f"--out {out}: exists; name a new folder")
    if problems:
        raise ScenarioError(problems)
    calib = load_calibration(spec)
    if calib.kind != "wave" or calib.previous is not None:
        raise ScenarioError([f"{spec}: [calibration] kind: must be a first wave (no previous)"])
    design = pd.read_parquet(folder / "design.parquet")
    same = list(design.columns) == list(calib.design.columns) and len(design) == len(calib.design)
    if same:
        try:
            pd.testing.assert_frame_equal(
                design.reset_index(drop=True), calib.design.reset_index(drop=True)
            )
        except AssertionError:
            same = False
    if not same:
        raise ScenarioError(
            [
                f"{spec}: its design differs from {folder}/design.parquet; rescoring needs the "
                "same parameters, ranges, cases, seed, seeds and points"
            ]
        )
    if calib.meta.seeds != old.get("seeds"):
        raise ScenarioError(
            [f"{spec}: [calibration] seeds: {calib.meta.seeds}, the wave's were {old.get('seeds')}"]
        )
    runs = pd.read_parquet(folder / "runs.parquet")
    rows = runs[["outcome", "outcome_day"]].to_dict("records")
    olds = {t["name"]: t for t in old["targets"]}
    for t in olds.values():  # the rows must give what the workers computed
        if t["measure"] in ROW_MEASURES:
            got = np.array([row_value(t["measure"], t["args"], r) for r in rows])
            stored = runs[column(t["name"])].to_numpy(dtype=float)
            ok = runs["status"].to_numpy() == "ok"
            if not np.array_equal(got[ok], stored[ok], equal_nan=True):
                raise ScenarioError(
                    [f"{folder}: target {t['name']}: the rows do not give its stored values"]
                )
    kept, new = [], []
    for t in calib.targets:
        d = {"measure": t.measure, "args": t.args, "cases": list(t.cases)}
        if t.name in olds and _definition(olds[t.name]) == _definition(d):
            kept.append(t.name)
        elif t.measure in ROW_MEASURES:
            new.append(t.name)
            values = [row_value(t.measure, t.args, r) for r in rows]
            runs[column(t.name)] = np.where(runs["status"] == "ok", values, np.nan)
        else:
            raise ScenarioError(
                [
                    f"{spec}: target {t.name}: measure {t.measure!r} reads the run's series, "
                    f"which {folder} does not keep; only {', '.join(ROW_MEASURES)} or an "
                    "unchanged target of the wave can be rescored"
                ]
            )
    fixed = [c for c in runs.columns if not c.startswith("target:")]
    at = fixed.index("outcome")  # the column order of a wave's runs (runs.runs_frame)
    runs = runs[fixed[:at] + [column(t.name) for t in calib.targets] + fixed[at:]]
    runs = runs.sort_values("run_id", kind="stable").reset_index(drop=True)
    old_id = old["calibration_id"]
    runs = runs.assign(run_id=runs["run_id"].str.replace(old_id, calib.calib_id, n=1, regex=False))
    write_results(calib, runs, out)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    manifest["rescored_from"] = {
        "folder": f"../{folder.name}"
        if out.resolve().parent == folder.resolve().parent
        else str(folder),
        "spec_hash": old["spec_hash"],
        "calibration_id": old_id,
        "kept_targets": kept,
        "new_targets": new,
        "when": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        **_commit(),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    md = out / "wave.md"
    note = (
        f"Rescored from `{folder.name}`'s runs (`python -m defection.calibration.rescore "
        f"{folder} --spec {spec} --out {out}`): the same design and runs; new targets "
        f"{', '.join(f'`{n}`' for n in new) or 'none'} scored from the runs' rows.\n\n"
    )
    md.write_text(note + md.read_text(encoding="utf-8"), encoding="utf-8")
    return manifest["wave"]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m defection.calibration.rescore WAVE --spec SPEC --out FOLDER``."""
    ap = argparse.ArgumentParser(prog="python -m defection.calibration.rescore")
    ap.add_argument("wave", help="a first wave's results folder, e.g. calibration/wave11_1")
    ap.add_argument("--spec", required=True, help="the new wave's spec (same design)")
    ap.add_argument("--out", required=True, help="the new results folder")
    args = ap.parse_args(argv)
    try:
        e = rescore_wave(args.wave, args.spec, args.out)
    except ScenarioError as exc:
        for line in exc.problems:
            print(f"error: {line}")
        return 2
    print(
        f"{args.out}: {e['accepted']:,} of {e['candidates']:,} candidates non-implausible "
        f"({e['nonimplausible_fraction']:.4g}); kept {e['kept']:,}"
    )
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
