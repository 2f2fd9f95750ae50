"""Sweep throughput and store overhead, measured against peers in the same run.

Run it with::

    .venv/bin/python benchmarks/sweeps.py            # full run (about five minutes on 2 cores)
    .venv/bin/python benchmarks/sweeps.py --quick    # smoke run, a few small runs

Every phase runs the same sweep: the baseline scenario shrunk to about 2,000 agents (three 30 x 30
regions), run for 200 days whatever its outcome (``until_horizon``), over a grid of pay values,
with every per-day series stored. The phases, in one process, one after another:

1. **bare**: the runs in a plain loop, ``RegimeModel`` built and stepped, nothing stored: the peer
   for the store's overhead;
2. **serial**: ``run_sweep(workers=1)``: the same runs through the coordinator, written to DuckDB;
3. **pool**: ``run_sweep(workers=2)``: the local process pool, its workers' start-up included.
   The fork server they fork from is started when the benchmark starts, as ``defection sweep``
   starts it first thing, so that its imports (about 3 s here) overlap with the command's own
   imports and the spec's validation, which no phase counts;
4. **dask**: ``run_sweep(scheduler=LocalCluster(n_workers=2, threads_per_worker=1))``, through the
   same code path as a real cluster; the cluster is started, its workers preloading the model as
   the README's ``dask worker --preload`` does, before the clock starts (a user starts a cluster
   once for many sweeps).

Printed: the store's overhead per run (what the serial sweep spends outside its runs, against the
runs' own time, with the time inside ``Store.write`` and the comparison with the bare loop),
and the pool's and Dask's throughput as ratios to serial. Targets: store overhead under 5 % of a
run, pool at least 1.8 x serial, Dask at least 1.6 x serial, on 2 cores. The last line is one JSON
object with the figures. Wall-clock timings swing on a shared machine; the ratios are measured
within one run, and each phase prints the load average so competition for the cores shows.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

TARGETS = {
    "store_overhead": ("<", 0.05),
    "pool_speedup": (">=", 1.8),
    "dask_speedup": (">=", 1.6),
}


def spec_text(runs: int, horizon: int, side: int) -> str:
    """A grid sweep of ``runs`` runs (``runs`` pay values, one replicate each)."""
    return f"""
[sweep]
name = "bench"
scenario = "baseline"
design = "grid"
replicates = 1
seed = 1
until_horizon = true

[set]
"run.horizon" = {horizon}
"grid.width" = {side}
"grid.height" = {side}

