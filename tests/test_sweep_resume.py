"""Kill -9 in the middle of a sweep, run the same command again: every run exactly once."""

import os
import random
import subprocess
import sys

import pandas as pd
import pytest
from sweep_kit import SMALL_SPEC, comparable, kill_mid_way, read_runs, write_spec

from defection.sweep.coordinator import run_sweep
from defection.sweep.spec import load_spec
from defection.sweep.store import Store

SPEC = SMALL_SPEC.replace("replicates = 3", "replicates = 10")  # 40 runs


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
        n = kill_mid_way([*cmd, "--db", str(db)], db, tmp_path / f"marks-{attempt}", 40, rng)
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
