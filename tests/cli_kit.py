"""Helpers shared by the command-line tests: the real CLI in a subprocess, or in-process."""

import os
import subprocess
import sys

from typer.testing import CliRunner

from defection.cli import app

TIMEOUT = 120


def cli(*args, cwd, columns: int = 80):
    """Run ``python -m defection ARGS`` in ``cwd``, its output ``columns`` wide."""
    env = {**os.environ, "COLUMNS": str(columns), "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [sys.executable, "-m", "defection", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=env,
        check=False,
    )


def assert_clean_input_error(proc, *needles):
    """Exit 2, every needle on one stderr line starting with 'error:', no traceback."""
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out, out
    assert proc.returncode == 2, out
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert lines, proc.stderr
    assert any(all(n in ln for n in needles) for ln in lines), (needles, proc.stderr)


def invoke(*args, cwd):
    """Invoke the Typer app in-process in ``cwd``; return a CompletedProcess-like result."""
    old = os.getcwd()
    os.chdir(cwd)
    try:
        res = CliRunner().invoke(app, list(args))
    finally:
        os.chdir(old)
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        raise res.exception  # a traceback: fail loudly, with it
    return subprocess.CompletedProcess(args, res.exit_code, res.stdout, res.stderr)
