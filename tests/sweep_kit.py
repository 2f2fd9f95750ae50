"""Helpers for the sweep tests: a small sweep spec and row comparisons."""

import contextlib
import json
from pathlib import Path

#: A sweep small enough for tests: 2 x 2 points x 3 replicates on a shrunken baseline.
SMALL_SPEC = """
[sweep]
name = "tiny"
scenario = "baseline"
design = "grid"
replicates = 3
seed = 11

[set]
"run.horizon" = 40
"grid.width" = 20
"grid.height" = 20

[vary."soldiers.pay"]
values = [0.5, 2.0]

[vary."regime.repression"]
values = [0.2, 0.8]
"""

#: Columns that differ between backends by nature (wall time, host and process, write time).
VOLATILE = ["run_seconds", "worker", "finished"]


def write_spec(folder: Path, text: str = SMALL_SPEC, name: str = "tiny.toml") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def comparable(df):
    """Rows sorted by run id without the volatile columns, for equality across backends."""
    df = df.drop(columns=VOLATILE).sort_values("run_id").reset_index(drop=True)
    # one dtype and one missing value for both sides (an all-None column reads back as object)
    return df.astype(object).where(df.notna(), None)


def read_runs(db: Path, sweep_id: str | None = None):
    from defection.sweep.store import Store

    with Store(db, read_only=True) as store:
        if sweep_id is None:
            (sweep_id,) = [r["sweep_id"] for r in store.sweeps()]
        runs = store.runs(sweep_id)
        series = store.con.execute(
            "SELECT * FROM series WHERE run_id LIKE ? ORDER BY run_id, day", [f"{sweep_id}/%"]
        ).fetchdf()
    return runs, series


def spec_toml(doc: dict) -> str:
    """A small TOML writer for the specs' shapes (tables, arrays of tables, inline tables)."""

    def value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{json.dumps(k)} = {value(x)}" for k, x in v.items()) + " }"
        return repr(v)

    lines = []
    for key, table in doc.items():
        for t in table if isinstance(table, list) else [table]:
            lines.append(f"[[{key}]]" if isinstance(table, list) else f"[{key}]")
            lines += [f"{json.dumps(k)} = {value(v)}" for k, v in t.items()]
    return "\n".join(lines) + "\n"


@contextlib.contextmanager
def held_database(db: Path):
    """Another process holds ``db`` open for writing (DuckDB: one writer at a time)."""
    import subprocess
    import sys

    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(db)!r}); print('ok', flush=True); "
            "time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ok"
        yield
    finally:
        holder.kill()
        holder.wait()


def kill_mid_way(
    cmd: list[str], db: Path, marks: Path, total: int, rng, min_marks: int = 6, jitter: float = 1.5
) -> int:
    """Start ``cmd`` (runs stored in ``db``), ``kill -9`` it mid-way; the runs it left stored.

    The fault hook slows every run and marks each finished one in ``marks``; once ``min_marks``
    have finished the coordinator is killed at a random moment (between runs, inside a commit,
    anywhere), then its process group. Returns the runs in the database (0 when none, ``total``
    when it finished first: the caller tries again).
    """
    import os
    import signal
    import subprocess
    import time

    from defection.sweep.engine import FAULTS_ENV
    from defection.sweep.store import Store

    marks.mkdir()
    faults = {"delay": 0.15, "mark_dir": str(marks)}
    proc = subprocess.Popen(
        cmd,
        env={**os.environ, FAULTS_ENV: json.dumps(faults), "PYTHONWARNINGS": "ignore"},
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # wait until runs are finishing (start-up takes seconds on a loaded machine)
        deadline = time.monotonic() + 120
        while len(list(marks.iterdir())) < min_marks and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, jitter))
        proc.send_signal(signal.SIGKILL)  # the coordinator, as `kill -9 PID` would
        proc.wait(timeout=30)
    finally:
        time.sleep(0.5)  # its pool workers notice the closed pipe and exit; clean up the rest
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if not db.exists():
        return 0
    with Store(db, read_only=True) as store:
        n = store.con.execute("SELECT count(*) FROM runs").fetchone()[0]
    print(f"killed with {n} of {total} runs in the database")  # noqa: T201
    return n
