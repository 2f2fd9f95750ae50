"""The levers kind (issue #10's lever-cliff check): its design and common random numbers, the
events a swept lever drops, parts committed and resumed from the committed files alone, the
analysis on hand-made runs whose cliff is known, and the report.

Tests use a small sample they write themselves, not the calibrated one; the runs go through the
real runner on calibration/specs/ci_levers.toml (2 levers x 3 values x 2 draws x 1 seed on two
cases cut to 30 days: 24 runs)."""

import dataclasses
import json
import math
import re
import shutil
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_kit import assert_clean_input_error, invoke
from sweep_kit import held_database, spec_toml

from defection.calibration import levers as lv
from defection.calibration.spec import calibration_from_dict, load_calibration
from defection.model import params as registry
from defection.model.scenario import ScenarioError
from defection.model.version import MODEL_VERSION

SPECS = Path(__file__).parent.parent / "calibration" / "specs"
CI = SPECS / "ci_levers.toml"
VECTORS = {
    "soldiers.threshold": [0.5, 1.5, 1.0],
    "belief.intercept": [1.0, 2.0, 1.5],
    "case.lethality_regviol": [0.3, 0.6, 0.5],
}


def _sample(folder: Path, rows: int = 3, **extra) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    cols = {k: (v * rows)[:rows] for k, v in VECTORS.items()} | extra
    frame = pd.DataFrame(cols)
    frame["soldiers.threshold"] += np.arange(rows) * 0.01  # every row its own vector
    frame.to_parquet(folder / "sample.parquet", index=False)
    manifest = {"model_version": MODEL_VERSION, "name": "wave_x", "status": "test"}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder / "sample.parquet"


def _doc(sample: Path, path: Path = CI) -> dict:
    doc = tomllib.loads(path.read_text())
    doc["levers"]["sample"] = str(sample)
    return doc


def _write(folder: Path, doc: dict, name: str = "ci_levers.toml") -> Path:
    path = folder / name
    path.write_text(spec_toml(doc), encoding="utf-8")
    return path


def _problems(doc) -> list[str]:
    with pytest.raises(ScenarioError) as exc:
        calibration_from_dict(doc, "spec.toml")
    return exc.value.problems


def _calibrate(folder: Path, spec: Path, *args, db: str = "runs.duckdb"):
    return invoke(
        "calibrate", str(spec), "--out", str(folder / "out"), "--db", str(folder / db),
        "--workers", "1", "-q", *args, cwd=folder,
    )  # fmt: skip


# ------------------------------------------------------------------------------------------------
# the design, without running the model
# ------------------------------------------------------------------------------------------------


def test_the_design_crosses_draws_cases_levers_values_and_seeds(tmp_path):
    cal = calibration_from_dict(_doc(_sample(tmp_path / "s")), "spec.toml")
    assert cal.kind == "levers" and cal.param_names == list(VECTORS)
    assert cal.n_runs == 2 * 2 * 2 * 3 * 1 == len(cal.design)
    d = cal.design
    assert list(d.groupby("lever", sort=False).size()) == [12, 12]
    ranges = {r.name: r.values for r in cal.levers.ranges}
    assert ranges == {"soldiers.pay": (0.0, 1.5, 3.0), "regime.repression": (0.0, 0.5, 1.0)}
    rows = cal.sample_info["rows"]
    assert len(set(rows)) == 2 and set(d["sample_row"]) == set(rows)
    # lever by lever: the first lever's points come first
    assert (d["lever"].iloc[:12] == "soldiers.pay").all()
    assert [t.name for t in cal.targets] == ["left_share"]
    # the same spec and sample: the same id; the budget and threshold do not change it
    doc = _doc(_sample(tmp_path / "s"))
    doc["budget"]["max_minutes"] = 1
    doc["levers"]["threshold"] = 0.1
    assert calibration_from_dict(doc, "spec.toml").calib_id == cal.calib_id
    doc["calibration"]["seed"] = 1
    assert calibration_from_dict(doc, "spec.toml").calib_id != cal.calib_id


