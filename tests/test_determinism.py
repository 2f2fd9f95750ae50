"""Reproducibility: one seed, one result, bit for bit; all randomness from the model's generator."""

import ast
import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from defection.model import regime
from defection.model import scenario as scn
from defection.model.regime import RegimeModel

ROOT = Path(__file__).resolve().parents[1]
SOURCE_DIRS = ("model", "defection", "viz", "calibration")
SMALL = {"grid.width": 16, "grid.height": 16, "run.horizon": 20, "elites.count": 5}
EVENTS = [
    {"day": 3, "kind": "elite_split", "share": 0.4},
    {"day": 5, "kind": "coup", "share": 0.5},
    {"day": 8, "kind": "crackdown", "repression": 1.0},
]


def run(seed, overrides=None, events=False, proxies=False):
    sc = scn.load("baseline")
    if events:
        sc = scn.from_dict({**sc.raw, "events": EVENTS})
    sc = sc.with_overrides({**SMALL, **(overrides or {})})
    m = RegimeModel(sc, rng=seed, until_horizon=True)
    if proxies:  # built on first access; must not draw from any random stream
        assert len(m.agents) == m.n_protesters + m.n_soldiers + m.elites.state.size

    m.run()
    return m


def state_arrays(m):
    """Every array of the final state, by name."""
    out = {}
    for prefix, obj in (
        ("protesters", m.protesters),
        ("soldiers", m.soldiers),
        ("elites", m.elites),
    ):
        for f in dataclasses.fields(obj):
            out[f"{prefix}.{f.name}"] = getattr(obj, f.name)
    out["occupant"] = m.occupant
    out["legitimacy"] = m.legitimacy
    out["group_counts"] = np.stack(m.group_counts)
    out["adjacency"] = m.units.adjacency.toarray()
    return out


@pytest.mark.parametrize(
    ("overrides", "events", "proxies"),
    [
        ({}, False, False),
        ({"belief.intercept": -1.0, "soldiers.guard_share": 0.2}, True, True),
    ],
)
def test_same_seed_same_run_bit_for_bit(overrides, events, proxies):
    a = run(42, overrides, events, proxies)
    b = run(42, overrides, events, proxies)
    pd.testing.assert_frame_equal(
        a.datacollector.get_model_vars_dataframe(),
        b.datacollector.get_model_vars_dataframe(),
        check_exact=True,
    )
    sa, sb = state_arrays(a), state_arrays(b)
    assert sa.keys() == sb.keys()
    for key in sa:
        x, y = np.asarray(sa[key]), np.asarray(sb[key])
        assert x.dtype == y.dtype, key
        assert x.shape == y.shape, key
        assert x.tobytes() == y.tobytes(), key
    assert (a.outcome, a.outcome_day, a.outcome_rule) == (b.outcome, b.outcome_day, b.outcome_rule)
    assert a.log == b.log
    assert a.signal == b.signal
    assert a.belief_public == b.belief_public


def test_proxies_do_not_change_the_run():
    a = run(5, proxies=False)
    b = run(5, proxies=True)
    pd.testing.assert_frame_equal(
        a.datacollector.get_model_vars_dataframe(),
        b.datacollector.get_model_vars_dataframe(),
        check_exact=True,
    )
    np.testing.assert_array_equal(a.soldiers.state, b.soldiers.state)


def test_different_seeds_differ():
    a, b = run(1), run(2)
    same_ts = a.datacollector.get_model_vars_dataframe().equals(
        b.datacollector.get_model_vars_dataframe()
    )
    same_pos = np.array_equal(a.protesters.pos, b.protesters.pos)
    assert not (same_ts and same_pos)
    assert not np.array_equal(a.protesters.hardship, b.protesters.hardship)


def test_seedless_runs_are_fresh():
    a = RegimeModel(scn.load("baseline", SMALL))
    b = RegimeModel(scn.load("baseline", SMALL))
    assert not np.array_equal(a.protesters.hardship, b.protesters.hardship)


# ------------------------------------------------------------------------------------------------
# common random numbers: one stream per process
# ------------------------------------------------------------------------------------------------


def _days(m, days):
    """Run ``days`` days and return per day the soldiers' and protesters' states and positions."""
    out = []
    for _ in range(days):
        m.step()
        out.append((m.soldiers.state.copy(), m.protesters.state.copy(), m.pos.copy()))
    return out


def test_a_lever_that_acts_after_day_30_leaves_days_0_to_30_identical():
    """Elites sworn to the regime until day 30: more of them changes the build's draws of elites
    (and, with one generator, every later draw), but with one stream per process days 0-30 of the
    soldiers and protesters are the same run."""
    base = {
        **SMALL,
        "run.horizon": 40,
        "belief.intercept": -1.0,
        "elites.loyalty": 3.0,
        "elites.loyalty_sd": 0.0,
        "elites.outside_option": 0.0,
    }
    events = [{"day": 31, "kind": "elite_split", "share": 0.5}]
    runs = []
    for n in (2, 12):
        sc = scn.from_dict({**scn.load("baseline").raw, "events": events})
        m = RegimeModel(sc.with_overrides({**base, "elites.count": n}), rng=3, until_horizon=True)
        runs.append(_days(m, 30))
    assert runs[0][-1][0].size == runs[1][-1][0].size
    for day, (a, b) in enumerate(zip(*runs, strict=True), start=1):
        for x, y in zip(a, b, strict=True):
            assert np.array_equal(x, y), f"day {day} differs"
    # the test is not vacuous: soldiers and protesters did move and decide in those 30 days
    assert not np.array_equal(runs[0][0][2], runs[0][-1][2])


