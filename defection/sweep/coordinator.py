"""The coordinator: turns a sweep into tasks, hands them to a backend and writes what comes back."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from defection.sweep.engine import (
    Result,
    Scenarios,
    Task,
    read_faults,
    run_dask,
    run_pool,
    run_serial,
)
from defection.sweep.spec import Sweep
from defection.sweep.store import Store

#: Results are committed when this many are waiting, or :data:`FLUSH_SECONDS` after the last commit.
FLUSH_RUNS = 256
FLUSH_SECONDS = 1.0


@dataclass
class Progress:
    """What a sweep did in this invocation."""

    sweep_id: str
    total: int
    skipped: int = 0
    done: int = 0
    failed: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    retried_failed: int = 0


def tasks_for(sweep: Sweep, skip: set[str]) -> list[Task]:
    """The runs not in ``skip``, replicate by replicate (so a partial sweep covers all points).

    Args:
        sweep: The validated sweep.
        skip: Run ids already in the database.
    """
    faults = read_faults()
    out = []
    for rep in range(sweep.replicates):
        for i, point in enumerate(sweep.points):
            run_id = sweep.run_id(i, rep)
            if run_id in skip:
                continue
            out.append(
                Task(
                    run_id=run_id,
                    sweep_id=sweep.sweep_id,
                    point=i,
                    replicate=rep,
                    seed=sweep.seed(i, rep),
                    overrides=point,
                    until_horizon=sweep.meta.until_horizon,
                    series=sweep.series,
                    faults=faults,
                )
            )
    return out


def run_sweep(
    sweep: Sweep,
    store: Store,
    workers: int = 1,
    scheduler: Any = None,
    retry_failed: bool = False,
    on_start: Callable[[Progress], None] | None = None,
    on_result: Callable[[Progress, Result], None] | None = None,
) -> Progress:
    """Run the runs of ``sweep`` that are not yet in ``store`` and write them there.

    Args:
        sweep: The validated sweep.
        store: The open database (this process is its only writer).
        workers: Local processes; 1 runs in this process. Ignored with ``scheduler``.
        scheduler: A Dask scheduler address or ``LocalCluster``; None for the local backends.
        retry_failed: Delete the sweep's failed runs first, so they run again.
        on_start: Called once with the progress before the first run (for a progress bar).
        on_result: Called after each run with the progress and the run's result.

    Returns:
        What this invocation did. On ``KeyboardInterrupt`` the finished runs are written first.
    """
    store.register(sweep)
    prog = Progress(sweep.sweep_id, sweep.n_runs)
    if retry_failed:
        prog.retried_failed = store.delete_failed(sweep.sweep_id)
    done = store.done_ids(sweep.sweep_id)
    prog.skipped = len(done)
    tasks = tasks_for(sweep, done)
    return run_tasks(tasks, sweep.scenario, store, prog, workers, scheduler, on_start, on_result)


def run_tasks(
    tasks: list[Task],
    scenarios: Scenarios,
    store: Store,
    prog: Progress,
    workers: int = 1,
    scheduler: Any = None,
    on_start: Callable[[Progress], None] | None = None,
    on_result: Callable[[Progress, Result], None] | None = None,
) -> Progress:
    """Run ``tasks`` on a backend and write each result to ``store`` as it comes back.

    The part of :func:`run_sweep` after the plan, shared with calibrations
    (:mod:`defection.calibration.runs`), whose tasks name their case.

    Args:
        tasks: The runs still to do.
        scenarios: The base scenario, or ``{case: Scenario}`` for tasks that name their case.
        store: The open database; the tasks' sweep must be registered in it.
        prog: Progress so far (``total``, ``skipped``); updated in place and returned.
        workers: Local processes; 1 runs in this process. Ignored with ``scheduler``.
        scheduler: A Dask scheduler address or ``LocalCluster``; None for the local backends.
        on_start: Called once with the progress before the first run.
        on_result: Called after each run (after its row is buffered); an exception it raises
            (a spent time budget, say) stops the runs, and the finished ones are written first.

    Returns:
        ``prog``.
    """
    if on_start is not None:
        on_start(prog)
    buffer: list[Result] = []
    last_flush = time.monotonic()
    start = time.perf_counter()

    def flush() -> None:
        nonlocal last_flush
        before = store.committed
        try:
            store.write(buffer)
        finally:
            # a signal can interrupt a write after its commit landed, and the store counts that
            # batch: the final flush must not write it again (a duplicate key, a wrong count)
            if store.committed > before:
                buffer.clear()
        last_flush = time.monotonic()

    def collect(res: Result) -> None:
        buffer.append(res)
        prog.done += 1
        if res.row["status"] == "failed":
            prog.failed += 1
        else:
            oc = res.row["outcome"]
            prog.outcomes[oc] = prog.outcomes.get(oc, 0) + 1
        if len(buffer) >= FLUSH_RUNS or time.monotonic() - last_flush >= FLUSH_SECONDS:
            flush()
        if on_result is not None:
            on_result(prog, res)

    try:
        if tasks and scheduler is not None:
            run_dask(tasks, scenarios, scheduler, collect)
        elif tasks and workers > 1:
            run_pool(tasks, scenarios, workers, collect)
        else:
            run_serial(tasks, scenarios, collect)
    finally:
        flush()
        prog.seconds = time.perf_counter() - start
    return prog
