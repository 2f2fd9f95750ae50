"""The results store: one embedded DuckDB file, written by the sweep's coordinator only.

A ``.duckdb`` file takes one writer process at a time, so workers never open it: they return their
rows, and the coordinator writes them in Arrow batches, each batch in one transaction that holds
the runs' rows and their series together. A run is in the database completely or not at all,
which is what makes ``kill -9`` followed by the same command exactly-once: the runs already
committed are skipped, the rest are run.

Tables (documented for users in the README):

* ``sweeps``: one row per sweep: id, name, scenario, design, varied parameters, sizes, the spec,
  the package version and the model version.
* ``runs``: one row per finished run (``status`` ``ok`` or ``failed``); the varied parameters are
  columns named by their address (``"soldiers.pay"``).
* ``series``: one row per run and day with the per-day series the sweep keeps.

Column names come from :mod:`defection.model.outputs`, and from parameter addresses, which hold
free-text region and group names: every identifier goes into SQL through :func:`quote_ident`, every
value as a bind parameter. A database written by an older version gets the columns it lacks (a new
series, a new final figure) when it is opened for writing or when a batch brings them; its rows
have NULL there.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from defection import __version__
from defection.model import version
from defection.model.outputs import (
    FINAL_FIGURES,
    FINAL_SOLDIER_COLUMNS,
    OUTCOMES,
    SWEEP_SERIES,
)
from defection.sweep.errors import BadDatabase, SweepError

if TYPE_CHECKING:
    from defection.sweep.engine import Result
    from defection.sweep.spec import Sweep

DEFAULT_DB = Path("results") / "sweeps.duckdb"


def quote_ident(name: str) -> str:
    """``name`` as a DuckDB identifier: in double quotes, embedded double quotes doubled.

    The one way this package builds an identifier into SQL (DuckDB has no bind parameters for
    identifiers); values always go in as bind parameters. Region and group names are free text,
    and parameter addresses, hence column names, contain them.

    Raises:
        SweepError: ``name`` is empty (SQL has no empty identifier).
    """
    if not name:
        raise SweepError("an empty name cannot be a database column")
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """``value`` as an SQL string literal, for SQL shown to users (reports), never executed here."""
    return "'" + value.replace("'", "''") + "'"


_FIGURE_TYPES = {float: "DOUBLE", int: "INTEGER"}
#: Column types a sweep may add to ``runs`` (a varied parameter's, or one read off an Arrow batch).
_COLUMN_TYPES = frozenset({"DOUBLE", "BIGINT", "INTEGER", "BOOLEAN", "VARCHAR", "TIMESTAMP"})

#: Every table's columns and their declarations. A database made by an older version gets the
#: columns it lacks when it is opened for writing (NULL in the rows it already holds).
_TABLES: dict[str, dict[str, str]] = {
    "sweeps": {
        "sweep_id": "VARCHAR PRIMARY KEY",
        "name": "VARCHAR NOT NULL",
        "title": "VARCHAR",
        "scenario": "VARCHAR NOT NULL",
        "scenario_hash": "VARCHAR NOT NULL",
        "design": "VARCHAR NOT NULL",
        "parameters": "VARCHAR[] NOT NULL",
        "points": "INTEGER NOT NULL",
        "replicates": "INTEGER NOT NULL",
        "runs": "INTEGER NOT NULL",
        "seed": "UBIGINT NOT NULL",
        "spec": "VARCHAR NOT NULL",
        "spec_path": "VARCHAR",
        "version": "VARCHAR NOT NULL",
        "created": "TIMESTAMP NOT NULL",
        "model_version": "VARCHAR",
    },
    "runs": {
        "run_id": "VARCHAR PRIMARY KEY",
        "sweep_id": "VARCHAR NOT NULL",
        "point": "INTEGER NOT NULL",
        "replicate": "INTEGER NOT NULL",
        "seed": "BIGINT NOT NULL",
        "status": "VARCHAR NOT NULL",
        "error": "VARCHAR",
        "scenario": "VARCHAR",
        "scenario_hash": "VARCHAR",
        "outcome": "VARCHAR",
        "outcome_day": "INTEGER",
        "outcome_rule": "VARCHAR",
        "days": "INTEGER",
        **{c: "DOUBLE" for c in FINAL_SOLDIER_COLUMNS},
        **{c: _FIGURE_TYPES[t] for c, t in FINAL_FIGURES.items()},
        "run_seconds": "DOUBLE",
        "version": "VARCHAR",
        "worker": "VARCHAR",
        "finished": "TIMESTAMP",
    },
    "series": {
        "run_id": "VARCHAR NOT NULL",
        "day": "INTEGER NOT NULL",
        **{c: "DOUBLE" for c in SWEEP_SERIES},
    },
}


def _create(table: str) -> str:
    cols = ", ".join(f"{quote_ident(c)} {decl}" for c, decl in _TABLES[table].items())
    return f"CREATE TABLE IF NOT EXISTS {quote_ident(table)} ({cols})"


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
        #: Runs committed through this connection (what a stopped sweep has saved).
        self.committed = 0
        self.con = _connect(self.path, read_only)
        if not read_only:
            # the coordinator writes small batches; one thread leaves the cores to the workers
            self.con.execute("SET threads = 1")
            self.con.begin()
            for table, cols in _TABLES.items():
                self.con.execute(_create(table))
                # an older database: add what it lacks (the declaration's type, nullable)
                self._add_columns(table, {c: decl.split()[0] for c, decl in cols.items()})
            self.con.commit()

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
        from defection.sweep.spec import canonical_json

        sid = sweep.sweep_id
        taken = {c.lower() for c in _TABLES["runs"]}
        for d in sweep.dims:
            if d.address.lower() in taken:
                raise SweepError(
                    f"varied parameter `{d.address}`: the runs table has a column of that name"
                )
        known = self.con.execute("SELECT 1 FROM sweeps WHERE sweep_id = ?", [sid]).fetchone()
        row = {
            "sweep_id": sid,
            "name": sweep.name,
            "title": sweep.title,
            "scenario": sweep.scenario.name,
            "scenario_hash": sweep.scenario.hash,
            "design": sweep.meta.design,
            "parameters": [d.address for d in sweep.dims],
            "points": len(sweep.points),
            "replicates": sweep.replicates,
            "runs": sweep.n_runs,
            "seed": sweep.meta.seed,
            "spec": canonical_json(sweep),
            "spec_path": str(sweep.path) if sweep.path else None,
            "version": __version__,
            "created": dt.datetime.now(),
            "model_version": sweep.canonical.get("model_version", version.MODEL_VERSION),
        }
        self.con.begin()
        try:
            self._add_columns("runs", {d.address: d.column_type for d in sweep.dims})
            if not known:
                cols = ", ".join(quote_ident(c) for c in row)
                marks = ", ".join("?" for _ in row)
                self.con.execute(
                    f"INSERT INTO sweeps ({cols}) VALUES ({marks})", list(row.values())
                )
            self.con.commit()
        except BaseException:
            self._rollback()
            raise
        return not known

    def _columns(self, table: str) -> set[str]:
        """Names of a table's columns, as stored."""
        rows = self.con.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = ?",
            [table],
        ).fetchall()
        return {r[0] for r in rows}

    def _add_columns(self, table: str, columns: dict[str, str]) -> None:
        """Add the ``{name: type}`` columns a table lacks (NULL in the rows it holds).

        DuckDB matches identifiers without regard to case; ``IF NOT EXISTS`` leaves that to it.
        """
        have = self._columns(table)
        for name, sql_type in columns.items():
            if name in have:
                continue
            if sql_type not in _COLUMN_TYPES and sql_type != "VARCHAR[]":
                raise SweepError(f"column `{name}`: unsupported type {sql_type!r}")
            self.con.execute(
                f"ALTER TABLE {quote_ident(table)} ADD COLUMN IF NOT EXISTS "
                f"{quote_ident(name)} {sql_type}"
            )
            have.add(name)

    def _rollback(self) -> None:
        """Roll back the open transaction, if there is still one.

        A failed ``COMMIT`` (a full disk, say) has ended the transaction already, and DuckDB then
        refuses the rollback ("no transaction is active"); that must not hide the real error.
        """
        import duckdb

        try:
            self.con.rollback()
        except duckdb.Error:
            pass

    def _holds(self, run_id: str) -> bool:
        """Whether a run is in the database (False when the database cannot say)."""
        import duckdb

        try:
            sql = "SELECT count(*) FROM runs WHERE run_id = ?"
            row = self.con.execute(sql, [run_id]).fetchone()
        except duckdb.Error:
            return False
        return bool(row and row[0])

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
        before = self.committed
        self.con.begin()
        try:
            # a run row or a series the database has no column for yet (a model newer than the
            # database): add the column, NULL in the rows already there
            self._add_columns("runs", _arrow_types(runs))
            self._insert("runs", runs)
            if series is not None:
                self._add_columns("series", _arrow_types(series))
                self._insert("series", series)
            self.con.commit()
            self.committed += len(results)
        except BaseException:
            self._rollback()
            # a Ctrl-C or SIGTERM can land after the commit and before the count: ask the
            # database whether this batch is in it, so a stopped sweep reports what it saved
            if self.committed == before and self._holds(str(results[0].row.get("run_id"))):
                self.committed += len(results)
            raise
        finally:
            self._unregister("_batch_runs", "_batch_series")

    def _insert(self, table: str, batch: pa.Table) -> None:
        """Insert an Arrow batch, naming its columns in SQL (by position, not by Arrow's names).

        DuckDB reads an Arrow column name only up to a NUL character, so the columns are matched
        through the quoted names of the SQL statement instead.
        """
        view = f"_batch_{table}"
        self.con.register(view, batch)
        cols = ", ".join(quote_ident(name) for name in batch.column_names)
        self.con.execute(f"INSERT INTO {quote_ident(table)} ({cols}) SELECT * FROM {view}")

    def _unregister(self, *views: str) -> None:
        """Drop the batch views (best effort: cleanup must not hide the error being raised)."""
        import duckdb

        for view in views:
            try:
                self.con.unregister(view)
            except duckdb.Error:
                pass

    # -- reading ---------------------------------------------------------------------------------

    def sweeps(self) -> list[dict[str, Any]]:
        """Every sweep with its progress (runs done, failed) and outcome counts."""
        # a database made before model versions were recorded, opened read-only, lacks the column
        mv = "s.model_version" if "model_version" in self._columns("sweeps") else "NULL"
        cur = self.con.execute(
            f"""
            SELECT s.sweep_id, s.name, s.scenario, s.design, s.parameters, s.points,
                   s.replicates, s.runs, s.created, {mv} AS model_version,
                   count(r.run_id) AS done,
                   count(r.run_id) FILTER (WHERE r.status = 'failed') AS failed,
            """
            + ",\n".join(
                f"count(r.run_id) FILTER (WHERE r.outcome = ?) AS {quote_ident(o)}"
                for o in OUTCOMES
            )
            + """
            FROM sweeps s LEFT JOIN runs r USING (sweep_id)
            GROUP BY ALL ORDER BY s.created
            """,
            list(OUTCOMES),
        )
        names = [d[0] for d in cur.description]  # rows as dicts, without pandas (a quick listing)
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

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
    """The runs' per-day series as one table; a series some runs lack is NaN in their rows."""
    if not results:
        return None
    names = [n for n in dict.fromkeys(k for r in results for k in r.series or {}) if n != "day"]
    ids, cols = [], {name: [] for name in ("day", *names)}
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
        data[name] = np.concatenate(parts).astype(np.float64)
    return pa.table(data)


def _arrow_types(table: pa.Table) -> dict[str, str]:
    """DuckDB type of each column of an Arrow batch (for columns the database lacks)."""
    out = {}
    for f in table.schema:
        t = f.type
        if pa.types.is_boolean(t):
            out[f.name] = "BOOLEAN"
        elif pa.types.is_integer(t):
            out[f.name] = "BIGINT"
        elif pa.types.is_floating(t):
            out[f.name] = "DOUBLE"
        elif pa.types.is_timestamp(t):
            out[f.name] = "TIMESTAMP"
        else:  # strings, and columns that are NULL in every row of this batch
            out[f.name] = "VARCHAR"
    return out
