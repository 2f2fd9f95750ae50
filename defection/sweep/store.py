"""The results store: one embedded DuckDB file, written by the sweep's coordinator only.

A ``.duckdb`` file takes one writer process at a time, so workers never open it: they return their
rows, and the coordinator writes them in Arrow batches, each batch in one transaction that holds
the runs' rows and their series together. A run is in the database completely or not at all,
which is what makes ``kill -9`` followed by the same command exactly-once: the runs already
committed are skipped, the rest are run.

Tables (documented for users in the README):

* ``sweeps``: one row per sweep: id, name, scenario, design, varied parameters, sizes, the spec.
* ``runs``: one row per finished run (``status`` ``ok`` or ``failed``); the varied parameters are
  columns named by their address (``"soldiers.pay"``).
* ``series``: one row per run and day with the per-day series the sweep keeps.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from defection import __version__
from defection.sweep.engine import FINAL_COLUMNS, BadDatabase, Result, SweepError
from defection.sweep.spec import SERIES_NAMES, Sweep, canonical_json

DEFAULT_DB = Path("results") / "sweeps.duckdb"

_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS sweeps (
        sweep_id VARCHAR PRIMARY KEY,
        name VARCHAR NOT NULL,
        title VARCHAR,
        scenario VARCHAR NOT NULL,
        scenario_hash VARCHAR NOT NULL,
        design VARCHAR NOT NULL,
        parameters VARCHAR[] NOT NULL,
        points INTEGER NOT NULL,
        replicates INTEGER NOT NULL,
        runs INTEGER NOT NULL,
        seed UBIGINT NOT NULL,
        spec VARCHAR NOT NULL,
        spec_path VARCHAR,
        version VARCHAR NOT NULL,
        created TIMESTAMP NOT NULL
    )""",
    f"""CREATE TABLE IF NOT EXISTS runs (
        run_id VARCHAR PRIMARY KEY,
        sweep_id VARCHAR NOT NULL,
        point INTEGER NOT NULL,
        replicate INTEGER NOT NULL,
        seed BIGINT NOT NULL,
        status VARCHAR NOT NULL,
        error VARCHAR,
        scenario VARCHAR,
        scenario_hash VARCHAR,
        outcome VARCHAR,
        outcome_day INTEGER,
        outcome_rule VARCHAR,
        days INTEGER,
        {", ".join(f"{c} DOUBLE" for c in FINAL_COLUMNS)},
        soldiers_left DOUBLE,
        elites_defected DOUBLE,
        active_protesters DOUBLE,
        peak_active_protesters DOUBLE,
        belief_survival DOUBLE,
        regions_with_defection INTEGER,
        run_seconds DOUBLE,
        version VARCHAR,
        worker VARCHAR,
        finished TIMESTAMP
    )""",
    f"""CREATE TABLE IF NOT EXISTS series (
        run_id VARCHAR NOT NULL,
        day INTEGER NOT NULL,
        {", ".join(f"{c} DOUBLE" for c in SERIES_NAMES)}
    )""",
]


def _connect(path: Path, read_only: bool):
    import duckdb

    if read_only and not path.is_file():
        raise SweepError(f"{path}: no such database (run `defection sweep` first, or pass --db)")
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        msg = str(exc)
        if "lock" in msg.lower():
            raise SweepError(
                f"{path}: the database is open in another process (a DuckDB file takes one "
                f"writer at a time): {msg.splitlines()[0]}"
            ) from None
        raise BadDatabase(path, msg) from None
    except duckdb.Error as exc:
        raise BadDatabase(path, str(exc)) from None


