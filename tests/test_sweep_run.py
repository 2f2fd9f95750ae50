"""Running sweeps: the same rows serially and on the process pool, failed runs and crashed worker
processes recorded without stopping the sweep, resume, the listing and the report."""

import json
import os
import socket

import pandas as pd
import pytest
from sweep_kit import comparable, held_database, read_runs, write_spec
from typer.testing import CliRunner

from defection.cli import app
from defection.sweep.coordinator import run_sweep
from defection.sweep.engine import FAULTS_ENV
from defection.sweep.spec import load_spec
from defection.sweep.store import Store

runner = CliRunner()


def test_serial_rows_are_complete_and_plausible(serial_reference):
    _, _, runs, series = serial_reference
    assert len(runs) == 12 and runs["run_id"].is_unique
    assert (runs["status"] == "ok").all()
    assert set(runs["outcome"]) <= {"collapse", "transition", "split", "survival"}
    assert runs[["soldiers.pay", "regime.repression"]].drop_duplicates().shape[0] == 4
    shares = runs[
        [
            "soldiers_loyal",
            "soldiers_shirking",
            "soldiers_deserted",
            "soldiers_defected",
            "soldiers_detained",
        ]
    ].sum(axis=1)
    assert ((shares - 1).abs() < 1e-9).all()
    # one series row per simulated day (day 0 included) for every run
    per_run = series.groupby("run_id").size()
    days = runs.set_index("run_id")["days"]
    assert (per_run.loc[days.index] == days + 1).all()
    assert series["active_protesters"].between(0, 1).all()


def test_pool_gives_the_same_rows_and_series_as_serial(serial_reference, tmp_path):
    spec, _, ref_runs, ref_series = serial_reference
    db = tmp_path / "pool.duckdb"
    res = runner.invoke(app, ["sweep", str(spec), "--db", str(db), "--workers", "2", "-q"])
    assert res.exit_code == 0, res.output
    runs, series = read_runs(db)
    pd.testing.assert_frame_equal(comparable(runs), comparable(ref_runs))
    pd.testing.assert_frame_equal(series, ref_series)
    # the serial reference ran in this process; the pool's runs ran in its (at most 2) workers
    here = f"{socket.gethostname()}:{os.getpid()}"
    assert (ref_runs["worker"] == here).all()
    parts = runs["worker"].str.rsplit(":", n=1, expand=True)
    host, pid = parts[0], parts[1].astype(int)
    assert (host == socket.gethostname()).all()
    assert 1 <= pid.nunique() <= 2 and not (pid == os.getpid()).any()


def test_a_second_invocation_runs_nothing_and_counts_nothing_twice(serial_reference, tmp_path):
    spec, _, ref_runs, _ = serial_reference
    db = tmp_path / "again.duckdb"
    for _ in range(2):
        res = runner.invoke(app, ["sweep", str(spec), "--db", str(db), "--workers", "1", "-q"])
        assert res.exit_code == 0, res.output
    assert "already in the database" in res.output and "0 in" in res.output
    runs, _ = read_runs(db)
    pd.testing.assert_frame_equal(comparable(runs), comparable(ref_runs))


def test_resume_after_a_partial_sweep_finishes_only_the_rest(serial_reference, tmp_path):
    spec, _, ref_runs, ref_series = serial_reference
    sw = load_spec(spec)
    db = tmp_path / "partial.duckdb"
    # a sweep stopped after 5 runs: write exactly those rows, as a killed sweep leaves them
    from defection.sweep.coordinator import tasks_for
    from defection.sweep.engine import execute

    with Store(db) as store:
        store.register(sw)
        store.write([execute(t, sw.scenario) for t in tasks_for(sw, set())[:5]])
    with Store(db) as store:
        prog = run_sweep(sw, store, workers=2)
    assert (prog.skipped, prog.done) == (5, 7)
    runs, series = read_runs(db)
    pd.testing.assert_frame_equal(comparable(runs), comparable(ref_runs))
    pd.testing.assert_frame_equal(series, ref_series)


