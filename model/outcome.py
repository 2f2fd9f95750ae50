"""Outcome (ODD section 7.7): when the regime has collapsed, split or survived.

Rules are checked in order each day until one decides: the elite majority has defected; the loyal
force has stayed below the opposition for ``outcome.k_days``; armed defectors and a loyal core
have coexisted for ``outcome.split_days``; otherwise ``survival`` at the horizon. A successful coup
decides ``collapse`` when it happens (:func:`defection.model.events.coup`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from defection.model import outputs, rules
from defection.model.rules import ACTIVE, DEFECTED, LOYAL

if TYPE_CHECKING:
    from defection.model.regime import RegimeModel


def check(m: RegimeModel) -> None:
    """Apply the outcome rules after today's processes, log notable moments, stop the run."""
    p, st, s = m.p, m.stats, m.soldiers
    if m.outcome is None:
        loyal = s.state == LOYAL
        force = rules.loyal_force(
            float((loyal & ~s.guard).sum()),
            float((loyal & s.guard).sum()),
            p["outcome.guard_weight"],
        )
        opp = rules.opposition_strength(
            float((m.protesters.state == ACTIVE).sum()),
            float((s.state == DEFECTED).sum()),
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
        if m.elites.state.size and st["elites_defected"] > p["outcome.elite_majority"]:
            decide(m, outputs.COLLAPSE, outputs.RULE_ELITE_MAJORITY)
        elif m.collapse_days >= p["outcome.k_days"]:
            decide(m, outputs.COLLAPSE, outputs.RULE_LOYAL_FORCE)
        elif m.split_days >= p["outcome.split_days"]:
            decide(m, outputs.SPLIT, outputs.RULE_SPLIT)
    had = m.region_had_defection()
    for r in np.flatnonzero(had & ~m.first_region_defection):
        m.log.append((m.day, f"first defection in {m.region_names[r]}"))
    m.first_region_defection |= had
    if m.day >= p["run.horizon"]:
        if m.outcome is None:
            decide(m, outputs.SURVIVAL, outputs.RULE_HORIZON)
        m.running = False
    elif m.outcome is not None and not m.until_horizon:
        m.running = False


def decide(m: RegimeModel, outcome: str, rule: str) -> None:
    """Record the outcome, its day and its rule (the first decision stands)."""
    if m.outcome is None:
        m.outcome, m.outcome_day, m.outcome_rule = outcome, m.day, rule
        m.log.append((m.day, f"outcome: {outcome} ({rule})"))
