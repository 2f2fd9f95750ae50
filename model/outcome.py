"""Outcome (ODD section 7.7): whether the regime fell, split or survived (docs/MEASUREMENT.md).

Three rules end the regime, checked in order each day until one decides: the elite majority has
defected (``transition``), the loyal force has stayed below the opposition for
``outcome.k_days`` (``collapse``), or the ruler concedes to the campaign (``transition`` by
``concession``: a daily chance that grows with participation, :func:`concedes`; off while both
concession rates are 0). A successful coup decides ``transition`` when it happens
(:func:`defection.model.events.coup`). A split is a state, not an end: armed defectors and a
loyal core coexisting is tracked daily, and the run continues (the regime may still fall); at the
horizon a run is ``split`` when that state has held for the last ``outcome.split_days`` days, and
``survival`` otherwise.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from defection.model import outputs, rules, signals
from defection.model.rules import ACTIVE, DEFECTED, LOYAL

if TYPE_CHECKING:
    from defection.model.regime import RegimeModel


def check(m: RegimeModel) -> None:
    """Apply the outcome rules after today's processes, log notable moments, stop the run."""
    p, st, s = m.p, m.stats, m.soldiers
    if m.outcome is None:
        # both sides in people (docs/ODD.md, measurement): agents times the people they stand for
        loyal, w = s.state == LOYAL, m.measure.soldier_people
        # loyal army and police, weighted guards, and foreign troops (never defecting)
        force = rules.loyal_force(
            w * float((loyal & ~s.guard).sum()),
            w * float((loyal & s.guard).sum()),
            p["outcome.guard_weight"],
            p["support.regime_troops"] * w * m.initial_force,
        )
        opp = rules.opposition_strength(
            float(m.protester_people[m.protesters.state == ACTIVE].sum()),
            w * float((s.state == DEFECTED).sum()),
            p["outcome.protester_weight"],
            p["outcome.defector_weight"],
        )
        m.collapse_days = m.collapse_days + 1 if force < opp else 0
        in_core = st["soldiers_loyal"] + st["soldiers_shirking"]
        split = (
            st["soldiers_defected"] >= p["outcome.split_defected"] > 0
            and in_core >= p["outcome.split_loyal"]
        )
        m.split_days = m.split_days + 1 if split else 0
        if m.split_days == p["outcome.split_days"]:
            m.log.append((m.day, f"armed split: has held for {m.split_days} days"))
        if m.elites.state.size and st["elites_defected"] > p["outcome.elite_majority"]:
            decide(m, outputs.TRANSITION, outputs.RULE_ELITE_MAJORITY)
        elif m.collapse_days >= p["outcome.k_days"]:
            decide(m, outputs.COLLAPSE, outputs.RULE_LOYAL_FORCE)
        elif concedes(m):
            decide(m, outputs.TRANSITION, outputs.RULE_CONCESSION)
    had = m.region_had_defection()
    for r in np.flatnonzero(had & ~m.first_region_defection):
        m.log.append((m.day, f"first defection in {m.region_names[r]}"))
    m.first_region_defection |= had
    if m.day >= p["run.horizon"]:
        if m.outcome is None and m.split_days >= p["outcome.split_days"]:
            # the day the split had first held for split_days days, read at the end
            onset = m.day - m.split_days + p["outcome.split_days"]
            decide(m, outputs.SPLIT, outputs.RULE_SPLIT, onset)
        elif m.outcome is None:
            decide(m, outputs.SURVIVAL, outputs.RULE_HORIZON)
        m.running = False
    elif m.outcome is not None and not m.until_horizon:
        m.running = False


def concedes(m: RegimeModel) -> bool:
    """Whether the ruler concedes today (:func:`~defection.model.rules.concession_hazard`).

    Read from today's participation, the armed share of the active and the share of the initial
    force that has defected (``regime.concession_defection``); one uniform draw from the
    ``concession`` stream each undecided day on which either concession rate is above 0 (none
    otherwise, so with both rates 0 the run is the one without the rule, and two settings
    of the rates draw the same numbers on one seed).
    """
    p = m.p
    nv, v = p["regime.concession_nonviolent"], p["regime.concession_violent"]
    if nv <= 0 and v <= 0:
        return False
    hazard = rules.concession_hazard(
        m.stats["participation"],
        signals.active_armed_share(m),
        nv,
        v,
        p["regime.concession_elasticity"],
        defected_share=m.stats["soldiers_defected"],
        defection_gain=p["regime.concession_defection"],
    )
    return bool(m.streams["concession"].random() < hazard)


def decide(m: RegimeModel, outcome: str, rule: str, day: int | None = None) -> None:
    """Record the outcome, its day (today unless given) and its rule (the first decision stands)."""
    if m.outcome is None:
        m.outcome, m.outcome_rule = outcome, rule
        m.outcome_day = m.day if day is None else day
        m.log.append((m.day, f"outcome: {outcome} ({rule})"))
