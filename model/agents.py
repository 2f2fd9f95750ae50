"""Mesa agent classes: proxies over the model's state arrays.

The state of every soldier, elite and protester lives in numpy arrays on the model (one array per
attribute and agent type). These ``mesa.Agent`` subclasses are built once so that agents appear in
``model.agents`` and work with AgentSet queries (``select``, ``groupby``, ``agg``), DataCollector
agent reporters and the UI; reading an attribute reads the array. They are never stepped one by
one: ``RegimeModel.step`` runs the vectorized rules on the arrays.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa

from defection.model.rules import ELITE_STATES, PROTESTER_STATES, RANKS, SOLDIER_STATES

if TYPE_CHECKING:
    from defection.model.regime import RegimeModel


class _Proxy(mesa.Agent):
    """An agent whose attributes are views into the model's arrays at index ``idx``."""

    def __init__(self, model: RegimeModel, idx: int):
        super().__init__(model)
        self.idx = idx

    def step(self) -> None:
        """Agents are not stepped one by one; the model steps all of them at once."""


class Soldier(_Proxy):
    """A soldier: rank, identity group, home and stationed region, unit and state."""

    @property
    def state(self) -> str:
        """One of loyal, shirking, deserted, defected, detained."""
        return SOLDIER_STATES[self.model.soldiers.state[self.idx]]

    @property
    def rank(self) -> str:
        """conscript, nco or officer."""
        return RANKS[self.model.soldiers.rank[self.idx]]

    @property
    def group(self) -> str:
        """Identity group name."""
        return self.model.group_names[self.model.soldiers.group[self.idx]]

    @property
    def region(self) -> str:
        """Region where the soldier is stationed."""
        return self.model.region_names[self.model.soldiers.region[self.idx]]

    @property
    def home_region(self) -> str:
        """Region the soldier comes from."""
        return self.model.region_names[self.model.soldiers.home[self.idx]]

    @property
    def guard(self) -> bool:
        """Whether the soldier serves in a guard unit."""
        return bool(self.model.soldiers.guard[self.idx])

    @property
    def company(self) -> int:
        """Company id."""
        return int(self.model.units.company[self.idx])

    @property
    def belief(self) -> float:
        """Belief that the regime survives."""
        return float(self.model.soldiers.belief[self.idx])


class Elite(_Proxy):
    """A member of the regime's elite: rents, purge risk, faction and client commanders."""

    @property
    def state(self) -> str:
        """One of loyal, defected, purged."""
        return ELITE_STATES[self.model.elites.state[self.idx]]

    @property
    def softline(self) -> bool:
        """Member of the soft-line faction (``elites.softline_share``)."""
        return bool(self.model.elites.softline[self.idx])

    @property
    def clients(self) -> list[int]:
        """Soldier indices of the company commanders who are this elite's clients."""
        return [int(c) for c in self.model.elites.clients[self.idx] if c >= 0]


class Protester(_Proxy):
    """A member of the public who may protest (Epstein's citizen)."""

    @property
    def state(self) -> str:
        """One of quiet, active, jailed."""
        return PROTESTER_STATES[self.model.protesters.state[self.idx]]

    @property
    def region(self) -> str:
        """Region the protester lives in."""
        return self.model.region_names[self.model.protesters.region[self.idx]]

    @property
    def group(self) -> str:
        """Identity group name."""
        return self.model.group_names[self.model.protesters.group[self.idx]]

    @property
    def violent(self) -> bool:
        """Whether this protester uses violent tactics."""
        m = self.model
        return bool(m.protesters.tactic_draw[self.idx] < m.p["opposition.violent_share"])
