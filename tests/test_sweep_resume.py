"""Kill -9 in the middle of a sweep, run the same command again: every run exactly once."""

import json
import os
import random
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
from sweep_kit import SMALL_SPEC, comparable, read_runs, write_spec

from defection.sweep.coordinator import run_sweep
from defection.sweep.engine import FAULTS_ENV
from defection.sweep.spec import load_spec
from defection.sweep.store import Store

SPEC = SMALL_SPEC.replace("replicates = 3", "replicates = 10")  # 40 runs


def _count(db):
    with Store(db, read_only=True) as store:
        return store.con.execute("SELECT count(*) FROM runs").fetchone()[0]


@pytest.mark.slow
def test_kill_9_mid_sweep_then_resume_is_exactly_once(tmp_path):
    spec = write_spec(tmp_path, SPEC)
    ref_db = tmp_path / "serial.duckdb"
    with Store(ref_db) as store:
        run_sweep(load_spec(spec), store, workers=1)
    ref_runs, ref_series = read_runs(ref_db)
    assert len(ref_runs) == 40

    cmd = [sys.executable, "-m", "defection", "sweep", str(spec), "--workers", "2", "-q"]
    rng = random.Random(2026)
    killed_at = None
    for attempt in range(4):
        db = tmp_path / f"killed-{attempt}.duckdb"
        marks = tmp_path / f"marks-{attempt}"
        marks.mkdir()
        faults = {"delay": 0.15, "mark_dir": str(marks)}
        proc = subprocess.Popen(
            [*cmd, "--db", str(db)],
            env={**os.environ, FAULTS_ENV: json.dumps(faults), "PYTHONWARNINGS": "ignore"},
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            # wait until runs are finishing (start-up takes seconds on a loaded machine), then
            # kill at a random moment: between runs, inside a commit, anywhere
            deadline = time.monotonic() + 120
            while len(list(marks.iterdir())) < 6 and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(rng.uniform(0.0, 1.5))
            proc.send_signal(signal.SIGKILL)  # the coordinator, as `kill -9 PID` would
            proc.wait(timeout=30)
        finally:
            time.sleep(0.5)  # its pool workers notice the closed pipe and exit; clean up the rest
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        n = _count(db) if db.exists() else 0
        print(f"attempt {attempt}: killed with {n} runs in the database")
        if 0 < n < 40:
            killed_at = n
            break
    assert killed_at is not None, "never caught the sweep mid-way"

    resumed = subprocess.run(
        [*cmd, "--db", str(db)],
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming: {killed_at} of 40 runs already in" in resumed.stderr
    runs, series = read_runs(db)
    assert len(runs) == 40 and runs["run_id"].is_unique
    pd.testing.assert_frame_equal(comparable(runs), comparable(ref_runs))
    # series rows are written with their run in one transaction: none lost, none doubled
    pd.testing.assert_frame_equal(series, ref_series)
