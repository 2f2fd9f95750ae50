"""Measurement model (docs/ODD.md, "measurement"): how many people each agent stands for.

Agents are a sample. Every region's grid holds about the same number of protester agents whatever
its population, so each protester agent in region ``r`` stands for

    w_r = m * N_r / P_r   people,

where ``N_r`` is the region's population (``regions.population``), ``P_r`` its protester agents
and ``m`` the mobilisable share: the part of the population that could join a protest, which the
protester agents sample. National protest figures are sums over regions in people, so Estonia
weighs what its population weighs, and participation below one agent in a region still shows as
a share. Soldier agents stand for ``F / S`` people each, ``F`` being the force in people
(``soldiers.force``; when it is 0, :data:`DEFAULT_FORCE_SHARE` of the population).

When a scenario states the peak participation it models (``protest.peak_share``, NAVCO's
measure: peak participants over the population of ``protest.denominator``), the mobilisable share
is derived from it instead of read:

    m = p* D / (a_0 * sum_r N_r),

with ``a_0`` the peak share of the pool active in a **pilot**: the same run (same seed, so the
same people in the same places, the same events) with the soldiers and elites held loyal
(``soldiers.can_defect = false``, no elites). Protesters' decisions do not depend on ``m``, so the
pilot's peak is what the protest reaches against a regime that holds, and the run itself differs
from it only by the feedback of defections, shirking and backfire on mobilisation: the stated peak
is the scale, and the model's dynamics move the realised peak around it
(``tests/test_measurement.py``). A stated peak costs one pilot run more. Before any run,
:func:`measurement_problems` checks the necessary condition with ``a_hat``, the share active when
no one can be arrested (:func:`~defection.model.rules.unrepressed_active_share`), which bounds
``a_0`` from above.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from defection.model import rules
from defection.model.params import BY_NAME
from defection.model.scenario import Scenario, ScenarioError


@dataclass(frozen=True)
class Measurement:
    """People per agent and the population shares are taken of.

    Attributes:
        protester_people: People one protester agent stands for, per region (``w_r``).
        soldier_people: People one soldier agent stands for (``F / S``).
        denominator: Population participation shares are taken of (people).
        mobilisable_share: ``m``, read or derived from the stated peak.
        ceiling_share: ``a_hat``, the active share the grievance rule allows without arrests.
        pilot_share: ``a_0``, the pilot's peak active share of the pool (``None``: no stated
            peak, no pilot).
    """

    protester_people: NDArray[np.float64]
    soldier_people: float
    denominator: float
    mobilisable_share: float
    ceiling_share: float
    pilot_share: float | None = None


#: Force under arms, as a share of the population, when a scenario does not give
#: ``soldiers.force``: 0.5 %, inside the usual range of military participation ratios (0.2-1 %).
DEFAULT_FORCE_SHARE = 0.005

#: Overrides that turn a run into its pilot: soldiers and elites held loyal, no stated peak.
PILOT_OVERRIDES = {"protest.peak_share": 0.0, "soldiers.can_defect": False, "elites.count": 0}

#: Parameters a pilot never reads. With ``soldiers.can_defect`` off and no elites, nothing reads
#: the soldiers' decision terms (``soldiers.decide`` is skipped), the beliefs and the public
#: signal (read only by that decision), the elites' parameters, or the loyalty and threshold
#: values drawn at build time (the same draws are made whatever the values: ``building``). The
#: pilot sets them to their registry defaults, so runs that differ only in them (a calibration
#: sample's draws, a lever's values) share one pilot per seed and process (:func:`pilot_scenario`;
#: ``tests/test_measurement.py`` changes all of them at once and checks the pilot bit for bit).
#: Not here, because the pilot reads them: protest.* (but for the signal's floor and ceiling,
#: read only for beliefs), grid.*, soldiers.vision, duty and
#: deployment (regime.repression, regime.selective_deployment, police.duty_first), placement
#: and units (soldiers.guard_share, soldiers.rotation, soldiers.ethnic_stacking, sizes and
#: shares), soldiers.threshold_dist (another draw), regime.lethality and
#: opposition.violent_share (the crowd's rules), outcome.* and support.regime_troops.
PILOT_IGNORES: tuple[str, ...] = (
    "opposition.amnesty",
    "opposition.defector_value",
    "opposition.officer_reward_factor",
    "opposition.fight_risk",
    "opposition.w_support",
    "soldiers.pay",
    "soldiers.officer_bonus",
    "soldiers.nco_bonus_share",
    "soldiers.arrears",
    "soldiers.w_pay",
    "soldiers.business_stake",
    "soldiers.loyalty",
    "soldiers.loyalty_sd",
    "soldiers.core_loyalty",
    "soldiers.core_tied_fate",
    "soldiers.indoctrination",
    "soldiers.moral_cost",
    "soldiers.conscience_sd",
    "soldiers.crowd_scale",
    "soldiers.shared_identity",
    "soldiers.home_region",
    "soldiers.lethality_weight",
    "soldiers.nonviolence_weight",
    "soldiers.surveillance",
    "soldiers.punishment",
    "soldiers.family_reprisal",
    "soldiers.safety_in_numbers",
    "soldiers.peer_weight",
    "soldiers.threshold",
    "soldiers.threshold_sd",
    "soldiers.choice_noise",
    "soldiers.exit_barrier",
    "soldiers.desert_punishment",
    "soldiers.guard_loyalty",
    "soldiers.guard_resentment",
    "soldiers.purge_rate",
    "soldiers.follow_commander",
    "soldiers.follower_detection",
    "soldiers.w_legitimacy",
    "soldiers.legitimacy_desert_share",
    "soldiers.conscript_exit",
    "soldiers.conscript_loyalty",
    "soldiers.conscript_pay",
    "police.loyalty",
    "belief.intercept",
    "belief.w_protest",
    "belief.w_defect",
    "belief.w_elite",
    "belief.w_messaging",
    "belief.w_neighbours",
    "belief.memory",
    "belief.w_support",
    "belief.w_armed",
    "protest.signal_floor",
    "protest.signal_ceiling",
    "regime.messaging",
    "regime.information_control",
    "support.regime_money",
    "support.opposition",
    "elites.rents",
    "elites.purge_risk",
    "elites.loyalty",
    "elites.loyalty_sd",
    "elites.softline_share",
    "elites.softline_gap",
    "elites.outside_option",
    "elites.peer_weight",
    "elites.steady_start",
    "elites.steady_margin",
    "elites.choice_noise",
    "elites.clients",
    "elites.client_follow",
    "elites.plots",
    "elites.plot_signal",
    "elites.plot_quorum",
    "elites.plot_protest_gain",
    "regime.party_removal",
    # the concession decides an outcome and nothing else (its own stream; a pilot runs to its
    # horizon whatever the outcome), and the armed threat is read by elites only
    "regime.concession_nonviolent",
    "regime.concession_violent",
    "regime.concession_elasticity",
    "regime.concession_defection",
    "elites.armed_threat",
)


def pilot_scenario(scenario: Scenario) -> Scenario:
    """The scenario of a run's pilot.

    :data:`PILOT_OVERRIDES` applied, and every parameter of :data:`PILOT_IGNORES` at its registry
    default: the pilot's days do not change, and runs that differ only in those share its hash.
    The pilot runs at least to the end of the crowd's build-up (``protest.buildup_days``), the
    day of the case's peak: a run whose horizon ends earlier gets the pool of a run to that day
    (sized to reach the stated peak by then) and stops before it (without this, a short run of a
    case that builds up could not size its pool at all).
    """
    pinned = {name: BY_NAME[name].default for name in PILOT_IGNORES}
    return scenario.with_overrides({**pinned, **pilot_overrides(scenario)}, origin="pilot")


def pilot_overrides(scenario: Scenario) -> dict[str, Any]:
    """:data:`PILOT_OVERRIDES`, and a horizon of at least ``protest.buildup_days`` days."""
    p = scenario.params
    days = max(int(p["run.horizon"]), int(p["protest.buildup_days"]))
    horizon = {} if days == p["run.horizon"] else {"run.horizon": days}
    return {**PILOT_OVERRIDES, **horizon}


def ceiling_share(scenario: Scenario) -> float:
    """``a_hat``: population-weighted active share without arrest risk, over regions and groups."""
    p = scenario.params
    pop = np.array([r["population"] for r in scenario.regions], dtype=float)
    if pop.sum() <= 0:
        return 0.0
    shift = np.array([g["legitimacy_shift"] for g in scenario.groups], dtype=float)
    total = 0.0
    for r, n in zip(scenario.regions, pop, strict=True):
        mix = np.array([r["groups"][g["name"]] for g in scenario.groups], dtype=float)
        mix = mix / mix.sum() if mix.sum() > 0 else np.full(mix.size, 1.0 / mix.size)
        legit = np.clip(r["legitimacy"] + shift, 0.0, 1.0)
        share = rules.unrepressed_active_share(r["hardship"], legit, p["protest.threshold"])
        total += n * float(mix @ share)
    return total / pop.sum()


def measurement_problems(scenario: Scenario, origin: str) -> list[str]:
    """Reasons the stated peak cannot be sized (empty when it can, or when none is stated)."""
    p = scenario.params
    stated = p["protest.peak_share"]
    if stated <= 0:
        return []
    pop = sum(r["population"] for r in scenario.regions)
    if pop <= 0:
        return [f"{origin}: field `regions`: protest.peak_share is stated but no region has people"]
    a_hat = ceiling_share(scenario)
    if a_hat <= 0:
        return [
            f"{origin}: field `protest.peak_share`: a peak of {stated:g} is stated, but at the "
            "scenario's legitimacy and hardship no protester's grievance exceeds "
            "protest.threshold, so no one would ever protest"
        ]
    denominator = p["protest.denominator"] or pop
    m = stated * denominator / (a_hat * pop)
    if m > 1:
        return [
            f"{origin}: field `protest.peak_share`: a peak of {stated:g} of {denominator:,.0f} "
            f"people needs {m:.2f} of the population mobilisable (at most 1): the grievance rule "
            f"lets at most {a_hat:.1%} of protesters act; lower legitimacy or raise hardship"
        ]
    return []


def mobilisable_from_peak(scenario: Scenario, pilot_share: float, origin: str) -> float:
    """``m = p* D / (a_0 sum_r N_r)`` from the pilot's peak share ``a_0``.

    Raises:
        ScenarioError: The pilot never mobilised anyone, or the stated peak needs more than the
            whole population.
    """
    p = scenario.params
    pop = sum(r["population"] for r in scenario.regions)
    stated = p["protest.peak_share"]
    denominator = p["protest.denominator"] or pop
    if pilot_share <= 0:
        raise ScenarioError(
            [
                f"{origin}: field `protest.peak_share`: a peak of {stated:g} is stated, but with "
                "this seed no protester was ever active against a loyal regime (pilot run)"
            ]
        )
    m = stated * denominator / (pilot_share * pop)
    if m > 1:
        raise ScenarioError(
            [
                f"{origin}: field `protest.peak_share`: a peak of {stated:g} needs {m:.2f} of the "
                f"population mobilisable (at most 1): at most {pilot_share:.1%} of the pool "
                "protested in the pilot run; lower legitimacy or raise hardship"
            ]
        )
    return m


def measure(
    scenario: Scenario,
    protesters_per_region: NDArray[np.int64],
    soldier_agents: int,
    pilot_share: float | None = None,
    origin: str = "scenario",
) -> Measurement:
    """People per agent for a built model (call after :func:`measurement_problems` is empty).

    Args:
        scenario: The scenario.
        protesters_per_region: Protester agents per region.
        soldier_agents: Soldier agents (the initial force, guards included).
        pilot_share: The pilot's peak active share of the pool when a peak is stated.
        origin: File or scenario name for error messages.
    """
    p = scenario.params
    pop = np.array([r["population"] for r in scenario.regions], dtype=float)
    denominator = float(p["protest.denominator"] or pop.sum())
    a_hat = ceiling_share(scenario)
    if pilot_share is not None:
        m = mobilisable_from_peak(scenario, pilot_share, origin)
    else:
        m = p["protest.mobilisable_share"]
    agents = np.asarray(protesters_per_region, dtype=float)
    w = np.divide(m * pop, agents, out=np.zeros_like(pop), where=agents > 0)
    force = p["soldiers.force"]
    if force <= 0:
        force = DEFAULT_FORCE_SHARE * pop.sum()
    per_soldier = force / soldier_agents if soldier_agents else 0.0
    return Measurement(w, float(per_soldier), denominator, float(m), a_hat, pilot_share)