def test_every_value_of_every_lever_shares_its_draw_case_and_seed_s_model_seed(tmp_path):
    doc = _doc(_sample(tmp_path / "s"))
    doc["calibration"]["seeds"] = 2
    doc["budget"]["max_runs"] = 48
    cal = calibration_from_dict(doc, "spec.toml")
    tasks = lv.part_tasks(cal, set(), cal.levers.names)
    assert len(tasks) == 48 and len({t.run_id for t in tasks}) == 48
    d = cal.design.set_index("point")
    by = {}
    for t in tasks:
        row = d.loc[t.point]
        key = (int(row["draw"]), row["case"], t.replicate)
        by.setdefault(key, set()).add(t.seed)
        # each run: the draw's vector and its one lever's value, nothing else
        swept = set(t.overrides) - set(VECTORS)
        assert swept == {row["lever"]} and t.overrides[row["lever"]] == row["value"]
        assert t.overrides["belief.intercept"] == row["belief.intercept"] and t.case == row["case"]
    # one seed per (draw, case, seed index) across the 6 (lever, value) points; 8 such keys,
    # each with its own seed
    assert len(by) == 2 * 2 * 2 and all(len(s) == 1 for s in by.values())
    assert len({next(iter(s)) for s in by.values()}) == 8
    # a part: one lever's runs, in design order
    part = lv.part_tasks(cal, {tasks[0].run_id}, ["regime.repression"])
    assert len(part) == 24 and {d.loc[t.point, "lever"] for t in part} == {"regime.repression"}
    assert [t.point for t in part] == sorted(t.point for t in part)


# ------------------------------------------------------------------------------------------------
# scheduled events that set the swept lever
# ------------------------------------------------------------------------------------------------


def test_the_event_record_and_the_runs_scenarios(tmp_path):
    cal = calibration_from_dict(_doc(_sample(tmp_path / "s")), "spec.toml")
    recs = {(r["case"], r["lever"], r["day"]): r for r in cal.levers.edit_records()}
    assert set(recs) == {
        ("syria", "soldiers.pay", 120),
        ("syria", "regime.repression", 18),
        ("soviet", "soldiers.pay", 120),
    }
    assert recs[("syria", "soldiers.pay", 120)]["action"] == "dropped"
    assert recs[("syria", "regime.repression", 18)]["fields"] == {
        "repression": "held at the swept value"
    }
    assert recs[("soviet", "soldiers.pay", 120)]["fields"] == {"pay": "removed"}
    assert recs[("soviet", "soldiers.pay", 120)]["kept"] == ["soldiers.arrears"]

    syria = next(c for c in cal.cases if c.name == "syria")
    runner = lv.LeverCaseRunner(syria.scenario, frozenset(cal.levers.names))
    base = [(e["day"], e["kind"]) for e in syria.scenario.events]
    assert base == [(18, "crackdown"), (120, "pay_cut")]
    pay = runner.with_overrides({"soldiers.pay": 3.0, "belief.intercept": 1.0})
    assert [(e["day"], e["kind"]) for e in pay.events] == [(18, "crackdown")]
    assert pay["soldiers.pay"] == 3.0 and pay["belief.intercept"] == 1.0
    rep = runner.with_overrides({"regime.repression": 0.25})
    crack = rep.events[0]
    assert crack["repression"] == 0.25 and crack["lethality"] == 0.6 and len(rep.events) == 2
    # another lever's runs keep every event as it is
    other = runner.with_overrides({"soldiers.threshold": 1.0})
    assert other.events == syria.scenario.events


def test_neutralise_drops_an_event_that_does_nothing_else_and_keeps_the_rest():
    events = [
        {"day": 3, "kind": "crackdown"},  # repression at its default (1.0): its only effect
        {"day": 4, "kind": "crackdown", "lethality": 0.5},
        {"day": 5, "kind": "pay_cut", "pay": 0.5, "arrears": 0.2},
        {"day": 6, "kind": "elite_split", "share": 0.1},
    ]
    out, recs = lv.neutralise(events, {"regime.repression": 0.4})
    assert out == [
        {"day": 4, "kind": "crackdown", "lethality": 0.5, "repression": 0.4},
        events[2],
        events[3],
    ]
    assert [(r["day"], r["action"]) for r in recs] == [(3, "dropped"), (4, "kept")]
    out, recs = lv.neutralise(events, {"regime.lethality": 0.9})
    assert out[1] == {"day": 4, "kind": "crackdown"}  # still sends every soldier out
    assert recs[0]["kept"] == ["regime.repression"]
    out, _ = lv.neutralise(events, {"soldiers.pay": 1.0, "soldiers.arrears": 0.0})
    assert [e["day"] for e in out] == [3, 4, 6]
    assert lv.neutralise(events, {"soldiers.rotation": 0.5}) == (events, [])


