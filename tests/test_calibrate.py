"""`defection calibrate` end to end on the small specs of calibration/specs/: a Morris screen and
history-matching waves through the sweep engine and store, the committed results, the same runs on
every backend, resume after kill -9, and bad input."""

import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_kit import assert_clean_input_error, invoke
from sweep_kit import kill_mid_way, spec_toml

from defection.calibration import navco
from defection.calibration.history import PreviousWave, training_rows
from defection.calibration.runs import run_calibration, runs_frame
from defection.calibration.spec import calibration_from_dict, load_calibration
from defection.model.version import MODEL_VERSION
from defection.sweep.engine import FAULTS_ENV
from defection.sweep.store import Store

SPECS = Path(__file__).parent.parent / "calibration" / "specs"
SCREEN = SPECS / "ci_screen.toml"
WAVE = SPECS / "ci_wave.toml"


def _calibrate(spec, folder, *extra):
    out, db = folder / "out", folder / "runs.duckdb"
    t0 = time.perf_counter()
    res = invoke(
        "calibrate", str(spec), "--out", str(out), "--db", str(db), "-q", *extra, cwd=folder
    )
    seconds = time.perf_counter() - t0
    assert res.returncode == 0, res.stdout + res.stderr
    return out, db, res, seconds


@pytest.fixture(scope="module")
def screen(tmp_path_factory):
    folder = tmp_path_factory.mktemp("screen")
    out, db, res, seconds = _calibrate(SCREEN, folder, "--workers", "2")
    print(f"ci_screen took {seconds:.1f} s")  # noqa: T201 - measured for docs/CALIBRATION.md
    return out, db, res


@pytest.fixture(scope="module")
def wave(tmp_path_factory):
    folder = tmp_path_factory.mktemp("wave")
    out, db, res, seconds = _calibrate(WAVE, folder, "--workers", "2")
    print(f"ci_wave took {seconds:.1f} s")  # noqa: T201
    return out, db, res


def _sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_the_screen_prints_its_budget_and_writes_its_results(screen):
    out, _, res = screen
    assert "budget: 40 of at most 60 runs" in res.stderr
    names = {p.name for p in out.iterdir()}
    assert names == {
        "manifest.json",
        "spec.toml",
        "design.parquet",
        "runs.parquet",
        "morris.parquet",
        "screen.md",
        "screen.png",
        "chosen.json",
    }
    runs = pd.read_parquet(out / "runs.parquet")
    assert len(runs) == 40 and runs["run_id"].is_unique and (runs["status"] == "ok").all()
    assert runs["case"].value_counts().to_dict() == {"base": 20, "syria": 20}
    assert runs["target:left_30"].between(0, 1).all()
    assert set(runs["target:fell_30"]) <= {0.0, 1.0}
    # common random numbers along a trajectory, a new seed for each trajectory
    assert (runs.groupby("group")["seed"].nunique() == 1).all()
    assert runs.groupby("group")["seed"].first().is_unique
    # the runs are the design's points
    design = pd.read_parquet(out / "design.parquet")
    cols = ["soldiers.moral_cost", "soldiers.threshold", "belief.intercept"]
    np.testing.assert_array_equal(
        runs.sort_values("point")[cols].to_numpy(), design.sort_values("point")[cols].to_numpy()
    )


def test_the_screen_ranks_every_parameter_per_target_and_chooses_by_its_rule(screen):
    out, _, _ = screen
    table = pd.read_parquet(out / "morris.parquet")
    assert len(table) == 6 and set(table["target"]) == {"left_30", "fell_30"}
    for _, df in table.groupby("target"):
        assert list(df["rank"]) == [1, 2, 3]
        assert df["mu_star"].is_monotonic_decreasing
        assert (df["mu_star"] >= 0).all() and (df["sigma"] >= 0).all()
        assert (df["mu_star"] >= df["mu"].abs() - 1e-12).all()  # mu* = mean |EE| >= |mean EE|
        assert df["mu_star_norm"].max() == pytest.approx(1.0)
    chosen = json.loads((out / "chosen.json").read_text())
    spec = tomllib.loads(SCREEN.read_text())["screen"]
    assert 1 <= len(chosen["chosen"]) <= spec["max_chosen"]
    best = table.groupby("parameter")["mu_star_norm"].max()
    # the chosen are the highest scores, each at least the threshold
    assert all(best[p] >= spec["threshold"] for p in chosen["chosen"])
    others = best.drop(chosen["chosen"])
    assert others.empty or others.max() <= min(best[p] for p in chosen["chosen"])
    md = (out / "screen.md").read_text()
    assert "| rank | parameter | mu* | conf | mu | sigma | norm |" in md
    assert all(f"`{p}`" in md.split("## Chosen")[1] for p in chosen["chosen"])
    assert (out / "screen.png").read_bytes()[:4] == b"\x89PNG"


