"""The steady start's margin (elites.steady_margin): how far the belief falls before elites break.

Under ``elites.steady_start`` elites' loyalty is truncated at the calm-time indifference point.
At a margin of 0 that point is read at the initial belief ``b0``, so an elite drawn just above
it breaks at the first small fall of the belief (a probe of the fourth calibration's sample found
Soviet runs whose elites all went in the first week this way; docs/CALIBRATION.md). With a
margin ``d`` it is read at ``b0 - d``: no elite gains from defecting until the belief has fallen
by ``d``. At a margin of 0 no number of model version 7 changed; since model version 8 the
registry's margin is the twelfth calibration's (0.43).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from operating_point import V7_DEFAULTS

from defection.model import elites, rules, signals
from defection.model import scenario as scn
from defection.model.params import BY_NAME
from defection.model.regime import RegimeModel

SMALL = {"grid.width": 16, "grid.height": 16, "run.horizon": 20, "elites.steady_start": True}


def _model(**overrides):
    return RegimeModel(scn.load("baseline", {**SMALL, **overrides}), rng=5, until_horizon=True)


def test_the_margin_is_calibrated_and_behavioural():
    p = BY_NAME["elites.steady_margin"]
    assert 0.0 < p.default <= 0.5 and (p.lo, p.hi) == (0.0, 0.5)
    assert p.source.startswith("calibrated")
    assert p.role == "behavioural" and p.build_only


def test_a_zero_margin_reads_the_floor_at_the_initial_belief():
    m = _model(**{"elites.steady_margin": 0.0})
    b0 = signals.initial_belief(m)
    p = m.p
    want = rules.calm_loyalty_floor(
        b0, p["elites.rents"], p["elites.purge_risk"], p["elites.outside_option"], 0.0
    )
    assert p["opposition.amnesty"] == 0.0
    assert elites.calm_floor(m) == want


@settings(max_examples=25, deadline=None)
@given(margin=st.floats(0.0, 0.5))
def test_no_elite_gains_from_defecting_until_the_belief_has_fallen_by_the_margin(margin):
    m = _model(**{"elites.steady_margin": margin, "elites.loyalty_sd": 2.5})
    p = m.p
    b0 = signals.initial_belief(m)
    for b in np.linspace(max(0.0, b0 - margin), b0, 5):
        gain = rules.elite_defect_gain(
            b,
            p["elites.rents"],
            p["elites.purge_risk"],
            m.elites.loyalty,
            p["elites.outside_option"],
            p["opposition.amnesty"],
            0.0,
            p["elites.peer_weight"],
        )
        assert (gain < 0).all(), (margin, b)


def test_a_wider_margin_raises_every_elites_loyalty_from_the_same_draws():
    """The same random numbers mapped above a higher floor: nobody's loyalty falls, the lowest
    rise, and the floor itself is higher (the belief term makes L* fall as the belief rises)."""
    lo = _model(**{"elites.loyalty_sd": 2.5, "elites.steady_margin": 0.0})
    hi = _model(**{"elites.loyalty_sd": 2.5, "elites.steady_margin": 0.3})
    assert elites.calm_floor(hi) > elites.calm_floor(lo)
    assert (hi.elites.loyalty >= lo.elites.loyalty).all()
    assert hi.elites.loyalty.min() > lo.elites.loyalty.min()
    # everything else drawn from the same streams
    np.testing.assert_array_equal(hi.elites.clients, lo.elites.clients)


def test_the_margin_acts_only_under_the_steady_start():
    off = {"elites.steady_start": False}
    a = _model(**off)
    b = _model(**off, **{"elites.steady_margin": 0.4})
    np.testing.assert_array_equal(a.elites.loyalty, b.elites.loyalty)


@pytest.mark.parametrize("margin", [0.0, 0.2])
def test_a_crisis_still_breaks_elites_past_the_margin(margin):
    """The margin delays the first break; it does not forbid one: a deep crisis still takes
    elites (deterministic choices, a low initial belief target)."""
    crisis = {"belief.intercept": 1.0, "elites.choice_noise": 0.0, "run.horizon": 30}
    m = _model(**{**V7_DEFAULTS, **crisis, "elites.steady_margin": margin})
    for _ in range(30):
        m.step()
        if (m.elites.state != rules.ELITE_LOYAL).any():
            break
    assert (m.elites.state != rules.ELITE_LOYAL).any()
