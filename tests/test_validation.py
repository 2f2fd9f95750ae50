"""The check kind of calibration spec and `defection validation` (issue #10 section 6): a tiny
sample crossed with short cases through the CLI, the test-set guard and its touch record, the
report writer on synthetic runs, and the logistic baseline and skill table on synthetic data.

No test here runs the model on a real test-set campaign: the test-set path runs fitting-set
campaigns standing in for it (``navcases.runnable_test_ids`` monkeypatched)."""

import json
import math
import os
import tomllib
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from cli_kit import assert_clean_input_error, invoke
from sweep_kit import spec_toml

from defection.calibration import navcases, navco, validation
from defection.calibration.spec import calibration_from_dict, load_calibration
from defection.model.scenario import ScenarioError
from defection.model.version import MODEL_VERSION
from defection.sweep.engine import FAULTS_ENV

SPECS = Path(__file__).parent.parent / "calibration" / "specs"
SHORT = {"run.horizon": 12, "grid.width": 16, "grid.height": 16}
VECTORS = {
    "soldiers.threshold": [0.5, 1.5, 1.0],
    "belief.intercept": [1.0, 2.0, 1.5],
    "case.lethality_regviol": [0.3, 0.6, 0.5],
}


def _sample(folder: Path, version: str = MODEL_VERSION, rows: int = 2, **extra) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    cols = {k: v[:rows] for k, v in VECTORS.items()} | extra
    frame = pd.DataFrame(cols)
    frame["implausibility"] = np.linspace(0.5, 2.0, len(frame))  # not a parameter: left out
    frame.to_parquet(folder / "nonimplausible.parquet", index=False)
    manifest = {"model_version": version, "name": "wave_x", "kind": "wave", "commit": "c" * 40}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder / "nonimplausible.parquet"


def _doc(sample: Path, **check) -> dict:
    """A check over two short cases: East Germany (2 draws x 2 seeds) and two NAVCO campaigns."""
    return {
        "calibration": {"name": "tiny_validation", "kind": "check", "seed": 11, "seeds": 2},
        "budget": {"max_runs": 40, "max_minutes": 5},
        "check": {"sample": str(sample), "draws": 2, "groups": {"navco": {"draws": 1, "seeds": 1}}}
        | check,
        "cases": [
            {"name": "gdr", "scenario": "east_germany_1989", "set": dict(SHORT)},
            {"name": "navco", "source": "navco", "campaigns": [75, 169], "set": dict(SHORT)},
        ],
        "targets": [
            {"name": "navco_defect", "measure": "navco_defect", "cases": ["navco"]},
            {"name": "navco_success", "measure": "navco_success", "cases": ["navco"]},
            {
                "name": "gdr_fell_60",
                "measure": "fell_before",
                "args": {"day": 61},
                "cases": ["gdr"],
            },
            {"name": "cases_detained", "measure": "detained_max", "cases": ["gdr"]},
        ],
    }


def _problems(doc) -> list[str]:
    with pytest.raises(ScenarioError) as exc:
        calibration_from_dict(doc, "spec.toml")
    return exc.value.problems


# ------------------------------------------------------------------------------------------------
# the check kind: its design, without running the model
# ------------------------------------------------------------------------------------------------


def test_a_check_crosses_drawn_vectors_with_every_case_and_seed(tmp_path):
    sample = _sample(tmp_path / "w", rows=3)
    cal = calibration_from_dict(_doc(sample), "spec.toml")
    assert cal.kind == "check" and cal.param_names == list(VECTORS)
    d = cal.design
    # gdr: both drawn vectors x 2 seeds; each campaign coding: the first vector x 1 seed
    assert cal.case_runs() == {"gdr": 4, "navco_75_d0": 1, "navco_169_d0": 1}
    assert cal.n_runs == 6 and len(d) == 4
    rows = cal.sample_info["rows"]
    assert len(set(rows)) == 2 and set(rows) <= {0, 1, 2}  # without replacement
    assert sorted(d.loc[d["case"] == "gdr", "sample_row"]) == sorted(rows)
    assert set(d.loc[d["case"] != "gdr", "sample_row"]) == {rows[0]}  # the first draw
    vectors = pd.read_parquet(sample)
    names = list(VECTORS)
    np.testing.assert_array_equal(
        d[names].to_numpy(), vectors.loc[d["sample_row"], names].to_numpy()
    )
    # the same spec and sample: the same draw and id; another seed: another id
    again = calibration_from_dict(_doc(sample), "spec.toml")
    assert again.sample_info["rows"] == rows and again.calib_id == cal.calib_id
    other = _doc(sample)
    other["calibration"]["seed"] = 12
    assert calibration_from_dict(other, "spec.toml").calib_id != cal.calib_id
    # a changed sample file is another check
    _sample(tmp_path / "w", rows=3, **{"soldiers.threshold": [0.4, 1.5, 1.0]})
    assert calibration_from_dict(_doc(sample), "spec.toml").calib_id != cal.calib_id
    # tasks: every point's own number of seeds, each run with the vector of its point
    from defection.calibration.runs import tasks_for

    tasks = tasks_for(cal, set())
    assert (
        len(tasks) == 6
        and len({t.run_id for t in tasks}) == 6
        and len({t.seed for t in tasks}) == 6
    )
    for t in tasks:
        row = d.set_index("point").loc[t.point]
        assert t.case == row["case"] and t.replicate < row["seeds"]
        assert t.overrides["belief.intercept"] == row["belief.intercept"]