def test_the_manifest_records_versions_commit_data_split_and_spec(screen):
    out, _, _ = screen
    man = json.loads((out / "manifest.json").read_text())
    cal = load_calibration(SCREEN)
    assert man["kind"] == "screen" and man["name"] == "ci_screen"
    assert man["model_version"] == MODEL_VERSION
    assert man["spec_hash"] == cal.spec_hash and man["calibration_id"] == cal.calib_id
    assert man["data"]["sha256"] == navco.DATA_SHA256 == _sha(navco.DATA_PATH)
    assert man["split"]["sha256"] == _sha(navco.SPLIT_PATH)
    assert man["commit"] is None or len(man["commit"]) == 40
    assert man["runs"] == {"planned": 40, "ok": 40, "failed": 0}
    assert man["libraries"]["scikit-learn"]
    assert (out / "spec.toml").read_text() == SCREEN.read_text()


def test_a_second_invocation_runs_nothing_and_writes_the_same_runs(screen, tmp_path):
    out, db, _ = screen
    before = pd.read_parquet(out / "runs.parquet")
    again = tmp_path / "again"
    res = invoke("calibrate", str(SCREEN), "--out", str(again), "--db", str(db), "-q", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "resuming: 40 of 40 runs already in" in res.stderr
    pd.testing.assert_frame_equal(pd.read_parquet(again / "runs.parquet"), before)
    pd.testing.assert_frame_equal(
        pd.read_parquet(again / "morris.parquet"), pd.read_parquet(out / "morris.parquet")
    )


def test_the_serial_backend_gives_the_pool_s_runs(screen, tmp_path):
    out, _, _ = screen
    serial, _, _, _ = _calibrate(SCREEN, tmp_path, "--workers", "1")
    pd.testing.assert_frame_equal(
        pd.read_parquet(serial / "runs.parquet"), pd.read_parquet(out / "runs.parquet")
    )


def test_the_wave_writes_emulators_sample_and_report(wave):
    out, _, _ = wave
    man = json.loads((out / "manifest.json").read_text())
    w = man["wave"]
    assert w["cutoff"] == 3.0 and w["rule"] == "max" and w["candidates"] == 20_000
    assert 0 < w["accepted"] <= w["candidates"]
    assert w["nonimplausible_fraction"] == pytest.approx(w["accepted"] / w["candidates"])
    lo, hi = w["nonimplausible_fraction_90"]
    assert lo <= w["nonimplausible_fraction"] <= hi
    sample = pd.read_parquet(out / "nonimplausible.parquet")
    assert len(sample) == w["kept"] == min(200, w["accepted"])
    assert (sample["implausibility"] <= 3.0).all()
    sobol = pd.read_parquet(out / "sobol.parquet")
    assert set(sobol["target"]) == {"syria_left_30", "base_fell_30", "left_30"}
    assert len(sobol) == 9 and (sobol["ST"] >= -0.05).all()
    emus = json.loads((out / "emulators.json").read_text())["emulators"]
    # a target over both cases (no coded features) gets one indicator per case
    assert emus["left_30"]["extra_inputs"] == ["case=base", "case=syria"]
    assert emus["syria_left_30"]["extra_inputs"] == [] and emus["syria_left_30"]["n_train"] == 20
    assert "Non-implausible for waves `ci_wave`" in (out / "wave.md").read_text()


def test_the_wave_s_emulators_refit_from_git_and_reproduce_their_training_points(wave):
    out, _, _ = wave
    cal = load_calibration(WAVE)
    prev = PreviousWave.load(out, cal.params, "test")
    emus = json.loads((out / "emulators.json").read_text())["emulators"]
    runs = pd.read_parquet(out / "runs.parquet")
    (own,) = prev.chain
    assert set(own.emulators) == {"syria_left_30", "base_fell_30", "left_30"}
    for t in cal.targets:
        em = own.emulators[t.name]
        rec = emus[t.name]
        # refit with the committed hyper-parameters: the same likelihood, to rounding
        assert em.gp.log_marginal_likelihood_value_ == pytest.approx(
            rec["log_marginal_likelihood"], rel=1e-9, abs=1e-9
        )
        rows = training_rows(runs, t)
        y = rows[t.column].to_numpy()
        mean, sd = em.gp.predict(
            em.encode(rows[cal.param_names].to_numpy(), list(rows["case"])), return_std=True
        )
        assert np.mean(np.abs(y - mean) <= 3 * np.maximum(sd, 1e-9)) >= 0.95
        if np.ptp(y) > 0:
            r2 = 1 - np.sum((y - mean) ** 2) / np.sum((y - y.mean()) ** 2)
            assert r2 > 0.9
            assert r2 == pytest.approx(rec["diagnostics"]["r2_train"], abs=1e-9)
    # the committed sample is non-implausible under the refitted emulators
    sample = prev.sample[cal.param_names].to_numpy()
    assert (own.combined(sample) <= own.cutoff + 1e-9).all()


def test_a_wave_s_sample_is_redrawn_from_git_alone_with_more_candidates(wave, tmp_path):
    import shutil

    from defection.calibration.resample import main as resample

    out, _, _ = wave
    before = json.loads((out / "manifest.json").read_text())["wave"]
    copies = []
    for name in ("a", "b"):
        folder = tmp_path / name
        shutil.copytree(out, folder)
        assert resample([str(folder), "--candidates", "3000", "--keep", "40"]) == 0
        copies.append(folder)
    m = json.loads((copies[0] / "manifest.json").read_text())
    r = m["wave"]["resampled"]
    assert r["candidates"] == 3000 and 0 < r["accepted"] and r["kept"] == min(40, r["accepted"])
    assert {k: v for k, v in m["wave"].items() if k != "resampled"} == before
    a = pd.read_parquet(copies[0] / "nonimplausible.parquet")
    b = pd.read_parquet(copies[1] / "nonimplausible.parquet")
    pd.testing.assert_frame_equal(a, b)  # seeded by the wave's seed: the same command, the same
    assert len(a) == r["kept"] and (a["implausibility"] <= before["cutoff"]).all()
    assert "## Sample redrawn" in (copies[0] / "wave.md").read_text()
    # runs and emulators untouched
    for f in ("runs.parquet", "emulators.json", "spec.toml", "design.parquet"):
        assert _sha(copies[0] / f) == _sha(out / f)
    assert resample([str(tmp_path / "nowhere"), "--candidates", "3000", "--keep", "4"]) == 2


@pytest.mark.slow
def test_a_second_wave_starts_from_the_first_wave_s_sample(wave, tmp_path):
    out1, _, _ = wave
    doc = tomllib.loads(WAVE.read_text())
    doc["calibration"]["name"] = "ci_wave2"
    doc["wave"].update(points=20, previous=str(out1), candidates=5000, keep=50)
    spec = tmp_path / "ci_wave2.toml"
    spec.write_text(spec_toml(doc))
    cal = load_calibration(spec)
    assert cal.previous is not None and cal.n_runs == 20
    sample1 = pd.read_parquet(out1 / "nonimplausible.parquet")
    names = cal.param_names
    # every design point is a point of the first wave's non-implausible sample
    merged = cal.design[names].merge(sample1[names], how="left", indicator=True)
    assert (merged["_merge"] == "both").all()
    out2, _, _, _ = _calibrate(spec, tmp_path, "--workers", "2")
    man = json.loads((out2 / "manifest.json").read_text())
    assert (
        man["previous"]["spec_hash"]
        == json.loads((out1 / "manifest.json").read_text())["spec_hash"]
    )
    assert man["wave"]["waves_applied"] == ["ci_wave2", "ci_wave"]
    # the second wave's sample is non-implausible for the first wave too
    first = PreviousWave.load(out1, cal.params, "test").chain[0]
    sample2 = pd.read_parquet(out2 / "nonimplausible.parquet")
    if len(sample2):
        assert (first.combined(sample2[names].to_numpy()) <= 3.0 + 1e-9).all()
    # and a third wave can be loaded from the second, with both earlier waves in its chain
    doc["calibration"]["name"] = "ci_wave3"
    doc["wave"].update(previous=str(out2), points=4)
    if len(sample2) >= 4:
        spec3 = tmp_path / "ci_wave3.toml"
        spec3.write_text(spec_toml(doc))
        assert [c.name for c in load_calibration(spec3).previous.chain] == ["ci_wave2", "ci_wave"]


def test_pool_joins_a_wave_s_identity_only_when_set():
    doc = tomllib.loads(WAVE.read_text())
    plain = calibration_from_dict(doc, "ci_wave").spec_hash
    doc["wave"]["pool"] = False
    assert calibration_from_dict(doc, "ci_wave").spec_hash == plain
    doc["wave"]["pool"] = True
    assert calibration_from_dict(doc, "ci_wave").spec_hash != plain


@pytest.mark.slow
def test_a_pooled_wave_trains_on_every_earlier_wave_s_runs_and_refits_so_from_git(wave, tmp_path):
    out1, _, _ = wave
    doc = tomllib.loads(WAVE.read_text())
    doc["calibration"]["name"] = "ci_pooled"
    doc["wave"].update(points=12, previous=str(out1), candidates=5000, keep=50, pool=True)
    spec = tmp_path / "ci_pooled.toml"
    spec.write_text(spec_toml(doc))
    cal = load_calibration(spec)
    out2, _, _, _ = _calibrate(spec, tmp_path, "--workers", "2")
    man = json.loads((out2 / "manifest.json").read_text())
    assert man["wave"]["pool"] is True
    assert "Emulators pooled" in (out2 / "wave.md").read_text()
    runs1 = pd.read_parquet(out1 / "runs.parquet")
    runs2 = pd.read_parquet(out2 / "runs.parquet")
    emus = json.loads((out2 / "emulators.json").read_text())["emulators"]
    for t in cal.targets:
        # trained on both waves' runs, not on the second wave's alone
        n1, n2 = len(training_rows(runs1, t)), len(training_rows(runs2, t))
        assert emus[t.name]["n_train"] == n1 + n2 > n2
    # read back from git, the pooled wave refits on the same runs: the same likelihood
    prev = PreviousWave.load(out2, cal.params, "test")
    assert len(prev.runs) == len(runs1) + len(runs2)
    own = prev.chain[0]
    for t in cal.targets:
        assert own.emulators[t.name].n_train == emus[t.name]["n_train"]
        assert own.emulators[t.name].gp.log_marginal_likelihood_value_ == pytest.approx(
            emus[t.name]["log_marginal_likelihood"], rel=1e-9, abs=1e-9
        )
    sample = prev.sample[cal.param_names].to_numpy()
    if len(sample):
        assert (own.combined(sample) <= own.cutoff + 1e-9).all()


@pytest.mark.slow
def test_a_run_wave_is_analysed_again_with_pooled_emulators_into_a_folder_of_its_own(
    wave, tmp_path
):
    from defection.calibration.pool import main as pool

    out1, _, _ = wave
    calib = tmp_path / "calibration"
    calib.mkdir()
    first = calib / "ci_wave"
    shutil.copytree(out1, first)
    doc = tomllib.loads(WAVE.read_text())
    doc["calibration"]["name"] = "ci_second"
    doc["wave"].update(points=12, previous="../ci_wave", candidates=5000, keep=50)
    (calib / "specs").mkdir()
    spec = calib / "specs" / "ci_second.toml"  # as in the repository: previous is ../ci_wave
    spec.write_text(spec_toml(doc))
    second = calib / "ci_second"
    res = invoke(
        "calibrate", str(spec), "--out", str(second), "--db", str(tmp_path / "runs.duckdb"),
        "-q", "--workers", "2", cwd=tmp_path,
    )  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    before = {f.name: _sha(f) for f in second.iterdir()}
    pooled = calib / "ci_second_pooled"
    assert pool([str(second), "--out", str(pooled)]) == 0
    assert {f.name: _sha(f) for f in second.iterdir()} == before  # the wave itself untouched
    for name in ("spec.toml", "design.parquet", "runs.parquet"):
        assert _sha(pooled / name) == before[name]
    man = json.loads((pooled / "manifest.json").read_text())
    old = json.loads((second / "manifest.json").read_text())
    assert man["name"] == "ci_second_pooled" and man["spec_hash"] == old["spec_hash"]
    assert man["wave"]["pool"] is True and man["pooled_from"]["folder"] == "../ci_second"
    assert man["wave"]["waves_applied"] == ["ci_second_pooled", "ci_wave"]
    assert man["wave"]["candidates"] == old["wave"]["candidates"]
    cal = load_calibration(spec)
    runs1 = pd.read_parquet(first / "runs.parquet")
    runs2 = pd.read_parquet(second / "runs.parquet")
    emus = json.loads((pooled / "emulators.json").read_text())["emulators"]
    prev = PreviousWave.load(pooled, cal.params, "test")
    for t in cal.targets:
        n = len(training_rows(runs1, t)) + len(training_rows(runs2, t))
        assert emus[t.name]["n_train"] == n == prev.chain[0].emulators[t.name].n_train
        assert prev.chain[0].emulators[t.name].gp.log_marginal_likelihood_value_ == (
            pytest.approx(emus[t.name]["log_marginal_likelihood"], rel=1e-9, abs=1e-9)
        )
    sample = prev.sample[cal.param_names].to_numpy()
    if len(sample):
        assert (prev.chain[0].combined(sample) <= 3.0 + 1e-9).all()
    # a first wave has nothing to pool with; an existing folder is not overwritten
    assert pool([str(first), "--out", str(calib / "x")]) == 2
    assert pool([str(second), "--out", str(pooled)]) == 2
    assert pool([str(pooled), "--out", str(calib / "y")]) == 2
    assert not (calib / "x").exists() and not (calib / "y").exists()


def _tiny(tmp_path):
    """A 16-run screen (4 trajectories) for backend comparisons."""
    doc = tomllib.loads(SCREEN.read_text())
    doc["calibration"]["name"] = "tiny"
    doc["screen"]["trajectories"] = 4
    return calibration_from_dict(doc, "tiny")


@pytest.mark.slow
def test_a_dask_cluster_gives_the_serial_runs(tmp_path):
    from distributed import LocalCluster

    cal = _tiny(tmp_path)
    frames = []
    with Store(tmp_path / "serial.duckdb") as store:
        run_calibration(cal, store, workers=1)
        frames.append(runs_frame(cal, store))
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Store(tmp_path / "dask.duckdb") as store,
    ):
        run_calibration(cal, store, scheduler=cluster)
        frames.append(runs_frame(cal, store))
    assert len(frames[0]) == 16
    pd.testing.assert_frame_equal(frames[0], frames[1])


