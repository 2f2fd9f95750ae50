"""Run a sweep's runs: one run as a task, and three backends that execute tasks.

* serial: in this process (``--workers 1``);
* pool: a ``concurrent.futures.ProcessPoolExecutor`` on this machine (the default);
* dask: an existing Dask distributed cluster (``--scheduler tcp://HOST:PORT``), or a
  ``LocalCluster`` through the same code path.

Workers never touch the database: each task returns its row and its per-day series to the
coordinator, which writes them (:mod:`defection.sweep.store`). Seeds travel inside the task, so a
run gives the same row wherever it runs.

A sweep has one base scenario; a calibration (:mod:`defection.calibration`) runs several cases.
The backends therefore take either one :class:`Scenario` or a ``{case: Scenario}`` mapping, sent
to every worker once, and a task names its case (:attr:`Task.case`). A task may also carry
``measures``, a picklable callable that reads the finished run (its row and its per-day frame)
and returns more columns for the row (a calibration's targets), so no per-day series has to
travel back or be stored to compute them.

A run that raises is returned as a ``failed`` row with its error. A pool worker process that
dies (a crash, ``kill -9``, the out-of-memory killer) breaks a ``ProcessPoolExecutor``; the runs in
flight are then re-run one at a time in a fresh single-worker pool, so the one that kills its
worker is recorded as failed and the others complete. On Dask a dead worker's runs are rescheduled
by the scheduler; a run that kills ``distributed.scheduler.allowed-failures`` workers is recorded as
failed.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from defection import __version__
from defection.model.outputs import FINAL_SOLDIER_COLUMNS
from defection.model.policy import Package
from defection.model.regime import RegimeModel
from defection.model.scenario import Scenario
from defection.runner import core_left_share, final_figures, navco_readings, rank_left_shares
from defection.sweep import start_forkserver, stop_forkserver
from defection.sweep.errors import SweepError

#: Testing hook, read by the coordinator and passed inside each task: JSON such as
#: ``{"delay": 0.2, "raise": ["p000003/r00000"], "exit": ["p000005/r00001"]}``. ``delay`` adds
#: seconds to every run, ``raise`` makes the named runs raise, ``exit`` makes them kill their worker
#: process (``os._exit``), ``mark_dir`` names a folder where each finished run leaves an empty
#: file. Used by the tests of failure handling and resume; off when unset.
FAULTS_ENV = "DEFECTION_SWEEP_FAULTS"

#: Schemes a ``--scheduler`` address may use (Dask's TCP and TLS transports, and websockets).
SCHEDULER_SCHEMES = ("tcp", "tls", "ws", "wss")
#: How long to try to connect to a Dask scheduler before giving up.
CONNECT_TIMEOUT = "10s"

#: Final soldier shares stored per run, by state.
FINAL_COLUMNS = FINAL_SOLDIER_COLUMNS


@dataclass(frozen=True)
class Task:
    """One run of a sweep: everything a worker needs besides the base scenario."""

    run_id: str
    sweep_id: str
    point: int
    replicate: int
    seed: int
    overrides: dict[str, Any]
    until_horizon: bool
    series: tuple[str, ...]
    faults: dict[str, Any] = field(default_factory=dict)
    #: The case this run belongs to: a key of the ``{case: Scenario}`` mapping the backend was
    #: given (None: the backend was given one scenario). Stored in the row's ``case`` column.
    case: str | None = None
    #: ``measures(row, frame) -> {column: value}``: extra columns computed from the finished run
    #: (its row and its DataCollector frame); a picklable callable (a module-level class instance).
    measures: Callable[[dict[str, Any], pd.DataFrame], dict[str, Any]] | None = None
    #: A package of measures applied during the run (:mod:`defection.model.policy`), or None.
    policy: Package | None = None
    #: More columns for the row, as given (a policy comparison's package and draw).
    labels: dict[str, Any] = field(default_factory=dict)


#: What the backends run tasks on: one base scenario, or one per case (:attr:`Task.case`).
Scenarios = Scenario | Mapping[str, Scenario]


class CaseScenarios(Mapping[str, Scenario]):
    """A read-only ``{case: Scenario}`` mapping that is not a ``dict`` (Dask scatters it whole)."""

    def __init__(self, scenarios: Mapping[str, Scenario]):
        self._d = dict(scenarios)

    def __getitem__(self, case: str) -> Scenario:
        return self._d[case]

    def __iter__(self) -> Iterator[str]:
        return iter(self._d)

    def __len__(self) -> int:
        return len(self._d)


def base_scenario(scenarios: Scenarios, task: Task) -> Scenario:
    """The base scenario of ``task``: the one scenario, or its case's in the mapping."""
    if isinstance(scenarios, Scenario):
        return scenarios
    if task.case is None:
        raise ValueError(f"run {task.run_id}: names no case, and the runs have several")
    return scenarios[task.case]


