"""Calibration runs on a Dask ``LocalCluster`` with 1 and 2 workers, against peers in the same run.

Issue #10 (section 4) asks for Dask scaling measured on a ``LocalCluster`` with 1 and 2 workers.
Run it with::

    .venv/bin/python benchmarks/calibration_dask.py            # 40 runs a phase (about 8 minutes)
    .venv/bin/python benchmarks/calibration_dask.py --quick    # smoke run, 4 short runs a phase

Every phase runs the same calibration runs: a deterministic subset of a committed wave's design
(``calibration/specs/wave3.toml`` by default: every k-th run, so the NAVCO campaigns and the five
cases are mixed as in the wave), through :func:`defection.sweep.coordinator.run_tasks`, the code
path of ``defection calibrate``, each phase into its own temporary DuckDB store. The phases, in
one process, one after another:

1. **serial**: ``workers=1``, the runs in this process: the peer every ratio is taken against;
2. **dask 1**: a ``LocalCluster`` with one worker process (one thread);
3. **dask 2**: a ``LocalCluster`` with two worker processes (one thread each);
4. **pool 2**: the local process pool with two workers, the default of ``defection calibrate``.

A cluster is started, its workers preloading the model as the README's ``dask worker --preload``
does, before the clock starts (a user starts a cluster once for many calibrations). Printed: each
phase's wall time, its throughput as a ratio to serial, and Dask's scaling (dask 2 against
dask 1). Only 1 and 2 workers are measured, on this machine's cores; anything beyond is not
estimated here. Wall-clock timings swing on a shared machine; each phase prints the load average
so that competition for the cores shows. The last line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> dict:
    """Run the phases and print the figures; returns them."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spec", default=str(ROOT / "calibration/specs/wave3.toml"))
    ap.add_argument("--runs", type=int, default=40, help="runs per phase")
    ap.add_argument("--quick", action="store_true", help="4 short runs a phase (smoke test)")
    args = ap.parse_args(argv)

    from defection.calibration.runs import tasks_for
    from defection.calibration.spec import load_calibration
    from defection.sweep import PRELOAD, start_forkserver
    from defection.sweep.coordinator import Progress, run_tasks
    from defection.sweep.store import Store

    start_forkserver()  # as `defection calibrate` does, overlapping its own start-up
    calib = load_calibration(args.spec)
    every = calib.n_runs // max(args.runs, 1) or 1
    tasks = tasks_for(calib, set())[::every][: args.runs]
    if args.quick:
        tasks = [t for t in tasks if str(t.case).startswith("navco")][:4] or tasks[:4]
    cases = {c.name: c.runner() for c in calib.cases}
    mix = {c: sum(t.case == c for t in tasks) for c in sorted({t.case for t in tasks})}
    print(
        f"{len(tasks)} runs of {calib.name} (every {every}th of {calib.n_runs}: "
        + ", ".join(f"{n} {c}" for c, n in mix.items())
        + f"), cores: {os.cpu_count()}"
    )
    tmp = Path(tempfile.mkdtemp(prefix="defection-bench-"))

    def phase(label: str, workers: int = 1, scheduler=None) -> tuple[float, float]:
        with Store(tmp / f"{label.replace(' ', '_')}.duckdb") as store:
            store.register(calib.store_view())
            prog = Progress(calib.calib_id, len(tasks))
            t0 = time.perf_counter()
            run_tasks(tasks, cases, store, prog, workers, scheduler)
            wall = time.perf_counter() - t0
            work = store.con.execute("SELECT sum(run_seconds) FROM runs").fetchone()[0]
        assert prog.done == len(tasks) and prog.failed == 0, prog
        return wall, float(work or 0.0)

    result: dict[str, float] = {"runs": len(tasks)}
    serial, work = phase("serial")
    print(f"serial:   {serial:7.1f} s  (runs' own time {work:.1f} s){_load()}")
    result["serial_s"] = serial

    from distributed import LocalCluster

    for n in (1, 2):
        with LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            preload=[PRELOAD],
        ) as cluster:
            wall, work = phase(f"dask {n}", scheduler=cluster.scheduler_address)
        print(
            f"dask {n}:   {wall:7.1f} s  {serial / wall:.2f} x serial "
            f"(runs' own time {work:.1f} s){_load()}"
        )
        result[f"dask{n}_s"] = wall
        result[f"dask{n}_vs_serial"] = serial / wall
    result["dask_scaling_2_vs_1"] = result["dask1_s"] / result["dask2_s"]
    print(f"dask scaling, 2 workers against 1: {result['dask_scaling_2_vs_1']:.2f} x")

    pool, work = phase("pool 2", workers=2)
    print(
        f"pool 2:   {pool:7.1f} s  {serial / pool:.2f} x serial (runs' own time {work:.1f} s)"
        f"{_load()}"
    )
    result["pool2_s"] = pool
    result["pool2_vs_serial"] = serial / pool
    print(json.dumps(result))
    return result


def _load() -> str:
    """The 1-minute load average: above the core count, other processes competed for the CPU."""
    return f"  [load {os.getloadavg()[0]:.1f}]"


if __name__ == "__main__":
    main()