def test_the_event_map_says_what_the_registry_says_each_field_sets():
    said = {}
    for kind, fields in registry.EVENT_FIELDS.items():
        for name, p in fields.items():
            m = re.match(r"Sets ([a-z_]+\.[a-z_]+)\.", p.meaning)
            if m:
                said[(kind, name)] = m.group(1)
    assert said == lv.EVENT_SETS
    assert set(lv.EVENT_SETS.values()) <= set(registry.BY_NAME)


# ------------------------------------------------------------------------------------------------
# bad specs: one line naming the field
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "edit, needle",
    [
        (lambda d: d.update(parameters={"names": ["soldiers.threshold"]}), "leave [parameters]"),
        (lambda d: d.update(targets=[{"name": "x", "measure": "left_share"}]), "[[targets]] out"),
        (lambda d: d.pop("levers"), "a levers spec needs a [levers] table"),
        (lambda d: d["levers"].update(names=["soldiers.pya"]), "did you mean `soldiers.pay`"),
        (lambda d: d["levers"].update(names=["soldiers.threshold"]), "has role behavioural"),
        (lambda d: d["levers"].update(names="soldiers.pay"), "`levers.names`: a list"),
        (lambda d: d["levers"].update(names=[]), "name at least one lever"),
        (lambda d: d["levers"].update(values=1), "`levers.values`"),
        (
            lambda d: d["levers"].update(bounds={"soldiers.pay": {"hi": 9.0, "source": "x"}}),
            "leaves the registry's range",
        ),
        (
            lambda d: d["levers"].update(
                bounds={"soldiers.punishment": {"hi": 2.0, "source": "x"}}
            ),
            "not one of the swept levers",
        ),
        (lambda d: d["levers"].update(bounds={"soldiers.pay": {"hi": 2.0}}), "source"),
        (lambda d: d["levers"].update(run_seconds={"syra": 1.0}), "did you mean `syria`"),
        (lambda d: d["levers"].update(draws=4), "holds 3; vectors are drawn without"),
        (lambda d: d["budget"].update(max_runs=10), "needs 24 runs"),
        (lambda d: d["levers"].update(colour=1), "`levers.colour`: unknown key"),
        (
            lambda d: d["cases"].append(
                {"name": "nv", "source": "navco", "campaigns": [75], "set": {"run.horizon": 12}}
            ),
            "runs scenario cases",
        ),
    ],
)
def test_a_bad_levers_spec_is_one_line_naming_the_field(tmp_path, edit, needle):
    doc = _doc(_sample(tmp_path / "s"))
    edit(doc)
    problems = _problems(doc)
    assert any(needle in p for p in problems), problems
    assert all(p.startswith("spec.toml") and "\n" not in p for p in problems)


def test_a_lever_without_a_finite_end_needs_a_bound_and_its_source(tmp_path, monkeypatch):
    open_ended = dataclasses.replace(registry.BY_NAME["soldiers.pay"], hi=None)
    levers = tuple(open_ended if p.name == "soldiers.pay" else p for p in registry.LEVERS)
    monkeypatch.setattr(registry, "LEVERS", levers)
    doc = _doc(_sample(tmp_path / "s"))
    problems = _problems(doc)
    assert any(
        "`levers.bounds.soldiers.pay.hi`" in p and "no finite hi" in p and "assumption:" in p
        for p in problems
    ), problems
    why = "assumption: three times subsistence, the registry's old end"
    doc["levers"]["bounds"] = {"soldiers.pay": {"hi": 3.0, "source": why}}
    cal = calibration_from_dict(doc, "spec.toml")
    pay = next(r for r in cal.levers.ranges if r.name == "soldiers.pay")
    assert pay.values == (0.0, 1.5, 3.0) and pay.source == why


def test_the_full_spec_sweeps_every_lever_over_11_values_on_both_cases(tmp_path):
    doc = _doc(_sample(tmp_path / "s", rows=20), SPECS / "levers.toml")
    cal = calibration_from_dict(doc, "levers.toml")
    assert cal.levers.names == [p.name for p in registry.LEVERS] and len(cal.levers.names) == 23
    assert not any(n.startswith("events.") for n in cal.levers.names)
    assert [c.name for c in cal.cases] == ["syria_2011", "soviet_1991"]
    assert cal.n_runs == 23 * 11 * 10 * 6 * 2 == 30_360 == cal.budget.max_runs
    assert all(len(r.values) == 11 for r in cal.levers.ranges)
    assert ("syria_2011", "soldiers.pay", 120, "dropped") in {
        (r["case"], r["lever"], r["day"], r["action"]) for r in cal.levers.edit_records()
    }
    # the committed spec names its budget and chunking in its header
    text = (SPECS / "levers.toml").read_text()
    assert "30,360 runs" in text and "--levers" in text and "max_minutes" in text


