"""Elites (ODD section 7.5): break with a regime that looks doomed, or plot against its ruler."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from defection.model import outcome, outputs, rules, signals, soldiers
from defection.model.rules import (
    DEFECTED,
    DETAINED,
    ELITE_DEFECTED,
    ELITE_LOYAL,
    ELITE_PURGED,
    LOYAL,
    SHIRKING,
)

if TYPE_CHECKING:
    from defection.model.regime import RegimeModel


def calm_floor(m: RegimeModel) -> float:
    """The calm-time indifference point ``L*`` of the model's elites (``rules.calm_loyalty_floor``).

    Read at the belief ``max(0, b0 - elites.steady_margin)``, ``b0`` the initial public belief
    (:func:`~defection.model.signals.initial_belief`), and the model's rents, purge risk,
    outside option and amnesty: the floor of the elites' loyalty under ``elites.steady_start``.
    With a margin of 0 the floor is the indifference point at ``b0`` itself, and an elite drawn
    just above it breaks at the first small fall of the belief; with a margin ``d`` every elite
    stays until the belief has fallen by ``d`` (with no elite defected yet), as the inner circle
    of a regime that has weathered ordinary bad news would (Svolik 2012, ch. 3 and 4).
    """
    p = m.p
    return rules.calm_loyalty_floor(
        max(0.0, signals.initial_belief(m) - p["elites.steady_margin"]),
        p["elites.rents"],
        p["elites.purge_risk"],
        p["elites.outside_option"],
        p["opposition.amnesty"],
    )


def decide(m: RegimeModel, rng: np.random.Generator) -> None:
    """Each loyal elite defects when :func:`~defection.model.rules.elite_defect_gain` >= 0.

    With ``elites.choice_noise`` ``tau > 0`` the choice is a daily binary logit instead: an elite
    defects with chance ``logistic(gain / tau)`` (random utility, McFadden 1974), which is the
    threshold rule as ``tau`` goes to 0. Under an armed opposition the exit is worth less
    (``elites.armed_threat``, :func:`~defection.model.rules.armed_exit_factor`). With
    ``elites.plots`` on, in a regime whose ruling party's rules let its inner circle remove the
    leader (``regime.party_removal``), a plot comes first: the loyal elites for whom the
    insiders' signal (``m.plot_signal``: the public signal with the crowd weighted by
    ``elites.plot_protest_gain``) has reached their plot threshold
    (:func:`~defection.model.rules.plot_ready`) are ready, and when they reach the quorum
    (:func:`~defection.model.rules.plot_tried`) they remove the ruler by their vote
    (:func:`vote_out`). No plot is tried once the outcome is decided. Plots by force (a coup of
    the plotters' client companies) are not modelled yet: at the agent counts of the
    measurement model one insider's client companies can outgun the capital's loyal force, so
    such coups would win within days of any crisis (docs/CALIBRATION.md, "Insiders' plots").
    """
    e, p = m.elites, m.p
    loyal = np.flatnonzero(e.state == ELITE_LOYAL)
    if loyal.size == 0:
        return
    gain = rules.elite_defect_gain(
        m.belief_public,
        p["elites.rents"],
        p["elites.purge_risk"],
        e.loyalty[loyal],
        p["elites.outside_option"],
        p["opposition.amnesty"],
        m.stats["elites_defected"],
        p["elites.peer_weight"],
        signals.active_armed_share(m) if p["elites.armed_threat"] > 0 else 0.0,
        p["elites.armed_threat"],
    )
    if p["elites.plots"] and p["regime.party_removal"] and m.outcome is None:
        ready = loyal[
            rules.plot_ready(
                m.plot_signal, p["elites.plot_signal"], e.loyalty[loyal] - m.elite_floor
            )
        ]
        if rules.plot_tried(ready.size, loyal.size, p["elites.plot_quorum"]):
            vote_out(m, ready)
            return
    noise = p["elites.choice_noise"]
    if noise > 0:  # random utility: a daily logit choice (draws only when switched on)
        go = rng.random(loyal.size) < rules.logistic(gain / noise)
    else:
        go = gain >= 0
    defect(m, loyal[go], rng)


def defect(m: RegimeModel, who: NDArray[np.int64], rng: np.random.Generator) -> None:
    """Public defection of elites ``who``; each client commander follows with a probability."""
    if who.size == 0:
        return
    e, s = m.elites, m.soldiers
    e.state[who] = ELITE_DEFECTED
    m.log.append((m.day, f"{who.size} elite(s) defected publicly"))
    cl = e.clients[who].ravel()
    cl = np.unique(cl[cl >= 0])
    go = cl[(rng.random(cl.size) < m.p["elites.client_follow"])]
    go = go[(s.state[go] == LOYAL) | (s.state[go] == SHIRKING)]
    s.state[go] = DEFECTED
    soldiers.leave_grid(m, go)


def coup_forces(
    m: RegimeModel, faction: NDArray[np.int64]
) -> tuple[float, float, NDArray[np.int64], NDArray[np.bool_]]:
    """The two sides of a coup by the elites ``faction``, in agents.

    Returns ``(coup force, loyal centre force, the faction's client commanders, in force)``:
    the in-force soldiers of the faction's client companies stationed in the capital, and the
    loyal soldiers at the centre outside them (guards weighted by ``outcome.guard_weight``).
    """
    e, s, u = m.elites, m.soldiers, m.units
    commanders = e.clients[faction].ravel()
    commanders = commanders[commanders >= 0]
    in_force = (s.state == LOYAL) | (s.state == SHIRKING)
    coup_cos = np.zeros(u.company_size.size, dtype=bool)
    coup_cos[u.company[commanders]] = True
    # only units stationed at the centre can seize it
    plotters = in_force & coup_cos[u.company] & (s.region == m.capital)
    at_centre = (s.state == LOYAL) & (s.region == m.capital) & ~plotters
    centre = rules.loyal_force(
        float((at_centre & ~s.guard).sum()),
        float((at_centre & s.guard).sum()),
        m.p["outcome.guard_weight"],
    )
    return float(plotters.sum()), centre, commanders, in_force


def vote_out(m: RegimeModel, plotters: NDArray[np.int64]) -> None:
    """Insiders ``plotters`` remove the ruler by their vote: a ``transition`` by ``palace_vote``.

    A palace change where the ruling party's rules allow it (``regime.party_removal``): no
    troops, no purge (Geddes, Wright & Frantz 2018, How Dictatorships Work).
    """
    outcome.decide(m, outputs.TRANSITION, outputs.RULE_PALACE)
    m.log.append((m.day, f"ruler removed by a vote of {plotters.size} insider(s)"))


def attempt(m: RegimeModel, faction: NDArray[np.int64], legitimacy_cost: float) -> bool:
    """The elites ``faction`` try to seize the centre by force; returns whether they succeeded.

    The plotters are the in-force soldiers of the faction's client companies stationed in the
    capital, against the loyal soldiers at the centre (guards weighted by
    ``outcome.guard_weight``; :func:`coup_forces`); :func:`~defection.model.rules.coup_succeeds`
    decides. Success decides the outcome (``transition`` by ``coup``); failure purges the
    faction, detains its commanders and costs the regime ``legitimacy_cost``, and the purged
    plotters count in the public signal as elites who broke with the ruler
    (:func:`~defection.model.rules.public_break_share`).
    """
    e, s = m.elites, m.soldiers
    coup_force, centre, commanders, in_force = coup_forces(m, faction)
    if rules.coup_succeeds(coup_force, centre):
        outcome.decide(m, outputs.TRANSITION, outputs.RULE_COUP)
        m.log.append((m.day, f"coup succeeded ({coup_force:.0f} vs {centre:.0f} agents)"))
        return True
    e.state[faction] = ELITE_PURGED
    s.state[commanders[in_force[commanders]]] = DETAINED
    soldiers.leave_grid(m, commanders)
    m.legitimacy = np.clip(m.legitimacy - legitimacy_cost, 0.0, 1.0)
    m.log.append((m.day, f"coup failed ({coup_force:.0f} vs {centre:.0f} agents)"))
    return False