[vary."soldiers.pay"]
range = [0.0, 3.0]
steps = {runs}
"""


def main(argv: list[str] | None = None) -> dict:
    """Run the phases and print the figures; returns them."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="few small runs (smoke test)")
    ap.add_argument("--skip-dask", action="store_true", help="skip the Dask phase")
    args = ap.parse_args(argv)
    runs, horizon, side = (6, 20, 16) if args.quick else (96, 200, 30)

    from defection.model.regime import RegimeModel
    from defection.sweep import PRELOAD, start_forkserver
    from defection.sweep import store as store_mod
    from defection.sweep.coordinator import tasks_for
    from defection.sweep.spec import load_spec

    start_forkserver()  # as `defection sweep` does first thing, overlapping its own start-up
    tmp = Path(tempfile.mkdtemp(prefix="defection-bench-"))
    spec_path = tmp / "bench.toml"
    spec_path.write_text(spec_text(runs, horizon, side))
    sw = load_spec(spec_path)
    probe = RegimeModel(sw.scenario, rng=1)
    agents = probe.n_protesters + probe.n_soldiers + probe.elites.state.size
    print(f"sweep: {runs} runs of {agents} agents x {horizon} days, cores: {os.cpu_count()}")

    # 1. bare loop
    t0, c0 = time.perf_counter(), time.process_time()
    for task in tasks_for(sw, set()):
        sc = sw.scenario.with_overrides(task.overrides)
        RegimeModel(sc, rng=task.seed, until_horizon=True).run()
    bare, bare_cpu = time.perf_counter() - t0, time.process_time() - c0
    print(
        f"bare loop:   {bare:7.2f} s  ({bare / runs * 1000:.0f} ms per run; CPU {bare_cpu:.2f} s)"
        f"{_load()}"
    )

    # 2. serial through the coordinator and the store; time spent in Store.write measured too
    write_time = 0.0
    original = store_mod.Store.write

    def timed_write(self, results):
        nonlocal write_time
        t = time.perf_counter()
        original(self, results)
        write_time += time.perf_counter() - t

    store_mod.Store.write = timed_write  # type: ignore[method-assign]
    c0 = time.process_time()
    try:
        serial, serial_work = _timed_sweep(sw, tmp / "serial.duckdb", workers=1)
    finally:
        store_mod.Store.write = original  # type: ignore[method-assign]
    serial_cpu = time.process_time() - c0
    # The store's overhead is what the serial sweep spends outside its runs (the coordinator and
    # Store.write), measured within the one phase: wall time against the sum of the runs' own
    # times. The comparison with the bare loop (another phase) is printed too; it also moves with
    # the machine's drift between phases, by several percent here.
    overhead = serial / serial_work - 1
    print(
        f"serial:      {serial:7.2f} s  (runs' own time {serial_work:.2f} s, "
        f"CPU {serial_cpu:.2f} s){_load()}\n"
        f"  store overhead {overhead:+.2%} of a run (Store.write {write_time / runs * 1000:.1f} ms "
        f"per run, {write_time / serial_work:.2%}); against the bare loop "
        f"{serial_cpu / bare_cpu - 1:+.1%} on CPU time, {serial / bare - 1:+.1%} on wall time"
    )

    # 3. pool
    pool, pool_work = _timed_sweep(sw, tmp / "pool.duckdb", workers=2)
    print(
        f"pool (2):    {pool:7.2f} s  {serial / pool:.2f} x serial "
        f"(runs' own time {pool_work:.2f} s){_load()}"
    )

    result = {
        "runs": runs,
        "agents": agents,
        "days": horizon,
        "bare_s": bare,
        "serial_s": serial,
        "store_write_s_per_run": write_time / runs,
        "store_overhead": overhead,
        "store_overhead_vs_bare_cpu": serial_cpu / bare_cpu - 1,
        "store_overhead_vs_bare_wall": serial / bare - 1,
        "store_write_share": write_time / serial_work,
        "pool_s": pool,
        "pool_speedup": serial / pool,
    }

    # 4. dask LocalCluster
    if not args.skip_dask:
        from distributed import LocalCluster

        with LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            preload=[PRELOAD],  # as the README's `dask worker --preload` does
        ) as cluster:
            dask_s, dask_work = _timed_sweep(
                sw, tmp / "dask.duckdb", scheduler=cluster.scheduler_address
            )
        print(
            f"dask (2):    {dask_s:7.2f} s  {serial / dask_s:.2f} x serial "
            f"(runs' own time {dask_work:.2f} s){_load()}"
        )
        result |= {"dask_s": dask_s, "dask_speedup": serial / dask_s}

    for key, (op, target) in TARGETS.items():
        if key in result:
            ok = result[key] < target if op == "<" else result[key] >= target
            print(f"target {key} {op} {target}: {'met' if ok else 'NOT met'} ({result[key]:.3f})")
    print(json.dumps(result))
    return result


def _load() -> str:
    """The 1-minute load average: above the core count, other processes competed for the CPU."""
    return f"  [load {os.getloadavg()[0]:.1f}]"


def _timed_sweep(sw, db: Path, workers: int = 1, scheduler=None) -> tuple[float, float]:
    """Wall time of ``run_sweep`` and the sum of the runs' own times (``runs.run_seconds``)."""
    from defection.sweep.coordinator import run_sweep
    from defection.sweep.store import Store

    with Store(db) as store:
        t0 = time.perf_counter()
        prog = run_sweep(sw, store, workers=workers, scheduler=scheduler)
        elapsed = time.perf_counter() - t0
        work = store.con.execute("SELECT sum(run_seconds) FROM runs").fetchone()[0]
    assert prog.done == sw.n_runs and prog.failed == 0, prog
    return elapsed, work


if __name__ == "__main__":
    main()
