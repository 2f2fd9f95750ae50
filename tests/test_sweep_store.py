"""The sweep store: hostile column names cannot reach SQL unquoted, older databases gain the
columns a newer model writes, a new model version starts a new sweep, and a failed write reports
its own error."""

import dataclasses
import shutil

import duckdb
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sweep_kit import SMALL_SPEC, write_spec

from defection.model import version
from defection.model.params import BY_NAME
from defection.sweep import engine
from defection.sweep.coordinator import run_sweep
from defection.sweep.engine import Result
from defection.sweep.errors import SweepError
from defection.sweep.report import write_report
from defection.sweep.spec import Dimension, load_spec
from defection.sweep.store import Store, quote_ident

#: Names that break an f-string into SQL (issue #9, finding 1) and other awkward ones.
HOSTILE = [
    'x" DOUBLE; DROP TABLE series; DELETE FROM runs; --',
    'regions.x" DOUBLE; DROP TABLE sweeps; --.hardship',
    '"; DELETE FROM runs WHERE 1=1; SELECT "',
    "'; DROP TABLE runs; --",
    '""',
    '"',
    "a\x00b",
    "Ünïcödé名前",
    " ",
    "x" * 300,
    "regions.west\nDROP TABLE series.legitimacy",
]


def test_quote_ident_doubles_quotes_and_refuses_an_empty_name():
    assert quote_ident("soldiers.pay") == '"soldiers.pay"'
    assert quote_ident('a"b') == '"a""b"'
    with pytest.raises(SweepError):
        quote_ident("")


@pytest.fixture(scope="module")
def base_sweep(tmp_path_factory):
    return load_spec(write_spec(tmp_path_factory.mktemp("spec")))


def _hostile_sweep(base, address: str):
    """The small sweep varying a parameter whose address (hence column name) is ``address``."""
    dim = Dimension(address, BY_NAME["soldiers.pay"], None, None, (0.5, 1.5))
    canonical = base.canonical | {"vary": {address: [None, None, [0.5, 1.5]]}}
    return dataclasses.replace(
        base, dims=[dim], points=[{address: 0.5}, {address: 1.5}], canonical=canonical
    )


def _fake_result(sweep, point: int, address: str, value: float) -> Result:
    row = {
        "run_id": sweep.run_id(point, 0),
        "sweep_id": sweep.sweep_id,
        "point": point,
        "replicate": 0,
        "seed": 1,
        "status": "ok",
        "error": None,
        "outcome": ["collapse", "survival"][point % 2],
        "soldiers_left": 0.1 * point,
        "version": "test",
        f"param:{address}": value,
    }
    series = {"day": np.arange(3, dtype=np.int32), "active_protesters": np.full(3, 0.25)}
    return Result(row, series)


def _snapshot(con, sweep_id, columns):
    cols = ", ".join(quote_ident(c) for c in columns)
    runs = con.execute(
        f"SELECT {cols} FROM runs WHERE sweep_id = ? ORDER BY run_id", [sweep_id]
    ).fetchall()
    series = con.execute(
        "SELECT count(*), sum(active_protesters) FROM series WHERE run_id LIKE ?",
        [f"{sweep_id}/%"],
    ).fetchone()
    sweeps = con.execute("SELECT count(*) FROM sweeps").fetchone()[0]
    return runs, series, sweeps


@pytest.fixture(scope="module")
def hostile_db(serial_reference, tmp_path_factory):
    """A copy of the serial reference database to attack, with what it held before."""
    _, db0, runs0, _ = serial_reference
    db = tmp_path_factory.mktemp("hostile") / "hostile.duckdb"
    shutil.copy(db0, db)
    sid = runs0["sweep_id"].iloc[0]
    columns = list(runs0.columns)
    with Store(db) as store:
        before = _snapshot(store.con, sid, columns)
    return db, sid, columns, before


names = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(min_size=1, max_size=60),
    st.text(alphabet="\"';-/*\\ \n\t\x00DROPTABLEruns.", min_size=1, max_size=40),
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(address=names)
def test_hostile_column_names_leave_the_database_intact(hostile_db, base_sweep, address):
    db, sid, columns, (runs0, series0, _) = hostile_db
    sweep = _hostile_sweep(base_sweep, address)
    with Store(db) as store:
        try:
            store.register(sweep)
        except SweepError as exc:  # a name the store's own columns already use
            assert "has a column of that name" in str(exc)
            return
        if sweep.run_id(0, 0) not in store.done_ids(sweep.sweep_id):
            store.write([_fake_result(sweep, 0, address, 0.5)])
        con = store.con
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        assert tables == {"sweeps", "runs", "series"}
        runs, series, _ = _snapshot(con, sid, columns)
        assert runs == runs0 and series == series0
        # the value landed in the column of that exact name, and reads back through quote_ident
        got = con.execute(
            f"SELECT {quote_ident(address)} FROM runs WHERE run_id = ?", [sweep.run_id(0, 0)]
        ).fetchone()
        assert got == (0.5,)


def test_the_report_quotes_a_hostile_parameter(serial_reference, base_sweep, tmp_path):
    _, db0, _, _ = serial_reference
    db = tmp_path / "report.duckdb"
    shutil.copy(db0, db)
    address = HOSTILE[0]
    sweep = _hostile_sweep(base_sweep, address)
    with Store(db) as store:
        store.register(sweep)
        store.write([_fake_result(sweep, p, address, v) for p, v in ((0, 0.5), (1, 1.5))])
    files = write_report(sweep.sweep_id, db, tmp_path / "report")
    md = next(f for f in files if f.name == "report.md").read_text()
    sql = md.split("```sql", 1)[1].split("```", 1)[0]
    sql = "\n".join(line for line in sql.splitlines() if not line.startswith("--"))
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(sql).fetchall()
        assert sorted(rows) == [(0.5, 1, 1.0), (1.5, 1, 0.0)]
        assert con.execute("SELECT count(*) FROM series").fetchone()[0] > 0


def test_an_older_database_gains_the_columns_of_a_newer_model(
    serial_reference, tmp_path, monkeypatch
):
    """A database made before a series, a final figure and the model version were recorded."""
    _, db0, runs0, _ = serial_reference
    old_id = runs0["sweep_id"].iloc[0]
    db = tmp_path / "old.duckdb"
    shutil.copy(db0, db)
    with duckdb.connect(str(db)) as con:
        con.execute("ALTER TABLE series DROP COLUMN arrests")
        con.execute("ALTER TABLE runs DROP COLUMN regions_with_defection")
        con.execute("ALTER TABLE sweeps DROP COLUMN model_version")
    with Store(db, read_only=True) as store:  # listing it needs no write access
        assert pd.isna(store.sweeps()[0]["model_version"])
    # a newer model: another model version, and a per-day series the database has never seen
    monkeypatch.setattr(version, "MODEL_VERSION", "1+test")
    series = engine._series
    monkeypatch.setattr(
        engine, "_series", lambda ts, keep: series(ts, keep) | {"calm": np.zeros(len(ts))}
    )
    spec = write_spec(tmp_path, SMALL_SPEC.replace("replicates = 3", "replicates = 1"))
    sw = load_spec(spec)
    with Store(db) as store:
        prog = run_sweep(sw, store, workers=1)
    assert prog.done == 4 and prog.failed == 0
    with Store(db, read_only=True) as store:
        listed = {r["sweep_id"]: r["model_version"] for r in store.sweeps()}
        assert pd.isna(listed[old_id]) and listed[sw.sweep_id] == "1+test"
        old, new = store.runs(old_id), store.runs(sw.sweep_id)
        assert old["regions_with_defection"].isna().all()
        assert new["regions_with_defection"].notna().all()
        q = "SELECT count(arrests), count(calm), count(*) FROM series WHERE run_id LIKE ?"
        n_old = store.con.execute(q, [f"{old_id}/%"]).fetchone()
        n_new = store.con.execute(q, [f"{sw.sweep_id}/%"]).fetchone()
    assert n_old[:2] == (0, 0) and n_old[2] > 0
    assert n_new[0] == n_new[1] == n_new[2] > 0


def test_a_new_model_version_starts_a_new_sweep(tmp_path, monkeypatch):
    spec = write_spec(tmp_path)
    before = load_spec(spec).sweep_id
    bumped = version.MODEL_VERSION + ".1"
    monkeypatch.setattr(version, "MODEL_VERSION", bumped)
    after = load_spec(spec)
    assert after.sweep_id != before and after.canonical["model_version"] == bumped