class Store:
    """The sweep database.

    Args:
        path: The ``.duckdb`` file (created with its tables when missing, unless ``read_only``).
        read_only: Open for reading (reports, listings); fails if the file does not exist.
    """

    def __init__(self, path: str | Path = DEFAULT_DB, read_only: bool = False):
        self.path = Path(path)
        self.con = _connect(self.path, read_only)
        if not read_only:
            # the coordinator writes small batches; one thread leaves the cores to the workers
            self.con.execute("SET threads = 1")
            for stmt in _SCHEMA:
                self.con.execute(stmt)

    def close(self) -> None:
        """Close the connection (commits nothing that was not written)."""
        self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing ---------------------------------------------------------------------------------

    def register(self, sweep: Sweep) -> bool:
        """Record the sweep (if new) and add a column per varied parameter; True if it was new."""
        sid = sweep.sweep_id
        known = self.con.execute("SELECT 1 FROM sweeps WHERE sweep_id = ?", [sid]).fetchone()
        self.con.begin()
        for d in sweep.dims:
            self.con.execute(
                f'ALTER TABLE runs ADD COLUMN IF NOT EXISTS "{d.address}" {d.column_type}'
            )
        if not known:
            self.con.execute(
                "INSERT INTO sweeps VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    sid,
                    sweep.name,
                    sweep.title,
                    sweep.scenario.name,
                    sweep.scenario.hash,
                    sweep.meta.design,
                    [d.address for d in sweep.dims],
                    len(sweep.points),
                    sweep.replicates,
                    sweep.n_runs,
                    sweep.meta.seed,
                    canonical_json(sweep),
                    str(sweep.path) if sweep.path else None,
                    __version__,
                    dt.datetime.now(),
                ],
            )
        self.con.commit()
        return not known

    def done_ids(self, sweep_id: str) -> set[str]:
        """Ids of the runs of a sweep already in the database (ok or failed)."""
        rows = self.con.execute("SELECT run_id FROM runs WHERE sweep_id = ?", [sweep_id])
        return {r[0] for r in rows.fetchall()}

    def delete_failed(self, sweep_id: str) -> int:
        """Remove a sweep's failed runs (to run them again); returns how many."""
        n = self.con.execute(
            "SELECT count(*) FROM runs WHERE sweep_id = ? AND status = 'failed'", [sweep_id]
        ).fetchone()[0]
        self.con.execute("DELETE FROM runs WHERE sweep_id = ? AND status = 'failed'", [sweep_id])
        return int(n)

    def write(self, results: list[Result]) -> None:
        """Write finished runs (rows and series) in one transaction, as Arrow batches."""
        if not results:
            return
        now = dt.datetime.now()
        rows = []
        for r in results:
            row = {k.removeprefix("param:"): v for k, v in r.row.items()}
            row["finished"] = now
            rows.append(row)
        # every row gets every key: Arrow takes its columns from the first row, and a failed run's
        # row has no outcome columns
        keys = list(dict.fromkeys(k for row in rows for k in row))
        runs = pa.Table.from_pylist([{k: row.get(k) for k in keys} for row in rows])
        series = _series_table([r for r in results if r.series is not None])
        self.con.begin()
        try:
            self.con.register("_batch_runs", runs)
            self.con.execute("INSERT INTO runs BY NAME SELECT * FROM _batch_runs")
            if series is not None:
                self.con.register("_batch_series", series)
                self.con.execute("INSERT INTO series BY NAME SELECT * FROM _batch_series")
            self.con.commit()
        except Exception:
            self.con.rollback()
            raise
        finally:
            self.con.unregister("_batch_runs")
            if series is not None:
                self.con.unregister("_batch_series")

    # -- reading ---------------------------------------------------------------------------------

    def sweeps(self) -> list[dict[str, Any]]:
        """Every sweep with its progress (runs done, failed) and outcome counts."""
        df = self.con.execute(
            """
            SELECT s.sweep_id, s.name, s.scenario, s.design, s.parameters, s.points,
                   s.replicates, s.runs, s.created,
                   count(r.run_id) AS done,
                   count(r.run_id) FILTER (WHERE r.status = 'failed') AS failed,
                   count(r.run_id) FILTER (WHERE r.outcome = 'collapse') AS collapse,
                   count(r.run_id) FILTER (WHERE r.outcome = 'split') AS split,
                   count(r.run_id) FILTER (WHERE r.outcome = 'survival') AS survival
            FROM sweeps s LEFT JOIN runs r USING (sweep_id)
            GROUP BY ALL ORDER BY s.created
            """
        ).fetchdf()
        return df.to_dict("records")

    def sweep(self, sweep_id: str) -> dict[str, Any]:
        """One sweep's row; an unknown id is an error that lists close ids."""
        df = self.con.execute("SELECT * FROM sweeps WHERE sweep_id = ?", [sweep_id]).fetchdf()
        if df.empty:
            ids = [r[0] for r in self.con.execute("SELECT sweep_id FROM sweeps").fetchall()]
            prefix = [i for i in ids if i.startswith(sweep_id)]
            if len(prefix) == 1:
                return self.sweep(prefix[0])
            import difflib

            hint = difflib.get_close_matches(sweep_id, ids, n=1)
            more = f"; did you mean `{hint[0]}`?" if hint else ""
            known = f" (known: {', '.join(ids)})" if ids else " (the database has no sweeps)"
            raise SweepError(f"{self.path}: no sweep `{sweep_id}`{more}{known}")
        return df.iloc[0].to_dict()

    def runs(self, sweep_id: str):
        """A sweep's runs as a pandas DataFrame, in (point, replicate) order."""
        return self.con.execute(
            "SELECT * FROM runs WHERE sweep_id = ? ORDER BY point, replicate", [sweep_id]
        ).fetchdf()


def _series_table(results: list[Result]) -> pa.Table | None:
    if not results:
        return None
    ids, cols = [], {name: [] for name in ("day", *SERIES_NAMES)}
    for r in results:
        s = r.series
        assert s is not None
        n = len(s["day"])
        ids.append(np.full(n, r.row["run_id"], dtype=object))
        for name in cols:
            cols[name].append(s[name] if name in s else np.full(n, np.nan))
    data = {"run_id": np.concatenate(ids)}
    data["day"] = np.concatenate(cols.pop("day")).astype(np.int32)
    for name, parts in cols.items():
        if any(name in r.series for r in results):  # type: ignore[operator]
            data[name] = np.concatenate(parts)
    return pa.table(data)
