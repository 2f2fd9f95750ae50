"""Movement (ODD section 7.6): free protesters and soldiers on the grid move in vision."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from defection.model.rules import JAILED
from defection.model.space import move as move_on_grid

if TYPE_CHECKING:
    from defection.model.regime import RegimeModel

#: Rounds of moving: an agent whose target cell was taken tries again in the next round.
MOVE_ROUNDS = 2


def move(m: RegimeModel, mine: NDArray[np.bool_], rng: np.random.Generator) -> None:
    """Agents of this sub-step (``mine``, over protesters then soldiers) move (ODD 7.6)."""
    pr, s, p = m.protesters, m.soldiers, m.p
    P = m.n_protesters
    walkers = np.flatnonzero((pr.state != JAILED) & mine[:P])
    marching = np.flatnonzero((s.pos >= 0) & mine[P:])
    movers = np.concatenate([walkers, P + marching])
    pv, sv = p["protest.vision"], p["soldiers.vision"]
    radii = (
        pv if pv == sv else np.concatenate([np.full(walkers.size, pv), np.full(marching.size, sv)])
    )
    tries = p["grid.move_tries"]
    move_on_grid(
        m.grid,
        m.occupant,
        m.pos,
        movers,
        radii,
        rng.random((MOVE_ROUNDS, movers.size, tries)),
        rng.random((MOVE_ROUNDS, movers.size)),
    )
