"""The measurement model (model/measurement.py, docs/ODD.md): agents stand for people, national
figures are population-weighted, participation is NAVCO's share of the population, a stated peak
is reproduced, and the outcome states of docs/MEASUREMENT.md section 4 are the ones the model
holds."""

import numpy as np
import pytest

from defection.calibration.navco import participation_bin
from defection.model import measurement, outputs, rules
from defection.model.regime import RegimeModel
from defection.model.scenario import ScenarioError, from_dict, load
from defection.runner import summarize

# --- rules -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("h", "legit", "t"), [(1.0, 0.82, 0.1), (0.6, 0.5, 0.05), (1.0, 0.95, 0.1)]
)
def test_unrepressed_active_share_matches_a_monte_carlo_of_the_grievance_rule(h, legit, t):
    rng = np.random.default_rng(3)
    hardship = h * rng.random(400_000)
    simulated = (rules.grievance(hardship, legit) > t).mean()
    assert rules.unrepressed_active_share(h, legit, t) == pytest.approx(simulated, abs=0.003)


def test_protest_signal_is_log_participation_between_floor_and_ceiling():
    f, c = 1e-4, 0.035
    assert rules.protest_signal(0.0, f, c) == 0.0
    assert rules.protest_signal(f, f, c) == 0.0
    assert rules.protest_signal(c, f, c) == pytest.approx(1.0)
    assert rules.protest_signal(0.5, f, c) == 1.0
    # one decade of participation is the same step wherever it is
    lo, mid, hi = (rules.protest_signal(x, f, c) for x in (3e-4, 3e-3, 3e-2))
    assert mid - lo == pytest.approx(hi - mid)
    assert rules.participation_share(5_000, 1_000_000) == 0.005
    assert rules.participation_share(5_000, 0) == 0.0


# --- people per agent ----------------------------------------------------------------------------


def _two_regions(pop_protesting: float, pop_quiet: float, **protest) -> dict:
    return {
        "scenario": {"name": "two_regions"},
        "run": {"horizon": 20},
        "grid": {"width": 20, "height": 20},
        "protest": {"mobilisable_share": 0.1, **protest},
        "soldiers": {"can_defect": False},
        "elites": {"count": 0},
        "regions": [
            {"name": "hot", "capital": True, "population": pop_protesting, "legitimacy": 0.3},
            {"name": "calm", "population": pop_quiet, "legitimacy": 1.0},
        ],
    }


def _peak(doc: dict, seed: int = 1) -> tuple[float, dict]:
    m = RegimeModel(from_dict(doc), rng=seed, until_horizon=True)
    m.run()
    return max(m.datacollector.model_vars["participation"]), summarize(m, seed)


def test_regions_weigh_what_their_people_weigh():
    """Both regions have the same agents; only the protesting region's population differs."""
    big, s_big = _peak(_two_regions(9_000_000, 1_000_000))
    small, s_small = _peak(_two_regions(1_000_000, 9_000_000))
    # the protesting region holds 90 % vs 10 % of the people: participation differs ninefold
    assert big / small == pytest.approx(9.0, rel=0.05)
    for s in (s_big, s_small):
        part = s["participation"]
        assert part["denominator"] == 10_000_000
        assert part["mobilisable_people"] == pytest.approx(1_000_000)
        assert part["peak_people"] == pytest.approx(part["peak_share"] * 10_000_000)
        assert part["bin"] == participation_bin(part["peak_share"])


def test_participation_below_one_agent_per_region_is_a_share_not_zero():
    """A pool of 10 people over about 200 agents: each agent is a twentieth of a person."""
    doc = _two_regions(50, 50, mobilisable_share=0.1)
    peak, s = _peak(doc)
    assert 0 < s["participation"]["peak_people"] < 10
    assert peak == pytest.approx(s["participation"]["peak_people"] / 100)


def test_force_in_people_scales_counts_not_shares():
    a = RegimeModel("baseline", rng=4, overrides={"soldiers.force": 250_000.0})
    b = RegimeModel("baseline", rng=4)
    a.run(steps=5)
    b.run(steps=5)
    assert a.measure.soldier_people * a.initial_force == pytest.approx(250_000)
    assert a.stats == b.stats  # the force in people moves no share on its own
    sa = summarize(a, 4)
    assert sum(sa["soldiers_people"].values()) == pytest.approx(250_000)


