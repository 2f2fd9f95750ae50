"""Insiders' plots against the ruler (``elites.plots``): the rules, the palace vote, the coup gate.

A plot is off by default; ``east_germany_1989`` switches it on (model version 8). The tests of the
insiders' reading of the crowd run at model version 7's defaults, where they were written.
"""

from __future__ import annotations

import numpy as np
import pytest
from operating_point import V7_DEFAULTS

from defection.model import elites, outputs, rules
from defection.model.regime import RegimeModel
from defection.model.rules import DEFECTED, ELITE_LOYAL, ELITE_PURGED

GDR = "east_germany_1989"
#: Plots on, the least loyal insider ready at the first sign of a crisis, one insider a quorum.
EAGER = {"elites.plots": True, "elites.plot_signal": 0.0, "elites.plot_quorum": 0.01}


# --- rules --------------------------------------------------------------------------------------


def test_plot_ready_compares_the_signal_with_threshold_plus_loyalty_above_floor():
    above = np.array([0.0, 0.5, 1.0, 2.0])
    assert rules.plot_ready(1.5, 1.0, above).tolist() == [True, True, False, False]
    assert rules.plot_ready(0.0, 0.0, above).tolist() == [True, False, False, False]
    # a stronger signal never makes anyone less ready
    for s in np.linspace(0, 5, 11):
        assert (rules.plot_ready(s + 0.1, 1.0, above) >= rules.plot_ready(s, 1.0, above)).all()


def test_plot_tried_needs_the_quorum_and_at_least_one():
    assert not rules.plot_tried(0, 20, 0.0)
    assert not rules.plot_tried(4, 20, 0.25)
    assert rules.plot_tried(5, 20, 0.25)
    assert rules.plot_tried(1, 20, 0.01)
    assert not rules.plot_tried(0, 0, 0.25)


def test_insiders_weigh_the_crowd_at_gain_times_the_public_weight():
    assert rules.insider_protest_weight(4.0, 1.0) == 4.0
    assert rules.insider_protest_weight(4.0, 2.5) == 10.0
    assert rules.insider_protest_weight(4.0, 0.0) == 0.0


# --- the model ----------------------------------------------------------------------------------


def test_no_insider_is_ready_in_calm_times():
    """Under the steady start every elite lies above the floor, so a zero signal readies none."""
    m = RegimeModel(GDR, rng=3, overrides={"elites.plots": True, "elites.plot_signal": 0.0})
    above = m.elites.loyalty - m.elite_floor
    assert (above > 0).all()
    assert not rules.plot_ready(m.signal, 0.0, above).any()


def test_a_party_regime_removes_its_ruler_by_vote():
    m = RegimeModel(GDR, rng=1, overrides=EAGER)
    m.run()
    assert m.outcome == outputs.TRANSITION
    assert m.outcome_rule == outputs.RULE_PALACE
    assert m.outcome_day < 60
    assert any("removed by a vote" in text for _, text in m.log)
    # a vote needs no troops: nobody was purged or detained for it
    assert (m.elites.state != ELITE_PURGED).all()


def test_without_party_rules_insiders_do_not_plot():
    """Plots by force are not modelled yet: without ``regime.party_removal`` no one plots."""
    m = RegimeModel(GDR, rng=1, overrides={**EAGER, "regime.party_removal": False})
    m.run(steps=60)
    assert m.outcome_rule not in (outputs.RULE_PALACE, outputs.RULE_COUP)
    assert not any("coup" in text or "vote" in text for _, text in m.log)
    assert (m.elites.state != ELITE_PURGED).all()


def test_plots_off_the_palace_vote_never_happens():
    off = {"elites.plots": False, "elites.plot_signal": 0.0, "elites.plot_quorum": 0.01}
    m = RegimeModel(GDR, rng=1, overrides=off)
    m.run(steps=90)
    assert m.outcome_rule != outputs.RULE_PALACE


def test_one_removal_only_when_the_run_goes_on():
    m = RegimeModel(GDR, rng=1, overrides=EAGER, until_horizon=True)
    m.run(steps=90)
    assert sum("removed by a vote" in text for _, text in m.log) == 1


def test_a_coup_wins_against_an_empty_centre():
    m = RegimeModel("baseline", rng=2)
    faction = np.flatnonzero(m.elites.state == ELITE_LOYAL)
    coup_force, _, commanders, _ = elites.coup_forces(m, faction)
    if coup_force == 0:
        pytest.skip("no client company of these elites is stationed in the capital")
    # every soldier outside the plotters' client companies has gone over: the centre is empty
    s, u = m.soldiers, m.units
    cos = np.zeros(u.company_size.size, dtype=bool)
    cos[u.company[commanders]] = True
    s.state[~cos[u.company]] = DEFECTED
    assert elites.coup_forces(m, faction)[1] == 0
    assert elites.attempt(m, faction, 0.1)
    assert m.outcome_rule == outputs.RULE_COUP


def test_a_failed_coup_purges_the_plotters_and_costs_legitimacy():
    m = RegimeModel("baseline", rng=2)
    loyal = np.flatnonzero(m.elites.state == ELITE_LOYAL)
    faction = loyal[:1]
    m.elites.clients[faction] = -1  # a plotter with no client company has no troops
    coup_force, centre, _, _ = elites.coup_forces(m, faction)
    assert coup_force == 0 < centre
    before = m.legitimacy.copy()
    assert not elites.attempt(m, faction, 0.1)
    assert m.elites.state[faction[0]] == ELITE_PURGED
    assert np.allclose(m.legitimacy, np.clip(before - 0.1, 0, 1))
    assert m.outcome is None


# --- the insiders' own reading of the crowd (elites.plot_protest_gain) ---------------------------

#: Plots on at model version 7's defaults (threshold, quorum, gain 1), the crowd building up
#: linearly to day 36 as in the calibration where these tests were written.
BUILDUP = {
    **V7_DEFAULTS,
    "elites.plots": True,
    "protest.buildup_days": 36,
    "protest.buildup_growth": 0.0,
}


def test_at_gain_one_insiders_plot_on_the_public_signal():
    m = RegimeModel(GDR, rng=2, overrides=BUILDUP)
    for _ in range(40):
        m.step()
        assert m.plot_signal == m.signal


def test_a_larger_gain_raises_only_the_insiders_signal_and_brings_the_vote():
    """Gain 6 (seed 2): the vote comes within the run; at gain 1 no plot is tried in 120 days."""
    one = RegimeModel(GDR, rng=2, overrides=BUILDUP)
    six = RegimeModel(GDR, rng=2, overrides={**BUILDUP, "elites.plot_protest_gain": 6.0})
    for _ in range(20):
        one.step()
        six.step()
        assert six.signal == one.signal  # soldiers and the public read the crowd as before
        assert six.plot_signal >= one.plot_signal
    assert six.plot_signal > one.plot_signal > 0
    one.run(steps=100)
    six.run(steps=100)
    assert one.outcome_rule != outputs.RULE_PALACE
    assert six.outcome_rule == outputs.RULE_PALACE


def test_the_gain_changes_nothing_without_plots():
    """Read only by plots: with elites.plots off a gain of 10 leaves the run bit for bit."""
    off = {"elites.plots": False}
    runs = [
        RegimeModel(GDR, rng=4, overrides={**off, "elites.plot_protest_gain": g})
        for g in (1.0, 10.0)
    ]
    for m in runs:
        m.run(steps=60)
    frames = [m.datacollector.get_model_vars_dataframe() for m in runs]
    assert frames[0].equals(frames[1])
    assert runs[0].outcome == runs[1].outcome