def test_guard_share_leaves_protesters_and_their_draws_unchanged():
    """Guards change the soldiers' side of the build; the protesters' draws are their own."""
    a = RegimeModel(scn.load("baseline", {**SMALL, "soldiers.guard_share": 0.0}), rng=9)
    b = RegimeModel(scn.load("baseline", {**SMALL, "soldiers.guard_share": 0.3}), rng=9)
    assert a.n_soldiers < b.n_soldiers
    for f in ("region", "group", "hardship", "risk_aversion", "tactic_draw", "pos"):
        assert np.array_equal(getattr(a.protesters, f), getattr(b.protesters, f)), f


def test_streams_are_independent_and_named():
    m = RegimeModel(scn.load("baseline", SMALL), rng=1)
    firsts = {name: g.random() for name, g in m.streams.items()}
    assert len(set(firsts.values())) == len(firsts)
    assert tuple(m.streams) == regime.STREAMS


def test_processes_draw_only_from_their_streams():
    """No model module draws from Mesa's generator (``.rng``); each process gets its stream."""
    bad = []
    for path in sorted((ROOT / "model").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr == "rng":
                bad.append(f"{path.name}:{node.lineno}")
    assert not bad, bad


# ------------------------------------------------------------------------------------------------
# one source of randomness
# ------------------------------------------------------------------------------------------------

#: numpy.random names that are types or seeding, not draws from the global state.
ALLOWED_NP_RANDOM = {"Generator", "SeedSequence", "default_rng", "BitGenerator", "PCG64"}


def _dotted(node):
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _random_violations(path, root=ROOT):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    numpy_names = {"numpy", "np"}
    bad = []
    for node in ast.walk(tree):
        where = f"{path.relative_to(root)}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "random" or alias.name.startswith("random."):
                    bad.append(f"{where}: import random")
                if alias.name == "numpy.random" and alias.asname:
                    bad.append(f"{where}: import numpy.random as {alias.asname}")
        elif isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            if mod == "random":
                bad.append(f"{where}: from random import ...")
            if mod == "numpy" and any(a.name == "random" for a in node.names):
                bad.append(f"{where}: from numpy import random")
            if mod == "numpy.random":
                for a in node.names:
                    if a.name not in ALLOWED_NP_RANDOM:
                        bad.append(f"{where}: from numpy.random import {a.name}")
        elif isinstance(node, ast.Attribute):
            name = _dotted(node)
            if name is None:
                continue
            parts = name.split(".")
            # np.random.<fn> / numpy.random.<fn>
            if len(parts) >= 3 and parts[0] in numpy_names and parts[1] == "random":
                if parts[2] not in ALLOWED_NP_RANDOM:
                    bad.append(f"{where}: {name}")
            # random.<fn> (the stdlib module)
            if len(parts) == 2 and parts[0] == "random":
                bad.append(f"{where}: {name}")
            # Mesa's second stream, model.random / self.random (a stdlib random.Random)
            if len(parts) == 3 and parts[0] in ("self", "model") and parts[1] == "random":
                bad.append(f"{where}: {name}")
    return bad


def _sources():
    files = []
    for d in SOURCE_DIRS:
        files += sorted((ROOT / d).rglob("*.py"))
    return files


def test_source_tree_is_scanned():
    files = _sources()
    assert any(f.name == "regime.py" for f in files)
    assert any(f.name == "cli.py" for f in files)


def test_no_global_or_stdlib_randomness():
    bad = [v for f in _sources() for v in _random_violations(f)]
    assert not bad, "randomness must come from the model's numpy Generator:\n" + "\n".join(bad)


def test_the_scanner_catches_violations(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import random\n"
        "import numpy as np\n"
        "from numpy.random import rand\n"
        "x = np.random.rand(3)\n"
        "y = random.random()\n"
        "np.random.seed(1)\n"
        "z = self.random.choice([1])\n"
        "ok = np.random.default_rng(1).random()\n"
        "t: np.random.Generator\n"
    )
    found = _random_violations(bad, root=tmp_path)
    assert len(found) == 6, found
    assert not any("default_rng" in v or "Generator" in v for v in found)


def test_importing_the_model_does_not_import_solara():
    code = (
        "import sys\n"
        "import defection.model.regime\n"
        "import defection.runner\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('solara', 'ipyvue', "
        "'ipyvuetify', 'ipywidgets'))\n"
        "print(bad)\n"
        "assert not bad, bad\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip() == "[]"