@pytest.mark.parametrize(
    "edit, needle",
    [
        (
            lambda d: d.update(parameters={"names": ["soldiers.threshold"]}),
            "leave [parameters] out",
        ),
        (lambda d: d.pop("check"), "a check needs a [check] table"),
        (lambda d: d.update(wave={"points": 10}), "[wave] is for kind"),
        (lambda d: d["check"].update(draws=5), "holds 2; vectors are drawn without replacement"),
        (lambda d: d["check"].update(sample="nowhere.parquet"), "`check.sample`: nowhere.parquet"),
        (lambda d: d["check"].update(groups={"navc": {"draws": 1}}), "did you mean `navco`"),
        (lambda d: d["check"].update(groups={"gdr": {"draws": 3}}), "more than `check.draws`"),
        (lambda d: d["check"].update(colour=1), "`check.colour`: unknown key"),
        (lambda d: d["targets"][0].update(observed=0.3, obs_sd=0.1), "measures only"),
        (lambda d: d["targets"][2].update(range=[0, 1]), "measures only"),
        (lambda d: d["budget"].update(max_runs=5), "needs 6 runs"),
        (lambda d: d["cases"][1].update(campaigns="test"), "check.test_set = true"),
    ],
)
def test_a_bad_check_is_one_line_naming_the_field(tmp_path, edit, needle):
    doc = _doc(_sample(tmp_path / "w"))
    edit(doc)
    problems = _problems(doc)
    assert any(needle in p for p in problems), problems
    assert all(p.startswith("spec.toml") and "\n" not in p for p in problems)


def test_a_sample_the_check_cannot_use_is_refused(tmp_path):
    old = _sample(tmp_path / "old", version="0")
    assert any("fitted to model version 0" in p for p in _problems(_doc(old)))
    wide = _sample(tmp_path / "wide", **{"soldiers.threshold": [0.5, 99.0]})
    assert any("row 1: 99.0 is not in the registry's range" in p for p in _problems(_doc(wide)))
    lever = _sample(tmp_path / "lever", **{"soldiers.pay": [1.0, 1.2]})
    assert any("column `soldiers.pay` has role" in p for p in _problems(_doc(lever)))


def test_the_test_set_is_refused_in_screens_waves_and_other_checks(tmp_path):
    test_doc = {
        "name": "navco",
        "source": "navco",
        "campaigns": "test",
        "set": dict(SHORT),
    }
    for spec in ("ci_screen.toml", "ci_wave.toml"):
        doc = tomllib.loads((SPECS / spec).read_text())
        doc["cases"].append(test_doc)
        problems = _problems(doc)
        assert any('"test" (the NAVCO test set)' in p and "screens, waves" in p for p in problems)
    doc = _doc(_sample(tmp_path / "w"))
    doc["cases"][1] = test_doc
    assert any("check.test_set = true" in p for p in _problems(doc))
    # a listed test-set ID too
    split = navco.read_split()
    tid = int(split.loc[split["set"] == "test", navco.ID].iloc[0])
    doc["cases"][1] = {**test_doc, "campaigns": [tid]}
    assert any(f"NAVCO ID {tid}" in p and "test set" in p for p in _problems(doc))


def test_the_real_validation_specs_need_the_calibrated_sample_and_say_so(tmp_path):
    for name in ("validation.toml", "validation_test.toml"):
        doc = tomllib.loads((SPECS / name).read_text())
        assert doc["calibration"]["kind"] == "check"
        assert doc["check"].get("test_set", False) == (name == "validation_test.toml")
        doc["check"]["sample"] = str(tmp_path / "none.parquet")
        assert any("`check.sample`" in p and "no such file" in p for p in _problems(doc))


# ------------------------------------------------------------------------------------------------
# defection validation and defection calibrate on a tiny check
# ------------------------------------------------------------------------------------------------


def _write_spec(tmp_path, doc, name="tiny.toml") -> Path:
    path = tmp_path / name
    path.write_text(spec_toml(doc), encoding="utf-8")
    return path


