"""Protesters and repression (ODD sections 7.1 and 7.2): activation, and arrests by soldiers."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from defection.model import rules
from defection.model.rules import ACTIVE, JAILED, LOYAL, QUIET
from defection.model.space import arrest

if TYPE_CHECKING:
    from defection.model.regime import RegimeModel

#: Rounds in which soldiers on duty try to arrest an active protester in vision (a soldier who
#: finds none in one round tries again; later rounds see the cells emptied by earlier ones).
ARREST_ROUNDS = 3


def neighbourhood_counts(
    m: RegimeModel, for_soldiers: bool = False
) -> dict[str, NDArray[np.int32]]:
    """Count, around every cell, what is in vision.

    For protesters: repressing soldiers (``cops``) and actives within ``protest.vision``. For
    soldiers: actives and violent actives within ``soldiers.vision``.
    """
    pr, s, p = m.protesters, m.soldiers, m.p
    active = pr.state == ACTIVE
    layers = np.zeros((2, m.grid.cells), dtype=np.float32)
    if for_soldiers:
        violent = active & (pr.tactic_draw < p["opposition.violent_share"])
        layers[0, pr.pos[active]] = 1.0
        layers[1, pr.pos[violent]] = 1.0
        c = m.grid.count(layers, p["soldiers.vision"])
        return {"actives_sv": c[0], "violent_sv": c[1]}
    cops = (s.state == LOYAL) & s.on_duty & (s.pos >= 0)  # soldiers off the map arrest no one
    layers[0, s.pos[cops]] = 1.0
    layers[1, pr.pos[active]] = 1.0
    c = m.grid.count(layers, p["protest.vision"])
    return {"cops": c[0], "actives_pv": c[1]}


def decide(m: RegimeModel, counts: dict[str, NDArray[np.int32]], free: NDArray[np.int64]) -> None:
    """Protesters ``free`` (indices) turn active or quiet by Epstein's Model I (ODD 7.1).

    A protester whose ``join_day`` (``protest.buildup_days``) is after today stays quiet.
    """
    pr, p = m.protesters, m.p
    cells = pr.pos[free]
    legit = np.clip(m.legitimacy[pr.region[free]] + m.group_shift[pr.group[free]], 0, 1)
    g = rules.grievance(pr.hardship[free], legit)
    prob = rules.arrest_probability(
        counts["cops"][cells],
        1 + counts["actives_pv"][cells],
        p["protest.arrest_k"],
        p["protest.rounding"],
    )
    act = rules.activation(g, pr.risk_aversion[free], prob, p["protest.threshold"])
    act &= pr.join_day[free] <= m.day  # not out yet under protest.buildup_days
    pr.state[free] = np.where(act, ACTIVE, QUIET)


def repress(m: RegimeModel, acting: NDArray[np.bool_], rng: np.random.Generator) -> None:
    """Loyal on-duty soldiers in ``acting`` arrest actives in vision (ODD 7.2).

    Each arrest jails the protester for a uniform ``0..protest.max_jail`` days; arrests cost the
    region legitimacy by :func:`~defection.model.rules.backfire_loss`.
    """
    s, pr, p = m.soldiers, m.protesters, m.p
    cops = np.flatnonzero((s.state == LOYAL) & s.on_duty & (s.pos >= 0) & acting)
    P = m.n_protesters
    is_active = np.zeros(P + s.state.size, dtype=bool)
    is_active[:P] = pr.state == ACTIVE
    n = cops.size
    got = arrest(
        m.grid,
        s.pos[cops],
        p["soldiers.vision"],
        m.occupant,
        is_active,
        rng.random((ARREST_ROUNDS, n)),
        rng.random((ARREST_ROUNDS, n)),
    )
    got = np.sort(got)
    pr.state[got] = JAILED
    m.arrested[got] = True
    pr.jail[got] = rng.integers(0, p["protest.max_jail"] + 1, size=got.size)
    m.arrests_today += got.size
    if got.size and p["protest.backfire"] > 0:
        R = len(m.region_names)
        per_r = np.bincount(pr.region[got], minlength=R)
        pop_r = np.bincount(pr.region, minlength=R)
        share = np.divide(per_r, pop_r, out=np.zeros(R), where=pop_r > 0)
        loss = rules.backfire_loss(
            share, p["protest.backfire"], p["regime.lethality"], p["protest.backfire_lethality"]
        )
        m.legitimacy = np.clip(m.legitimacy - loss, 0.0, 1.0)