# ------------------------------------------------------------------------------------------------
# parts through the real runner, committed, resumed from the committed files alone
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    """The CI spec run in one invocation: (folder, spec, result)."""
    folder = tmp_path_factory.mktemp("levers_whole")
    spec = _write(folder, _doc(_sample(folder / "s")))
    res = _calibrate(folder, spec)
    assert res.returncode == 0, res.stdout + res.stderr
    return folder, spec, res


def _comparable(runs: pd.DataFrame) -> pd.DataFrame:
    return runs.drop(columns=["run_seconds"]).sort_values("run_id").reset_index(drop=True)


def test_a_whole_run_commits_one_compact_file_per_lever(whole):
    folder, spec, res = whole
    out = folder / "out"
    assert {p.name for p in out.iterdir()} == {"manifest.json", "spec.toml", "runs"}
    assert {p.name for p in (out / "runs").iterdir()} == {
        "soldiers.pay.parquet",
        "regime.repression.parquet",
    }
    man, runs = lv.read_committed(out)
    cal = load_calibration(spec)
    assert man["calibration_id"] == cal.calib_id and man["spec_hash"] == cal.spec_hash
    assert man["runs"]["committed"] == man["runs"]["planned"] == 24 == len(runs)
    assert list(runs.columns) == list(lv.RUN_COLUMNS) and (runs["status"] == "ok").all()
    assert runs["left_share"].between(0, 1).all()
    assert {(e["case"], e["lever"], e["action"]) for e in man["event_edits"]} >= {
        ("syria", "soldiers.pay", "dropped")
    }
    # common random numbers in the runs themselves: one seed per (draw, case) over 6 points
    seeds = runs.groupby(["draw", "scenario"])["seed"].nunique()
    assert (seeds == 1).all() and runs["seed"].nunique() == 4
    # the plan and the budget were printed before the runs
    assert "this part: 24 runs of soldiers.pay, regime.repression; about 5 s on 1 worker" in (
        res.stderr
    )
    assert "event changed for soldiers.pay's runs of syria: day 120 pay_cut: dropped" in res.stderr
    assert "next: defection validation --levers-report" in res.stdout


def test_a_part_then_a_fresh_database_runs_only_the_rest(whole, tmp_path):
    spec = _write(tmp_path, _doc(_sample(tmp_path / "s")))
    res = _calibrate(tmp_path, spec, "--levers", "soldiers.pay")
    assert res.returncode == 0, res.stderr
    man, runs = lv.read_committed(tmp_path / "out")
    assert len(runs) == 12 and set(runs["lever"]) == {"soldiers.pay"}
    assert not (tmp_path / "out" / "runs" / "regime.repression.parquet").exists()
    assert man["runs"]["per_lever"] == {"soldiers.pay": 12} and len(man["parts"]) == 1
    before = (tmp_path / "out" / "runs" / "soldiers.pay.parquet").read_bytes()
    # a fresh clone: the committed folder, no database
    (tmp_path / "runs.duckdb").unlink()
    res = _calibrate(tmp_path, spec, db="fresh.duckdb")
    assert res.returncode == 0, res.stderr
    assert "resuming: 12 of this part's 24 runs already committed" in res.stderr
    assert "this part: 12 runs of regime.repression" in res.stderr
    assert "12 runs committed this time; 24 of 24" in res.stdout
    # the committed lever's file is left as it was; the result equals the whole run's
    assert (tmp_path / "out" / "runs" / "soldiers.pay.parquet").read_bytes() == before
    _, runs = lv.read_committed(tmp_path / "out")
    _, ref = lv.read_committed(whole[0] / "out")
    pd.testing.assert_frame_equal(_comparable(runs), _comparable(ref))
    # nothing left: a third invocation runs nothing and writes nothing
    res = _calibrate(tmp_path, spec, db="third.duckdb")
    assert res.returncode == 0 and "this part: 0 runs" in res.stderr
    assert "0 runs committed this time" in res.stdout