def _count(db):
    with Store(db, read_only=True) as store:
        return store.con.execute("SELECT count(*) FROM runs").fetchone()[0]


@pytest.mark.slow
def test_kill_9_mid_calibration_then_resume_gives_the_same_results(screen, tmp_path):
    ref_out, _, _ = screen
    cmd = [sys.executable, "-m", "defection", "calibrate", str(SCREEN), "--workers", "2", "-q"]
    rng = random.Random(2026)
    killed_at = None
    for attempt in range(4):
        db = tmp_path / f"killed-{attempt}.duckdb"
        out = tmp_path / f"out-{attempt}"
        args = [*cmd, "--db", str(db), "--out", str(out)]
        n = kill_mid_way(args, db, tmp_path / f"marks-{attempt}", 40, rng)
        if 0 < n < 40:
            killed_at = n
            break
    assert killed_at is not None, "never caught the calibration mid-way"
    assert not out.exists()  # nothing is committed before the last run is in

    resumed = subprocess.run(
        [*cmd, "--db", str(db), "--out", str(out)],
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming: {killed_at} of 40 runs already in" in resumed.stderr
    assert _count(db) == 40
    for name in ("runs.parquet", "design.parquet", "morris.parquet"):
        pd.testing.assert_frame_equal(pd.read_parquet(out / name), pd.read_parquet(ref_out / name))


def test_the_time_budget_stops_an_invocation_and_the_same_command_resumes(tmp_path):
    doc = tomllib.loads(SCREEN.read_text())
    doc["calibration"]["name"] = "budget"
    doc["screen"]["trajectories"] = 4
    doc["budget"]["max_minutes"] = 0.002  # 0.12 s: stops after the first runs
    spec = tmp_path / "budget.toml"
    spec.write_text(spec_toml(doc))
    out, db = tmp_path / "out", tmp_path / "db.duckdb"
    args = ["calibrate", str(spec), "--out", str(out), "--db", str(db), "--workers", "1", "-q"]
    env = {FAULTS_ENV: json.dumps({"delay": 0.1})}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        res = invoke(*args, cwd=tmp_path)
    finally:
        for k, v in old.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    assert res.returncode == 1, res.stderr
    assert "time budget of" in res.stderr and "run the same command to resume" in res.stderr
    n = _count(db)
    assert 0 < n < 16 and not out.exists()
    # the same runs with a larger time budget (not part of the calibration's identity)
    doc["budget"]["max_minutes"] = 5
    spec.write_text(spec_toml(doc))
    res = invoke(*args, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert f"resuming: {n} of 16 runs already in" in res.stderr
    assert len(pd.read_parquet(out / "runs.parquet")) == 16


# ------------------------------------------------------------------------------------------------
# bad input: exit 2, one line each, nothing run
# ------------------------------------------------------------------------------------------------


def test_a_bad_spec_exits_2_with_one_line_per_problem(tmp_path):
    text = SCREEN.read_text().replace('kind = "screen"', 'kind = "screen"\ncolour = "red"')
    text = text.replace('"soldiers.moral_cost"', '"soldiers.pay"')
    spec = tmp_path / "bad.toml"
    spec.write_text(text)
    res = invoke("calibrate", str(spec), "--db", str(tmp_path / "db.duckdb"), cwd=tmp_path)
    assert_clean_input_error(res, "bad.toml", "calibration.colour", "unknown key")
    spec.write_text(SCREEN.read_text().replace('"soldiers.moral_cost"', '"soldiers.pay"'))
    res = invoke("calibrate", str(spec), "--db", str(tmp_path / "db.duckdb"), cwd=tmp_path)
    assert_clean_input_error(res, "parameters.names", "soldiers.pay", "behavioural")
    assert not (tmp_path / "db.duckdb").exists()


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--workers", "2", "--scheduler", "tcp://127.0.0.1:8786"], "choose one"),
        (["--scheduler", "nonsense"], "--scheduler"),
        (["--db", "{tmp}"], "is a folder"),
        (["--out", "{tmp}/file.txt"], "is a file"),
        (["--out", "{tmp}/other"], "not a calibration's results"),
    ],
)
def test_bad_options_exit_2(tmp_path, args, needle):
    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.md").write_text("x")
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    res = invoke("calibrate", str(SCREEN), "--dry-run", *args, cwd=tmp_path)
    assert_clean_input_error(res, needle)