def _validation(tmp_path, *args):
    base = [
        "validation",
        "--results",
        str(tmp_path / "calibration"),
        "--docs",
        str(tmp_path / "docs"),
        "--db",
        str(tmp_path / "runs.duckdb"),
        "--workers",
        "1",
        "-q",
    ]
    return invoke(*base, *args, cwd=tmp_path)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("validation")
    sample = _sample(tmp / "w")
    spec = _write_spec(tmp, _doc(sample))
    res = _validation(tmp, "--spec", str(spec))
    assert res.returncode == 0, res.stdout + res.stderr
    return tmp, spec, res


def test_validation_runs_the_check_and_writes_its_folder_and_report(tiny):
    tmp, spec, res = tiny
    out = tmp / "calibration" / "tiny_validation"
    assert {p.name for p in out.iterdir()} == {
        "spec.toml",
        "design.parquet",
        "runs.parquet",
        "manifest.json",
    }
    man = json.loads((out / "manifest.json").read_text())
    cal = load_calibration(spec)
    assert man["kind"] == "check" and man["calibration_id"] == cal.calib_id
    assert man["runs"] == {"planned": 6, "ok": 6, "failed": 0}
    assert man["check"]["sample"]["sha256"] == cal.sample_info["sha256"]
    assert man["check"]["sample"]["manifest"]["commit"] == "c" * 40
    assert man["check"]["per_case"]["gdr"] == {"draws": 2, "seeds": 2}
    runs = pd.read_parquet(out / "runs.parquet")
    assert len(runs) == 6 and (runs["status"] == "ok").all()
    assert runs["target:navco_defect"].dropna().isin([0.0, 1.0]).all()
    assert "budget: 6 of at most 40 runs" in res.stderr
    report = (tmp / "docs" / "VALIDATION.md").read_text()
    # the numbers come from the committed runs: the East Germany clause's share of runs
    fell = runs.loc[runs["case"] == "gdr", "target:gdr_fell_60"]
    line = next(ln for ln in report.splitlines() if "the leadership falls by day 60" in ln)
    assert f"| {len(fell)} | {fell.mean():.0%} ({int(fell.sum())}) |" in line
    assert cal.calib_id in report and "model version" in report
    assert "no lethal order carried out" in report and "not measured" in report
    assert "**No test-set runs.**" in report
    for png in ("defect_by_bin.png", "reliability.png"):
        assert (tmp / "docs" / "validation" / png).read_bytes()[:4] == b"\x89PNG"


def test_a_second_invocation_runs_nothing_and_writes_the_same_report(tiny):
    tmp, spec, _ = tiny
    before = (tmp / "docs" / "VALIDATION.md").read_text()
    (tmp / "runs.duckdb").rename(tmp / "moved.duckdb")  # only the committed folder is left
    try:
        res = _validation(tmp, "--spec", str(spec))
        assert res.returncode == 0, res.stderr
        assert "nothing left to run" in res.stderr
        assert not (tmp / "runs.duckdb").exists()
        assert (tmp / "docs" / "VALIDATION.md").read_text() == before
        res = _validation(tmp, "--spec", str(spec), "--report-only")
        assert res.returncode == 0 and (tmp / "docs" / "VALIDATION.md").read_text() == before
    finally:
        (tmp / "runs.duckdb").unlink(missing_ok=True)
        (tmp / "moved.duckdb").rename(tmp / "runs.duckdb")


def test_calibrate_runs_a_check_with_the_same_runs(tiny, tmp_path):
    tmp, spec, _ = tiny
    res = invoke(
        "calibrate", str(spec), "--out", str(tmp_path / "out"), "--db", str(tmp_path / "c.duckdb"),
        "--workers", "1", "-q", cwd=tmp_path,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "out" / "runs.parquet"),
        pd.read_parquet(tmp / "calibration" / "tiny_validation" / "runs.parquet"),
    )


def test_the_time_budget_stops_a_check_and_the_same_command_resumes(tmp_path):
    doc = _doc(_sample(tmp_path / "w"))
    doc["budget"]["max_minutes"] = 0.002  # 0.12 s: stops after the first runs
    spec = _write_spec(tmp_path, doc)
    old = os.environ.get(FAULTS_ENV)
    os.environ[FAULTS_ENV] = json.dumps({"delay": 0.1})
    try:
        res = _validation(tmp_path, "--spec", str(spec))
    finally:
        os.environ.pop(FAULTS_ENV) if old is None else os.environ.__setitem__(FAULTS_ENV, old)
    assert res.returncode == 1, res.stderr
    assert "run the same command to resume" in res.stderr
    assert not (tmp_path / "calibration" / "tiny_validation").exists()
    assert not (tmp_path / "docs" / "VALIDATION.md").exists()
    doc["budget"]["max_minutes"] = 5
    spec = _write_spec(tmp_path, doc)
    res = _validation(tmp_path, "--spec", str(spec))
    assert res.returncode == 0, res.stderr
    assert "resuming:" in res.stderr
    assert len(pd.read_parquet(tmp_path / "calibration" / "tiny_validation" / "runs.parquet")) == 6