def test_the_time_budget_commits_what_finished_and_the_next_invocation_adds_the_rest(tmp_path):
    from defection.sweep.engine import FAULTS_ENV

    doc = _doc(_sample(tmp_path / "s"))
    doc["budget"]["max_minutes"] = 0.002  # 0.12 s: stops after the first runs
    spec = _write(tmp_path, doc)
    mp = pytest.MonkeyPatch()
    mp.setenv(FAULTS_ENV, json.dumps({"delay": 0.1}))
    try:
        res = _calibrate(tmp_path, spec)
    finally:
        mp.undo()
    assert res.returncode == 1, res.stderr
    assert "stopped: time budget" in res.stderr and "finished runs are committed" in res.stderr
    _, runs = lv.read_committed(tmp_path / "out")
    assert 0 < len(runs) < 24
    (tmp_path / "runs.duckdb").unlink()
    doc["budget"]["max_minutes"] = 5  # the budget is not part of the spec's identity
    spec = _write(tmp_path, doc)
    res = _calibrate(tmp_path, spec, db="fresh.duckdb")
    assert res.returncode == 0, res.stderr
    assert f"resuming: {len(runs)} of this part's 24 runs" in res.stderr
    man, runs = lv.read_committed(tmp_path / "out")
    assert len(runs) == 24 and len(man["parts"]) == 2


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--levers", "soldiers.pya"], "did you mean `soldiers.pay`"),
        (["--levers", ","], "name at least one lever"),
        (["--out", "{tmp}/file.txt"], "is a file"),
        (["--out", "{tmp}/other"], "not a levers spec's results"),
    ],
)
def test_bad_options_exit_2(tmp_path, args, needle):
    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.md").write_text("x")
    spec = _write(tmp_path, _doc(_sample(tmp_path / "s")))
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    res = invoke("calibrate", str(spec), "--dry-run", *args, cwd=tmp_path)
    assert_clean_input_error(res, needle)


def test_levers_on_another_kind_and_another_spec_s_runs_are_refused(whole, tmp_path):
    res = invoke(
        "calibrate", str(SPECS / "ci_screen.toml"), "--levers", "x", "--dry-run", cwd=tmp_path
    )
    assert_clean_input_error(res, "--levers", "only with a levers spec")
    folder, _, _ = whole
    doc = _doc(_sample(tmp_path / "s"))
    doc["calibration"]["seed"] = 99
    spec = _write(tmp_path, doc)
    res = invoke(
        "calibrate", str(spec), "--out", str(folder / "out"), "--dry-run", cwd=tmp_path
    )  # fmt: skip
    assert_clean_input_error(res, "manifest.json", "spec_hash", "move the folder away")


def test_dry_run_prints_the_plan_and_runs_nothing(tmp_path):
    spec = _write(tmp_path, _doc(_sample(tmp_path / "s")))
    res = invoke("calibrate", str(spec), "--dry-run", "--workers", "2", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "x 2 levers x 3 values x 1 seed(s) = 24 runs" in res.stderr
    # 24 runs x 0.2 s (the spec's run_seconds) on 2 workers: 2.4 s
    assert "this part: 24 runs of soldiers.pay, regime.repression; about 2 s on 2" in res.stderr
    assert "syria 0.20 s a run (spec's run_seconds)" in res.stderr
    assert not (tmp_path / "calibration").exists() and not (tmp_path / "results").exists()


# ------------------------------------------------------------------------------------------------
# the analysis on hand-made runs
# ------------------------------------------------------------------------------------------------


def _runs(curves_by: dict, seeds: int = 2) -> pd.DataFrame:
    """Committed-shaped runs: ``{(case, lever): [curve per draw]}``; every seed on the curve."""
    recs = []
    for (case, lever), draws in curves_by.items():
        for d, curve in enumerate(draws):
            for k, x in enumerate(curve):
                for s in range(seeds):
                    recs.append(
                        {
                            "run_id": f"x/{case}/{lever}/{d}/{k}/{s}",
                            "scenario": case,
                            "draw": d,
                            "lever": lever,
                            "step": k,
                            "value": k / (len(curve) - 1),
                            "replicate": s,
                            "status": "ok",
                            "left_share": x + (0.01 if s else -0.01),  # the seeds' mean is x
                        }
                    )
    return pd.DataFrame(recs)


def _plan(levers=("a", "b", "c"), cases=("syria",), draws=3, seeds=2, values=6) -> dict:
    grid = list(np.linspace(0, 1, values))
    return {
        "cases": list(cases),
        "levers": [{"name": n, "lo": 0.0, "hi": 1.0, "values": grid} for n in levers],
        "draws": draws,
        "seeds": seeds,
        "threshold": 0.25,
    }


STEP = [0.1, 0.1, 0.1, 0.5, 0.5, 0.5]  # one step of 0.4 between values 2 and 3
RAMP = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]  # 0.1 a step