# --- a stated peak -----------------------------------------------------------------------------


def test_a_stated_peak_sizes_the_pool_from_the_pilot_run():
    doc = _two_regions(4_000_000, 6_000_000)
    doc["protest"] = {"peak_share": 0.002}
    m = RegimeModel(from_dict(doc), rng=2)
    assert m.pilot_share is not None and 0 < m.pilot_share <= m.measure.ceiling_share
    expected = 0.002 * 10_000_000 / (m.pilot_share * 10_000_000)
    assert m.measure.mobilisable_share == pytest.approx(expected)
    # the pilot is this run's own world: the same seed gives the same pool
    again = RegimeModel(from_dict(doc), rng=2).measure
    assert again.pilot_share == m.pilot_share
    assert np.array_equal(again.protester_people, m.measure.protester_people)
    # soldiers cannot defect here, so the run is its pilot and the stated peak is met exactly
    m.run()
    assert max(m.datacollector.model_vars["participation"]) == pytest.approx(0.002)


def test_a_peak_no_one_would_reach_is_refused_with_the_field():
    doc = _two_regions(4_000_000, 6_000_000)
    doc["protest"] = {"peak_share": 0.45}
    with pytest.raises(ScenarioError, match=r"protest\.peak_share.*mobilisable"):
        RegimeModel(from_dict(doc), rng=1)
    calm = _two_regions(4_000_000, 6_000_000)
    calm["regions"][0]["legitimacy"] = 1.0
    calm["protest"] = {"peak_share": 0.001}
    problems = measurement.measurement_problems(from_dict(calm), "calm.toml")
    assert problems and "no one would ever protest" in problems[0]
    assert problems[0].startswith("calm.toml: field `protest.peak_share`")


@pytest.mark.slow
@pytest.mark.parametrize(
    "name", ["syria_2011", "soviet_1991", "east_germany_1989", "philippines_1986", "myanmar_2021"]
)
def test_bundled_cases_reproduce_their_stated_peak_within_a_factor_of_two(name):
    """Issue #10's measurement test: x2 of the stated peak in at least 90 % of runs.

    At the calibrated defaults (model version 8), every run, whatever its force does: runs go to
    the horizon (the NAVCO window), as the participation a case states is the peak of the
    campaign's year, and the defections and repression feed back on mobilisation. (Up to model
    version 7 the test kept only the runs whose force held, with a loyalty set for it: the
    uncalibrated and earlier calibrated models cascaded, and a cascade took the repression that
    holds protest down with it.)
    """
    sc = load(name)
    stated = sc.params["protest.peak_share"]
    ratios = []
    for seed in range(1, 13):
        m = RegimeModel(sc, rng=seed, until_horizon=True)
        m.run()
        ratios.append(max(m.datacollector.model_vars["participation"]) / stated)
    print(name, "peak / stated:", np.round(ratios, 2))  # noqa: T201 - read with -s (docs/ODD.md)
    inside = [0.5 <= r <= 2.0 for r in ratios]
    assert sum(inside) >= 0.9 * len(ratios), f"{name}: peak / stated = {np.round(ratios, 2)}"


# --- outcome states ----------------------------------------------------------------------------


def test_elite_majority_is_a_transition_and_counts_as_success():
    assert outputs.OUTCOME_RULES[outputs.RULE_ELITE_MAJORITY] == outputs.TRANSITION
    assert outputs.OUTCOME_RULES[outputs.RULE_COUP] == outputs.TRANSITION
    assert outputs.OUTCOME_RULES[outputs.RULE_LOYAL_FORCE] == outputs.COLLAPSE
    assert outputs.navco_success(outputs.TRANSITION, 100)
    assert not outputs.navco_success(outputs.SPLIT, 100)
    # elites disloyal enough that one defects (at model version 6's defaults none does in 60 days)
    m = RegimeModel(
        "baseline", rng=1, overrides={"outcome.elite_majority": 0.0, "elites.loyalty": -2.0}
    )
    m.run(steps=60)
    assert (m.outcome, m.outcome_rule) == (outputs.TRANSITION, outputs.RULE_ELITE_MAJORITY)
    assert m.running is False  # a transition ends the run, like a collapse


