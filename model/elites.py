"""Elites (ODD section 7.5): break with a regime that looks doomed, taking client commanders."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from defection.model import rules, signals, soldiers
from defection.model.rules import DEFECTED, ELITE_DEFECTED, ELITE_LOYAL, LOYAL, SHIRKING

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
    threshold rule as ``tau`` goes to 0.
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
    )
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