@dataclass
class Result:
    """What a run sends back: its database row and its per-day series (or ``None``)."""

    row: dict[str, Any]
    series: dict[str, np.ndarray] | None


def read_faults() -> dict[str, Any]:
    """Parse the testing hook :data:`FAULTS_ENV` (empty when unset)."""
    raw = os.environ.get(FAULTS_ENV, "")
    return json.loads(raw) if raw else {}


def execute(
    task: Task,
    scenario: Scenarios | None = None,
    on_day: Callable[[RegimeModel], None] | None = None,
) -> Result:
    """Run one task to its outcome and return its row; a model exception becomes a failed row.

    Args:
        task: The run.
        scenario: The sweep's base scenario ([set] applied), or a ``{case: Scenario}`` mapping
            for tasks that name their case; pool workers get it once from their initializer and
            pass ``None``.
        on_day: Called with the model after each day (a recorder; the run is unchanged).
    """
    scenarios = scenario if scenario is not None else _WORKER_SCENARIO
    assert scenarios is not None, "worker started without its scenario"
    start = time.perf_counter()
    short = task.run_id.split("/", 1)[1]
    try:
        faults = task.faults
        if faults.get("delay"):
            time.sleep(float(faults["delay"]))
        if short in faults.get("exit", ()):
            os._exit(70)  # simulate a crashing worker process
        if short in faults.get("raise", ()):
            raise RuntimeError(f"injected failure in {short} ({FAULTS_ENV})")
        base = base_scenario(scenarios, task)
        sc = base.with_overrides(task.overrides, origin=f"sweep run {task.run_id}")
        model = RegimeModel(sc, rng=task.seed, until_horizon=task.until_horizon, policy=task.policy)
        model.run(on_day=on_day)
        ts = model.datacollector.get_model_vars_dataframe()
        row = _row(task, model, sc.hash, ts)
        if task.measures is not None:
            # measures also see the first day each NAVCO DEFECT rule held, the core group's
            # share that left and each rank's (not stored columns)
            view = row | {
                "navco_rules_first_day": navco_readings(model, ts),
                "core_left_share": core_left_share(model),
                "rank_left_shares": rank_left_shares(model),
            }
            row.update(task.measures(view, ts))
        series = _series(ts, task.series) if task.series else None
    except Exception as exc:  # noqa: BLE001 - a failed run is data, not the end of the sweep
        row = failed_row(task, f"{type(exc).__name__}: {exc}")
        series = None
    row["run_seconds"] = time.perf_counter() - start
    if task.faults.get("mark_dir"):  # testing hook: tell a watching test that this run finished
        with open(os.path.join(task.faults["mark_dir"], short.replace("/", "_")), "w"):
            pass
    return Result(row, series)


def failed_row(task: Task, error: str) -> dict[str, Any]:
    """The row of a run that did not finish."""
    return _base_row(task) | {"status": "failed", "error": error[:2000]}


def _base_row(task: Task) -> dict[str, Any]:
    row = {
        "run_id": task.run_id,
        "sweep_id": task.sweep_id,
        "point": task.point,
        "replicate": task.replicate,
        "seed": task.seed,
        "version": __version__,
        "worker": f"{socket.gethostname()}:{os.getpid()}",
        **{f"param:{k}": v for k, v in task.overrides.items()},
        **task.labels,
    }
    if task.case is not None:
        row["case"] = task.case
    return row


def _row(task: Task, model: RegimeModel, scenario_hash: str, ts: pd.DataFrame) -> dict[str, Any]:
    fig = final_figures(model, ts)
    return _base_row(task) | {
        "status": "ok",
        "error": None,
        "scenario": model.scenario_def.name,
        "scenario_hash": scenario_hash,
        "outcome": model.outcome,
        "outcome_day": model.outcome_day,
        "outcome_rule": model.outcome_rule,
        "days": int(model.day),
        **{f"soldiers_{state}": share for state, share in fig.pop("soldiers").items()},
        **fig,
    }


def _series(ts: pd.DataFrame, keep: tuple[str, ...]) -> dict[str, np.ndarray]:
    out = {"day": ts["day"].to_numpy(dtype=np.int32)}
    for name in keep:
        out[name] = ts[name].to_numpy(dtype=np.float64)
    return out


# ------------------------------------------------------------------------------------------------
# backends
# ------------------------------------------------------------------------------------------------

OnResult = Callable[[Result], None]

_WORKER_SCENARIO: Scenarios | None = None


