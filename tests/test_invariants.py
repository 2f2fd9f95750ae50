"""Invariants of RegimeModel over randomly drawn small scenarios (hypothesis).

Every day: agents are conserved (counts by state sum to the totals), the grid is consistent
(each agent on the grid occupies exactly one cell of its own region, ``model.occupant`` agrees
with the position arrays, soldiers who left hold no cell and those who serve off the map never
take one), every share is in [0, 1], and the
exit states of soldiers (deserted, defected, detained) and elites (defected, purged) are absorbing.
"""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from defection.model import outputs
from defection.model import scenario as scn
from defection.model.regime import RegimeModel
from defection.model.rules import (
    ACTIVE,
    DEFECTED,
    DESERTED,
    DETAINED,
    ELITE_LOYAL,
    JAILED,
    LOYAL,
    QUIET,
    SHIRKING,
)

EXITS = np.array([DESERTED, DEFECTED, DETAINED])
# every collected series is a share in [0, 1] except the day and the arrest count
SHARE_STATS = tuple(c for c in outputs.SERIES if c not in ("day", "arrests"))
SOLDIER_STATS = (
    "soldiers_loyal",
    "soldiers_shirking",
    "soldiers_deserted",
    "soldiers_defected",
    "soldiers_detained",
)
EVENTS = [
    {"day": 2, "kind": "pay_cut", "pay": 0.3, "arrears": 0.5},
    {"day": 3, "kind": "crackdown", "repression": 1.0, "lethality": 0.5},
    {"day": 4, "kind": "elite_split", "share": 0.5},
    {"day": 5, "kind": "coup", "share": 0.5, "legitimacy_cost": 0.2},
    {"day": 6, "kind": "legitimacy_shock", "delta": -0.3},
]


@st.composite
def small_runs(draw):
    side_w = draw(st.integers(7, 14))
    side_h = draw(st.integers(7, 14))
    max_v = (min(side_w, side_h) - 1) // 2
    overrides = {
        "grid.width": side_w,
        "grid.height": side_h,
        "protest.vision": draw(st.integers(1, min(max_v, 4))),
        "soldiers.vision": draw(st.integers(1, min(max_v, 4))),
        "run.horizon": draw(st.integers(6, 12)),
        "protest.citizen_density": draw(st.sampled_from([0.3, 0.6, 0.8])),
        "soldiers.garrison_density": draw(st.sampled_from([0.0, 0.05, 0.15])),
        "soldiers.guard_share": draw(st.sampled_from([0.0, 0.3])),
        "belief.intercept": draw(st.sampled_from([-2.0, 0.5, 3.0])),
        "elites.count": draw(st.integers(0, 6)),
        "grid.movement": draw(st.booleans()),
        "soldiers.purge_rate": draw(st.sampled_from([0.0, 0.2])),
        "protest.max_jail": draw(st.sampled_from([0, 3, 30])),
        "soldiers.min_agents": draw(st.sampled_from([0, 0, 60])),
    }
    events = draw(st.booleans())
    seed = draw(st.integers(0, 2**31 - 1))
    proxies = draw(st.booleans())
    return overrides, events, seed, proxies


def build(overrides, events, seed, proxies):
    sc = scn.load("baseline")
    doc = {**sc.raw, "events": EVENTS if events else []}
    sc = scn.from_dict(doc).with_overrides(overrides)
    m = RegimeModel(sc, rng=seed, until_horizon=True)
    if proxies:  # Mesa agents are built on first access of model.agents
        assert len(m.agents) == m.n_protesters + m.n_soldiers + m.elites.state.size
    return m


