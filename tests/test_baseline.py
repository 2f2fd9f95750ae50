"""Golden baseline: each bundled scenario, run to its horizon at a fixed seed, matches the stored
run exactly (summary, every day of every series, the per-day group counts).

A failure here means the model's numbers changed. If that was intended, regenerate with
``scripts/update_baseline.py`` in a commit of its own that says what changed and why.
"""

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location(
    "update_baseline", ROOT / "scripts/update_baseline.py"
)
ub = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ub)


def _diff(a, b, path=""):
    """First place where two JSON-like values differ, as a readable string (None if equal)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return f"{path}.{k}: only in {'stored' if k in a else 'fresh'}"
            d = _diff(a[k], b[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: length {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            d = _diff(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    return None if a == b and type(a) is type(b) else f"{path}: stored {a!r} != fresh {b!r}"


@pytest.mark.parametrize(("scenario", "seed"), ub.CASES, ids=[f"{s}-{n}" for s, n in ub.CASES])
def test_run_matches_golden_baseline(scenario, seed):
    stored = json.loads(ub.path_for(scenario, seed).read_text())
    fresh = json.loads(json.dumps(ub.golden_record(scenario, seed)))
    diff = _diff(stored, fresh)
    assert diff is None, f"{scenario} seed {seed} differs from the golden baseline at {diff}"


def test_baseline_covers_every_bundled_scenario():
    from defection.model.scenario import bundled_names

    assert {s for s, _ in ub.CASES} == set(bundled_names())


def test_diff_sees_a_change():
    rec = {"summary": {"x": 1.0}, "series": {"a": [0.1, 0.2]}}
    assert _diff(rec, json.loads(json.dumps(rec))) is None
    assert _diff(rec, {"summary": {"x": 1.0}, "series": {"a": [0.1, 0.2000001]}})
    assert _diff(rec, {"summary": {"x": 1}, "series": {"a": [0.1, 0.2]}})
