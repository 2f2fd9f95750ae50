"""Sweeps on a real Dask cluster: `dask scheduler` and `dask worker` processes on 127.0.0.1.

The rows must equal the serial run's row by row, and a worker killed mid-sweep must cost a retry,
not the sweep.
"""

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from sweep_kit import comparable, read_runs
from typer.testing import CliRunner

from defection.cli import app
from defection.sweep.coordinator import run_sweep
from defection.sweep.engine import FAULTS_ENV
from defection.sweep.spec import load_spec
from defection.sweep.store import Store

runner = CliRunner()
DASK = str(Path(sys.executable).parent / "dask")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(args, log):
    return subprocess.Popen(
        [DASK, *args],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )


def _stop(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=30)


def _wait_workers(address, n, timeout=90):
    from distributed import Client

    with Client(address, timeout="30s") as client:
        client.wait_for_workers(n, timeout=timeout)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A scheduler and two single-threaded workers, as a user would start them by hand."""
    logs = tmp_path_factory.mktemp("dask")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = []
    log = open(logs / "cluster.log", "w")  # noqa: SIM115 - closed below
    try:
        procs.append(
            _start(["scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], log)
        )
        for _ in range(2):
            procs.append(
                _start(
                    # as the README says to start them
                    [
                        "worker",
                        address,
                        "--host",
                        "127.0.0.1",
                        "--nthreads",
                        "1",
                        "--no-dashboard",
                        "--preload",
                        "defection.sweep.engine",
                    ],
                    log,
                )
            )
        _wait_workers(address, 2)
        yield address
    finally:
        for p in procs:
            _stop(p)
        log.close()


@pytest.mark.slow
def test_dask_cluster_gives_the_same_rows_as_serial(cluster, serial_reference, tmp_path):
    spec, _, ref_runs, ref_series = serial_reference
    db = tmp_path / "dask.duckdb"
    res = runner.invoke(app, ["sweep", str(spec), "--db", str(db), "--scheduler", cluster])
    assert res.exit_code == 0, res.output
    runs, series = read_runs(db)
    pd.testing.assert_frame_equal(comparable(runs), comparable(ref_runs))
    pd.testing.assert_frame_equal(series, ref_series)
    assert not runs["worker"].str.endswith(f":{os.getpid()}").any()  # ran on the workers


@pytest.mark.slow
def test_a_worker_killed_mid_sweep_costs_a_retry_not_the_sweep(
    cluster, serial_reference, tmp_path, monkeypatch
):
    spec, _, ref_runs, _ = serial_reference
    # a third worker, without a nanny so that its pid is the pid that runs the tasks
    victim = _start(
        [
            "worker",
            cluster,
            "--host",
            "127.0.0.1",
            "--nthreads",
            "1",
            "--no-nanny",
            "--no-dashboard",
        ],
        subprocess.DEVNULL,
    )
    try:
        _wait_workers(cluster, 3)
        monkeypatch.setenv(FAULTS_ENV, json.dumps({"delay": 0.4}))
        killed = []

        def on_result(prog, res):
            if not killed and res.row["worker"].endswith(f":{victim.pid}"):
                victim.send_signal(signal.SIGKILL)  # it holds more queued runs right now
                killed.append(prog.done)

        db = tmp_path / "death.duckdb"
        with Store(db) as store:
            prog = run_sweep(load_spec(spec), store, scheduler=cluster, on_result=on_result)
    finally:
        _stop(victim)
    assert killed, "the extra worker never ran a task"
    assert prog.done == 12 and prog.failed == 0
    runs, _ = read_runs(db)
    pd.testing.assert_frame_equal(comparable(runs), comparable(ref_runs))


def test_unreachable_scheduler_is_a_clear_error(serial_reference, tmp_path):
    spec = serial_reference[0]
    port = _free_port()
    res = runner.invoke(
        app,
        [
            "sweep",
            str(spec),
            "--db",
            str(tmp_path / "x.duckdb"),
            "--scheduler",
            f"tcp://127.0.0.1:{port}",
        ],
    )
    assert res.exit_code == 1
    assert "cannot reach the Dask scheduler" in res.output and "Traceback" not in res.output
