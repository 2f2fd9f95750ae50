"""The model's state: one container of numpy arrays per agent type (a struct of arrays).

Agent data and the rules that change it are kept apart, as in Agents.jl: the containers below hold
every agent's state, one entry per agent and one array per attribute, and the process modules
(:mod:`~defection.model.building`, :mod:`~defection.model.events`,
:mod:`~defection.model.soldiers`, :mod:`~defection.model.signals`,
:mod:`~defection.model.elites`, :mod:`~defection.model.protesters`,
:mod:`~defection.model.movement`, :mod:`~defection.model.outcome`,
:mod:`~defection.model.observation`) are functions that read and write them through the model.
The model-level state (grid, occupancy, legitimacy, beliefs, outcome) is documented on
:class:`~defection.model.regime.RegimeModel`.

Index conventions: protesters are numbered ``0..P-1`` and soldiers ``0..S-1``; on the grid, and in
``RegimeModel.pos`` and ``RegimeModel.occupant``, soldier ``i`` is agent ``P + i``. A position is a
flat cell index into the stack of region grids (:class:`~defection.model.space.GridStack`), or
``-1`` for an agent off the grid. State codes are the constants of :mod:`defection.model.rules`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray


@dataclass
class ProtesterArrays:
    """State of all protesters (Epstein's citizens), one entry per agent.

    Attributes:
        region: Region index (fixed).
        group: Identity-group index (fixed).
        hardship: Hardship ``H`` in [0, region hardship] (fixed).
        risk_aversion: Risk aversion ``R`` in [0, 1] (fixed).
        tactic_draw: Uniform draw; the protester acts violently while it is below
            ``opposition.violent_share`` (fixed, so a lever moves the share smoothly).
        state: ``QUIET``, ``ACTIVE`` or ``JAILED``.
        jail: Days of jail left.
        pos: Cell index; a view into ``RegimeModel.pos[:P]``.
        join_day: First day the protester may act (``protest.buildup_days``; 0 for all
            without a build-up) (fixed).
    """

    region: NDArray[np.int64]
    group: NDArray[np.int64]
    hardship: NDArray[np.float64]
    risk_aversion: NDArray[np.float64]
    tactic_draw: NDArray[np.float64]
    state: NDArray[np.int8]
    jail: NDArray[np.int64]
    pos: NDArray[np.int64]
    join_day: NDArray[np.int64]


@dataclass
class SoldierArrays:
    """State of all soldiers, one entry per agent.

    Attributes:
        region: Region where the soldier is stationed (fixed).
        home: Region the soldier comes from (fixed; differs when his battalion was rotated).
        group: Identity-group index (fixed; officers and guards may be stacked from the core).
        guard: Serves in a guard (counterbalancing) unit (fixed).
        police: Serves in a police or interior-troop company, a force apart from the army
            (``police.share``; fixed). Police are whole companies of the regular (non-guard)
            force, serving in their home region; everyone else is army (guards included).
        rank: ``CONSCRIPT``, ``NCO`` or ``OFFICER`` (fixed; same array as ``Units.rank``). The
            rank code ``CONSCRIPT`` means rank and file; whether a man of the rank and file was
            drafted is ``conscript``.
        conscript: A drafted man of the army's rank and file (``soldiers.conscript_share``;
            fixed); the rest of the rank and file, NCOs, officers, guards and police are
            professionals.
        loyalty: Intrinsic loyalty, utility units (fixed).
        threshold: Net gain needed to leave, utility units (fixed).
        exposure: How exposed his family is to reprisal, in [0, 1] (fixed).
        conscience: His own multiplier of the moral cost of repression, lognormal with mean 1
            (``soldiers.conscience_sd``; 1 for every soldier when it is 0; fixed).
        state: ``LOYAL``, ``SHIRKING``, ``DESERTED``, ``DEFECTED`` or ``DETAINED``.
        pos: Cell index, ``-1`` once he has left the grid; a view into ``RegimeModel.pos[P:]``.
        belief: Today's belief that the regime survives, in (0, 1).
        on_duty: Ordered out to the crowds today.
    """

    region: NDArray[np.int64]
    home: NDArray[np.int64]
    group: NDArray[np.int64]
    guard: NDArray[np.bool_]
    police: NDArray[np.bool_]
    rank: NDArray[np.int8]
    conscript: NDArray[np.bool_]
    loyalty: NDArray[np.float64]
    threshold: NDArray[np.float64]
    exposure: NDArray[np.float64]
    state: NDArray[np.int8]
    pos: NDArray[np.int64]
    belief: NDArray[np.float64]
    on_duty: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))
    conscience: NDArray[np.float64] = field(default_factory=lambda: np.ones(0))


@dataclass
class EliteArrays:
    """State of all elites, one entry per elite.

    Attributes:
        loyalty: Intrinsic loyalty, utility units (fixed).
        clients: ``(n_elites, n_clients)`` soldier indices of client company commanders,
            ``-1`` padded (fixed).
        state: ``ELITE_LOYAL``, ``ELITE_DEFECTED`` or ``ELITE_PURGED``.
        softline: Member of the soft-line faction (``elites.softline_share``; fixed).
    """

    loyalty: NDArray[np.float64]
    clients: NDArray[np.int64]
    state: NDArray[np.int8]
    softline: NDArray[np.bool_]