def _init_worker(scenario: Scenarios, coordinator: int | None = None) -> None:
    """Pool worker initializer: keep the base scenario(s) for every task this process runs.

    The worker also ignores Ctrl-C (the terminal sends it to the whole process group; the
    coordinator handles it and stops the pool) and exits as soon as the coordinator process
    ``coordinator`` is gone, however it ended (``kill -9`` included): its parent is the fork
    server, which lives as long as its workers do, so nothing else would end it.
    """
    global _WORKER_SCENARIO
    _WORKER_SCENARIO = scenario
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if coordinator is not None:
        threading.Thread(
            target=_exit_with, args=(coordinator,), name="watch-coordinator", daemon=True
        ).start()


def _exit_with(pid: int) -> None:
    """Block until process ``pid`` ends, then end this process (a watchdog thread)."""
    try:
        fd = os.pidfd_open(pid)  # Linux 5.3+: readable once the process has exited
    except ProcessLookupError:
        os._exit(75)
    except (AttributeError, OSError):
        fd = None
    if fd is not None:
        select.select([fd], [], [])
        os._exit(75)
    while True:  # elsewhere: poll
        time.sleep(0.5)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            os._exit(75)
        except PermissionError:
            pass


def run_serial(tasks: Iterable[Task], scenario: Scenarios, on_result: OnResult) -> None:
    """Run every task in this process, in order."""
    for task in tasks:
        on_result(execute(task, scenario))


def _make_pool(workers: int, scenario: Scenarios) -> ProcessPoolExecutor:
    import multiprocessing as mp

    # forkserver: workers fork from a clean server process that has imported the model once
    # (imports and caches are paid once per sweep, not per run), and no thread of this process is
    # forked (the progress bar and DuckDB run some). The start method is set for this pool only.
    start_forkserver()
    ctx = mp.get_context("forkserver")
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=ctx,
        initializer=_init_worker,
        initargs=(scenario, os.getpid()),
    )
    try:  # a pool whose workers cannot even start is an error of the set-up, not of a run
        pool.submit(_ping).result(timeout=120)
    except BaseException as exc:
        _stop_pool(pool)
        if not isinstance(exc, BrokenProcessPool):
            raise
        raise SweepError(
            "local worker processes die on start (if you call run_sweep from a script, guard "
            'it with `if __name__ == "__main__":`, as multiprocessing requires)'
        ) from None
    return pool


def _ping() -> bool:
    return _WORKER_SCENARIO is not None


