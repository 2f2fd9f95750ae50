"""RegimeModel: soldiers, elites and protesters under a regime facing a mass uprising.

The model is a small orchestrator. Agent state lives in numpy arrays (:mod:`.state`), one
container per agent type; each process of the ODD schedule is a function in a module named after
its submodel, acting on those arrays: :mod:`.building` (initialization), :mod:`.events`,
:mod:`.soldiers` (duty and decisions), :mod:`.signals`, :mod:`.elites`, :mod:`.protesters`
(protest and repression), :mod:`.movement`, :mod:`.outcome` and :mod:`.observation`. The
decision rules themselves are pure functions in :mod:`.rules`. ``RegimeModel.step`` reads like
section 3 of docs/ODD.md.

Mesa provides the base class (time, ``running``, the random generator it is seeded with), the
``DataCollector`` and, built on first access of ``model.agents``, Agent proxies over the arrays
so that AgentSet queries work; the step never iterates over agents.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import mesa
import numpy as np
from numpy.typing import NDArray

from defection.model import (
    building,
    elites,
    events,
    measurement,
    movement,
    observation,
    outcome,
    protesters,
    signals,
    soldiers,
)
from defection.model.address import check_live
from defection.model.agents import Elite, Protester, Soldier
from defection.model.policy import Package, PolicyRun, build_overrides, scenario_problems
from defection.model.scenario import Scenario, ScenarioError, load

#: The model's random streams, one per process that draws, spawned in this order from one
#: ``SeedSequence(seed)``. Each process draws only from its own stream, so a setting that changes
#: how much one process draws (the guard share changes how many guard cells are picked) leaves
#: every other process's draws unchanged: two settings run on one seed use common random
#: numbers. The build is split the same way (placement, protesters, units, soldiers, elites, and
#: ``branches``: which companies are police and which of the rank and file are conscripts,
#: appended after the rest so that no earlier stream changed when it was added; ``concession``,
#: the ruler's daily concession draw, likewise).
STREAMS = (
    "place",
    "protesters",
    "units",
    "soldiers_build",
    "elites_build",
    "events",
    "duty",
    "soldiers",
    "elites",
    "schedule",
    "arrests",
    "movement",
    "branches",
    "concession",
)


class RegimeModel(mesa.Model):
    """A regime, its soldiers and elites, and the protesters of its regions.

    Args:
        scenario: A :class:`Scenario`, or a bundled scenario name or path to a TOML file.
        rng: Seed (int) of the model's randomness: one ``SeedSequence`` from which Mesa's generator
            and every process's stream (:data:`STREAMS`) are spawned. ``None`` draws fresh
            entropy.
        until_horizon: Keep running after the outcome is decided, until the horizon.
        overrides: ``{address: value}`` applied to the scenario (like ``--set``).
        policy: A package of measures (:mod:`.policy`): its day-0 measures are applied to the
            scenario after ``overrides``, the others each day after the scheduled events.

    Attributes:
        scenario_def: The validated scenario.
        p: Current parameter values by dotted name (levers may change during a run; use
            :meth:`set_param`).
        day: Days simulated so far (Mesa's ``time``).
        protesters: :class:`~defection.model.state.ProtesterArrays`.
        soldiers: :class:`~defection.model.state.SoldierArrays`.
        elites: :class:`~defection.model.state.EliteArrays`.
        units: :class:`~defection.model.network.Units`, the unit structure and network.
        grid: :class:`~defection.model.space.GridStack`, one torus per region.
        occupant: Per cell, the agent standing there (protester ``i``, soldier ``P + i``) or -1.
        pos: Per agent (protesters, then soldiers), its cell or -1.
        off_map: Per soldier, whether he serves off the map from the start (the soldiers beyond
            the map's garrison that ``soldiers.min_agents`` asks for; docs/ODD.md section 2).
        n_protesters: ``P``. n_soldiers: ``S`` (the initial force, guards included).
        initial_force: ``S``, the denominator of every soldier share.
        garrison: Soldiers stationed per region at the start.
        measure: :class:`~defection.model.measurement.Measurement`: people per protester agent by
            region, per soldier agent, the mobilisable share and the participation denominator.
        protester_people: Per protester agent, the people it stands for.
        region_names: Region names, in scenario order. group_names: Identity-group names.
        n_groups: Number of identity groups. core_group: Index of the regime's core group (-1
            if none). capital: Index of the capital region.
        legitimacy: Regime legitimacy per region (arrests and failed coups lower it).
        group_shift: Legitimacy shift per identity group.
        signal: The public signal of regime weakness (a moving average).
        elite_floor: The elites' calm-time indifference point (``elites.calm_floor``, fixed at
            build): elite loyalty above it raises an insider's plot threshold.
        belief_public: Public belief that the regime survives (no neighbours).
        stats: Today's statistics (the series of :data:`~defection.model.observation.SERIES`).
        group_counts: Per day, soldiers by region, group, rank and state (flat bincounts).
        arrests_today: Arrests made today.
        first_unit_over: First day on which every soldier of some company had defected, or None.
        outcome: ``None`` until decided, then one of :data:`~defection.model.outputs.OUTCOMES`.
        outcome_day: Day the outcome was decided. outcome_rule: Which rule decided it.
        log: Notable moments, as ``(day, text)``.
        streams: One random generator per process, by name (:data:`STREAMS`).
        datacollector: Mesa DataCollector with one model reporter per series.
    """

    def __init__(
        self,
        scenario: Scenario | str | Path = "baseline",
        *,
        rng: int | None = None,
        until_horizon: bool = False,
        overrides: dict[str, Any] | None = None,
        policy: Package | None = None,
    ):
        if not isinstance(scenario, Scenario):
            scenario = load(scenario)
        if overrides:
            scenario = scenario.with_overrides(overrides)
        # The pilot measures the scenario as coded: a package is a treatment of the population
        # the scenario states, so it does not re-size the protester pool (docs/POLICIES.md).
        measured = scenario
        if policy is not None:
            if problems := scenario_problems(policy, scenario, f"package {policy.name}"):
                raise ScenarioError(problems)
            if at_build := build_overrides(policy):
                scenario = scenario.with_overrides(at_build, origin=f"package {policy.name}")
        root = np.random.SeedSequence(rng)
        seeds = root.spawn(1 + len(STREAMS))
        super().__init__(rng=np.random.default_rng(seeds[0]))
        #: One independent generator per process that draws (see :data:`STREAMS`).
        self.streams: dict[str, np.random.Generator] = {
            name: np.random.default_rng(seq) for name, seq in zip(STREAMS, seeds[1:], strict=True)
        }
        self.scenario_def = scenario
        #: The package applied during the run (:class:`~.policy.PolicyRun`), or None.
        self.policy = PolicyRun(policy) if policy is not None else None
        self.p: dict[str, Any] = dict(scenario.params)
        self.until_horizon = until_horizon
        self.outcome: str | None = None
        self.outcome_day: int | None = None
        self.outcome_rule: str | None = None
        self.log: list[tuple[int, str]] = []
        self.origin = str(scenario.path or scenario.name)
        self.region_names = [r["name"] for r in scenario.regions]
        self.group_names = [g["name"] for g in scenario.groups]
        self._proxies_built = False
        problems = building.build_problems(scenario, self.origin)
        if problems:
            raise ScenarioError(problems)
        #: The pilot's peak active share when the scenario states a peak (docs/ODD.md).
        self.pilot_share = (
            pilot_peak(measured, root.entropy) if self.p["protest.peak_share"] else None
        )
        building.build(self, self.streams, self.pilot_share)
        # dynamic state
        self.signal = 0.0
        self.plot_signal = 0.0  # the signal insiders plot on (signals.update)
        self.belief_public = signals.initial_belief(self)
        self.soldiers.belief[:] = self.belief_public
        self.collapse_days = 0
        self.split_days = 0
        self.first_region_defection = np.zeros(len(self.region_names), dtype=bool)
        self.arrests_today = 0
        self.arrested = np.zeros(self.n_protesters, dtype=bool)
        self.first_unit_over: int | None = None
        self.stats: dict[str, float] = {}
        self.group_counts: list[NDArray[np.int64]] = []
        observation.update_stats(self)
        self.datacollector = mesa.DataCollector(model_reporters=observation.reporters())
        self.datacollector.collect(self)

    # --------------------------------------------------------------------------------------------
    # the step: one day, in the order of docs/ODD.md section 3
    # --------------------------------------------------------------------------------------------

    def step(self) -> None:
        """Advance one day (Mesa has already moved ``time`` on to today)."""
        rs = self.streams
        events.apply_events(self, rs["events"])  # 1. scheduled events
        if self.policy is not None:  # and the package's measures (docs/POLICIES.md)
            self.policy.apply(self)
        soldiers.draw_duty(self, rs["duty"])  # 2. crowd duty
        n_left, belief = signals.update(self)  # 3. signals and beliefs
        if self.p["soldiers.can_defect"]:  # 4. soldiers decide
            counts = protesters.neighbourhood_counts(self, for_soldiers=True)
            soldiers.decide(self, counts, n_left, belief, rs["soldiers"])
        elites.decide(self, rs["elites"])  # 5. elites decide
        self._crowd_substeps()  # 6. protest, repression and movement
        observation.update_stats(self)  # 7. outcome and data
        outcome.check(self)
        self.datacollector.collect(self)

    def _crowd_substeps(self) -> None:
        """Protest, repression and movement in random sub-steps (ODD section 3, item 6).

        Jail terms count down once; then, batch by batch, the batch's free protesters decide,
        its soldiers on duty arrest, and its agents move.
        """
        pr = self.protesters
        jailed = pr.jail > 0
        pr.jail[jailed] -= 1
        B = self.p["grid.substeps"]
        P, S = self.n_protesters, self.n_soldiers
        batch = (self.streams["schedule"].random(P + S) * B).astype(np.int64)
        self.arrests_today = 0
        self.arrested = np.zeros(P, dtype=bool)
        for b in range(B):
            mine = batch == b
            counts = protesters.neighbourhood_counts(self)
            deciding = mine[:P] & ~jailed & ~self.arrested
            protesters.decide(self, counts, np.flatnonzero(deciding))
            protesters.repress(self, mine[P:], self.streams["arrests"])
            if self.p["grid.movement"]:
                movement.move(self, mine, self.streams["movement"])

    # --------------------------------------------------------------------------------------------
    # public API
    # --------------------------------------------------------------------------------------------

    @property
    def day(self) -> int:
        """Days simulated so far (Mesa's ``time``; one step is one day)."""
        return int(self.time)

    def set_param(self, name: str, value: Any) -> None:
        """Change a parameter during a run (for levers: takes effect from the next day).

        Raises:
            ScenarioError: Unknown name, value out of range, or a build-only parameter.
        """
        self.p[name] = check_live(name, value)

    def run(
        self, steps: int | None = None, on_day: Callable[[RegimeModel], None] | None = None
    ) -> None:
        """The run loop: step until the run stops (outcome or horizon), or for ``steps`` days.

        Args:
            steps: At most this many days (default: until the run stops).
            on_day: Called with the model after each day (progress bars, recorders).
        """
        n = 0
        while self.running and (steps is None or n < steps):
            self.step()
            n += 1
            if on_day is not None:
                on_day(self)

    def region_had_defection(self) -> NDArray[np.bool_]:
        """Per region: whether it had a defection (:func:`.observation.region_had_defection`)."""
        return observation.region_had_defection(self)

    def region_defected_share(self) -> NDArray[np.float64]:
        """Per region: share of the initial garrison that deserted or defected."""
        return observation.region_defected_share(self)

    # --------------------------------------------------------------------------------------------
    # Mesa agents: proxies over the arrays, built on first access
    # --------------------------------------------------------------------------------------------

    @property
    def agents(self):  # noqa: D102 - Mesa's property, documented there
        self._build_proxies()
        return super().agents

    @property
    def agents_by_type(self):  # noqa: D102 - Mesa's property, documented there
        self._build_proxies()
        return super().agents_by_type

    @property
    def agent_types(self) -> list[type]:  # noqa: D102 - Mesa's property, documented there
        self._build_proxies()
        return super().agent_types

    def _build_proxies(self) -> None:
        """Create one Mesa Agent per protester, soldier and elite (once, on first access)."""
        if self._proxies_built:
            return
        self._proxies_built = True
        for i in range(self.n_protesters):
            Protester(self, i)
        for i in range(self.n_soldiers):
            Soldier(self, i)
        for i in range(self.elites.state.size):
            Elite(self, i)


#: Pilot peaks already computed in this process, by the pilot scenario's hash and the seed's
#: entropy (a pilot depends on nothing else; the UI rebuilds the same scenario and seed on every
#: reset; runs that differ only in :data:`~.measurement.PILOT_IGNORES` share a pilot).
_PILOTS: dict[tuple[str, int], float] = {}
_PILOTS_KEPT = 256


def pilot_peak(scenario: Scenario, entropy: int) -> float:
    """Peak active share of the protester pool in the pilot of a run (:mod:`.measurement`).

    The pilot is the same run (the same seed: the same people, places and events) with soldiers
    and elites held loyal, to the horizon; its peak sizes the pool from the stated peak. Results
    are kept per process by the pilot scenario's hash and seed (:data:`_PILOTS`).
    """
    pilot_sc = measurement.pilot_scenario(scenario)
    key = (pilot_sc.hash, entropy)
    if key not in _PILOTS:
        pilot = RegimeModel(pilot_sc, rng=entropy, until_horizon=True)
        pilot.run()
        if len(_PILOTS) >= _PILOTS_KEPT:
            _PILOTS.clear()
        _PILOTS[key] = float(max(pilot.datacollector.model_vars["active_protesters"]))
    return _PILOTS[key]
