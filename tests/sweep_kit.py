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