def check_day(m, prev_soldiers, prev_elites):
    pr, s, e = m.protesters, m.soldiers, m.elites
    P, S, E = m.n_protesters, m.n_soldiers, e.state.size
    H, W = m.p["grid.height"], m.p["grid.width"]

    # --- conservation: every agent in exactly one state, totals fixed
    assert pr.state.size == P
    assert s.state.size == S == m.initial_force
    assert np.isin(pr.state, [QUIET, ACTIVE, JAILED]).all()
    assert np.isin(s.state, [LOYAL, SHIRKING, DESERTED, DEFECTED, DETAINED]).all()
    assert np.bincount(pr.state, minlength=3).sum() == P
    assert np.bincount(s.state, minlength=5).sum() == S
    assert m.group_counts[-1].sum() == S
    assert (pr.jail >= 0).all()

    # --- grid occupancy
    on_p = np.flatnonzero(pr.pos >= 0)
    on_s = np.flatnonzero(s.pos >= 0)
    assert on_p.size == P, "protesters never leave the grid"
    in_force = (s.state == LOYAL) | (s.state == SHIRKING)
    assert (s.pos[~in_force] == -1).all(), "soldiers who left hold no cell"
    on_map = ~m.off_map
    assert (s.pos[in_force & on_map] >= 0).all(), "soldiers in the force stand on the grid"
    assert (s.pos[m.off_map] == -1).all(), "soldiers who serve off the map never take a cell"
    cells = np.concatenate([pr.pos[on_p], s.pos[on_s]])
    assert np.unique(cells).size == cells.size, "two agents share a cell"
    assert ((cells >= 0) & (cells < m.grid.cells)).all()
    np.testing.assert_array_equal(m.occupant[pr.pos[on_p]], on_p)
    np.testing.assert_array_equal(m.occupant[s.pos[on_s]], P + on_s)
    assert (m.occupant >= 0).sum() == cells.size, "occupant marks a cell nobody stands on"
    occ = np.flatnonzero(m.occupant >= 0)
    ids = m.occupant[occ]
    assert (ids < P + S).all()
    np.testing.assert_array_equal(np.concatenate([pr.pos, s.pos])[ids], occ)
    # agents stay in their region's grid
    np.testing.assert_array_equal(pr.pos // (H * W), pr.region)
    np.testing.assert_array_equal(s.pos[on_s] // (H * W), s.region[on_s])

    # --- shares
    for key in SHARE_STATS:
        assert 0.0 <= m.stats[key] <= 1.0, (key, m.stats[key])
    if S:
        assert abs(sum(m.stats[k] for k in SOLDIER_STATS) - 1.0) < 1e-12
    assert m.stats["active_protesters"] + m.stats["jailed_protesters"] <= 1.0 + 1e-12
    assert (m.legitimacy >= 0).all()
    assert (m.legitimacy <= 1).all()
    assert ((s.belief >= 0) & (s.belief <= 1)).all()

    # --- absorbing states
    left_before = np.isin(prev_soldiers, EXITS)
    np.testing.assert_array_equal(s.state[left_before], prev_soldiers[left_before])
    gone_before = prev_elites != ELITE_LOYAL
    np.testing.assert_array_equal(e.state[gone_before], prev_elites[gone_before])
    assert e.state.size == E


@settings(
    max_examples=20,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(run=small_runs())
def test_invariants_hold_every_day(run):
    overrides, events, seed, proxies = run
    m = build(overrides, events, seed, proxies)
    assert m._proxies_built == proxies
    prev_s, prev_e = m.soldiers.state.copy(), m.elites.state.copy()
    check_day(m, prev_s, prev_e)
    while m.running:
        m.step()
        check_day(m, prev_s, prev_e)
        prev_s, prev_e = m.soldiers.state.copy(), m.elites.state.copy()
    assert m.day == overrides["run.horizon"]
    assert m.outcome in ("collapse", "transition", "split", "survival")
    df = m.datacollector.get_model_vars_dataframe()
    assert len(df) == m.day + 1
    shares = df[list(SHARE_STATS)].to_numpy()
    assert ((shares >= 0) & (shares <= 1)).all()


def test_crisis_run_exercises_the_exit_states():
    """Guard against a vacuous invariant test: a crisis run reaches the exit states."""
    m = build(
        {"grid.width": 16, "grid.height": 16, "run.horizon": 15, "belief.intercept": -2.0},
        True,
        1,
        False,
    )
    prev_s, prev_e = m.soldiers.state.copy(), m.elites.state.copy()
    while m.running:
        m.step()
        check_day(m, prev_s, prev_e)
        prev_s, prev_e = m.soldiers.state.copy(), m.elites.state.copy()
    left = np.isin(m.soldiers.state, EXITS).sum()
    assert left > 0
