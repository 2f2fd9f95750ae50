"""Ensembles over a calibrated sample (defection/ensemble.py, ``defection run --ensemble``)."""

import json

import pandas as pd
import pytest
from cli_kit import assert_clean_input_error, invoke

from defection import ensemble
from defection.model.version import MODEL_VERSION, SAMPLE_REQUIRES


def _sample(folder, version=MODEL_VERSION, **columns):
    folder.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(
        columns
        or {
            "soldiers.peer_weight": [0.5, 1.0, 2.0, 3.0],
            "belief.intercept": [1.0, 2.0, 3.0, 4.0],
            "case.lethality_regviol": [0.2, 0.4, 0.6, 0.8],
        }
    )
    frame.to_parquet(folder / "nonimplausible.parquet", index=False)
    (folder / "manifest.json").write_text(json.dumps({"model_version": version}))
    return folder / "nonimplausible.parquet"


def test_the_plan_draws_rows_and_seeds_from_one_seed(tmp_path):
    s = ensemble.load_sample(_sample(tmp_path / "w"))
    a, b = ensemble.plan(s, 3, 2, seed=5), ensemble.plan(s, 3, 2, seed=5)
    assert a == b and len(a) == 6 and a != ensemble.plan(s, 3, 2, seed=6)
    rows = [r for r, _ in a]
    assert len(set(rows)) == 3  # without replacement while the sample allows
    assert rows[0] == rows[1] and a[0][1] != a[1][1]  # one vector, two seeds
    assert len(ensemble.plan(s, 9, 1, seed=1)) == 9  # with replacement past the sample's size


def test_summary_counts_outcomes_and_quantiles():
    def run(outcome, left):
        return {
            "outcome": outcome,
            "soldiers": {"deserted": left, "defected": 0.0, "detained": 0.0},
            "elites": {"defected": 0.0},
            "participation": {"peak_share": 0.01},
        }

    runs = [run("collapse", 0.5), run("survival", 0.1), run("transition", 0.3), run("survival", 0)]
    out = ensemble.summarise(runs)
    assert out["runs"] == 4
    assert out["outcomes"]["survival"]["p"] == 0.5 and out["outcomes"]["fell"]["k"] == 2
    for o in out["outcomes"].values():
        assert o["lo"] <= o["p"] <= o["hi"]
    left = out["shares"]["soldiers_left"]
    assert left["median"] == pytest.approx(0.2)
    assert left["lo"] <= left["median"] <= left["hi"]


def test_run_ensemble_writes_probabilities_with_intervals(tmp_path):
    path = _sample(tmp_path / "w")
    out = tmp_path / "ens"
    proc = invoke(
        "run", "baseline", "--ensemble", "2", "--seeds-per-draw", "2", "--steps", "15",
        "--sample", str(path), "--out", str(out), "-q", cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "P(fell)" in proc.stdout and "2 draws x 2 seeds = 4 runs" in proc.stdout
    r = json.loads((out / "summary.json").read_text())
    assert r["runs"] == 4 and len(r["runs_plan"]) == 4
    assert sum(r["outcomes"][o]["k"] for o in ("collapse", "transition", "split", "survival")) == 4
    assert r["parameters_drawn"] == ["soldiers.peer_weight", "belief.intercept"]
    assert r["parameters_left_out"] == ["case.lethality_regviol"]


def test_the_drawn_vectors_reach_the_model(tmp_path):
    from defection.model.scenario import load

    sc = load("baseline", overrides={"run.horizon": 30})
    # (belief alone no longer dooms a regime: with the steady start its elites are drawn loyal
    # at whatever belief they start from; soldiers who would leave at once do)
    doomed = ensemble.load_sample(
        _sample(tmp_path / "a", **{"belief.intercept": [-10.0], "soldiers.threshold": [-5.0]})
    )
    sure = ensemble.load_sample(
        _sample(tmp_path / "b", **{"belief.intercept": [10.0], "soldiers.threshold": [10.0]})
    )
    a = ensemble.run_ensemble(sc, doomed, 1, 2)
    b = ensemble.run_ensemble(sc, sure, 1, 2)
    assert a["outcomes"]["fell"]["k"] == 2 and b["outcomes"]["fell"]["k"] == 0


def test_a_single_run_says_it_is_one_draw(tmp_path):
    proc = invoke(
        "run", "baseline", "--steps", "3", "-q", "--out", str(tmp_path / "one"), cwd=tmp_path
    )
    assert proc.returncode == 0 and "one draw: seed 1" in proc.stdout


def test_unusable_samples_are_input_errors(tmp_path):
    other = _sample(tmp_path / "old", version="1")
    proc = invoke("run", "baseline", "--ensemble", "2", "--sample", str(other), cwd=tmp_path)
    assert_clean_input_error(proc, "model version 1")
    older = _sample(tmp_path / "older", version="6")  # made with other defaults: refused
    proc = invoke("run", "baseline", "--ensemble", "2", "--sample", str(older), cwd=tmp_path)
    assert_clean_input_error(proc, "model version 6")
    v7 = _sample(tmp_path / "v7", version="7")  # the twelfth calibration's: other peer weights
    proc = invoke("run", "baseline", "--ensemble", "2", "--sample", str(v7), cwd=tmp_path)
    assert_clean_input_error(proc, "model version 7")
    twelfth = list(SAMPLE_REQUIRES["8"])
    first = _sample(tmp_path / "first", version="8")  # a version-8 sample without the 12
    proc = invoke("run", "baseline", "--ensemble", "2", "--sample", str(first), cwd=tmp_path)
    assert_clean_input_error(proc, "soldiers.nonviolence_weight", "calibrate again")
    second = _sample(tmp_path / "second", version="8", **{n: [0.5, 0.6] for n in twelfth})
    assert len(ensemble.load_sample(second).vectors) == 2
    proc = invoke("run", "baseline", "--ensemble", "2", "--sample", "nope.parquet", cwd=tmp_path)
    assert_clean_input_error(proc, "nope.parquet", "does not exist")
    bad = _sample(tmp_path / "bad", **{"not.a.param": [1.0]})
    proc = invoke("run", "baseline", "--ensemble", "2", "--sample", str(bad), cwd=tmp_path)
    assert_clean_input_error(proc, "no column names a model parameter")
    proc = invoke("run", "baseline", "--sample", str(bad), cwd=tmp_path)
    assert_clean_input_error(proc, "--sample: only with --ensemble")
    if not ensemble.SAMPLE_PATH.exists():
        proc = invoke("run", "baseline", "--ensemble", "2", cwd=tmp_path)
        assert_clean_input_error(proc, "no calibration has been committed yet")
