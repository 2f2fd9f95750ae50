"""Scenario sweeps: many seeded runs over a parameter design, stored in DuckDB.

* :mod:`defection.sweep.spec`: the sweep file (TOML), its validation and its design (grid, Latin
  hypercube or Sobol, drawn with SALib), run ids and seeds.
* :mod:`defection.sweep.engine`: one run as a task, and the serial, process-pool and Dask backends.
* :mod:`defection.sweep.coordinator`: ``run_sweep``, which turns a sweep into tasks, hands them
  to a backend and writes what comes back.
* :mod:`defection.sweep.store`: the results database (one writer: the coordinator).
* :mod:`defection.sweep.report`: plots and a Markdown summary from the database.
* :mod:`defection.sweep.errors`: :class:`~defection.sweep.errors.SweepError`, importable without
  the model (the listing and the report do not import it).
"""

import os
import signal
import time

#: Environment for pool workers, set before they import numpy: one BLAS thread per process, so
#: two workers on two cores do not oversubscribe them (Dask's nanny sets the same by default).
BLAS_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
}
#: Imported once by the fork server (local pool) or at worker start (Dask ``--preload``).
PRELOAD = "defection.sweep.engine"


def start_forkserver() -> None:
    """Start the local pool's fork server now, so it imports the model while this process works.

    The pool's workers fork from a server process that has imported :data:`PRELOAD` once; this
    module imports nothing heavy, so ``defection sweep`` calls it first thing and the server's
    imports (seconds) overlap with the command's own start-up. Idempotent.
    """
    import multiprocessing as mp
    from multiprocessing import forkserver

    os.environ.update(BLAS_ENV)  # inherited by the fork server, not used by this process's BLAS
    mp.get_context("forkserver").set_forkserver_preload([PRELOAD])
    forkserver.ensure_running()


def stop_forkserver(timeout: float = 5.0) -> None:
    """Stop the fork server this process started (if any), waiting up to ``timeout`` seconds.

    The server exits when every holder of its "alive" pipe has closed it (this process and the
    workers it forked), so call this after the pool's workers are gone; past the timeout it is
    killed. The next pool starts a new one. Uses CPython's private ``ForkServer`` state (3.12).
    """
    from multiprocessing import forkserver, util

    fs = getattr(forkserver, "_forkserver", None)
    if fs is None or not hasattr(fs, "_forkserver_pid"):
        return
    with fs._lock:
        pid = fs._forkserver_pid
        if pid is None:
            return
        os.close(fs._forkserver_alive_fd)  # EOF on its end of the pipe asks it to exit
        fs._forkserver_alive_fd = None
        deadline = time.monotonic() + timeout
        try:
            while os.waitpid(pid, os.WNOHANG)[0] == 0:
                if time.monotonic() > deadline:
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                    break
                time.sleep(0.02)
        except ChildProcessError:
            pass
        address, fs._forkserver_pid, fs._forkserver_address = fs._forkserver_address, None, None
        if address and not util.is_abstract_socket_namespace(address):
            try:
                os.unlink(address)
            except OSError:
                pass