def test_failed_run_is_recorded_and_the_sweep_goes_on(serial_reference, tmp_path, monkeypatch):
    spec, _, ref_runs, _ = serial_reference
    monkeypatch.setenv(FAULTS_ENV, json.dumps({"raise": ["p000002/r00001"]}))
    db = tmp_path / "fail.duckdb"
    res = runner.invoke(app, ["sweep", str(spec), "--db", str(db), "--workers", "2", "-q"])
    assert res.exit_code == 0, res.output
    assert "failed" in res.output
    runs, _ = read_runs(db)
    bad = runs[runs["status"] == "failed"]
    assert list(bad["run_id"].str.split("/", n=1).str[1]) == ["p000002/r00001"]
    assert "RuntimeError: injected failure" in bad["error"].iloc[0]
    good = comparable(runs[runs["status"] == "ok"])
    ref = comparable(ref_runs[ref_runs["run_id"].isin(good["run_id"])])
    pd.testing.assert_frame_equal(good, ref)
    # --retry-failed runs it again (the fault is gone now) and the sweep is whole
    monkeypatch.delenv(FAULTS_ENV)
    res = runner.invoke(
        app, ["sweep", str(spec), "--db", str(db), "--workers", "1", "-q", "--retry-failed"]
    )
    assert res.exit_code == 0, res.output
    runs, _ = read_runs(db)
    pd.testing.assert_frame_equal(comparable(runs), comparable(ref_runs))


def test_a_crashed_worker_process_does_not_break_the_pool(serial_reference, tmp_path, monkeypatch):
    spec, _, ref_runs, _ = serial_reference
    monkeypatch.setenv(FAULTS_ENV, json.dumps({"exit": ["p000001/r00000"]}))
    db = tmp_path / "crash.duckdb"
    with Store(db) as store:
        prog = run_sweep(load_spec(spec), store, workers=2)
    assert prog.done == 12 and prog.failed == 1
    runs, _ = read_runs(db)
    assert len(runs) == 12
    bad = runs[runs["status"] == "failed"]
    assert list(bad["point"]) == [1] and list(bad["replicate"]) == [0]
    assert "worker process died" in bad["error"].iloc[0]
    good = comparable(runs[runs["status"] == "ok"])
    ref = comparable(ref_runs[ref_runs["run_id"].isin(good["run_id"])])
    pd.testing.assert_frame_equal(good, ref)


def test_database_in_use_is_a_clear_error(serial_reference, tmp_path):
    spec = serial_reference[0]
    db = tmp_path / "busy.duckdb"
    with held_database(db):
        res = runner.invoke(app, ["sweep", str(spec), "--db", str(db), "--workers", "1", "-q"])
    assert res.exit_code == 1
    assert "open in another process" in res.output and "Traceback" not in res.output


def test_sweeps_lists_progress_and_report_draws_the_phase_diagram(serial_reference, tmp_path):
    _, db, runs, _ = serial_reference
    sid = runs["sweep_id"].iloc[0]
    res = runner.invoke(app, ["sweeps", "--db", str(db)])
    assert res.exit_code == 0, res.output
    assert sid in res.output and "12/12 runs (complete)" in res.output
    out = tmp_path / "report"
    res = runner.invoke(app, ["report", sid[:6], "--db", str(db), "--out", str(out)])
    assert res.exit_code == 0, res.output
    for name in ("phase_diagram.png", "outcome_shares.png", "report.md"):
        assert (out / name).stat().st_size > 1000, name
    md = (out / "report.md").read_text()
    collapse = int((runs["outcome"] == "collapse").sum())
    assert f"| collapse | {collapse} | {collapse / 12:.1%} |" in md
    assert "tipping point" in md


def test_report_errors_are_clear(serial_reference, tmp_path):
    _, db, _, _ = serial_reference
    res = runner.invoke(app, ["report", "nosuch", "--db", str(db)])
    assert res.exit_code == 1 and "no sweep `nosuch`" in res.output
    res = runner.invoke(app, ["report", "x", "--db", str(tmp_path / "missing.duckdb")])
    assert res.exit_code == 1 and "no such database" in res.output
    assert not (tmp_path / "missing.duckdb").exists()
    res = runner.invoke(app, ["sweeps", "--db", str(tmp_path / "missing.duckdb")])
    assert res.exit_code == 1 and "no such database" in res.output