def test_dry_run_prints_the_plan_and_runs_nothing(tmp_path):
    res = invoke("calibrate", str(WAVE), "--dry-run", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "wave: 40 points (Latin hypercube) x 1 seed(s) = 40 runs" in res.stderr
    assert "runs per case: base 20, syria 20" in res.stderr
    assert not (tmp_path / "results").exists() and not (tmp_path / "calibration").exists()


def _rescore_spec(tmp_path, name="ci_rescored", **changes):
    doc = tomllib.loads(WAVE.read_text())
    doc["calibration"]["name"] = name
    doc["calibration"].update(changes)
    # base_fell_30 (a 0/1) gives way to the day the regime fell, a row measure
    doc["targets"] = [t for t in doc["targets"] if t["name"] != "base_fell_30"] + [
        {
            "name": "base_fall_day",
            "measure": "fall_day",
            "args": {"day": 30},
            "cases": ["base"],
            "range": [10.0, 25.0],
            "obs_sd": 3.0,
        }
    ]
    spec = tmp_path / f"{name}.toml"
    spec.write_text(spec_toml(doc))
    return spec, doc


def test_a_first_wave_rescored_with_a_row_target_equals_running_the_new_spec(wave, tmp_path):
    from defection.calibration.rescore import main as rescore
    from defection.calibration.rescore import row_value

    out1, _, _ = wave
    spec, _ = _rescore_spec(tmp_path)
    before = {f.name: _sha(f) for f in out1.iterdir()}
    rescored = tmp_path / "rescored"
    assert rescore([str(out1), "--spec", str(spec), "--out", str(rescored)]) == 0
    assert {f.name: _sha(f) for f in out1.iterdir()} == before  # the old wave untouched
    runs = pd.read_parquet(rescored / "runs.parquet")
    assert "target:base_fell_30" not in runs and "target:base_fall_day" in runs
    fell = runs["outcome"].isin(["collapse", "transition"])
    assert runs.loc[~fell, "target:base_fall_day"].eq(31.0).all()
    assert (runs.loc[fell, "target:base_fall_day"] == runs.loc[fell, "outcome_day"]).all()
    assert row_value("fall_day", {"day": 30}, {"outcome": "collapse", "outcome_day": 12}) == 12
    man = json.loads((rescored / "manifest.json").read_text())
    assert man["rescored_from"]["new_targets"] == ["base_fall_day"]
    assert man["rescored_from"]["kept_targets"] == ["syria_left_30", "left_30"]
    # the same spec run for real gives the same runs and the same analysis
    real, _, _, _ = _calibrate(spec, tmp_path, "--workers", "2")
    pd.testing.assert_frame_equal(
        runs.sort_values("run_id").reset_index(drop=True),
        pd.read_parquet(real / "runs.parquet").sort_values("run_id").reset_index(drop=True),
    )
    for name in ("design.parquet", "nonimplausible.parquet", "spec.toml"):
        assert _sha(rescored / name) == _sha(real / name), name


def test_rescoring_refuses_another_design_a_series_target_and_an_existing_folder(
    wave, tmp_path, capsys
):
    from defection.calibration.rescore import main as rescore

    out1, _, _ = wave
    other, _ = _rescore_spec(tmp_path, "ci_other_seed", seed=1)
    assert rescore([str(out1), "--spec", str(other), "--out", str(tmp_path / "a")]) == 2
    assert (
        f"error: {other}: its design differs from {out1}/design.parquet" in capsys.readouterr().out
    )
    spec, doc = _rescore_spec(tmp_path)
    doc["targets"][0]["args"] = {"day": 20}  # syria_left_30 changed: it reads the series
    changed = tmp_path / "ci_changed.toml"
    changed.write_text(spec_toml(doc))
    assert rescore([str(out1), "--spec", str(changed), "--out", str(tmp_path / "b")]) == 2
    said = capsys.readouterr().out
    assert f"error: {changed}: target syria_left_30: measure 'left_share' reads the run's" in said
    (tmp_path / "c").mkdir()
    assert rescore([str(out1), "--spec", str(spec), "--out", str(tmp_path / "c")]) == 2
    assert "exists; name a new folder" in capsys.readouterr().out
    later = Path(__file__).parent.parent / "calibration" / "wave12_2"
    assert rescore([str(later), "--spec", str(spec), "--out", str(tmp_path / "d")]) == 2
    assert "a later wave (its design came from ../wave12_1)" in capsys.readouterr().out
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
