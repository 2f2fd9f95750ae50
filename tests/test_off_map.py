"""Soldiers who serve off the map (soldiers.min_agents): a force that resolves DEFECT's 0.5 %.

The map is a sample of each region's streets at the garrison density; with ``soldiers.min_agents``
the force is represented by at least that many soldier agents, the rest serving off the map.
They decide by the same rules, face their region's mean crowd and arrest no one on the map.
"""

import numpy as np
import pytest

from defection.model import scenario as scn
from defection.model.building import apportion, off_map_counts
from defection.model.limits import size_of
from defection.model.regime import RegimeModel
from defection.model.rules import DEFECTED, DESERTED, DETAINED, JAILED
from defection.model.soldiers import crowd_in_vision


def test_apportion_gives_whole_parts_in_proportion():
    parts = apportion(10, np.array([95.0, 74.0]))
    assert parts.tolist() == [6, 4] and parts.sum() == 10
    assert apportion(7, np.array([1.0, 1.0, 1.0])).tolist() == [3, 2, 2]  # ties: lower index
    assert apportion(5, np.zeros(2)).tolist() == [3, 2]  # no weight: equal
    assert apportion(0, np.array([2.0, 1.0])).tolist() == [0, 0]
    big = apportion(831, np.array([95.0, 74.0]))
    assert big.sum() == 831 and abs(big[0] - 831 * 95 / 169) < 1


def test_off_map_counts_fill_the_force_and_keep_the_guard_share():
    assert off_map_counts(169, 22, 0, 0.13) == (0, 0)
    assert off_map_counts(169, 22, 100, 0.13) == (0, 0)  # the map holds enough
    reg, guards = off_map_counts(169, 22, 1000, 0.13)
    assert reg + guards == 831 and 22 + guards == round(0.13 * 1000)
    assert off_map_counts(10, 0, 12, 0.9) == (0, 2)  # never more guards than the extra


def test_off_map_soldiers_face_their_regions_mean_crowd():
    actives = np.array([0, 2, 4, 6, 1, 1, 1, 1], dtype=np.int32)  # two regions of 4 cells
    violent = np.array([0, 0, 4, 0, 1, 0, 0, 0], dtype=np.int32)
    cells = np.array([1, -1, -1, 5])
    region = np.array([0, 0, 1, 1])
    act, vio = crowd_in_vision(actives, violent, cells, region, 2)
    assert act.tolist() == [2.0, 3.0, 1.0, 1.0]
    assert vio.tolist() == [0.0, 1.0, 0.25, 0.0]
    on = crowd_in_vision(actives, violent, np.array([2, 7]), np.array([0, 1]), 2)
    assert on[0].tolist() == [4.0, 1.0] and on[1].tolist() == [4.0, 0.0]


@pytest.fixture(scope="module")
def syria():
    # the file sets 1,000 agents (model version 9); the tests set the count themselves
    return scn.load("syria_2011").with_overrides({"run.horizon": 40, "soldiers.min_agents": 0})


def test_the_force_is_at_least_min_agents_and_the_rest_serve_off_the_map(syria):
    a = RegimeModel(syria, rng=3)
    n = a.initial_force + 700
    b = RegimeModel(syria.with_overrides({"soldiers.min_agents": n}), rng=3)
    assert not a.off_map.any()
    assert b.initial_force == b.n_soldiers == n
    assert int(b.off_map.sum()) == 700 and (b.soldiers.pos[b.off_map] == -1).all()
    # the map is the same map: the same cells hold soldiers, in the same regions
    np.testing.assert_array_equal(np.sort(a.soldiers.pos), np.sort(b.soldiers.pos[~b.off_map]))
    np.testing.assert_array_equal(a.occupant >= 0, b.occupant >= 0)
    # regulars spread over the regions as the map's are, guards in the capital
    on_reg = np.bincount(a.soldiers.region[~a.soldiers.guard], minlength=len(a.region_names))
    off = b.off_map & ~b.soldiers.guard
    off_reg = np.bincount(b.soldiers.region[off], minlength=len(b.region_names))
    np.testing.assert_array_equal(off_reg, apportion(int(off.sum()), on_reg))
    assert (b.soldiers.region[b.off_map & b.soldiers.guard] == b.capital).all()
    guard_share = b.p["soldiers.guard_share"]
    assert b.soldiers.guard.mean() == pytest.approx(guard_share, abs=1.5 / n + 0.01)
    # each agent stands for fewer people, the force in people is the same
    assert b.measure.soldier_people * n == pytest.approx(a.measure.soldier_people * a.n_soldiers)
    assert size_of(syria.with_overrides({"soldiers.min_agents": n})).soldiers >= n


def test_off_map_soldiers_arrest_no_one_but_decide_like_the_rest():
    sc = scn.load("baseline").with_overrides(
        {
            "soldiers.garrison_density": 0.0,
            "soldiers.min_agents": 300,
            "run.horizon": 30,
            "soldiers.choice_noise": 2.0,
        }
    )
    m = RegimeModel(sc, rng=5, until_horizon=True)
    assert m.off_map.all() and m.initial_force == 300
    m.run()
    active = m.datacollector.get_model_vars_dataframe()
    assert (m.protesters.state != JAILED).all() and (m.protesters.jail == 0).all()
    assert active["arrests"].sum() == 0, "nobody on the map to arrest"
    left = np.isin(m.soldiers.state, [DESERTED, DEFECTED, DETAINED])
    assert left.any(), "soldiers off the map never decided to leave"
    assert (m.soldiers.pos == -1).all()
