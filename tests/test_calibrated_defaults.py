"""The registry's defaults of the calibrated parameters come from the calibrated samples.

Issue #10, section 4: "the registry's defaults come from it, each with the source 'calibrated'
and the file". The defaults are the sample's medoid (calibration/promote.py), rounded; the
manifest of the promoted sample names it. The thirteenth calibration (waves wave16_1 to
wave16_3), refined by runs to 10 of its vectors (calibration/refine16), made the sample of record
(model version 9); model version 8's sample (the twelfth calibration's, kept in
calibration/calibrated_v8/) still gives the default the thirteenth held fixed
(``elites.steady_margin``), model version 6's (the second calibration's, in
calibration/calibrated_v6/) the defaults of its parameters that the later calibrations held, and
the first calibration's medoid (calibration/wave3/promoted.json) those that the second held.
Model version 9 changed only defaults that every vector of the thirteenth calibration's sample
sets, or that every one of its cases set, so its version-8 sample still stands
(:data:`defection.model.version.SAMPLE_COMPATIBLE`): a slow test reruns committed runs of the
sample's wave with today's code and finds every target as committed. Model version 10 added the
ruler's concession and the elites' armed threat, fitted on that sample's validation runs
(calibration/concession/): their defaults are the winner of the fit that ``concession choose``
picks, and with them at version 9's values the sample's wave runs as committed.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from defection.calibration.promote import DEFAULT_DECIMALS, medoid
from defection.ensemble import SAMPLE_PATH, load_sample
from defection.model.params import BY_NAME
from defection.model.version import MODEL_VERSION, SAMPLE_COMPATIBLE

MANIFEST = json.loads((SAMPLE_PATH.parent / "manifest.json").read_text(encoding="utf-8"))
ROOT = Path(__file__).resolve().parents[1]
#: Model version 8's sample of record: its medoid gives the default the thirteenth held.
V8 = json.loads((ROOT / "calibration/calibrated_v8/manifest.json").read_text(encoding="utf-8"))
HELD8 = sorted(set(V8["medoid"]["defaults"]) - set(MANIFEST["medoid"]["defaults"]))
#: Model version 6's sample of record: its medoid gives the defaults the later calibrations held.
V6 = json.loads((ROOT / "calibration/calibrated_v6/manifest.json").read_text(encoding="utf-8"))
HELD6 = sorted(set(V6["medoid"]["defaults"]) - set(MANIFEST["medoid"]["defaults"]) - set(HELD8))
#: The first calibration's promoted manifest: its medoid gives the defaults the second held.
FIRST = json.loads((ROOT / "calibration/wave3/promoted.json").read_text(encoding="utf-8"))
HELD = sorted(
    set(FIRST["medoid"]["defaults"]) - set(MANIFEST["medoid"]["defaults"]) - set(HELD8) - set(HELD6)
)


def test_the_sample_of_record_is_final_and_readable_by_this_model():
    assert MANIFEST["status"] == "final"
    assert MANIFEST["model_version"] in (MODEL_VERSION, *SAMPLE_COMPATIBLE)
    assert len(load_sample().vectors) == MANIFEST["rows"]


def test_the_manifest_medoid_is_the_samples_medoid():
    frame = pd.read_parquet(SAMPLE_PATH)
    names = list(MANIFEST["medoid"]["values"])
    row = medoid(frame[names], MANIFEST["parameters"])
    assert row == MANIFEST["medoid"]["row"]
    assert {n: float(frame[n].iloc[row]) for n in names} == MANIFEST["medoid"]["values"]


@pytest.mark.parametrize("name", list(MANIFEST["medoid"]["defaults"]))
def test_each_calibrated_default_is_the_medoids_value_with_its_source(name: str):
    p = BY_NAME[name]
    value = MANIFEST["medoid"]["values"][name]
    assert p.default == round(value, DEFAULT_DECIMALS), (name, p.default, value)
    assert p.source.startswith("calibrated: calibration/calibrated/sample.parquet"), p.source
    assert p.lo <= p.default <= p.hi


#: Earlier samples whose medoids still give defaults the later calibrations held: (manifest,
#: sample file, the source prefix of those defaults, the parameters held).
EARLIER = {
    "version 8": (
        V8,
        ROOT / "calibration/calibrated_v8/sample.parquet",
        "calibrated: calibration/calibrated_v8/sample.parquet",
        HELD8,
    ),
    "version 6": (
        V6,
        ROOT / "calibration/calibrated_v6/sample.parquet",
        "calibrated: calibration/calibrated_v6/sample.parquet",
        HELD6,
    ),
    "first": (
        FIRST,
        ROOT / FIRST["wave"]["folder"] / "nonimplausible.parquet",
        "calibrated: calibration/wave3/nonimplausible.parquet",
        HELD,
    ),
}


@pytest.mark.parametrize(
    ("sample", "name"), [(k, n) for k, (*_, held) in EARLIER.items() for n in held]
)
def test_each_held_parameter_keeps_its_earlier_samples_medoid(sample: str, name: str):
    manifest, _, prefix, _ = EARLIER[sample]
    p = BY_NAME[name]
    assert p.default == manifest["medoid"]["defaults"][name], (name, p.default)
    assert p.source.startswith(prefix), p.source


@pytest.mark.parametrize("sample", list(EARLIER))
def test_each_earlier_sample_is_the_one_its_manifest_names(sample: str):
    manifest, path, _, _ = EARLIER[sample]
    frame = pd.read_parquet(path)
    assert len(frame) == manifest["rows"]
    names = list(manifest["medoid"]["values"])
    assert medoid(frame[names], manifest["parameters"]) == manifest["medoid"]["row"]


#: The concession fit's file whose winner gives the concession's and the armed threat's defaults
#: (model version 10), and the fits it was chosen among.
CONCESSION_FIT = "calibration/concession/fit_threat05.json"
CONCESSION_FITS = (CONCESSION_FIT, "calibration/concession/fit_threat1.json")

#: The parameters whose defaults the concession fit gave.
CONCESSION = (
    "regime.concession_nonviolent",
    "regime.concession_violent",
    "regime.concession_elasticity",
    "elites.armed_threat",
)


def test_the_concession_defaults_are_the_chosen_fits_winner_with_its_source():
    """Model version 10: the concession's rates and elasticity are the winning setting of the
    fit that ``concession choose`` picks, and the armed threat is the ``--set`` of its
    recording."""
    from defection.calibration import concession

    fits = [json.loads((ROOT / f).read_text(encoding="utf-8")) for f in CONCESSION_FITS]
    won = concession.choose(fits)
    assert CONCESSION_FITS[won["index"]] == CONCESSION_FIT
    want = {**won["set"], **{n: won["best"][n] for n in CONCESSION if n in won["best"]}}
    assert set(want) == set(CONCESSION)
    for name, value in want.items():
        p = BY_NAME[name]
        assert p.default == value, (name, p.default, value)
        assert p.source.startswith(f"calibrated: {CONCESSION_FIT}"), p.source


def test_no_other_parameter_claims_to_be_calibrated():
    calibrated = (
        set(MANIFEST["medoid"]["defaults"]) | set(HELD8) | set(HELD6) | set(HELD) | set(CONCESSION)
    )
    claims = {n for n, p in BY_NAME.items() if p.source.startswith("calibrated")}
    assert claims == calibrated
    assert (len(HELD8), len(HELD6), len(HELD)) == (1, 7, 4)


def test_bundled_scenarios_leave_the_calibrated_parameters_to_the_registry():
    """A scenario value would shadow the calibrated default (docking scenarios excepted: they
    switch terms off to reproduce a published model)."""
    from defection.model.scenario import load

    docking = {"epstein_1", "granovetter"}
    for path in sorted((ROOT / "scenarios").glob("*.toml")):
        if path.stem in docking:
            continue
        raw = load(path.stem).raw
        own = {
            n
            for n in MANIFEST["medoid"]["defaults"]
            if BY_NAME[n].leaf in (raw.get(BY_NAME[n].section) or {})
        }
        assert not own, f"{path.name} sets calibrated parameters {sorted(own)}"


def _committed_wave() -> tuple[object, pd.DataFrame]:
    from defection.calibration.spec import load_calibration

    folder = ROOT / MANIFEST["wave"]["folder"]
    calib = load_calibration(folder / "spec.toml")
    runs = pd.read_parquet(folder / "runs.parquet")
    return calib, runs


@pytest.mark.slow
def test_committed_runs_of_the_samples_wave_give_the_same_targets_today():
    """The evidence behind SAMPLE_COMPATIBLE: rerun a few runs of the sample's wave (one per
    kind of case) and compare every target and the outcome with what the wave committed. Model
    version 10's concession and armed threat are set to version 9's values (both rates 0, the
    threat 0: what the concession's recordings run on), so the rest must be unchanged."""
    from dataclasses import replace

    from defection.calibration.concession import RECORD_BASE
    from defection.calibration.runs import tasks_for
    from defection.sweep.engine import CaseScenarios, execute

    calib, runs = _committed_wave()
    ok = runs[runs["status"] == "ok"]
    picks = []
    for case in ("philippines", "gdr", "navco"):
        rows = ok[ok["case"].str.startswith(case)]
        picks.append(rows.sort_values("run_id").iloc[0])
    scenarios = CaseScenarios({c.name: c.runner() for c in calib.cases})
    tasks = {(t.point, t.replicate): t for t in tasks_for(calib, set())}
    for row in picks:
        task = tasks[(int(row["point"]), int(row["replicate"]))]
        assert task.case == row["case"] and task.seed == int(row["seed"])
        task = replace(task, overrides={**task.overrides, **RECORD_BASE})
        got = execute(task, scenarios).row
        assert got["status"] == "ok", got.get("error")
        assert got["outcome"] == row["outcome"] and got["days"] == row["days"], row["run_id"]
        for t in calib.targets:
            want, have = row[t.column], got.get(t.column)
            if want is None or (isinstance(want, float) and math.isnan(want)):
                assert have is None or math.isnan(float(have)), (t.column, have)
            else:
                assert float(have) == pytest.approx(float(want), rel=1e-9, abs=1e-12), t.column


def test_each_case_file_gives_what_the_samples_wave_set_for_it():
    """Model versions 8 and 9 moved what the calibration's cases set into the files and the
    registry: each case scenario, loaded as users load it, has every value its wave case set
    (insiders' plots excepted where the party cannot remove its leader: there they do nothing).
    The campaigns' table sets what the registry and the coding leave at their defaults
    (1,000 soldier agents, client ties coded): the validation spec's campaign table sets the
    same."""
    import tomllib

    checks = tomllib.loads((ROOT / "calibration/specs/validation.toml").read_text())
    validation_set = next(c for c in checks["cases"] if c.get("source") == "navco").get("set", {})
    from defection.model.scenario import load

    checked = 0
    cases = [
        case
        for manifest in (MANIFEST, V8)  # this version's sample's wave, and the one it held
        for case in tomllib.loads((ROOT / manifest["wave"]["folder"] / "spec.toml").read_text())[
            "cases"
        ]
    ]
    for case in cases:
        if "scenario" not in case:  # the NAVCO campaigns: the registry's values, or validation's
            for name, value in case.get("set", {}).items():
                default = BY_NAME[name].default if name in BY_NAME else None
                assert default == value or validation_set.get(name) == value, (case["name"], name)
                checked += 1
            continue
        sc = load(case["scenario"])
        for name, value in case.get("set", {}).items():
            if name == "elites.plots" and not sc.params["regime.party_removal"]:
                continue
            assert sc.params[name] == value, (case["scenario"], name, sc.params[name], value)
            checked += 1
    assert checked >= 27
