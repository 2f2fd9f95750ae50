"""The command line's happy paths: version, validate, schema, params, scenarios, a run's outputs."""

import json
import os
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest
from cli_kit import cli, invoke

from defection.runner import SHARE_COLUMNS

HEAD = '[scenario]\nname = "bad"\n'
RUN_ARGS = (
    "run", "baseline", "--steps", "3", "--out", "OUT", "--seed", "7",
    "--set", "grid.width=16", "--set", "grid.height=16", "-q",
)  # fmt: skip


@pytest.fixture(scope="module")
def cli_results(tmp_path_factory):
    """Run the subprocess cases at once (threads wait on the processes), keyed by case."""
    d = tmp_path_factory.mktemp("happy")
    jobs = {
        ("happy", "version"): (("--version",), d),
        ("happy", "validate"): (("validate", "baseline"), d),
        ("happy", "schema"): (("schema",), d),
        ("happy", "run"): (RUN_ARGS, d),
    }
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        futures = {key: pool.submit(cli, *args, cwd=cwd) for key, (args, cwd) in jobs.items()}
        return {key: (f.result(), jobs[key][1]) for key, f in futures.items()}


def test_version(cli_results):
    proc, _ = cli_results[("happy", "version")]
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("defection ")


def test_validate_baseline(cli_results):
    proc, _ = cli_results[("happy", "validate")]
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("ok: ")
    assert "baseline" in proc.stdout


def test_schema_prints_json(cli_results):
    proc, _ = cli_results[("happy", "schema")]
    assert proc.returncode == 0, proc.stderr
    schema = json.loads(proc.stdout)
    assert "soldiers" in schema["properties"]


def test_params_and_scenarios_list(tmp_path):
    proc = invoke("params", "--markdown", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "`soldiers.pay`" in proc.stdout
    proc = invoke("scenarios", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "baseline" in proc.stdout


SUMMARY_KEYS = {
    "scenario",
    "seed",
    "version",
    "commit",
    "parameters",
    "outcome",
    "outcome_day",
    "outcome_rule",
    "soldiers",
    "elites",
    "peak_active_protesters",
    "regions",
}
TIMESERIES_COLUMNS = {
    "day",
    "active_protesters",
    "soldiers_loyal",
    "soldiers_shirking",
    "soldiers_deserted",
    "soldiers_defected",
    "soldiers_detained",
    "elites_defected",
    "belief_survival",
}


def test_run_writes_outputs(cli_results):
    proc, tmp_path = cli_results[("happy", "run")]
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    out = tmp_path / "OUT"
    for name in ("summary.json", "timeseries.parquet", "groups.parquet", "cascade.png"):
        assert (out / name).is_file(), name
        assert (out / name).stat().st_size > 0, name

    s = json.loads((out / "summary.json").read_text())
    assert SUMMARY_KEYS <= set(s), SUMMARY_KEYS - set(s)
    assert s["scenario"] == "baseline"
    assert s["seed"] == 7
    assert isinstance(s["version"], str)
    assert s["commit"] is None or isinstance(s["commit"], str)
    assert s["parameters"]["grid.width"] == 16
    assert s["parameters"]["run.horizon"] == 3
    assert s["outcome"] in ("collapse", "transition", "split", "survival")
    assert s["outcome_rule"]
    assert isinstance(s["outcome_day"], int)
    assert 1 <= s["outcome_day"] <= 3
    assert set(s["soldiers"]) == {"loyal", "shirking", "deserted", "defected", "detained"}
    assert sum(s["soldiers"].values()) == pytest.approx(1.0)
    assert all(0.0 <= v <= 1.0 for v in s["soldiers"].values())
    assert isinstance(s["elites"], dict)
    assert 0.0 <= s["peak_active_protesters"] <= 1.0
    assert s["regions"]
    for r in s["regions"]:
        assert {"name", "defected_share", "had_defection"} <= set(r)
        assert 0.0 <= r["defected_share"] <= 1.0
        assert isinstance(r["had_defection"], bool)

    ts = pd.read_parquet(out / "timeseries.parquet")
    assert TIMESERIES_COLUMNS <= set(ts.columns), TIMESERIES_COLUMNS - set(ts.columns)
    assert {f"{c}_people" for c in SHARE_COLUMNS} <= set(ts.columns)
    assert ts["day"].tolist() == [0, 1, 2, 3]

    groups = pd.read_parquet(out / "groups.parquet")
    assert {"day", "region", "group", "rank", "loyal", "defected"} <= set(groups.columns)
    assert len(groups) > 0

    assert (out / "cascade.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "wrote" in proc.stdout


def test_no_arguments_shows_help(tmp_path):
    proc = invoke(cwd=tmp_path)
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out
    assert "Usage" in out
    for command in ("run", "validate", "schema", "scenarios", "params"):
        assert command in out


def test_steps_shorter_than_the_scheduled_events(tmp_path):
    """``run --steps 2`` on a scenario with an event on day 20 runs two days (exit 0)."""
    (tmp_path / "ev.toml").write_text(
        HEAD + "[run]\nhorizon = 40\n[grid]\nwidth = 16\nheight = 16\n"
        '[[events]]\nday = 20\nkind = "crackdown"\n'
    )
    proc = invoke("run", "ev.toml", "--steps", "2", "-q", "--out", "out", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    s = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert s["days"] == 2
    assert not any("crackdown" in e["text"] for e in s["events"])
