"""Shared fixtures. The tests folder is put on sys.path so tests can import ``sweep_kit``
(pytest's importlib mode does not do it)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from sweep_kit import read_runs, write_spec  # noqa: E402


@pytest.fixture(scope="session")
def serial_reference(tmp_path_factory):
    """The small sweep run serially in this process: (spec path, db path, runs, series)."""
    from defection.sweep.coordinator import run_sweep
    from defection.sweep.spec import load_spec
    from defection.sweep.store import Store

    folder = tmp_path_factory.mktemp("serial")
    spec = write_spec(folder)
    db = folder / "serial.duckdb"
    with Store(db) as store:
        run_sweep(load_spec(spec), store, workers=1)
    runs, series = read_runs(db)
    return spec, db, runs, series
