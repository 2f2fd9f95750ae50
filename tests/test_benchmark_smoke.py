"""Smoke test of benchmarks/engine.py: a tiny run prints a JSON last line with the figures."""

import importlib.util
import json
import sys
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[1] / "benchmarks" / "engine.py"


def _load(name: str = "engine"):
    path = ENGINE.parent / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"benchmarks_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


def test_engine_benchmark_json_last_line(capsys):
    engine = _load()
    returned = engine.main(["--sizes", "2000", "--skip-1m", "--quick"])
    last = capsys.readouterr().out.strip().splitlines()[-1]
    result = json.loads(last)
    assert result == returned
    for key in ("ratio_10k", "ratio_100k", "agent_steps_per_s_1m", "peak_rss_mb_1m"):
        assert key in result
    assert result["ratio_2k"] > 0
    assert result["agent_steps_per_s_ours_2k"] > 0
    assert result["agent_steps_per_s_mesa_2k"] > 0


def test_sweep_benchmark_json_last_line(capsys):
    returned = _load("sweeps").main(["--quick", "--skip-dask"])
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result == returned
    assert result["runs"] == 6 and result["bare_s"] > 0
    assert result["pool_speedup"] > 0 and "store_overhead" in result


def test_calibration_dask_benchmark_json_last_line(capsys):
    returned = _load("calibration_dask").main(["--quick"])
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result == returned
    assert result["runs"] == 4
    for key in ("serial_s", "dask1_s", "dask2_s", "pool2_s", "dask_scaling_2_vs_1"):
        assert result[key] > 0


def test_pilots_benchmark_json_last_line(capsys):
    returned = _load("pilots").main(["--quick"])
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result == returned
    assert result["runs"] == 4 and result["peer_s"] > 0 and result["shared_s"] > 0
    assert result["same_outcomes"] is True