def test_a_step_of_0_4_is_a_cliff_and_a_ramp_of_0_1_a_step_passes():
    runs = _runs({("syria", "a"): [STEP] * 3, ("syria", "b"): [RAMP] * 3})
    rows = lv.lever_rows(runs, _plan()).set_index("lever")
    assert rows.loc["a", "status"] == "cliff"
    assert rows.loc["a", "median"] == pytest.approx(0.4)
    assert (rows.loc["a", "at_lo"], rows.loc["a", "at_hi"]) == pytest.approx((0.4, 0.6))
    assert rows.loc["a", "at_share"] == 1.0
    assert rows.loc["b", "status"] == "pass" and rows.loc["b", "median"] == pytest.approx(0.1)
    assert rows.loc["c", "status"] == "not run" and math.isnan(rows.loc["c", "median"])
    assert list(rows.index) == ["a", "b", "c"]


def test_the_median_over_draws_decides_and_the_interval_spans_the_draws():
    # two draws with the cliff, one ramp: the median draw has the cliff
    runs = _runs({("syria", "a"): [STEP, STEP, RAMP], ("syria", "b"): [RAMP, RAMP, STEP]})
    rows = lv.lever_rows(runs, _plan(levers=("a", "b"))).set_index("lever")
    assert rows.loc["a", "status"] == "cliff" and rows.loc["b", "status"] == "pass"
    lo, hi = rows.loc["b", ["q_lo", "q_hi"]]
    assert lo == pytest.approx(0.1) and 0.1 < hi < 0.4
    # the seeds' mean is what a draw's curve is: a seed that alone jumps does not make a cliff
    noisy = _runs({("syria", "b"): [RAMP] * 3})
    # (seed 0 steps by 0.3 from value 2 to 3, the seeds' mean by 0.2)
    noisy.loc[(noisy["step"] == 3) & (noisy["replicate"] == 0), "left_share"] += 0.2
    rows = lv.lever_rows(noisy, _plan(levers=("b",))).set_index("lever")
    assert rows.loc["b", "status"] == "pass" and rows.loc["b", "median"] == pytest.approx(0.2)


def test_missing_and_failed_runs_are_never_guessed():
    runs = _runs({("syria", "a"): [STEP] * 3, ("syria", "b"): [RAMP] * 3})
    partial = runs.drop(runs.index[(runs["lever"] == "a") & (runs["draw"] == 2)][:1])
    rows = lv.lever_rows(partial, _plan(levers=("a", "b"))).set_index("lever")
    assert rows.loc["a", "status"] == "partial" and rows.loc["a", "draws"] == 2
    # a value whose runs all failed leaves its draw out; the lever is still judged on the rest
    failed = runs.copy()
    hit = (failed["lever"] == "b") & (failed["draw"] == 0) & (failed["step"] == 2)
    failed.loc[hit, ["status", "left_share"]] = ["failed", np.nan]
    rows = lv.lever_rows(failed, _plan(levers=("a", "b"))).set_index("lever")
    assert rows.loc["b", "status"] == "pass" and rows.loc["b", "draws"] == 2
    assert rows.loc["b", "failed"] == 2
    # the second case of the plan, never run
    rows = lv.lever_rows(runs, _plan(levers=("a",), cases=("syria", "soviet")))
    assert list(rows["status"]) == ["cliff", "not run"]


def test_curves_are_the_median_and_band_over_draws_of_the_seed_means():
    runs = _runs({("syria", "a"): [RAMP, STEP, [x + 0.2 for x in RAMP]]})
    c = lv.curves(runs)
    first = c[c["step"] == 0].iloc[0]
    assert first["median"] == pytest.approx(0.1) and first["draws"] == 3
    assert first["q_lo"] == pytest.approx(0.01) and first["q_hi"] == pytest.approx(0.19)


# ------------------------------------------------------------------------------------------------
# the report, from the committed files only
# ------------------------------------------------------------------------------------------------

