"""Observation (ODD section 3, item 7): daily statistics, series and per-region moments."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from defection.model import outputs, rules
from defection.model.rules import (
    ACTIVE,
    DEFECTED,
    DESERTED,
    DETAINED,
    ELITE_DEFECTED,
    JAILED,
    LOYAL,
    PROTESTER_STATES,
    SHIRKING,
    SOLDIER_STATES,
)

if TYPE_CHECKING:
    from defection.model.regime import RegimeModel

SERIES = outputs.SERIES


def update_stats(m: RegimeModel) -> None:
    """Compute today's statistics into ``m.stats`` and append today's group counts."""
    s, pr = m.soldiers, m.protesters
    S0 = max(m.initial_force, 1)
    sc = np.bincount(s.state, minlength=len(SOLDIER_STATES)) / S0
    # protester shares are of the mobilisable pool in people (regions weighted by their people)
    people = np.bincount(pr.state, weights=m.protester_people, minlength=len(PROTESTER_STATES))
    pool = people.sum()
    pc = people / pool if pool > 0 else np.zeros(len(PROTESTER_STATES))
    E = m.elites.state.size
    m.stats = {
        "day": m.day,
        "active_protesters": float(pc[ACTIVE]),
        "participation": rules.participation_share(float(people[ACTIVE]), m.measure.denominator),
        "jailed_protesters": float(pc[JAILED]),
        "soldiers_loyal": float(sc[LOYAL]),
        "soldiers_shirking": float(sc[SHIRKING]),
        "soldiers_deserted": float(sc[DESERTED]),
        "soldiers_defected": float(sc[DEFECTED]),
        "soldiers_detained": float(sc[DETAINED]),
        "elites_defected": float((m.elites.state == ELITE_DEFECTED).mean()) if E else 0.0,
        "belief_survival": m.belief_public,
        "legitimacy": float(m.legitimacy.mean()),
        "arrests": float(m.arrests_today),
    }
    R, G = len(m.region_names), m.n_groups
    m.group_counts.append(outputs.group_counts(s.region, s.group, s.rank, s.state, R, G))
    if m.first_unit_over is None:
        u = m.units
        if outputs.companies_gone_over(s.state, u.company, u.company_size).any():
            m.first_unit_over = m.day


def reporters() -> dict[str, Callable[[RegimeModel], float]]:
    """Model reporters for Mesa's DataCollector: one per series, reading ``model.stats``."""

    def reporter(name: str) -> Callable[[RegimeModel], float]:
        def read(model: RegimeModel) -> float:
            return model.stats[name]

        read.__name__ = name
        return read

    return {name: reporter(name) for name in SERIES}


def region_defected_share(m: RegimeModel) -> NDArray[np.float64]:
    """Per region: share of the initial garrison that deserted or defected."""
    return outputs.region_left_share(m.soldiers.state, m.soldiers.region, m.garrison)


def region_had_defection(m: RegimeModel) -> NDArray[np.bool_]:
    """Per region: whether it had a defection (:func:`.outputs.regions_with_defection`).

    A region had a defection when at least ``outcome.region_defection`` of its garrison deserted
    or defected, or a whole company went over.
    """
    s, u = m.soldiers, m.units
    return outputs.regions_with_defection(
        region_defected_share(m),
        m.p["outcome.region_defection"],
        outputs.companies_gone_over(s.state, u.company, u.company_size),
        outputs.company_regions(s.region, u.company_commander),
    )
