"""Hardening (issue #9): what a hostile or careless input does to the command line and the UI.

* output paths built from data (a scenario's name, a sweep id) stay under ``results/``;
* ``--seed``, ``--out``, ``--db``, ``--scheduler``, ``--port`` and ``--host`` are checked before any
  work, one line and exit 2;
* a run's folder appears complete or not at all, and a rerun replaces it whole;
* a damaged or foreign database is "not a sweep database or damaged", exit 2;
* the UI serves only the scenarios it listed, whatever a browser sends, and refuses a bad seed on
  the page;
* a pool sweep stopped by ``kill -9``, SIGTERM or Ctrl-C leaves no process behind.

Most cases go through the Typer app in-process (``typer.testing.CliRunner``), with the simulation
replaced by a stub where only the command's own logic is under test.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from defection.cli import app, output_path

runner = CliRunner()


def invoke(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    old = os.getcwd()
    os.chdir(cwd)
    try:
        res = runner.invoke(app, list(args))
    finally:
        os.chdir(old)
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        raise res.exception  # a traceback: fail loudly, with it
    return subprocess.CompletedProcess(args, res.exit_code, res.stdout, res.stderr)


def assert_input_error(proc: subprocess.CompletedProcess, *needles: str) -> None:
    """Exit 2, one 'error:' line holding every needle, no traceback."""
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out, out
    assert proc.returncode == 2, out
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert any(all(n in ln for n in needles) for ln in lines), (needles, proc.stderr)


@pytest.fixture
def no_simulation(monkeypatch):
    """Fail the test if the command gets as far as simulating."""
    import defection.runner

    def simulate(*a, **k):
        raise AssertionError("the run started although its input was bad")

    monkeypatch.setattr(defection.runner, "simulate", simulate)


@pytest.fixture
def fake_run(monkeypatch):
    """A stub simulation and a stub writer (the folder handling is what is under test here).

    ``fake_run["fail"] = True`` makes the writer fail half-way, after writing summary.json and an
    empty parquet file, as a crash in the middle of writing would.
    """
    import defection.runner

    state = {"fail": False, "tag": "new"}

    def simulate(sc, seed, until_horizon=False, on_day=None, policy=None):
        return object()

    def write_outputs(model, seed, out):
        out.mkdir(parents=True, exist_ok=True)
        summary = {"seed": seed, "tag": state["tag"]}
        (out / "summary.json").write_text(json.dumps(summary))
        (out / "timeseries.parquet").write_bytes(b"")
        if state["fail"]:
            raise OSError(28, "No space left on device")
        (out / "timeseries.parquet").write_bytes(b"PAR1 new")
        (out / "groups.parquet").write_bytes(b"PAR1 new")
        (out / "cascade.png").write_bytes(b"\x89PNG new")
        return summary

    monkeypatch.setattr(defection.runner, "simulate", simulate)
    monkeypatch.setattr(defection.runner, "write_outputs", write_outputs)
    monkeypatch.setattr("defection.cli._print_summary", lambda s, out: print(f"wrote {out}"))
    return state


# -- 2. output paths stay under their root -------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["../../../x", "..", ".", "", "/tmp/abs", "a/b", "a/../../b", "a\\..\\b", "x\0y", "../runs2"],
)
def test_output_path_refuses_names_that_are_not_one_plain_name(name, tmp_path):
    with pytest.raises(typer.Exit) as exc:
        output_path(tmp_path / "results" / "runs", name, "seed-1", what="scenario name")
    assert exc.value.exit_code == 2


def test_output_path_refuses_a_link_out_of_the_root(tmp_path):
    root = tmp_path / "results" / "runs"
    root.mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    (root / "sneaky").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(typer.Exit):
        output_path(root, "sneaky", "seed-1", what="scenario name")


@pytest.mark.parametrize("name", ["baseline", "my_case", "Syria-2011", "a.b", "x" * 64])
def test_output_path_keeps_plain_names_under_the_root(name, tmp_path):
    root = tmp_path / "results" / "runs"
    p = output_path(root, name, "seed-3", what="scenario name")
    assert p == (root / name / "seed-3").resolve()
    assert p.is_relative_to(root.resolve())


@pytest.mark.parametrize("name", ["../../../escaped", "/tmp/escaped-abs", "a/../../../escaped"])
def test_run_with_a_scenario_name_outside_results_writes_nothing(name, tmp_path, fake_run):
    work = tmp_path / "a" / "b" / "c"
    work.mkdir(parents=True)
    (work / "s.toml").write_text(f'[scenario]\nname = "{name}"\nextends = "baseline"\n')
    before = set(tmp_path.rglob("*"))
    proc = invoke("run", "s.toml", "--steps", "2", "-q", cwd=work)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert set(tmp_path.rglob("*")) == before  # nothing written anywhere
    assert not Path("/tmp/escaped-abs").exists()


def test_report_default_folder_is_under_results_reports(tmp_path, monkeypatch):
    """A sweep id read from a database (data, not the user's) cannot lead out of results/."""
    import defection.sweep.report  # noqa: F401 - imported before Store is replaced below
    import defection.sweep.store as store_mod

    written = []

    class FakeStore:
        def __init__(self, *a, **k):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            pass

        def sweep(self, prefix):
            return {"sweep_id": "../../../evil"}

    monkeypatch.setattr(store_mod, "Store", FakeStore)
    monkeypatch.setattr(
        "defection.sweep.report.write_report", lambda *a, **k: written.append(a) or []
    )
    db = tmp_path / "x.duckdb"
    db.write_bytes(b"")
    proc = invoke("report", "evil", "--db", str(db), cwd=tmp_path)
    assert_input_error(proc, "sweep id", "'../../../evil'")
    assert not written


# -- 12. bad --seed and --out are input errors, before the run -----------------------------------


def _unwritable(tmp_path: Path) -> Path:
    if os.geteuid() == 0:  # root writes anywhere it can; a read-only file system stops it
        if not Path("/sys").is_dir() or _can_write("/sys"):
            pytest.skip("running as root with no read-only file system at /sys")
        return Path("/sys/defection-out")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    return ro / "out"


def _can_write(folder: str) -> bool:
    try:
        os.rmdir(__import__("tempfile").mkdtemp(dir=folder))
        return True
    except OSError:
        return False


@pytest.mark.parametrize(
    "case",
    ["seed_negative", "seed_very_negative", "file", "below_file", "deep_below", "unwritable"],
)
def test_bad_seed_or_out_exits_2_before_the_run(case, tmp_path, no_simulation):
    (tmp_path / "afile").write_text("not a folder")
    args = ["run", "baseline", "-q", "--steps", "2"]
    needles: tuple[str, ...]
    if case == "seed_negative":
        args += ["--seed", "-1"]
        needles = ("--seed -1", ">= 0")
    elif case == "seed_huge_negative":
        args += ["--seed", str(-(2**70))]
        needles = ("--seed", ">= 0")
    elif case == "file":
        args += ["--out", "afile"]
        needles = ("--out", "is a file")
    elif case == "below_file":
        args += ["--out", "afile/run"]
        needles = ("--out", "below", "afile")
    elif case == "deep_below":
        args += ["--out", "afile/a/b/c"]
        needles = ("--out", "below", "afile")
    else:
        args += ["--out", str(_unwritable(tmp_path))]
        needles = ("--out", "cannot write")
    proc = invoke(*args, cwd=tmp_path)
    assert_input_error(proc, *needles)


@pytest.mark.parametrize("out", [".", "..", "{cwd}"])
def test_out_that_is_or_holds_the_current_folder_is_refused(out, tmp_path, no_simulation):
    work = tmp_path / "w"
    work.mkdir()
    (work / "keep.txt").write_text("mine")
    proc = invoke("run", "baseline", "-q", "--out", out.format(cwd=work), cwd=work)
    assert_input_error(proc, "--out")
    assert (work / "keep.txt").read_text() == "mine"


@pytest.mark.parametrize("extra", ["notes.docx", "sub/", "summary.json.bak/"])
def test_an_existing_folder_that_is_not_a_run_folder_is_refused(extra, tmp_path, no_simulation):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "summary.json").write_text("{}")
    if extra.endswith("/"):
        (out / extra).mkdir()
    else:
        (out / extra).write_text("precious")
    before = sorted(p.name for p in out.iterdir())
    proc = invoke("run", "baseline", "-q", "--out", "mine", cwd=tmp_path)
    assert_input_error(proc, "--out", "not a run folder")
    assert sorted(p.name for p in out.iterdir()) == before