def test_the_test_set_path_records_its_touch_and_refuses_another(tmp_path, monkeypatch):
    # fitting campaigns stand in for the test set: no model run on a real test campaign
    monkeypatch.setattr(navcases, "runnable_test_ids", lambda: [75, 169])
    stand_in = navco.regime_change(navco.campaigns(navco.load_rows()))
    monkeypatch.setattr(
        validation, "_test_units", lambda ids: stand_in[stand_in[navco.ID].isin(list(ids))]
    )
    sample = _sample(tmp_path / "w")
    spec = _write_spec(tmp_path, _doc(sample))
    test_doc = _doc(sample, test_set=True)
    test_doc["calibration"]["name"] = "tiny_test"
    test_doc["check"].pop("groups")
    test_doc["cases"] = [{"name": "navco", "source": "navco", "campaigns": "test", "set": SHORT}]
    test_doc["targets"] = test_doc["targets"][:2]
    test_spec = _write_spec(tmp_path, test_doc, "tiny_test.toml")
    args = ["--spec", str(spec), "--test-spec", str(test_spec)]

    # calibrate never runs a test-set check (it would not record the touch)
    res = invoke("calibrate", str(test_spec), "--dry-run", cwd=tmp_path)
    assert_clean_input_error(res, "check.test_set", "defection validation --test-set")
    # the test-set spec without --test-set, or as the validation spec, is refused
    res = _validation(tmp_path, "--spec", str(test_spec))
    assert_clean_input_error(res, "check.test_set", "runs the fitting set")

    res = _validation(tmp_path, *args, "--test-set")
    assert res.returncode == 0, res.stderr
    assert "test set touched: recorded in" in res.stderr
    folder = tmp_path / "calibration" / "tiny_test"
    touches = validation.read_touches(folder)
    cal = load_calibration(test_spec)
    assert len(touches) == 1 and touches[0]["calibration_id"] == cal.calib_id
    assert touches[0]["sample"]["sha256"] == cal.sample_info["sha256"]
    assert touches[0]["finished"] is not None and len(touches[0]["invocations"]) == 1
    assert "touches.json" in {p.name for p in folder.iterdir()}
    report = (tmp_path / "docs" / "VALIDATION.md").read_text()
    assert "The test set has been touched 1 time:" in report
    assert (
        "| SUCCESS | Brier | 2 (1) |" in report and "Brier difference (model - logistic)" in report
    )

    # the same check again: nothing runs, no new touch
    res = _validation(tmp_path, *args, "--test-set")
    assert res.returncode == 0 and len(validation.read_touches(folder)) == 1
    # another sample: refused (exit 2, nothing run) unless --again, which is recorded
    _sample(tmp_path / "w", **{"soldiers.threshold": [0.6, 1.4]})
    res = _validation(tmp_path, *args, "--test-set")
    assert_clean_input_error(res, "touches.json", "the test set was touched on", "--again")
    assert len(validation.read_touches(folder)) == 1
    res = _validation(tmp_path, *args, "--test-set", "--again")
    assert res.returncode == 0, res.stderr
    touches = validation.read_touches(folder)
    assert len(touches) == 2 and touches[1]["again"] and not touches[0]["again"]
    report = (tmp_path / "docs" / "VALIDATION.md").read_text()
    assert "The test set has been touched 2 times:" in report and "with --again" in report


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--again"], "only with --test-set"),
        (["--report-only", "--test-set"], "--report-only"),
        (["--workers", "2", "--scheduler", "tcp://127.0.0.1:8786"], "choose one"),
        (["--report-only"], "no committed check results"),
        (["--spec", "{ci_wave}", "--dry-run"], "defection validation runs a check"),
        (["--spec", "{missing}", "--dry-run"], "`check.sample`"),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path, args, needle):
    doc = _doc(_sample(tmp_path / "w"))
    doc["check"]["sample"] = str(tmp_path / "gone.parquet")
    missing = _write_spec(tmp_path, doc)
    args = [a.format(ci_wave=SPECS / "ci_wave.toml", missing=missing) for a in args]
    res = _validation(tmp_path, *args)
    assert_clean_input_error(res, needle)
    assert not (tmp_path / "docs").exists() and not (tmp_path / "runs.duckdb").exists()


# ------------------------------------------------------------------------------------------------
# the report from synthetic runs
# ------------------------------------------------------------------------------------------------


