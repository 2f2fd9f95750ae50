"""Winning without the force: the ruler's concession, the elites' armed threat.

Both are on by default since model version 10 (calibrated: calibration/concession/); here each
test starts from both off (:data:`OFF`, version 9's values) and switches one on, which must act
as docs/ODD.md says. The rules themselves are unit-tested in
``tests/test_rules.py`` (``concession_hazard``, ``armed_exit_factor``).
"""

import numpy as np

from defection.calibration.concession import RECORD_BASE
from defection.model import outputs
from defection.model.regime import RegimeModel
from defection.runner import final_figures

SEEDS = (1, 2, 3)
#: A small baseline with no elites (no elite majority ends a run first), 120 days: about a
#: second a run.
SMALL = {"grid.width": 20, "grid.height": 20, "run.horizon": 120, "elites.count": 0}
#: Version 9's values: no concession, no armed threat (what the concession's recordings run on).
OFF = RECORD_BASE
CONCEDES = {**OFF, "regime.concession_nonviolent": 0.1, "opposition.violent_share": 0.0}


def run(overrides, seed=1, until_horizon=False, small=SMALL):
    m = RegimeModel(
        "baseline", rng=seed, overrides={**small, **overrides}, until_horizon=until_horizon
    )
    m.run()
    return m


def test_a_ruler_who_concedes_ends_the_run_in_a_transition_that_navco_counts_as_success():
    for seed in SEEDS:
        m = run(CONCEDES, seed)
        assert m.outcome == outputs.TRANSITION
        assert m.outcome_rule == outputs.RULE_CONCESSION
        assert m.outcome_day < 120
        assert any("concession" in text for _, text in m.log)
        assert final_figures(m)["navco_success"] == 1
    # with the rates 0 (version 9's) the same runs reach the horizon
    assert all(
        run({**OFF, "opposition.violent_share": 0.0}, s).outcome_rule != "concession" for s in SEEDS
    )


def test_concession_draws_leave_the_run_unchanged_until_the_ruler_concedes():
    """The draws come from their own stream: the same days as with no concession, to the day."""
    off = run(OFF, 3, until_horizon=True)
    on = run({**OFF, "regime.concession_nonviolent": 0.01}, 3, until_horizon=True)
    day = on.outcome_day
    assert on.outcome_rule == outputs.RULE_CONCESSION and day is not None
    a, b = off.datacollector.model_vars, on.datacollector.model_vars
    for name in ("soldiers_defected", "active_protesters", "belief_survival", "participation"):
        assert a[name][: day + 1] == b[name][: day + 1], name


def test_higher_concession_rates_end_runs_sooner_and_with_no_one_active_never():
    days = {}
    for rate in (0.003, 0.1):
        over = {**OFF, "regime.concession_nonviolent": rate, "regime.concession_violent": rate}
        days[rate] = [run(over, seed).outcome_day for seed in SEEDS]
    assert np.median(days[0.1]) < np.median(days[0.003])
    # a regime whose people never protest never concedes
    quiet = run({**CONCEDES, "protest.legitimacy": 1.0})
    assert max(quiet.datacollector.model_vars["participation"]) == 0.0
    assert quiet.outcome_rule != outputs.RULE_CONCESSION


def test_concession_rate_is_read_by_method():
    """An armed campaign meets the violent rate: with that rate 0 the ruler never concedes to it."""
    armed = {**CONCEDES, "opposition.violent_share": 1.0}
    assert all(run(armed, seed).outcome_rule != outputs.RULE_CONCESSION for seed in SEEDS)
    armed_rate = {**armed, "regime.concession_violent": 0.1}
    assert all(run(armed_rate, seed).outcome_rule == outputs.RULE_CONCESSION for seed in SEEDS)


#: The small baseline with its elites and an armed crowd: they break within two weeks in two of
#: the three seeds.
ARMED = {"grid.width": 20, "grid.height": 20, "run.horizon": 60, "opposition.violent_share": 0.9}


def test_an_armed_opposition_keeps_the_elites_in_when_they_fear_it():
    """Elites break with an armed crowd's regime unless the armed threat holds them."""
    off = [run(OFF, seed, True, ARMED).stats["elites_defected"] for seed in SEEDS]
    threat = {**OFF, "elites.armed_threat": 1.0}
    on = [run(threat, s, True, ARMED).stats["elites_defected"] for s in SEEDS]
    assert all(a <= b for a, b in zip(on, off, strict=True))
    assert sum(on) < sum(off)


def test_a_nonviolent_crowd_is_not_feared():
    calm = {**ARMED, "opposition.violent_share": 0.0}
    a = run(OFF, 1, True, calm)
    b = run({**OFF, "elites.armed_threat": 1.0}, 1, True, calm)
    assert (a.outcome, a.outcome_day, a.outcome_rule) == (b.outcome, b.outcome_day, b.outcome_rule)
    assert a.stats["elites_defected"] == b.stats["elites_defected"]


def test_a_ruler_whose_force_goes_over_concedes_sooner_and_only_then():
    """regime.concession_defection multiplies the hazard once soldiers defect: on one seed the
    same draws give a concession no later than without it, sooner where the force went over, and
    the very same run where no soldier defected."""
    over = {
        **OFF,
        "belief.intercept": 0.0,
        "regime.concession_nonviolent": 0.002,
        "opposition.violent_share": 0.0,
    }
    for seed in SEEDS:
        plain = run(over, seed)
        fast = run({**over, "regime.concession_defection": 20.0}, seed)
        assert fast.outcome_day <= plain.outcome_day
        went_over = max(plain.datacollector.model_vars["soldiers_defected"]) > 0
        if not went_over:
            assert (fast.outcome, fast.outcome_day) == (plain.outcome, plain.outcome_day)
        if seed == 1:  # about 1.7 % of the force defected by day 5
            assert went_over and plain.outcome_rule == outputs.RULE_HORIZON
            assert fast.outcome_rule == outputs.RULE_CONCESSION and fast.outcome_day < 60