class _Failing:
    """A connection whose inserts into ``series`` or whose commit fail, as on a full disk."""

    def __init__(self, con, on: str):
        self._con, self._on = con, on

    def __getattr__(self, name):
        return getattr(self._con, name)

    def execute(self, sql, *args):
        if self._on == "insert" and sql.startswith('INSERT INTO "series"'):
            raise duckdb.IOException("IO Error: No space left on device (insert)")
        return self._con.execute(sql, *args)

    def commit(self):
        if self._on == "commit":  # DuckDB ends the transaction when its commit fails
            self._con.rollback()
            raise duckdb.IOException("IO Error: No space left on device (commit)")
        return self._con.commit()


@pytest.mark.parametrize("on", ["insert", "commit"])
def test_a_failed_write_reports_its_own_error_and_writes_nothing(base_sweep, tmp_path, on):
    db = tmp_path / "full.duckdb"
    address = "soldiers.pay"
    sweep = _hostile_sweep(base_sweep, address)
    with Store(db) as store:
        store.register(sweep)
        real = store.con
        store.con = _Failing(real, on)
        with pytest.raises(duckdb.IOException, match=f"No space left on device \\({on}\\)"):
            store.write([_fake_result(sweep, 0, address, 0.5)])
        store.con = real
        assert store.done_ids(sweep.sweep_id) == set()
        assert store.con.execute("SELECT count(*) FROM series").fetchone()[0] == 0
        # and the store still works afterwards
        store.write([_fake_result(sweep, 0, address, 0.5)])
        assert store.done_ids(sweep.sweep_id) == {sweep.run_id(0, 0)}


class _InterruptedAfterCommit(_Failing):
    """A Ctrl-C that lands just after the commit, before the store counts the batch."""

    def commit(self):
        self._con.commit()
        raise KeyboardInterrupt


def test_a_stop_just_after_the_commit_still_counts_the_saved_runs(base_sweep, tmp_path):
    address = "soldiers.pay"
    sweep = _hostile_sweep(base_sweep, address)
    with Store(tmp_path / "x.duckdb") as store:
        store.register(sweep)
        real = store.con
        store.con = _InterruptedAfterCommit(real, "")
        with pytest.raises(KeyboardInterrupt):
            store.write([_fake_result(sweep, 0, address, 0.5)])
        store.con = real
        # the batch is in the database, and the count a stopped sweep prints says so
        assert store.done_ids(sweep.sweep_id) == {sweep.run_id(0, 0)}
        assert store.committed == 1


def test_a_batch_a_stop_interrupted_after_its_commit_is_not_written_twice(
    base_sweep, tmp_path, monkeypatch
):
    """The coordinator's final flush after a stop must not write a batch that already landed: it
    did once (a duplicate key, and a stopped sweep said it saved 2 runs where the file held 1)."""
    from defection.sweep import coordinator

    address = "soldiers.pay"
    sweep = _hostile_sweep(base_sweep, address)

    def one_result(tasks, scenarios, collect):
        collect(_fake_result(sweep, 0, address, 0.5))  # flushed at once (FLUSH_SECONDS = 0)

    monkeypatch.setattr(coordinator, "FLUSH_SECONDS", 0.0)
    monkeypatch.setattr(coordinator, "run_serial", one_result)
    with Store(tmp_path / "x.duckdb") as store:
        store.register(sweep)
        real = store.con
        store.con = _InterruptedAfterCommit(real, "")
        prog = coordinator.Progress(sweep.sweep_id, 1)
        with pytest.raises(KeyboardInterrupt):
            coordinator.run_tasks([], sweep.scenario, store, prog)
        store.con = real
        assert store.done_ids(sweep.sweep_id) == {sweep.run_id(0, 0)}
        assert store.committed == 1


def test_a_parameter_named_like_a_store_column_is_refused(base_sweep, tmp_path):
    with Store(tmp_path / "x.duckdb") as store, pytest.raises(SweepError, match="RUN_ID"):
        store.register(_hostile_sweep(base_sweep, "RUN_ID"))