def _case_runs(case, target, values, draws=None):
    values = list(values)
    draws = draws if draws is not None else [i // 2 for i in range(len(values))]
    return pd.DataFrame(
        {
            "case": case,
            "group": case,
            "draw": draws,
            "status": "ok",
            f"target:{target}": np.asarray(values, dtype=float),
        }
    )


SYRIA_DEFECTED = [0.01, 0.02, 0.04, 0.05, 0.03, 0.02, 0.06, 0.07, 0.08, 0.01]


def test_case_rows_pass_fail_and_not_measured():
    runs = pd.concat(
        [
            # falls after day 231 in 8 of 10 runs: at least 70 % -> pass
            _case_runs("soviet", "soviet_fell_after_231", [1] * 8 + [0] * 2),
            # does not fall in year one in 7 of 10: below the 80 % -> fail; 1-4 % defected in 6
            # of the same 10 runs (the median run must meet it) -> pass
            _case_runs("syria", "syria_fell_365", [0] * 7 + [1] * 3).assign(
                **{"target:syria_defected_365": SYRIA_DEFECTED}
            ),
            # within 7 days in 1 of 4 runs; NaN (no fall) does not meet it -> fail
            _case_runs("philippines", "philippines_fall_after_defect", [3, np.nan, 9, np.nan]),
        ],
        ignore_index=True,
    )
    rows = validation.case_rows(runs).set_index(["case", "target"], drop=False)
    r = rows.loc[("soviet", "soviet_fell_after_231")]
    assert r["status"] == "pass" and r["share"] == 0.8 and r["required"] == 0.7 and r["stated"]
    r = rows.loc[("syria", "syria_fell_365")]
    assert r["status"] == "fail" and r["share"] == pytest.approx(0.7) and r["required"] == 0.8
    r = rows.loc[("syria", "syria_defected_365")]
    assert r["status"] == "pass" and r["met"] == 6 and r["required"] == validation.DEFAULT_SHARE
    per_draw = np.asarray(SYRIA_DEFECTED).reshape(5, 2).mean(axis=1)  # two runs per draw
    assert r["lo"] == pytest.approx(np.quantile(per_draw, 0.05))
    assert r["hi"] == pytest.approx(np.quantile(per_draw, 0.95))
    assert r["median"] == pytest.approx(np.median(SYRIA_DEFECTED))
    r = rows.loc[("philippines", "philippines_fall_after_defect")]
    assert r["status"] == "fail" and r["met"] == 1 and "2 runs without a value" in r["note"]
    lethal = rows[rows["clause"].str.startswith("no lethal")].iloc[0]
    assert lethal["status"] == "not measured" and pd.isna(lethal["target"])
    core = rows[rows["clause"].str.startswith("core")].iloc[0]  # runs, but no such column
    assert core["target"] == "syria_core_left" and core["status"] == "not run"
    # a case with runs but no such target column, and a case with no runs
    gdr = rows[rows["clause"] == "the leadership falls by day 60"].iloc[0]
    assert gdr["status"] == "not run"
    # the strict upper end: exactly 5 % detained does not meet "< 5 %"
    check = validation.CaseCheck("x", "x", "t", 0, 0.05, strict_hi=True)
    assert list(check.meets(np.array([0.0, 0.049, 0.05, np.nan]))) == [True, True, False, False]


def _facts_and_data():
    units = navco.fitting_units()
    return validation.unit_facts(units), navco.targets(units)


def test_navco_rows_put_the_model_inside_or_outside_the_data_s_interval():
    facts, data = _facts_and_data()
    ids = facts.index[facts["bin"].astype(str) == "0.1-1%"][:10]
    other = facts.index[facts["bin"].astype(str) == "0.01-0.1%"][:10]
    recs = []
    for d in range(4):
        for i in ids:  # about half DEFECT in this bin (data: 0.47)
            recs.append((i, d, float((i + d) % 2 == 0)))
        for i in other:  # every run DEFECT (data: 0.28 -> outside)
            recs.append((i, d, 1.0))
    runs = pd.DataFrame(recs, columns=["navco_id", "draw", "navco_defect"])
    runs["navco_success"] = 0.0
    runs["status"] = "ok"
    table = validation.navco_rows(runs, facts, data).set_index(["table", "cell"])
    r = table.loc[("defect_by_bin", "0.1-1%")]
    assert r["model_p"] == pytest.approx(0.5) and r["inside"] is True and r["done_when"]
    assert r["model_lo"] <= 0.5 <= r["model_hi"] and r["campaigns"] == 10 and r["runs"] == 40
    r = table.loc[("defect_by_bin", "0.01-0.1%")]
    assert r["model_p"] == 1.0 and r["inside"] is False
    r = table.loc[("defect_by_bin", ">=3.5%")]
    assert not r["done_when"] and r["inside"] is None and r["data_n"] < validation.MIN_CELL
    gap = table.loc[("success_gap", "nonviolent")]
    assert gap["data_lo"] < gap["data_p"] < gap["data_hi"] and gap["done_when"]


def test_the_report_renders_pass_and_fail_rows_from_a_committed_folder(tmp_path):
    facts, _ = _facts_and_data()
    ids = list(facts.index[facts["bin"].astype(str) == "0.1-1%"][:6])
    cases = {f"navco_{i}_d0": {"navco_id": i, "table": "navco"} for i in ids}
    cases["soviet"] = {"navco_id": None}
    recs = []
    for _ in range(3):  # three draws
        for i in ids:
            recs.append((f"navco_{i}_d0", 1.0, np.nan))
        for s in range(3):
            recs.append(("soviet", np.nan, float(s < 2)))  # falls after day 231 in 2 of 3
    runs = pd.DataFrame(
        recs, columns=["case", "target:navco_defect", "target:soviet_fell_after_231"]
    )
    runs["target:navco_success"] = 1.0
    runs["status"] = "ok"
    runs["point"] = np.arange(len(runs))
    runs["run_id"] = [f"x/p{i:06d}/r00000" for i in range(len(runs))]
    design = pd.DataFrame({"point": runs["point"], "draw": np.repeat(range(3), len(runs) // 3)})
    folder = tmp_path / "calibration" / "validation"
    folder.mkdir(parents=True)
    runs.to_parquet(folder / "runs.parquet")
    design.to_parquet(folder / "design.parquet")
    manifest = {
        "kind": "check",
        "calibration_id": "validation-0123456789",
        "model_version": MODEL_VERSION,
        "commit": "d" * 40,
        "runs": {"planned": len(runs), "ok": len(runs), "failed": 0},
        "cases": cases,
        "check": {
            "sample": {
                "path": "calibration/calibrated/sample.parquet",
                "sha256": "e" * 64,
                "vectors": 40,
                "rows": [3, 1, 2],
                "manifest": {"name": "wave3", "commit": "f" * 40},
            },
            "per_case": {c: {"draws": 3, "seeds": 3 if c == "soviet" else 1} for c in cases},
        },
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    files = validation.write_report(tmp_path / "calibration", tmp_path / "docs")
    assert [f.name for f in files] == ["VALIDATION.md", "defect_by_bin.png", "reliability.png"]
    text = (tmp_path / "docs" / "VALIDATION.md").read_text()
    assert "validation-0123456789" in text and "`wave3` at commit `" + "f" * 40 in text
    assert f"model version {MODEL_VERSION}" in text
    # every campaign of the cell always DEFECTs: 1.00 against the data's 0.47 -> fail
    line = next(ln for ln in text.splitlines() if ln.startswith("| 0.1-1% |"))
    assert "| 1.00 | 1.00 to 1.00 | 6 | 18 | yes | **fail** |" in line
    line = next(ln for ln in text.splitlines() if "falls after the August coup" in ln)
    assert "| 9 | 67% (6) | 70% |" in line and "**fail**" in line
    assert "**No test-set runs.**" in text and "not run (no test-set runs)" in text
    assert "0 of 2 done-when cells inside" in text  # the two done-when bins
    # the README's section: written between its markers only, when the README has them
    readme = tmp_path / "README.md"
    readme.write_text(
        "# x\n\nbefore\n<!-- validation:begin -->\nold\n<!-- validation:end -->\nafter\n"
    )
    files = validation.write_report(tmp_path / "calibration", tmp_path / "docs")
    assert files[-1] == readme
    text = readme.read_text()
    assert text.startswith("# x\n\nbefore\n<!-- validation:begin -->\n") and "old" not in text
    assert text.endswith("<!-- validation:end -->\nafter\n")
    assert "(docs/validation/defect_by_bin.png)" in text and "(docs/VALIDATION.md)" in text
    assert "| NAVCO P(DEFECT), participation 0.1-1% | 0.47 (0.37 to 0.58) | 1.00 (1.00 to" in text
    line = next(ln for ln in text.splitlines() if "falls after the August coup" in ln)
    assert "| 70% of runs | 67% of 9 runs | **fail** |" in line
    assert "Sample: wave `wave3`, 3 of 40 vectors drawn" in text
    assert "0 of 2 done-when cells inside" in text
    readme.write_text("no markers\n")
    validation.write_report(tmp_path / "calibration", tmp_path / "docs")
    assert readme.read_text() == "no markers\n"
    with pytest.raises(validation.ReportError, match="needs one"):
        validation.replace_readme_section("<!-- validation:end -->\n<!-- validation:begin -->", "")


# ------------------------------------------------------------------------------------------------
# the logistic baseline and the skill table on synthetic data
# ------------------------------------------------------------------------------------------------


def _units(n, seed):
    rng = np.random.default_rng(seed)
    share = 10 ** rng.uniform(-5, -1.5, n)
    violent = rng.random(n) < 0.5
    z = 1.5 * (np.log10(share) + 3) - 1.0 * violent
    defect = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    success = np.where(rng.random(n) < 0.1, np.nan, (rng.random(n) < 0.2 + 0.6 * defect))
    return pd.DataFrame(
        {
            navco.ID: np.arange(1, n + 1) + 1000 * seed,
            "share": share,
            "method": np.where(violent, "violent", "nonviolent"),
            "REGVIOL": rng.integers(0, 2, n),
            "REGAID": rng.integers(0, 2, n),
            "STATESUP": rng.integers(0, 2, n),
            "VIOLENT FLANK": np.where(rng.random(n) < 0.4, np.nan, rng.integers(0, 2, n)),
            "DEFECT": defect,
            "success": success,
        }
    )


def test_baseline_features_and_the_logistic_baseline():
    units = _units(120, 1)
    x = validation.baseline_features(units)
    assert x.shape == (120, len(validation.BASELINE_FEATURES))
    np.testing.assert_allclose(x[:, 0], np.log10(units["share"]))
    flank = x[:, 5]
    missing = units["VIOLENT FLANK"].isna().to_numpy()
    from defection.calibration.casecode import PRIORS

    assert (flank[missing] == PRIORS["violent_flank"].hi).all()  # the prior's mean
    model = validation.logistic_baseline(units, "DEFECT")
    p = model.predict_proba(x)[:, 1]
    # it learned the participation effect: higher participation, higher P(DEFECT)
    assert np.corrcoef(x[:, 0], p)[0, 1] > 0.5
    with pytest.raises(ValueError, match="participation figure"):
        validation.baseline_features(units.assign(share=np.nan))


def test_the_skill_table_pairs_the_model_with_the_baseline():
    fit, test = _units(150, 2), _units(60, 3)
    ids = test[navco.ID]
    # a model that knows the outcome almost surely beats the baseline on both scores
    pred = pd.DataFrame(
        {
            "p_defect": np.clip(test["DEFECT"] * 0.9 + 0.05, 0, 1).to_numpy(),
            "p_success": np.clip(test["success"].fillna(0) * 0.9 + 0.05, 0, 1).to_numpy(),
        },
        index=pd.Index(ids, name="navco_id"),
    )
    rows = validation.skill_rows(pred, test, fit, n=400).set_index(["outcome", "metric"])
    finished = int(test["success"].notna().sum())
    assert rows.loc[("DEFECT", "Brier"), "campaigns"] == 60
    assert rows.loc[("SUCCESS", "Brier"), "campaigns"] == finished
    b = rows.loc[("SUCCESS", "Brier")]
    assert b["model"] == pytest.approx(0.0025) and b["diff"] == pytest.approx(
        b["model"] - b["baseline"]
    )
    assert b["diff_lo"] <= b["diff"] <= b["diff_hi"] < validation.BRIER_BOUND
    a = rows.loc[("DEFECT", "AUC")]
    assert a["model"] == 1.0 and a["diff_lo"] >= 0 and a["model_lo"] <= a["model"] <= a["model_hi"]
    # a useless model: no better than the baseline, the done-when line fails
    flat = pred.assign(p_success=0.9, p_defect=0.9)
    bad = validation.skill_rows(flat, test, fit, n=400).set_index(["outcome", "metric"])
    assert bad.loc[("SUCCESS", "Brier"), "diff_hi"] > validation.BRIER_BOUND
    # one class only: the AUC is undefined, the Brier score still computed
    one = validation.skill_rows(pred.iloc[:3], test.assign(DEFECT=1), fit, n=50)
    one = one.set_index(["outcome", "metric"])
    assert math.isnan(one.loc[("DEFECT", "AUC"), "model"])
    assert math.isfinite(one.loc[("DEFECT", "Brier"), "model"])


def test_touches_are_one_per_design_and_a_new_one_needs_again(tmp_path):
    def calib(cid, sha):
        return SimpleNamespace(
            calib_id=cid, sample_info={"sha256": sha, "rows": [1], "manifest": {}}
        )

    commit = {"commit": "a" * 40, "dirty": False}
    first = calib("t-1", "1" * 64)
    assert validation.touch_problem(tmp_path, first, again=False) is None
    validation.record_touch(tmp_path, first, False, commit)
    validation.record_touch(tmp_path, first, False, commit)  # a resumed touch
    (t,) = validation.read_touches(tmp_path)
    assert len(t["invocations"]) == 2 and t["finished"] is None
    validation.finish_touch(tmp_path, first)
    assert validation.read_touches(tmp_path)[0]["finished"] is not None
    assert validation.touch_problem(tmp_path, first, again=False) is None
    second = calib("t-2", "2" * 64)
    why = validation.touch_problem(tmp_path, second, again=False)
    assert "another sample" in why and "--again" in why
    assert validation.touch_problem(tmp_path, calib("t-3", "1" * 64), False).count("same sample")
    assert validation.touch_problem(tmp_path, second, again=True) is None
    validation.record_touch(tmp_path, second, True, commit)
    assert [x["again"] for x in validation.read_touches(tmp_path)] == [False, True]


def test_a_promoted_sample_s_origin_names_its_wave_and_status():
    sm = {
        "status": "provisional",
        "note": "wave 1 of 3",
        "model_version": MODEL_VERSION,
        "wave": {"name": "wave1", "folder": "calibration/wave1", "commit": "a" * 40},
    }
    text = validation._sample_origin(sm)
    assert "wave `wave1` (`calibration/wave1`) at commit `" + "a" * 40 in text
    assert "status **provisional** (wave 1 of 3)" in text


def test_test_set_runs_of_another_sample_are_reported_as_that_touch_s_record():
    """After a new sample is promoted the committed test-set runs are the old sample's: the report
    keeps them as that touch's record and never scores the current model with them."""

    def committed(sha: str, version: str) -> validation.Committed:
        manifest = {"model_version": version, "check": {"sample": {"sha256": sha}}}
        return validation.Committed(Path("x"), manifest, pd.DataFrame())

    fit = committed("a" * 64, "5")
    assert validation.stale_test(fit, None) is None
    assert validation.stale_test(fit, committed("a" * 64, "5")) is None
    why = validation.stale_test(fit, committed("b" * 64, "4"))
    assert "`bbbbbbbbbbbb...`, model version 4" in why and "model version 5" in why
    assert validation.stale_test(fit, committed("a" * 64, "4"))  # same file, another model
    skills = pd.DataFrame([{"outcome": "SUCCESS", "metric": "Brier", "diff_hi": 0.064}])
    cases = pd.DataFrame(columns=["case", "clause", "status"])
    last = validation._summary(pd.DataFrame(), cases, skills, why)[-1]
    assert "not run with the current sample" in last and "+0.064" in last
    assert "**fail**" not in last and "**pass**" not in last
    assert validation._summary(pd.DataFrame(), cases, skills)[-1].endswith("**fail**.")


def test_failed_runs_are_listed_by_case_with_their_first_error():
    runs = pd.DataFrame(
        {
            "case": ["navco_1_d0", "navco_1_d0", "soviet", "syria"],
            "status": ["failed", "failed", "ok", "failed"],
            "error": ["ScenarioError: a | b", "other", None, "ValueError: `x`"],
        }
    )
    (line,) = validation._failed_lines(runs)
    assert "`navco_1_d0` 2 (first: ScenarioError: a / b)" in line
    assert "`syria` 1 (first: ValueError: 'x')" in line and "soviet" not in line
    assert validation._failed_lines(runs[runs["status"] == "ok"]) == []
    assert validation._failed_lines(pd.DataFrame({"case": ["a"]})) == []


def test_draw_rows_read_each_vector_s_own_runs_and_parameter_rows_rank_them():
    recs = []
    for d in range(4):  # draw d: campaigns DEFECT in d of 4 runs; soviet falls after the coup
        for k in range(4):
            recs.append(("navco_7_d0", "navco", 7, d, float(k < d), float(d >= 2)))
        for _ in range(3):
            recs.append(("soviet", "soviet", None, d, math.nan, math.nan))
    runs = pd.DataFrame(
        recs, columns=["case", "group", "navco_id", "draw", "target:navco_defect", "x"]
    )
    runs["target:navco_success"] = runs.pop("x")
    runs["target:soviet_fell_after_231"] = [float(d >= 3) for d in runs["draw"]]
    runs["status"] = "ok"
    runs["sample_row"] = runs["draw"] + 10
    runs["soldiers.loyalty"] = 3.0 - runs["draw"]  # falls as DEFECT rises
    runs["belief.memory"] = 0.5  # constant: no correlation
    runs.loc[len(runs)] = {**runs.iloc[0].to_dict(), "status": "failed"}  # counts nowhere
    draws = validation.draw_rows(runs)
    assert list(draws["draw"]) == [0, 1, 2, 3] and list(draws["sample_row"]) == [10, 11, 12, 13]
    assert list(draws["campaigns"]) == [4, 4, 4, 4]
    assert list(draws["defect"]) == [0.0, 0.25, 0.5, 0.75]
    assert list(draws["success"]) == [0.0, 0.0, 1.0, 1.0]
    # the soviet clause (70 % of its runs fall after the coup) passes in draw 3 only
    soviet = validation.CaseCheck("soviet", "falls", "soviet_fell_after_231", 1, 1, share=0.7)
    draws = validation.draw_rows(runs, (soviet,))
    assert list(draws["passed"]) == [0, 0, 0, 1] and set(draws["measured"]) == {1}
    params = validation.parameter_rows(draws).set_index("parameter")
    assert params.loc["soldiers.loyalty", "rho_defect"] == pytest.approx(-1.0)
    assert params.loc["soldiers.loyalty", "lo"] == 0.0 and params.loc["soldiers.loyalty", "hi"] == 3
    assert math.isnan(params.loc["belief.memory", "rho_defect"])
    assert params.loc["soldiers.loyalty", "n_defect"] == 4
    lines = validation._draw_lines(draws)
    assert "| 3 | 13 | 4 | 0.75 | 1.00 | 1 of 1 |" in lines
    assert any(ln.startswith("| `soldiers.loyalty` | 0 to 3 | -1.00 (n 4)") for ln in lines)