def _stop_pool(pool: ProcessPoolExecutor, timeout: float = 5.0) -> None:
    """Stop a pool now: terminate its workers (the runs they were doing are lost) and reap them."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    for p in procs:
        if p.is_alive():
            p.terminate()
    deadline = time.monotonic() + timeout
    for p in procs:
        p.join(max(deadline - time.monotonic(), 0.1))
        if p.is_alive():
            p.kill()
            p.join(1)
    pool.shutdown(wait=True, cancel_futures=True)


def run_pool(tasks: Iterable[Task], scenario: Scenarios, workers: int, on_result: OnResult) -> None:
    """Run tasks on a local process pool of ``workers`` processes.

    At most ``4 * workers`` tasks are in flight, so an interrupt loses little and memory stays flat.
    On every way out (done, an error, ``KeyboardInterrupt`` or another exception raised by a
    signal handler) the workers and the fork server are stopped before this returns; if this
    process is killed outright, the workers notice and exit (:func:`_init_worker`).
    """
    try:
        _run_pool(tasks, scenario, workers, on_result)
    finally:
        stop_forkserver()


def _run_pool(
    tasks: Iterable[Task], scenario: Scenarios, workers: int, on_result: OnResult
) -> None:
    pending: deque[Task] = deque(tasks)
    suspects: deque[Task] = deque()
    while pending or suspects:
        if suspects:
            _run_alone(suspects.popleft(), scenario, on_result)
            continue
        pool = _make_pool(workers, scenario)
        inflight: dict[Any, Task] = {}
        try:
            broken = False
            while (pending or inflight) and not broken:
                while pending and len(inflight) < 4 * workers:
                    task = pending.popleft()
                    try:
                        inflight[pool.submit(execute, task)] = task
                    except BrokenProcessPool:
                        pending.appendleft(task)
                        broken = True
                        break
                if not inflight:
                    break
                done, _ = wait(list(inflight), return_when=FIRST_COMPLETED)
                for fut in done:
                    task = inflight.pop(fut)
                    exc = fut.exception()
                    if isinstance(exc, BrokenProcessPool):
                        suspects.append(task)
                        broken = True
                    elif exc is not None:
                        on_result(Result(failed_row(task, f"{type(exc).__name__}: {exc}"), None))
                    else:
                        on_result(fut.result())
            if broken:
                # a worker died; whatever else was in flight is suspect too (re-run one by one)
                for fut, task in inflight.items():
                    if fut.done() and fut.exception() is None:
                        on_result(fut.result())
                    else:
                        suspects.append(task)
                inflight.clear()
        except BaseException:
            _stop_pool(pool)  # interrupted or failed: do not wait for the runs in flight
            raise
        else:
            pool.shutdown(wait=True, cancel_futures=True)


def _run_alone(task: Task, scenario: Scenarios, on_result: OnResult) -> None:
    """Re-run a task that was in flight when a worker died, in a pool of its own."""
    pool = _make_pool(1, scenario)
    try:
        fut = pool.submit(execute, task)
        exc = fut.exception()
        if isinstance(exc, BrokenProcessPool):
            on_result(Result(failed_row(task, "worker process died while running this run"), None))
        elif exc is not None:
            on_result(Result(failed_row(task, f"{type(exc).__name__}: {exc}"), None))
        else:
            on_result(fut.result())
    except BaseException:
        _stop_pool(pool)
        raise
    else:
        pool.shutdown(wait=True, cancel_futures=True)


def _worker_version() -> str:
    from defection import __version__ as v

    return v


def scheduler_address_problem(address: str) -> str | None:
    """Why ``address`` is not a Dask scheduler address such as ``tcp://HOST:PORT`` (None if it is).

    Checked before connecting: Dask would take a malformed address for a host name and wait for
    its connect timeout.
    """
    import ipaddress
    import re
    from urllib.parse import urlsplit

    rule = f"expected {' or '.join(f'{s}://HOST:PORT' for s in SCHEDULER_SCHEMES[:2])}"
    scheme, sep, _ = address.partition("://")
    if not sep or scheme not in SCHEDULER_SCHEMES:
        return f"{rule} (scheme one of {', '.join(SCHEDULER_SCHEMES)})"
    try:
        parts = urlsplit(address)
        port = parts.port
    except ValueError as exc:
        return f"{rule}: {exc}"
    host = parts.hostname or ""
    if port is None or not host or parts.path not in ("", "/") or parts.query or parts.fragment:
        return f"{rule} (a host and a port, nothing else)"
    if not 1 <= port <= 65535:
        return f"{rule}: port {port} is not between 1 and 65535"
    if "[" in parts.netloc:
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return f"{rule}: {host!r} is not an IPv6 address"
    elif re.fullmatch(r"[0-9.]+", host):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            return f"{rule}: {host!r} is not an IPv4 address"
    elif not re.fullmatch(
        r"(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,62})?(\.[A-Za-z0-9-]{1,63})*", host
    ):
        return f"{rule}: {host!r} is not a host name"
    return None


def run_dask(tasks: Iterable[Task], scenario: Scenarios, address: Any, on_result: OnResult) -> None:
    """Run tasks on a Dask distributed cluster (a scheduler address or a ``LocalCluster``).

    The base scenario (or the cases' mapping) is scattered to every worker once; tasks are
    submitted in a window of four per worker thread, so the scheduler holds a bounded number of
    them.

    Raises:
        SweepError: The scheduler cannot be reached, has no workers, or runs another version.
    """
    from distributed import Client, as_completed

    if isinstance(address, str) and (problem := scheduler_address_problem(address)):
        raise SweepError(f"--scheduler {address!r}: {problem}")
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise SweepError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    try:
        try:
            client.wait_for_workers(1, timeout=30)
        except TimeoutError:
            raise SweepError(f"the Dask scheduler at {address} has no workers") from None
        versions = set(client.run(_worker_version).values())
        if versions != {__version__}:
            raise SweepError(
                f"Dask workers run defection {', '.join(sorted(versions))}, this command runs "
                f"{__version__}; install the same version on every worker"
            )
        threads = max(sum(client.nthreads().values()), 1)
        # a mapping goes as one object (Dask would scatter a dict's values one by one)
        payload = scenario if isinstance(scenario, Scenario) else CaseScenarios(scenario)
        sc = client.scatter(payload, broadcast=True, hash=False)
        it: Iterator[Task] = iter(tasks)
        by_key: dict[str, Task] = {}

        def submit(task: Task) -> Any:
            key = f"defection-run-{task.run_id}"
            fut = client.submit(execute, task, sc, key=key, pure=False)
            by_key[fut.key] = task
            return fut

        first = [submit(task) for task in _take(it, 4 * threads)]
        if not first:
            return
        ac = as_completed(first, loop=client.loop)
        for fut in ac:
            task = by_key.pop(fut.key)
            try:
                res = fut.result()
            except Exception as exc:  # noqa: BLE001 - e.g. KilledWorker after repeated deaths
                res = Result(failed_row(task, f"{type(exc).__name__}: {exc}"), None)
            fut.release()
            on_result(res)
            nxt = next(it, None)
            if nxt is not None:
                ac.add(submit(nxt))
    finally:
        client.close()


def _take(it: Iterator[Task], n: int) -> list[Task]:
    out = []
    for _ in range(n):
        task = next(it, None)
        if task is None:
            break
        out.append(task)
    return out
