"""Golden baseline: each bundled scenario, run to its horizon at a fixed seed, matches the stored
run (summary, every day of every series, the per-day group counts): exactly in every count,
string and integer, and in floats to a relative 1e-12.

Why not floats bit for bit: NumPy picks its SIMD kernels by CPU (AVX2, AVX-512), and a sum or a
mean over an array is added up in a different order on each, so a mean such as the share that
believes the regime survives can differ in its last bit between two machines (seen on
2026-12-02: 8.608471689245568e-07 stored, 8.608471689245569e-07 fresh, every count equal). A run
is bit for bit the same on one machine (tests/test_determinism.py); a changed random draw moves
the counts and the floats far more than 1e-12, which this test still sees.

A failure here means the model's numbers changed. If that was intended, regenerate with
``scripts/update_baseline.py`` in a commit of its own that says what changed and why.
"""

import importlib.util
import json
import math
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location(
    "update_baseline", ROOT / "scripts/update_baseline.py"
)
ub = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ub)


#: Floats agree to this relative difference (about 4,500 units in the last place of a double).
REL_TOL = 1e-12
#: ... or this absolute one, for values that should be 0.
ABS_TOL = 1e-15


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
    if isinstance(a, float) and isinstance(b, float):
        close = math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL) or (a != a and b != b)
        return None if close else f"{path}: stored {a!r} != fresh {b!r}"
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
    # the last bit of a float (another CPU's summation order) is not a change; a count is
    last_bit = {"summary": {"x": 1.0}, "series": {"a": [0.1, math.nextafter(0.2, 1)]}}
    assert _diff(rec, last_bit) is None
    assert _diff({"n": [3]}, {"n": [4]})
