"""Observation (ODD section 3, item 7): daily statistics, series and per-region moments."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from defection.model.rules import (
    ACTIVE,
    DEFECTED,
    DESERTED,
    DETAINED,
    ELITE_DEFECTED,
    JAILED,
    LOYAL,
    SHIRKING,
)

if TYPE_CHECKING:
    from defection.model.regime import RegimeModel

#: The per-day series the DataCollector records (one column each), in order.
SERIES = (
    "day",
    "active_protesters",
    "jailed_protesters",
    "soldiers_loyal",
    "soldiers_shirking",
    "soldiers_deserted",
    "soldiers_defected",
    "soldiers_detained",
    "elites_defected",
    "belief_survival",
    "legitimacy",
    "arrests",
)


def update_stats(m: RegimeModel) -> None:
    """Compute today's statistics into ``m.stats`` and append today's group counts."""
    s, pr = m.soldiers, m.protesters
    S0 = max(m.initial_force, 1)
    P = max(m.n_protesters, 1)
    sc = np.bincount(s.state, minlength=5) / S0
    pc = np.bincount(pr.state, minlength=3) / P
    E = m.elites.state.size
    m.stats = {
        "day": m.day,
        "active_protesters": float(pc[ACTIVE]),
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
    key = ((s.region * G + s.group) * 3 + s.rank) * 5 + s.state
    m.group_counts.append(np.bincount(key, minlength=R * G * 3 * 5))


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
    s = m.soldiers
    R = len(m.region_names)
    left = np.bincount(s.region, weights=(s.state == DEFECTED) | (s.state == DESERTED), minlength=R)
    return np.divide(left, m.garrison, out=np.zeros(R), where=m.garrison > 0)


def region_had_defection(m: RegimeModel) -> NDArray[np.bool_]:
    """Per region: whether it had a defection.

    A region had a defection when at least ``outcome.region_defection`` of its garrison deserted
    or defected, or a whole company went over. The one definition used by the summary, the UI
    and the tests.
    """
    s, u = m.soldiers, m.units
    R = len(m.region_names)
    share = region_defected_share(m)
    co_def = np.bincount(u.company, weights=s.state == DEFECTED, minlength=u.company_size.size)
    whole = co_def >= u.company_size
    co_region = s.region[u.company_commander] if u.company_size.size else np.zeros(0, int)
    company_went = np.bincount(co_region[whole], minlength=R) > 0
    return (share >= m.p["outcome.region_defection"]) | company_went