# -- 6. a run folder appears whole or not at all --------------------------------------------------


def _siblings(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("out", ["new", "deeper/new/run", "{abs}/abs-run"])
def test_failed_write_leaves_no_folder(out, tmp_path, fake_run):
    fake_run["fail"] = True
    out = out.format(abs=tmp_path / "x")
    proc = invoke("run", "baseline", "-q", "--out", out, cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "run failed: OSError" in proc.stderr and "Traceback" not in proc.stderr
    target = Path(out) if Path(out).is_absolute() else tmp_path / out
    assert not target.exists()
    if target.parent.exists():
        assert _siblings(target.parent) == []  # no temporary folder left behind


@pytest.mark.parametrize("stale", [[], ["old-extra.png"], ["notes.md", "old.parquet"]])
def test_failed_rerun_keeps_the_previous_run_whole(stale, tmp_path, fake_run):
    fake_run["tag"] = "first"
    assert invoke("run", "baseline", "-q", "--out", "o", cwd=tmp_path).returncode == 0
    for name in stale:
        (tmp_path / "o" / name).write_text("stale")
    before = {p.name: p.read_bytes() for p in (tmp_path / "o").iterdir()}
    fake_run["fail"], fake_run["tag"] = True, "second"
    proc = invoke("run", "baseline", "-q", "--out", "o", cwd=tmp_path)
    assert proc.returncode == 1
    assert {p.name: p.read_bytes() for p in (tmp_path / "o").iterdir()} == before
    assert _siblings(tmp_path) == ["o"]


@pytest.mark.parametrize("stale", [["old-extra.png"], ["a.json", "b.parquet", "c.csv"]])
def test_rerun_replaces_the_run_folder_whole(stale, tmp_path, fake_run):
    fake_run["tag"] = "first"
    assert invoke("run", "baseline", "-q", "--out", "o", cwd=tmp_path).returncode == 0
    for name in stale:
        (tmp_path / "o" / name).write_text("stale")
    fake_run["tag"] = "second"
    proc = invoke("run", "baseline", "-q", "--out", "o", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = tmp_path / "o"
    assert _siblings(out) == sorted(
        ["summary.json", "timeseries.parquet", "groups.parquet", "cascade.png"]
    )
    assert json.loads((out / "summary.json").read_text())["tag"] == "second"
    assert _siblings(tmp_path) == ["o"]
    mode = out.stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o777 & ~umask  # an ordinary folder, not mkdtemp's private one


def test_default_folder_is_results_runs_name_seed(tmp_path, fake_run):
    proc = invoke("run", "baseline", "-q", "--seed", "5", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _siblings(tmp_path / "results" / "runs" / "baseline") == ["seed-5"]


# -- 7. one-line errors for the sweep, the database and the UI ------------------------------------


BAD_SCHEDULERS = [
    "not a url",
    "tcp://",
    "tcp://host",
    "tcp://host:",
    "tcp://host:0",
    "tcp://host:70000",
    "tcp://host:abc",
    "http://host:8786",
    "tcp://999.1.1.1:8786",
    "tcp://bad_host!:8786",
    "tcp://host:8786/path",
    "tcp://[zz]:8786",
    "host:8786",
]


@pytest.mark.parametrize("address", BAD_SCHEDULERS)
def test_malformed_scheduler_is_an_input_error_at_once(address, tmp_path):
    from sweep_kit import write_spec

    spec = write_spec(tmp_path)
    t = time.monotonic()
    proc = invoke("sweep", str(spec), "--scheduler", address, "--db", "x.duckdb", cwd=tmp_path)
    assert_input_error(proc, "--scheduler", "tcp://HOST:PORT")
    assert time.monotonic() - t < 10
    assert not (tmp_path / "x.duckdb").exists()


@pytest.mark.parametrize(
    "address", ["tcp://127.0.0.1:8786", "tls://sched.example.org:8786", "tcp://[::1]:1", "ws://h:2"]
)
def test_wellformed_scheduler_addresses_pass(address):
    from defection.sweep.engine import scheduler_address_problem

    assert scheduler_address_problem(address) is None


def test_malformed_scheduler_is_refused_by_the_python_api_too():
    from defection.sweep.engine import run_dask
    from defection.sweep.errors import SweepError

    with pytest.raises(SweepError, match="tcp://HOST:PORT"):
        run_dask([], None, "not a url", lambda r: None)


@pytest.mark.parametrize("case", ["folder", "below_file"])
def test_bad_db_path_is_an_input_error(case, tmp_path):
    from sweep_kit import write_spec

    spec = write_spec(tmp_path)
    (tmp_path / "afile").write_text("x")
    db = {"folder": str(tmp_path), "below_file": "afile/x.duckdb"}[case]
    proc = invoke("sweep", str(spec), "--workers", "1", "--db", db, "-q", cwd=tmp_path)
    assert_input_error(proc, "--db")


@pytest.mark.parametrize("out", ["afile", "afile/rep", "afile/a/b"])
def test_report_bad_out_is_an_input_error(out, serial_reference, tmp_path, monkeypatch):
    import defection.sweep.report as report_mod

    monkeypatch.setattr(report_mod, "write_report", lambda *a: pytest.fail("report started"))
    (tmp_path / "afile").write_text("x")
    proc = invoke("report", "tiny", "--db", str(serial_reference[1]), "--out", out, cwd=tmp_path)
    assert_input_error(proc, "--out", "afile")


def _damaged(kind: str, good: Path, folder: Path) -> Path:
    path = folder / f"{kind}.duckdb"
    data = good.read_bytes()
    if kind.startswith("cut"):
        path.write_bytes(data[: len(data) // int(kind.removeprefix("cut"))])
    elif kind == "text":
        path.write_text("[sweep]\nname = 'not a database'\n")
    elif kind == "zeros":
        path.write_bytes(b"\0" * 8192)
    elif kind == "foreign":  # a DuckDB file, but not a sweep database
        import duckdb

        con = duckdb.connect(str(path))
        con.execute("CREATE TABLE t AS SELECT 1 AS x")
        con.close()
    return path


@pytest.mark.parametrize("command", ["sweeps", "report"])
@pytest.mark.parametrize("kind", ["cut2", "cut3", "cut10", "text", "zeros", "foreign"])
def test_damaged_database_is_one_line_exit_2(kind, command, serial_reference, tmp_path):
    path = _damaged(kind, serial_reference[1], tmp_path)
    args = ["sweeps", "--db", str(path)] if command == "sweeps" else ["report", "tiny"]
    if command == "report":
        args += ["--db", str(path), "--out", str(tmp_path / "rep")]
    proc = invoke(*args, cwd=tmp_path)
    assert_input_error(proc, "not a sweep database or damaged", str(path))


@pytest.fixture
def no_exec(monkeypatch):
    """``defection ui`` replaces itself with the server at the end: record it instead."""
    calls = []
    monkeypatch.setattr(os, "execve", lambda *a: calls.append(a))
    return calls


@pytest.mark.parametrize(
    "args, needles",
    [
        (["--port", "70000"], ["--port 70000", "0 and 65535"]),
        (["--port", "65536"], ["--port 65536"]),
        (["--port", "-1"], ["--port -1"]),
        (["--host", "999.1.1.1"], ["--host '999.1.1.1'", "not an IP address"]),
        (["--host", "1.2.3"], ["--host '1.2.3'"]),
        (["--host", "::zz"], ["--host '::zz'"]),
        (["--host", "bad_host!"], ["--host 'bad_host!'"]),
        (["--host", "192.0.2.1", "--port", "0"], ["--host '192.0.2.1'", "cannot listen"]),
    ],
)
def test_ui_bad_port_or_host_is_an_input_error(args, needles, tmp_path, no_exec):
    proc = invoke("ui", "baseline", *args, cwd=tmp_path)
    assert_input_error(proc, *needles)
    assert not no_exec


def test_ui_port_in_use_is_an_input_error(tmp_path, no_exec):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        proc = invoke("ui", "baseline", "--port", str(port), cwd=tmp_path)
    assert_input_error(proc, f"--port {port}", "cannot listen")
    assert not no_exec


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost"])
def test_ui_good_host_starts_the_server(host, tmp_path, no_exec):
    if host == "::1" and not _ipv6():
        pytest.skip("no IPv6 loopback here")
    proc = invoke("ui", "baseline", "--host", host, "--port", "0", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (call,) = no_exec
    assert call[1][call[1].index("--host") + 1] == host


def _ipv6() -> bool:
    import socket

    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


# -- 3. the UI serves only what it listed ---------------------------------------------------------


@pytest.fixture(scope="module")
def session():
    from defection.viz.session import Session

    return Session("baseline.toml", seed=1)


UNLISTED = [
    "/etc/passwd",
    "/etc/shadow",
    "../../etc/passwd",
    "baseline",  # a bundled name, but not a picker value
    "baseline.toml ",
    "scenarios/baseline.toml",
    "/proc/self/environ",
    "x" * 10_000,
    5,
    ["baseline.toml"],
]


@pytest.mark.parametrize("value", UNLISTED, ids=lambda v: repr(v)[:30])
def test_session_refuses_a_scenario_it_did_not_list(value, session, monkeypatch):
    import defection.viz.session as session_mod
    from defection.viz.session import SessionError

    opened = []
    monkeypatch.setattr(session_mod, "load", lambda p, *a: opened.append(p))
    model = session.model
    with pytest.raises(SessionError, match="not one of the scenarios listed") as exc:
        session.reset(scenario=value)
    assert len(str(exc.value)) < 200
    assert not opened  # nothing was read
    assert session.model is model and session.scenario == "baseline.toml"


def test_session_loads_listed_values_from_its_own_table(session, monkeypatch, tmp_path):
    """A listed value is looked up, not opened as a path: a same-named file here is ignored."""
    from defection.model.scenario import bundled_dir

    (tmp_path / "granovetter.toml").write_text("not toml at all [")
    monkeypatch.chdir(tmp_path)
    assert "granovetter.toml" in session.choices
    session.reset(scenario="granovetter.toml")
    assert session.model.scenario_def.name == "granovetter"
    assert session.choices["granovetter.toml"].parent == bundled_dir()
    session.reset(scenario="baseline.toml")


def test_session_serves_the_command_line_file_and_no_neighbour(tmp_path):
    from defection.viz.session import Session, SessionError

    mine = tmp_path / "mine.toml"
    mine.write_text('[scenario]\nname = "mine"\nextends = "baseline"\n')
    (tmp_path / "other.toml").write_text('[scenario]\nname = "other"\nextends = "baseline"\n')
    s = Session(str(mine))
    assert list(s.choices)[0] == str(mine)
    assert s.model.scenario_def.name == "mine"
    for value in (str(tmp_path / "other.toml"), str(mine.resolve()) + "/", "mine.toml"):
        with pytest.raises(SessionError):
            s.reset(scenario=value)
    s.reset(scenario="baseline.toml")
    s.reset(scenario=str(mine))
    assert s.model.scenario_def.name == "mine"


@pytest.mark.parametrize("seed", [-1, -(10**9), 1.5, float("nan"), "3", True])
def test_session_reset_refuses_a_bad_seed(seed, session):
    from defection.viz.session import SessionError

    model = session.model
    with pytest.raises(SessionError, match="seed"):
        session.reset(seed=seed)
    assert session.model is model and session.seed == 1


def test_page_shows_refusals_instead_of_raising(monkeypatch):
    """The Solara page in-process: a browser setting the picker to an unlisted value (what a
    crafted websocket message does) or Reset with seed -1 shows a message; the run stays."""
    import ipyvuetify as v
    import solara

    monkeypatch.setenv("DEFECTION_UI_SCENARIO", "baseline.toml")
    from defection.viz import app as ui_app

    box, rc = solara.render(ui_app.Page(), handle_error=False)
    try:
        picker = rc.find(v.Select, label="Scenario").widget
        assert "/etc/passwd" not in picker.items
        for value in ("/etc/passwd", "../../../etc/shadow"):
            picker.v_model = value
            alerts = [w.children for w in rc.find(v.Alert).widgets]
            assert any("not one of the scenarios listed" in str(a) for a in alerts), alerts
        seed = rc.find(v.TextField, label="Seed (applies on reset)").widget
        seed.v_model = "-1"
        seed.fire_event("focusout", None)
        rc.find(v.Btn, children=["Reset"]).widget.click()
        alerts = [w.children for w in rc.find(v.Alert).widgets]
        assert any("seed -1: must be a whole number >= 0" in str(a) for a in alerts), alerts
        texts = [str(getattr(w, "children", "")) for w in rc.find(v.Html).widgets]
        assert any("day 0" in t for t in texts)
        # and a good value still works, clearing the message
        seed.v_model = "2"
        seed.fire_event("focusout", None)
        rc.find(v.Btn, children=["Reset"]).widget.click()
        assert not rc.find(v.Alert).widgets
    finally:
        rc.close()


# -- 8. no process outlives a stopped pool sweep ---------------------------------------------------


def _alive_tagged(sid: int, tag: str) -> list[str]:
    """Live (not zombie) processes in session ``sid`` or with ``tag`` in their environment."""
    found = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit() or int(d.name) == os.getpid():
            continue
        try:
            state = (d / "stat").read_text().rsplit(")", 1)[1].split()[0]
            if state in ("Z", "X"):
                continue
            mine = os.getsid(int(d.name)) == sid
            if not mine:
                try:
                    mine = tag.encode() in (d / "environ").read_bytes()
                except PermissionError:
                    pass
            if mine:
                cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ")[:120].decode()
                found.append(f"{d.name}: {cmd}")
        except (OSError, ProcessLookupError, IndexError):
            continue
    return found


def _watched_worker(coordinator: int, ready) -> None:
    from defection.sweep.engine import _init_worker

    _init_worker(None, coordinator)
    ready.set()
    time.sleep(60)
    os._exit(0)


@pytest.mark.parametrize("when", ["dead before", "killed after", "terminated after"])
def test_a_pool_worker_exits_when_its_coordinator_dies(when):
    """The watchdog of every pool worker (fast; the whole sweep is tested below, marked slow)."""
    import multiprocessing as mp
    import warnings

    import defection.sweep.engine  # noqa: F401 - imported once here, not in each child

    ctx = mp.get_context("fork")  # the child starts with the model imported: at once
    coordinator = subprocess.Popen(["sleep", "60"])
    if when == "dead before":
        coordinator.kill()
        coordinator.wait()
    ready = ctx.Event()
    worker = ctx.Process(target=_watched_worker, args=(coordinator.pid, ready))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with pytest's threads
        worker.start()
    try:
        if when != "dead before":
            assert ready.wait(30)
            assert worker.is_alive()
            coordinator.send_signal(signal.SIGKILL if when == "killed after" else signal.SIGTERM)
        worker.join(10)
        assert worker.exitcode == 75
    finally:
        if worker.is_alive():
            worker.kill()
            worker.join()
        if coordinator.poll() is None:
            coordinator.kill()
        coordinator.wait()


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("how", ["kill -9", "SIGTERM", "Ctrl-C"])
def test_a_stopped_pool_sweep_leaves_no_process(how, tmp_path):
    from sweep_kit import SMALL_SPEC, write_spec

    from defection.sweep.engine import FAULTS_ENV

    spec = write_spec(tmp_path, SMALL_SPEC.replace("replicates = 3", "replicates = 20"))
    marks = tmp_path / "marks"
    marks.mkdir()
    tag = f"defection-test-{uuid.uuid4().hex}"
    env = {
        **os.environ,
        FAULTS_ENV: json.dumps({"delay": 0.3, "mark_dir": str(marks)}),
        "DEFECTION_TEST_TAG": tag,
        "PYTHONWARNINGS": "ignore",
    }
    log = tmp_path / "sweep.log"
    with open(log, "wb") as out:  # a file, not a pipe: a process left behind cannot block us
        proc = subprocess.Popen(
            [sys.executable, "-m", "defection", "sweep", str(spec), "--workers", "2", "-q"]
            + ["--db", str(tmp_path / "s.duckdb")],
            cwd=tmp_path,
            env=env,
            start_new_session=True,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 180
        while not any(marks.iterdir()) and time.monotonic() < deadline:  # workers are busy
            assert proc.poll() is None, log.read_text()
            time.sleep(0.05)
        assert any(marks.iterdir()), "the sweep never started running"
        if how == "kill -9":
            proc.send_signal(signal.SIGKILL)
        elif how == "SIGTERM":
            proc.send_signal(signal.SIGTERM)
        else:  # a terminal sends Ctrl-C to the whole foreground process group
            os.killpg(proc.pid, signal.SIGINT)
        stopped = time.monotonic()
        proc.wait(timeout=60)
        left = _alive_tagged(proc.pid, tag)
        while left and time.monotonic() - stopped < 5:
            time.sleep(0.1)
            left = _alive_tagged(proc.pid, tag)
        assert not left, f"alive 5 s after {how}:\n" + "\n".join(left)
        text = log.read_text()
        if how != "kill -9":
            assert "Traceback" not in text, text
            assert proc.returncode == (143 if how == "SIGTERM" else 130), text
            # what it says it saved is what the database holds (this invocation made it)
            from sweep_kit import read_runs

            n = len(read_runs(tmp_path / "s.duckdb")[0])
            saved = f"{n} finished run{'s' if n != 1 else ''} saved in" if n else "no run of"
            assert saved in text, (n, text)
    finally:
        for pid in _alive_tagged(proc.pid, tag):
            try:
                os.kill(int(pid.split(":")[0]), signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_stop_that_duckdb_swallowed_still_stops_the_sweep(tmp_path, monkeypatch):
    """DuckDB can run the signal handler inside a query and drop its exception (seen in about 1
    stop in 10 landing in a write); the next run's callback raises the stop instead, so the sweep
    ends as a stopped one rather than running on with Ctrl-C ignored."""
    from sweep_kit import write_spec

    from defection import cli
    from defection.sweep import coordinator

    seen: list[int] = []

    def swallowing_run_sweep(sw, store, *, on_start, on_result, **kw):
        prog = coordinator.Progress(sw.sweep_id, sw.n_runs)
        on_start(prog)
        cli._received.append(signal.SIGTERM)  # the handler ran; its exception was lost
        for _ in range(3):
            prog.done += 1
            seen.append(prog.done)
            on_result(prog, None)
        return prog

    monkeypatch.setattr(coordinator, "run_sweep", swallowing_run_sweep)
    spec = write_spec(tmp_path)
    proc = invoke("sweep", str(spec), "--workers", "1", "-q", "--db", "s.duckdb", cwd=tmp_path)
    assert proc.returncode == 143, proc.stdout + proc.stderr
    assert seen == [1]
    assert "terminated: no run of this invocation was saved" in proc.stderr, proc.stderr


def test_a_finished_pool_sweep_stops_its_fork_server(serial_reference, tmp_path):
    """In-process: after run_sweep returns, no child of this process is left (workers, server)."""
    from defection.sweep.coordinator import run_sweep
    from defection.sweep.spec import load_spec
    from defection.sweep.store import Store

    def children() -> set[int]:
        me = os.getpid()
        out = set()
        for d in Path("/proc").iterdir():
            try:
                fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
                if d.name.isdigit() and int(fields[1]) == me and fields[0] not in ("Z", "X"):
                    out.add(int(d.name))
            except (OSError, IndexError):
                continue
        return out

    before = children()  # e.g. the resource tracker, which lives as long as this process
    spec = serial_reference[0]
    with Store(tmp_path / "p.duckdb") as store:
        prog = run_sweep(load_spec(spec), store, workers=2)
    assert prog.done == 12
    left = children() - before
    tracker = {p for p in left if b"resource_tracker" in Path(f"/proc/{p}/cmdline").read_bytes()}
    assert not left - tracker, left


README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_exit_status_table_covers_every_command():
    text = README.read_text()
    table = text.split("| command | exit status 0 |", 1)[1].split("\n\n", 1)[0]
    rows = [ln for ln in table.splitlines() if ln.startswith("| `")]
    named = {c.strip("` ") for row in rows for c in row.split("|")[1].split(",")}
    commands = {c.name or c.callback.__name__ for c in app.registered_commands}
    assert commands <= named, commands - named


@pytest.mark.parametrize("program", ["scheduler", "worker"])
def test_readme_cluster_recipe_uses_real_dask_flags_and_tls(program):
    import re

    from distributed.cli.dask_scheduler import main as scheduler
    from distributed.cli.dask_worker import main as worker

    cmd = {"scheduler": scheduler, "worker": worker}[program]
    known = {o for p in cmd.params for o in (*p.opts, *p.secondary_opts)}
    text = README.read_text().replace("\\\n", " ")
    lines = [ln for ln in text.splitlines() if f"bin/dask {program}" in ln]
    assert len(lines) >= 2
    for line in lines:
        flags = set(re.findall(r"\s(--[a-z-]+)", line))
        assert flags <= known, (line, flags - known)
        assert "--interface" in flags or "--host" in flags, line  # never every interface
    assert any({"--tls-ca-file", "--tls-cert", "--tls-key"} <= set(ln.split()) for ln in lines)