def test_a_split_is_a_state_read_at_the_end_not_a_stop():
    sc = load(
        "syria_2011",
        overrides={
            "run.horizon": 120,
            "outcome.split_defected": 0.01,
            "outcome.split_days": 10,
            "outcome.k_days": 365,
            "elites.count": 0,
        },
    )
    m = RegimeModel(sc, rng=1)
    m.run()
    assert m.day == 120, "a split must not stop the run"
    assert m.outcome in (outputs.SPLIT, outputs.SURVIVAL)
    held = [d for d, text in m.log if text.startswith("armed split")]
    if m.outcome == outputs.SPLIT:
        assert m.outcome_rule == outputs.RULE_SPLIT
        assert held and m.outcome_day == held[0]
        assert m.split_days >= 10
    else:
        assert m.split_days < 10


def test_a_pilot_is_run_once_per_scenario_and_seed(monkeypatch):
    from defection.model import regime

    monkeypatch.setattr(regime, "_PILOTS", {})
    calls = []
    real = regime.RegimeModel.run

    def counting(self, *args, **kwargs):
        calls.append(self.p["soldiers.can_defect"])
        return real(self, *args, **kwargs)

    monkeypatch.setattr(regime.RegimeModel, "run", counting)
    doc = _two_regions(4_000_000, 6_000_000)
    doc["protest"] = {"peak_share": 0.002}
    doc["run"] = {"horizon": 10}
    a = RegimeModel(from_dict(doc), rng=5)
    b = RegimeModel(from_dict(doc), rng=5)
    c = RegimeModel(from_dict(doc), rng=6)
    assert calls == [False, False]  # one pilot per seed, none for the second build of seed 5
    assert a.pilot_share == b.pilot_share and len(regime._PILOTS) == 2
    assert c.pilot_share is not None


def _random_values(names, rng) -> dict:
    """A value inside its registry range for each parameter (booleans either way)."""
    from defection.model.params import BY_NAME

    out = {}
    for name in names:
        p = BY_NAME[name]
        if p.type == "bool":
            out[name] = bool(rng.random() < 0.5)
            continue
        lo = p.lo if p.lo is not None else 0.0
        hi = p.hi if p.hi is not None else lo + 5.0
        out[name] = int(rng.integers(lo, hi + 1)) if p.type == "int" else float(rng.uniform(lo, hi))
    return out


@pytest.mark.parametrize("seed", [1, 2])
def test_a_pilot_reads_none_of_the_parameters_it_ignores(seed):
    """PILOT_IGNORES: every one of them changed at once leaves the pilot's days bit for bit.

    ``syria_2011`` has what could leak into the crowd: police, guards, conscripts, an identity
    core, pay and repression events; an armed share of the crowd lets ``belief.w_armed`` act on
    the signal. If any parameter of the list reached the protesters, the series (and so the
    stated peak's scale) would differ.
    """
    sc = load("syria_2011").with_overrides({"run.horizon": 40, "opposition.violent_share": 0.3})
    rng = np.random.default_rng(seed)
    changed = sc.with_overrides(_random_values(measurement.PILOT_IGNORES, rng))

    def days(s):
        m = RegimeModel(s.with_overrides(measurement.PILOT_OVERRIDES), rng=seed, until_horizon=True)
        m.run()
        v = m.datacollector.model_vars
        return v["active_protesters"], v["arrests"]

    assert days(changed) == days(sc)
    assert measurement.pilot_scenario(changed).hash == measurement.pilot_scenario(sc).hash


def test_runs_that_differ_only_in_ignored_parameters_share_a_pilot(monkeypatch):
    from defection.model import regime

    monkeypatch.setattr(regime, "_PILOTS", {})
    doc = _two_regions(4_000_000, 6_000_000)
    doc["protest"] = {"peak_share": 0.002}
    doc["run"] = {"horizon": 10}
    base = from_dict(doc)
    a = RegimeModel(base.with_overrides({"soldiers.threshold": 1.0, "belief.memory": 0.2}), rng=5)
    b = RegimeModel(base.with_overrides({"soldiers.threshold": 4.0, "elites.loyalty": 3.0}), rng=5)
    assert len(regime._PILOTS) == 1 and a.pilot_share == b.pilot_share
    RegimeModel(base.with_overrides({"protest.threshold": 0.2}), rng=5)  # the crowd's rule
    assert len(regime._PILOTS) == 2