def test_sobol_report_has_indices_with_intervals(tmp_path):
    text = """
[sweep]
name = "tiny_sobol"
scenario = "baseline"
design = "sobol"
samples = 8
replicates = 1
seed = 5

[set]
"run.horizon" = 30
"grid.width" = 15
"grid.height" = 15

[vary."soldiers.pay"]
range = [0.0, 3.0]

[vary."regime.repression"]
range = [0.0, 1.0]

[outputs]
series = []
"""
    spec = write_spec(tmp_path, text, "sobol.toml")
    db = tmp_path / "sobol.duckdb"
    res = runner.invoke(app, ["sweep", str(spec), "--db", str(db), "--workers", "1", "-q"])
    assert res.exit_code == 0, res.output
    runs, series = read_runs(db)
    assert len(runs) == 8 * 4 and series.empty
    out = tmp_path / "rep"
    res = runner.invoke(
        app, ["report", runs["sweep_id"].iloc[0], "--db", str(db), "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    assert (out / "sobol.png").stat().st_size > 1000
    md = (out / "report.md").read_text()
    assert "## Sobol indices" in md and "+/-" in md


def test_the_readme_sql_examples_run_and_agree_with_pandas(serial_reference):
    from pathlib import Path

    import duckdb

    _, db, runs, series = serial_reference
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("## Scenario sweeps", 1)[1].split("\n## ", 1)[0]
    queries = [b.split("```", 1)[0] for b in section.split("```sql")[1:]]
    assert len(queries) == 2
    con = duckdb.connect(str(db), read_only=True)
    try:
        by_point = con.sql(queries[0].replace("baseline_pay_repression", "tiny")).df()
        by_day = con.sql(queries[1].replace("baseline_pay_repression", "tiny")).df()
    finally:
        con.close()
    expect = (
        runs.assign(c=(runs["outcome"] == "collapse").astype(float))
        .groupby(["soldiers.pay", "regime.repression"])["c"]
        .mean()
        .to_numpy()
    )
    assert len(by_point) == 4 and (by_point["runs"] == 3).all()
    assert by_point["p_collapse"].to_numpy() == pytest.approx(expect)
    assert by_day["runs"].sum() == len(series)


def test_pool_workers_run_with_one_blas_thread(serial_reference):
    from defection.sweep.engine import _make_pool

    sw = load_spec(serial_reference[0])
    pool = _make_pool(1, sw.scenario)
    try:
        names = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
        env = {k: pool.submit(os.getenv, k).result(timeout=120) for k in names}
    finally:
        pool.shutdown()
    assert env == dict.fromkeys(names, "1")


def test_report_handles_a_switch_parameter(tmp_path):
    text = """
[sweep]
name = "switch"
scenario = "baseline"
replicates = 2
seed = 3

[set]
"run.horizon" = 20
"grid.width" = 15
"grid.height" = 15

[vary."soldiers.can_defect"]
values = [true, false]

[vary."regime.repression"]
values = [0.2, 0.8]
"""
    spec = write_spec(tmp_path, text, "switch.toml")
    db = tmp_path / "switch.duckdb"
    res = runner.invoke(app, ["sweep", str(spec), "--db", str(db), "--workers", "1", "-q"])
    assert res.exit_code == 0, res.output
    runs, _ = read_runs(db)
    assert runs["soldiers.can_defect"].dtype == bool and len(runs) == 8
    out = tmp_path / "rep"
    res = runner.invoke(app, ["report", "switch", "--db", str(db), "--out", str(out)])
    assert res.exit_code == 0, res.output
    md = (out / "report.md").read_text()
    assert "`soldiers.can_defect` {False, True}" in md and "| True | 4 |" in md


def test_a_batch_that_starts_with_a_failed_run_keeps_every_column(serial_reference, tmp_path):
    from defection.sweep.coordinator import tasks_for
    from defection.sweep.engine import Result, execute, failed_row

    spec, _, ref_runs, _ = serial_reference
    sw = load_spec(spec)
    tasks = tasks_for(sw, set())
    batch = [Result(failed_row(tasks[0], "boom"), None)]
    batch += [execute(t, sw.scenario) for t in tasks[1:]]
    db = tmp_path / "batch.duckdb"
    with Store(db) as store:
        store.register(sw)
        store.write(batch)
    runs, _ = read_runs(db)
    good = comparable(runs[runs["status"] == "ok"])
    ref = comparable(ref_runs[ref_runs["run_id"].isin(good["run_id"])])
    assert len(good) == 11
    pd.testing.assert_frame_equal(good, ref)


def test_sobol_indices_are_undefined_not_zero_when_the_output_does_not_vary():
    from defection.sweep.report import sobol_indices

    runs = pd.DataFrame(
        {
            "status": "ok",
            "point": range(8),
            "outcome": "collapse",
            "a": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8],
            "b": [0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1],
        }
    )
    tab = sobol_indices(runs, {"points": 8, "parameters": ["a", "b"]}, "collapse")
    assert tab is not None and tab[["S1", "ST"]].isna().all().all()


@pytest.mark.parametrize("n", [1, 2, 3, 7, 10, 13, 40, 97, 1000])
def test_wilson_interval_contains_the_share_at_the_ends(n):
    """k = 0 and k = n gave an end a rounding error past the share (a negative error bar)."""
    from defection.sweep.report import wilson

    for k in (0, n):
        lo, hi = wilson(k, n)
        assert 0.0 <= lo <= k / n <= hi <= 1.0
