"""Docking with Granovetter (1978): the 100-agent riot example (pattern P2 of the design card)."""

import numpy as np

from defection.model.regime import RegimeModel
from defection.model.rules import DEFECTED


def riot(replace_threshold_one: bool) -> tuple[int, list[int]]:
    model = RegimeModel("granovetter", rng=7, until_horizon=True)
    s = model.soldiers
    assert s.state.size == 100
    assert np.all(model.units.degree == 99)  # one squad: the complete network
    if replace_threshold_one:
        one = np.flatnonzero(np.isclose(s.threshold * 99, 1))
        assert one.size == 1
        s.threshold[one] = 2 / 99
    per_day = []
    while model.running:
        model.step()
        per_day.append(int((s.state == DEFECTED).sum()))
    return per_day[-1], per_day


def test_thresholds_0_to_99_give_a_full_riot():
    final, per_day = riot(replace_threshold_one=False)
    assert final == 100
    assert per_day[:5] == [1, 2, 3, 4, 5]  # one more rioter each day: a chain


def test_raising_threshold_one_to_two_stops_the_riot_at_one():
    final, per_day = riot(replace_threshold_one=True)
    assert final == 1
    assert set(per_day) == {1}