DOC = "# Calibration\n\ntext before\n\n<!-- levers:begin -->\nold\n<!-- levers:end -->\n\nafter\n"


def _report(folder: Path, docs: Path, *args):
    return invoke(
        "validation", "--levers-report", "--levers-folder", str(folder), "--docs", str(docs),
        *args, cwd=folder.parent,
    )  # fmt: skip


def test_the_report_writes_its_section_and_plot_from_the_committed_runs(whole, tmp_path):
    folder, spec, _ = whole
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "CALIBRATION.md").write_text(DOC)
    out = tmp_path / "levers"
    shutil.copytree(folder / "out", out)  # the committed folder alone: no spec, no database
    res = _report(out, docs)
    assert res.returncode == 0, res.stderr
    text = (docs / "CALIBRATION.md").read_text()
    assert text.startswith("# Calibration\n\ntext before\n\n<!-- levers:begin -->\n")
    assert text.endswith("<!-- levers:end -->\n\nafter\n") and "\nold\n" not in text
    man, runs = lv.read_committed(out)
    assert man["calibration_id"] in text and "24 of 24 runs committed" in text
    rows = lv.lever_rows(runs, lv.plan_of(man))
    for r in rows.itertuples():
        line = next(
            ln for ln in text.splitlines() if ln.startswith(f"| `{r.lever}` |") and r.scenario in ln
        )
        assert f"| {r.median:.3f} |" in line
    assert "| `syria` | `soldiers.pay` | day 120 pay_cut" in text and "dropped" in text
    assert "![" in text and "(calibration/levers.png)" in text
    assert (docs / "calibration" / "levers.png").read_bytes()[:4] == b"\x89PNG"
    # the same files: the same section
    assert _report(out, docs).returncode == 0 and (docs / "CALIBRATION.md").read_text() == text


def test_the_report_lists_levers_not_run(tmp_path):
    spec = _write(tmp_path, _doc(_sample(tmp_path / "s")))
    res = _calibrate(tmp_path, spec, "--levers", "regime.repression")
    assert res.returncode == 0, res.stderr
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "CALIBRATION.md").write_text(DOC)
    res = _report(tmp_path / "out", docs)
    assert res.returncode == 0, res.stderr
    text = (docs / "CALIBRATION.md").read_text()
    assert "levers not run: `soldiers.pay`" in text
    assert "| `soldiers.pay` | 0 – 3 | `syria` | 0 | – | – | – | not run |" in text
    assert "12 of 24 runs committed" in text


def test_the_report_needs_committed_runs_and_the_markers(whole, tmp_path):
    folder, _, _ = whole
    docs = tmp_path / "docs"
    docs.mkdir()
    res = _report(tmp_path / "nothing", docs)
    assert_clean_input_error(res, "no committed levers runs")
    (docs / "CALIBRATION.md").write_text("# Calibration\n")
    res = _report(folder / "out", docs)
    assert_clean_input_error(res, "CALIBRATION.md", "<!-- levers:begin -->", "found 0 and 0")
    assert (docs / "CALIBRATION.md").read_text() == "# Calibration\n"
    assert not (docs / "calibration").exists()  # nothing written
    res = _report(folder / "out", docs, "--dry-run")
    assert_clean_input_error(res, "--levers-report", "runs nothing")
    res = invoke("validation", "--levers-folder", str(folder / "out"), cwd=tmp_path)
    assert_clean_input_error(res, "--levers-folder", "only with --levers-report")


def test_the_repository_s_calibration_doc_has_the_markers():
    text = (Path(__file__).parent.parent / "docs" / "CALIBRATION.md").read_text()
    assert text.count(lv.BEGIN) == 1 and text.count(lv.END) == 1


def test_a_database_held_by_another_invocation_is_a_clear_error_and_a_dry_run_still_plans(
    tmp_path,
):
    spec = _write(tmp_path, _doc(_sample(tmp_path / "s")))
    with held_database(tmp_path / "runs.duckdb"):
        dry = _calibrate(tmp_path, spec, "--dry-run")
        real = _calibrate(tmp_path, spec)
    assert dry.returncode == 0, dry.stderr
    assert "open in another process" in dry.stderr and "Traceback" not in dry.stderr
    assert "counts only the committed runs" in dry.stderr and "this part: 24 runs" in dry.stderr
    assert real.returncode == 1 and "Traceback" not in real.stderr
    assert "open in another process" in real.stderr
    assert not (tmp_path / "out").exists()
