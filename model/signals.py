"""Signals and beliefs (ODD section 7.3): the public signal and beliefs in regime survival."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from defection.model import rules, soldier_rules
from defection.model.rules import ACTIVE, DEFECTED, DESERTED

if TYPE_CHECKING:
    from defection.model.regime import RegimeModel


def intercept(m: RegimeModel) -> float:
    """The belief's intercept today: ``belief.intercept`` plus an outside patron's confidence.

    The patron's term is :func:`~defection.model.soldier_rules.patron_confidence`, 0 unless
    ``belief.w_support`` > 0.
    """
    p = m.p
    return p["belief.intercept"] + soldier_rules.patron_confidence(
        p["belief.w_support"], p["support.regime_money"], p["support.regime_troops"]
    )


def initial_belief(m: RegimeModel) -> float:
    """The public belief before day 1: messaging (and an outside patron) only, no signal yet."""
    p = m.p
    return float(
        rules.belief_survival(
            intercept(m), p["regime.messaging"], p["belief.w_messaging"], 0.0, 0.0, 0.0
        )
    )


def armed_share(m: RegimeModel) -> float:
    """Share of the active protesters' people who use violent tactics, for the protest signal.

    0 when ``belief.w_armed`` is 0 (the share cannot act on the signal then), else
    :func:`active_armed_share`.
    """
    if m.p["belief.w_armed"] <= 0:
        return 0.0
    return active_armed_share(m)


def active_armed_share(m: RegimeModel) -> float:
    """Share of the active protesters' people who use violent tactics (0 with no actives)."""
    pr = m.protesters
    active = pr.state == ACTIVE
    people = float(m.protester_people[active].sum())
    if people <= 0:
        return 0.0
    armed = active & (pr.tactic_draw < m.p["opposition.violent_share"])
    return float(m.protester_people[armed].sum()) / people


def update(m: RegimeModel) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Update the public signal (a moving average) and every soldier's belief.

    The raw signal is yesterday's protest signal (from the participation share, on a log scale,
    armed participants weighted by ``belief.w_armed``: :func:`armed_share`),
    left-the-force share and the share of elites who broke with the ruler in public (defected,
    or purged after a failed coup: :func:`~defection.model.rules.public_break_share`), damped by
    information control; ``m.signal`` keeps ``belief.memory`` of its old value.
    ``m.plot_signal``, the signal insiders plot on (read only with ``elites.plots``), is the
    same moving average with the crowd weighted by
    :func:`~defection.model.rules.insider_protest_weight`.
    ``m.belief_public`` is the belief without network neighbours; each soldier's belief also
    weighs the share of his neighbours who left.

    Returns:
        ``(n_left, belief)``: per soldier, the share of neighbours who left, and his belief.
    """
    p, s = m.p, m.soldiers
    participation = rules.threat_participation(
        m.stats["participation"], armed_share(m), p["belief.w_armed"]
    )
    protest = rules.protest_signal(
        participation, p["protest.signal_floor"], p["protest.signal_ceiling"]
    )
    left_share = m.stats["soldiers_deserted"] + m.stats["soldiers_defected"]
    breaks = rules.public_break_share(m.elites.state)
    weights = (p["belief.w_defect"], p["belief.w_elite"], p["regime.information_control"])
    raw = rules.public_signal(protest, left_share, breaks, p["belief.w_protest"], *weights)
    mem = p["belief.memory"]
    m.signal = mem * m.signal + (1.0 - mem) * raw
    # the insiders' own reading of the crowd, read only by plots (kept every day, so a switch
    # of elites.plots during a run finds it current)
    w_i = rules.insider_protest_weight(p["belief.w_protest"], p["elites.plot_protest_gain"])
    raw_i = rules.public_signal(protest, left_share, breaks, w_i, *weights)
    m.plot_signal = mem * m.plot_signal + (1.0 - mem) * raw_i
    left = (s.state == DEFECTED) | (s.state == DESERTED)
    n_left = soldier_rules.peer_share(m.units.adjacency, left, m.units.degree)
    args = (intercept(m), p["regime.messaging"], p["belief.w_messaging"], m.signal)
    m.belief_public = float(rules.belief_survival(*args, 0.0, 0.0))
    s.belief = rules.belief_survival(*args, n_left, p["belief.w_neighbours"])
    return n_left, s.belief
