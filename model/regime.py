"""RegimeModel: soldiers, elites and protesters under a regime facing a mass uprising.

``RegimeModel.step`` follows the ODD schedule of docs/ODD.md: events, signals, protesters decide,
soldiers decide, elites decide, repression, movement, outcome, data. All state lives in numpy
arrays (struct of arrays); the rules in :mod:`defection.model.rules` are applied to whole arrays
at once. All randomness comes from ``self.rng``, the one seeded ``numpy.random.Generator``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mesa
import numpy as np
from numpy.typing import NDArray

from defection.model import rules
from defection.model.agents import Elite, Protester, Soldier
from defection.model.network import Units, build_units
from defection.model.params import BY_NAME
from defection.model.rules import (
    ACTIVE,
    DEFECTED,
    DESERTED,
    DETAINED,
    ELITE_DEFECTED,
    ELITE_LOYAL,
    ELITE_PURGED,
    JAILED,
    LOYAL,
    OFFICER,
    QUIET,
    SHIRKING,
)
from defection.model.scenario import Scenario, ScenarioError, load
from defection.model.space import GridStack, arrest, diamond_offsets, move

#: Parameters read only when the model is built; changing them needs a reset.
BUILD_ONLY = frozenset(
    {
        "run.people_per_agent",
        "grid.width",
        "grid.height",
        "protest.citizen_density",
        "protest.hardship",
        "soldiers.garrison_density",
        "soldiers.count",
        "soldiers.officer_share",
        "soldiers.nco_share",
        "soldiers.loyalty",
        "soldiers.loyalty_sd",
        "soldiers.core_loyalty",
        "soldiers.threshold",
        "soldiers.threshold_sd",
        "soldiers.threshold_dist",
        "soldiers.guard_share",
        "soldiers.guard_loyalty",
        "soldiers.ethnic_stacking",
        "soldiers.rotation",
        "soldiers.squad_size",
        "soldiers.squads_per_company",
        "soldiers.companies_per_battalion",
        "soldiers.cross_ties",
        "elites.count",
        "elites.loyalty",
        "elites.loyalty_sd",
        "elites.clients",
    }
)

ARREST_ROUNDS = 3
MOVE_ROUNDS = 2


@dataclass
class ProtesterArrays:
    """State of all protesters (one entry per agent)."""

    region: NDArray[np.int64]
    group: NDArray[np.int64]
    hardship: NDArray[np.float64]
    risk_aversion: NDArray[np.float64]
    tactic_draw: NDArray[np.float64]
    state: NDArray[np.int8]
    jail: NDArray[np.int64]
    pos: NDArray[np.int64]


@dataclass
class SoldierArrays:
    """State of all soldiers (one entry per agent)."""

    region: NDArray[np.int64]
    home: NDArray[np.int64]
    group: NDArray[np.int64]
    guard: NDArray[np.bool_]
    rank: NDArray[np.int8]
    loyalty: NDArray[np.float64]
    threshold: NDArray[np.float64]
    exposure: NDArray[np.float64]
    state: NDArray[np.int8]
    pos: NDArray[np.int64]
    belief: NDArray[np.float64]
    on_duty: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))


@dataclass
class EliteArrays:
    """State of all elites."""

    loyalty: NDArray[np.float64]
    clients: NDArray[np.int64]  # (n_elites, n_clients) soldier indices, -1 padded
    state: NDArray[np.int8]


class RegimeModel(mesa.Model):
    """A regime, its soldiers and elites, and the protesters of its regions.

    Args:
        scenario: A :class:`Scenario`, or a bundled scenario name or path to a TOML file.
        rng: Seed (int) of the one random generator everything draws from.
        until_horizon: Keep running after the outcome is decided, until the horizon.
        overrides: ``{address: value}`` applied to the scenario (like ``--set``).
        proxies: Build the Mesa agent objects (default). Without them the engine runs on arrays
            only; ``model.agents`` is then empty.

    Attributes:
        p: Current parameter values by dotted name (levers may change during a run; use
            :meth:`set_param`).
        day: Days simulated so far.
        outcome: ``None`` until decided, then ``collapse``, ``split`` or ``survival``.
        outcome_day: Day the outcome was decided.
        outcome_rule: Which rule decided it.
        log: Notable moments, as ``(day, text)``.
    """

    def __init__(
        self,
        scenario: Scenario | str | Path = "baseline",
        *,
        rng: int | None = None,
        until_horizon: bool = False,
        overrides: dict[str, Any] | None = None,
        proxies: bool = True,
    ):
        if not isinstance(scenario, Scenario):
            scenario = load(scenario)
        if overrides:
            scenario = scenario.with_overrides(overrides)
        super().__init__(rng=rng)
        self.scenario_def = scenario
        self.p: dict[str, Any] = dict(scenario.params)
        self.until_horizon = until_horizon
        self.day = 0
        self.outcome: str | None = None
        self.outcome_day: int | None = None
        self.outcome_rule: str | None = None
        self.log: list[tuple[int, str]] = []
        self._origin = str(scenario.path or scenario.name)
        self.region_names = [r["name"] for r in scenario.regions]
        self.group_names = [g["name"] for g in scenario.groups]
        self._check_geometry()
        self._build()
        if proxies:
            self._build_proxies()
        self._init_dynamics()
        self.datacollector = mesa.DataCollector(model_reporters={k: _stat(k) for k in self.SERIES})
        self._collect()

    # --------------------------------------------------------------------------------------------
    # construction
    # --------------------------------------------------------------------------------------------

    def _check_geometry(self) -> None:
        problems = geometry_problems(self.scenario_def, self._origin)
        if problems:
            raise ScenarioError(problems)

    def _build(self) -> None:
        sc, p, rng = self.scenario_def, self.p, self.rng
        R, H, W = len(sc.regions), p["grid.height"], p["grid.width"]
        self.grid = GridStack(R, H, W)
        cells = self.grid.cells
        G = len(sc.groups)
        self.n_groups = G
        core = [i for i, g in enumerate(sc.groups) if g["core"]]
        self.core_group = core[0] if core else -1
        self.capital = next(i for i, r in enumerate(sc.regions) if r["capital"])
        cell_region = np.arange(cells) // (H * W)
        # --- who stands where: per cell, citizen / soldier / empty (as Mesa's example draws it)
        dp = np.array([r["citizen_density"] for r in sc.regions])[cell_region]
        ds = np.array([r["garrison_density"] for r in sc.regions])[cell_region]
        u = rng.random(cells)
        prot_cells = np.flatnonzero(u < dp)
        sold_cells = np.flatnonzero((u >= dp) & (u < dp + ds))
        if p["soldiers.count"] > 0:
            # exact count: drawn among the cells not taken by protesters, weighted by density
            free = np.flatnonzero(u >= dp)
            weight = ds[free]
            n = p["soldiers.count"]
            if weight.sum() <= 0 or n > free.size:
                raise ScenarioError(
                    [
                        f"{self._origin}: field `soldiers.count`: {n} soldiers do not fit "
                        f"({free.size} free cells with positive garrison density)"
                    ]
                )
            pick = rng.choice(free, size=n, replace=False, p=weight / weight.sum())
            sold_cells = np.sort(pick)
        n_regular = sold_cells.size
        guard_share = p["soldiers.guard_share"]
        n_guard = int(round(guard_share / (1.0 - guard_share) * n_regular))
        lo = self.capital * H * W
        free = np.setdiff1d(np.arange(lo, lo + H * W), np.concatenate([prot_cells, sold_cells]))
        n_guard = min(n_guard, free.size)
        guard_cells = np.sort(rng.choice(free, size=n_guard, replace=False))
        sold_cells = np.concatenate([sold_cells, guard_cells])
        P, S = prot_cells.size, sold_cells.size
        self.occupant = np.full(cells, -1, dtype=np.int64)
        self.occupant[prot_cells] = np.arange(P)
        self.occupant[sold_cells] = P + np.arange(S)
        self.n_protesters, self.n_soldiers = P, S
        # one position array for every agent on the grid; protesters' and soldiers' are views
        self.pos = np.concatenate([prot_cells, sold_cells]).astype(np.int64)
        # --- protesters
        preg = cell_region[prot_cells]
        mix = np.array([[r["groups"][g["name"]] for g in sc.groups] for r in sc.regions])
        cum = np.cumsum(mix, axis=1)
        hard = np.array([r["hardship"] for r in sc.regions])
        self.protesters = ProtesterArrays(
            region=preg,
            group=_draw_category(cum[preg], rng.random(P)),
            hardship=hard[preg] * rng.random(P),
            risk_aversion=rng.random(P),
            tactic_draw=rng.random(P),
            state=np.full(P, QUIET, dtype=np.int8),
            jail=np.zeros(P, dtype=np.int64),
            pos=self.pos[:P],
        )
        # --- soldiers: units first (they are formed where soldiers stand)
        sreg = cell_region[sold_cells]
        guard = np.zeros(S, dtype=bool)
        guard[n_regular:] = True
        self.units: Units = build_units(
            sreg,
            guard,
            p["soldiers.squad_size"],
            p["soldiers.squads_per_company"],
            p["soldiers.companies_per_battalion"],
            p["soldiers.officer_share"],
            p["soldiers.nco_share"],
            p["soldiers.cross_ties"],
            rng,
        )
        units = self.units
        # home region per battalion: stationed at home unless rotated away
        pop = np.array([r["population"] for r in sc.regions], dtype=float)
        pop = pop / pop.sum() if pop.sum() > 0 else np.full(R, 1.0 / R)
        n_bn = units.battalion_region.size
        rotated = rng.random(n_bn) < p["soldiers.rotation"]
        drawn_home = _draw_category(np.cumsum(pop)[None, :].repeat(n_bn, 0), rng.random(n_bn))
        bn_home = np.where(rotated | units.battalion_guard, drawn_home, units.battalion_region)
        home = bn_home[units.battalion] if S else np.zeros(0, dtype=np.int64)
        # identity group: officers and guards stacked from the core group
        grp = _draw_category(cum[home], rng.random(S))
        stack = (units.rank == OFFICER) | guard
        stacked = stack & (rng.random(S) < p["soldiers.ethnic_stacking"]) & (self.core_group >= 0)
        grp = np.where(stacked, self.core_group, grp)
        loyalty = (
            p["soldiers.loyalty"]
            + p["soldiers.loyalty_sd"] * rng.standard_normal(S)
            + p["soldiers.core_loyalty"] * (grp == self.core_group)
            + p["soldiers.guard_loyalty"] * guard
            - p["soldiers.guard_resentment"] * guard_share * ~guard
        )
        if p["soldiers.threshold_dist"] == "ladder":
            threshold = np.arange(S) / max(S - 1, 1)
        else:
            threshold = p["soldiers.threshold"] + p["soldiers.threshold_sd"] * rng.standard_normal(
                S
            )
        self.soldiers = SoldierArrays(
            region=sreg,
            home=home,
            group=grp,
            guard=guard,
            rank=units.rank,
            loyalty=loyalty,
            threshold=threshold,
            exposure=rng.random(S),
            state=np.full(S, LOYAL, dtype=np.int8),
            pos=self.pos[P:],
            belief=np.ones(S),
            on_duty=np.zeros(S, dtype=bool),
        )
        self.initial_force = S
        self.garrison = np.bincount(sreg, minlength=R)
        # --- elites and their client company commanders (regular army)
        E, k = p["elites.count"], p["elites.clients"]
        regular_cos = np.flatnonzero(
            ~units.battalion_guard[units.battalion[units.company_commander]]
        )
        commanders = units.company_commander[regular_cos]
        clients = np.full((E, k), -1, dtype=np.int64)
        if E and k and commanders.size:
            for e in range(E):
                take = min(k, commanders.size)
                clients[e, :take] = rng.choice(commanders, size=take, replace=False)
        self.elites = EliteArrays(
            loyalty=p["elites.loyalty"] + p["elites.loyalty_sd"] * rng.standard_normal(E),
            clients=clients,
            state=np.full(E, ELITE_LOYAL, dtype=np.int8),
        )
        self.legitimacy = np.array([r["legitimacy"] for r in sc.regions], dtype=float)
        self.group_shift = np.array([g["legitimacy_shift"] for g in sc.groups], dtype=float)

    def _build_proxies(self) -> None:
        for i in range(self.n_protesters):
            Protester(self, i)
        for i in range(self.n_soldiers):
            Soldier(self, i)
        for i in range(self.elites.state.size):
            Elite(self, i)

    def _init_dynamics(self) -> None:
        self.signal = 0.0
        self.belief_public = float(
            rules.belief_survival(
                self.p["belief.intercept"],
                self.p["regime.messaging"],
                self.p["belief.w_messaging"],
                0.0,
                0.0,
                0.0,
            )
        )
        self.soldiers.belief[:] = self.belief_public
        self._collapse_days = 0
        self._split_days = 0
        self._first_region_defection = np.zeros(len(self.region_names), dtype=bool)
        self.arrests_today = 0
        self.stats: dict[str, float] = {}
        self.group_counts: list[NDArray[np.int64]] = []
        self._update_stats()

    # --------------------------------------------------------------------------------------------
    # public API
    # --------------------------------------------------------------------------------------------

    def set_param(self, name: str, value: Any) -> None:
        """Change a parameter during a run (for levers: takes effect from the next day).

        Raises:
            ScenarioError: Unknown name, value out of range, or a build-only parameter.
        """
        p = BY_NAME.get(name)
        if p is None:
            raise ScenarioError([f"set_param: `{name}`: unknown parameter"])
        if name in BUILD_ONLY:
            raise ScenarioError([f"set_param: `{name}`: fixed when the model is built; reset"])
        if p.type in ("int", "float"):
            if not (p.lo <= value <= p.hi):
                raise ScenarioError(
                    [f"set_param: `{name}`: must be between {p.lo:g} and {p.hi:g} (got {value})"]
                )
            value = float(value) if p.type == "float" else int(value)
        self.p[name] = value

    def run(self, steps: int | None = None) -> None:
        """Step until the run stops (outcome or horizon), or for ``steps`` days."""
        n = 0
        while self.running and (steps is None or n < steps):
            self.step()
            n += 1

    def region_had_defection(self) -> NDArray[np.bool_]:
        """Per region: whether it had a defection.

        A region had a defection when at least ``outcome.region_defection`` of its garrison
        deserted or defected, or a whole company went over. The one definition used by the
        summary, the UI and the tests.
        """
        s, u = self.soldiers, self.units
        R = len(self.region_names)
        share = self.region_defected_share()
        co_def = np.bincount(u.company, weights=s.state == DEFECTED, minlength=u.company_size.size)
        whole = co_def >= u.company_size
        co_region = s.region[u.company_commander] if u.company_size.size else np.zeros(0, int)
        company_went = np.bincount(co_region[whole], minlength=R) > 0
        return (share >= self.p["outcome.region_defection"]) | company_went

    def region_defected_share(self) -> NDArray[np.float64]:
        """Per region: share of the initial garrison that deserted or defected."""
        s = self.soldiers
        R = len(self.region_names)
        left = np.bincount(
            s.region, weights=(s.state == DEFECTED) | (s.state == DESERTED), minlength=R
        )
        return np.divide(left, self.garrison, out=np.zeros(R), where=self.garrison > 0)

    # --------------------------------------------------------------------------------------------
    # the step (one day), in the order of the ODD schedule
    # --------------------------------------------------------------------------------------------

    def step(self) -> None:
        """Advance one day."""
        p = self.p
        self.day += 1
        self._apply_events()
        self._duty()
        n_left, belief = self._signals()
        if p["soldiers.can_defect"]:
            self._soldiers_decide(self._neighbourhood_counts(for_soldiers=True), n_left, belief)
        self._elites_decide()
        # Protesters, repressing soldiers and movement in random sub-steps (see docs/ODD.md)
        pr = self.protesters
        jailed = pr.jail > 0
        pr.jail[jailed] -= 1
        B = p["grid.substeps"]
        P, S = self.n_protesters, self.n_soldiers
        batch = (self.rng.random(P + S) * B).astype(np.int64)
        self.arrests_today = 0
        self._arrested = np.zeros(P, dtype=bool)
        for b in range(B):
            mine = batch == b
            counts = self._neighbourhood_counts()
            deciding = mine[:P] & ~jailed & ~self._arrested
            self._protesters_decide(counts, np.flatnonzero(deciding))
            self._repress(mine[P:])
            if p["grid.movement"]:
                self._move(mine)
        self._update_stats()
        self._check_outcome()
        self._collect()

    # 1. regime acts: scheduled events ----------------------------------------------------------
    def _apply_events(self) -> None:
        for ev in self.scenario_def.events:
            if ev["day"] != self.day:
                continue
            kind = ev["kind"]
            if kind == "pay_cut":
                if "pay" in ev:
                    self.p["soldiers.pay"] = ev["pay"]
                if "arrears" in ev:
                    self.p["soldiers.arrears"] = ev["arrears"]
            elif kind == "crackdown":
                self.p["regime.repression"] = ev.get("repression", 1.0)
                if "lethality" in ev:
                    self.p["regime.lethality"] = ev["lethality"]
            elif kind == "elite_split":
                loyal = np.flatnonzero(self.elites.state == ELITE_LOYAL)
                n = int(round(ev.get("share", 0.2) * loyal.size))
                if n:
                    self._elites_defect(np.sort(self.rng.choice(loyal, size=n, replace=False)))
            elif kind == "coup":
                self._coup(ev)
            elif kind == "legitimacy_shock":
                idx = [self.region_names.index(ev["region"])] if ev.get("region") else slice(None)
                self.legitimacy[idx] = np.clip(self.legitimacy[idx] + ev.get("delta", 0.0), 0, 1)
            self.log.append((self.day, _event_text(ev)))

    def _coup(self, ev: dict[str, Any]) -> None:
        e, s, u = self.elites, self.soldiers, self.units
        loyal = np.flatnonzero(e.state == ELITE_LOYAL)
        n = max(1, int(round(ev.get("share", 0.2) * loyal.size))) if loyal.size else 0
        faction = np.sort(self.rng.choice(loyal, size=n, replace=False)) if n else loyal[:0]
        commanders = e.clients[faction].ravel()
        commanders = commanders[commanders >= 0]
        in_force = (s.state == LOYAL) | (s.state == SHIRKING)
        coup_cos = np.zeros(u.company_size.size, dtype=bool)
        coup_cos[u.company[commanders]] = True
        # only units stationed at the centre can seize it
        plotters = in_force & coup_cos[u.company] & (s.region == self.capital)
        coup_force = float(plotters.sum())
        at_centre = (s.state == LOYAL) & (s.region == self.capital) & ~plotters
        centre = rules.loyal_force(
            float((at_centre & ~s.guard).sum()),
            float((at_centre & s.guard).sum()),
            self.p["outcome.guard_weight"],
        )
        if rules.coup_succeeds(coup_force, centre):
            self._decide("collapse", "coup")
            self.log.append((self.day, f"coup succeeded ({coup_force:.0f} vs {centre:.0f} agents)"))
        else:
            e.state[faction] = ELITE_PURGED
            s.state[commanders[in_force[commanders]]] = DETAINED
            self._off_grid(commanders)
            cost = ev.get("legitimacy_cost", 0.1)
            self.legitimacy = np.clip(self.legitimacy - cost, 0.0, 1.0)
            self.log.append((self.day, f"coup failed ({coup_force:.0f} vs {centre:.0f} agents)"))

    # 2. signals and beliefs ---------------------------------------------------------------------
    def _signals(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        p, s = self.p, self.soldiers
        raw = rules.public_signal(
            self.stats["active_protesters"],
            self.stats["soldiers_deserted"] + self.stats["soldiers_defected"],
            self.stats["elites_defected"],
            p["belief.w_protest"],
            p["belief.w_defect"],
            p["belief.w_elite"],
            p["regime.information_control"],
        )
        m = p["belief.memory"]
        self.signal = m * self.signal + (1.0 - m) * raw
        left = (s.state == DEFECTED) | (s.state == DESERTED)
        n_left = rules.peer_share(self.units.adjacency, left, self.units.degree)
        args = (p["belief.intercept"], p["regime.messaging"], p["belief.w_messaging"], self.signal)
        self.belief_public = float(rules.belief_survival(*args, 0.0, 0.0))
        s.belief = rules.belief_survival(*args, n_left, p["belief.w_neighbours"])
        return n_left, s.belief

    def _duty(self) -> None:
        """Draw today's crowd duty: soldiers in the force go out with the repression order."""
        s, p = self.soldiers, self.p
        in_force = (s.state == LOYAL) | (s.state == SHIRKING)
        trusted = s.guard | (s.group == self.core_group)
        chance = p["regime.repression"] * np.where(
            trusted, 1.0, 1.0 - p["regime.selective_deployment"]
        )
        s.on_duty = in_force & (self.rng.random(s.state.size) < chance)

    def _neighbourhood_counts(self, for_soldiers: bool = False) -> dict[str, NDArray[np.int32]]:
        """Count, around every cell, what is in vision.

        For protesters: repressing soldiers (``cops``) and actives within ``protest.vision``. For
        soldiers: actives and violent actives within ``soldiers.vision``.
        """
        pr, s, p = self.protesters, self.soldiers, self.p
        active = pr.state == ACTIVE
        layers = np.zeros((2, self.grid.cells), dtype=np.float32)
        if for_soldiers:
            violent = active & (pr.tactic_draw < p["opposition.violent_share"])
            layers[0, pr.pos[active]] = 1.0
            layers[1, pr.pos[violent]] = 1.0
            c = self.grid.count(layers, p["soldiers.vision"])
            return {"actives_sv": c[0], "violent_sv": c[1]}
        cops = (s.state == LOYAL) & s.on_duty
        layers[0, s.pos[cops]] = 1.0
        layers[1, pr.pos[active]] = 1.0
        c = self.grid.count(layers, p["protest.vision"])
        return {"cops": c[0], "actives_pv": c[1]}

    # 3. protesters decide (Epstein Model I) ------------------------------------------------------
    def _protesters_decide(self, counts: dict[str, NDArray[np.int32]], free) -> None:
        pr, p = self.protesters, self.p
        cells = pr.pos[free]
        legit = np.clip(self.legitimacy[pr.region[free]] + self.group_shift[pr.group[free]], 0, 1)
        g = rules.grievance(pr.hardship[free], legit)
        prob = rules.arrest_probability(
            counts["cops"][cells],
            1 + counts["actives_pv"][cells],
            p["protest.arrest_k"],
            p["protest.rounding"],
        )
        act = rules.activation(g, pr.risk_aversion[free], prob, p["protest.threshold"])
        pr.state[free] = np.where(act, ACTIVE, QUIET)

    # 4. soldiers decide ---------------------------------------------------------------------------
    def _soldiers_decide(
        self, counts: dict[str, NDArray[np.int32]], n_left: NDArray[np.float64], belief
    ) -> None:
        s, p, u, pr = self.soldiers, self.p, self.units, self.protesters
        S = s.state.size
        if S == 0:
            return
        in_force = (s.state == LOYAL) | (s.state == SHIRKING)
        idx = np.flatnonzero(in_force)
        cells = s.pos[idx]
        n_vis = len(diamond_offsets(p["soldiers.vision"]))
        act_v = counts["actives_sv"][cells].astype(float)
        crowd = act_v / n_vis
        nonviolent = np.divide(
            act_v - counts["violent_sv"][cells], act_v, out=np.ones_like(act_v), where=act_v > 0
        )
        R, G = len(self.region_names), self.n_groups
        active = pr.state == ACTIVE
        by_rg = np.bincount(pr.region[active] * G + pr.group[active], minlength=R * G)
        by_r = by_rg.reshape(R, G).sum(axis=1)
        reg, grp = s.region[idx], s.group[idx]
        shared = np.divide(
            by_rg[reg * G + grp].astype(float),
            by_r[reg],
            out=np.zeros(idx.size),
            where=by_r[reg] > 0,
        )
        m = rules.moral_cost(
            p["soldiers.moral_cost"],
            crowd,
            p["soldiers.crowd_scale"],
            nonviolent,
            shared,
            p["soldiers.shared_identity"],
            s.home[idx] == reg,
            p["soldiers.home_region"],
            p["regime.lethality"],
        )
        rank = s.rank[idx]
        officer = rank == OFFICER
        bonus = p["soldiers.officer_bonus"] * np.where(officer, 1.0, np.where(rank == 1, 0.5, 0.0))
        stake = p["soldiers.business_stake"] * officer
        loyalty = s.loyalty[idx] + p["soldiers.indoctrination"]
        b, n = belief[idx], n_left[idx]
        duty = s.on_duty[idx]
        stay = rules.stay_value(
            p["soldiers.pay"] * (1.0 - p["soldiers.arrears"]),
            p["soldiers.w_pay"],
            bonus,
            stake,
            b,
            loyalty,
            m,
            duty,
        )
        q = rules.detection_probability(
            p["soldiers.surveillance"], p["soldiers.safety_in_numbers"], n
        )
        punish = p["soldiers.punishment"] + p["soldiers.family_reprisal"] * s.exposure[idx]
        reward = p["opposition.amnesty"] + p["opposition.defector_value"] * np.where(officer, 2, 1)
        reward = reward * (1.0 - p["soldiers.core_tied_fate"] * (grp == self.core_group))
        g_def = rules.defect_gain(
            stay, b, reward, q, punish, n, p["soldiers.peer_weight"], p["opposition.fight_risk"]
        )
        g_des = rules.desert_gain(
            stay, b, q, punish, p["soldiers.exit_barrier"], n, p["soldiers.peer_weight"]
        )
        choice = rules.soldier_choice(g_def, g_des, s.threshold[idx])
        # commanders who defected pull their companies
        cmd = u.company_commander[u.company[idx]]
        follow = (s.state[cmd] == DEFECTED) & (cmd != idx)
        follow &= self.rng.random(idx.size) < p["soldiers.follow_commander"]
        choice = np.where(follow & (choice == LOYAL), DEFECTED, choice)
        leaving = choice != LOYAL
        detected = leaving & (self.rng.random(idx.size) < q)
        new = np.where(detected, DETAINED, choice)
        stayers = ~leaving
        shirk = rules.shirks(m, loyalty, b * q * punish, duty)
        new = np.where(stayers, np.where(shirk, SHIRKING, LOYAL), new)
        # purges: wavering officers detained
        wavering = stayers & officer & (np.maximum(g_def, g_des) > 0)
        purged = wavering & (self.rng.random(idx.size) < p["soldiers.purge_rate"])
        new = np.where(purged, DETAINED, new).astype(np.int8)
        gone = idx[new >= DESERTED]
        s.state[idx] = new
        s.on_duty &= s.state == LOYAL
        self._off_grid(gone)

    def _off_grid(self, soldiers: NDArray[np.int64]) -> None:
        s = self.soldiers
        on = soldiers[s.pos[soldiers] >= 0]
        self.occupant[s.pos[on]] = -1
        s.pos[on] = -1

    # 5. elites decide -----------------------------------------------------------------------------
    def _elites_decide(self) -> None:
        e, p = self.elites, self.p
        loyal = np.flatnonzero(e.state == ELITE_LOYAL)
        if loyal.size == 0:
            return
        gain = rules.elite_defect_gain(
            self.belief_public,
            p["elites.rents"],
            p["elites.purge_risk"],
            e.loyalty[loyal],
            p["elites.outside_option"],
            p["opposition.amnesty"],
            self.stats["elites_defected"],
            p["elites.peer_weight"],
        )
        self._elites_defect(loyal[gain >= 0])

    def _elites_defect(self, who: NDArray[np.int64]) -> None:
        """Public defection of elites; each client commander follows with a probability."""
        if who.size == 0:
            return
        e, s = self.elites, self.soldiers
        e.state[who] = ELITE_DEFECTED
        self.log.append((self.day, f"{who.size} elite(s) defected publicly"))
        cl = e.clients[who].ravel()
        cl = np.unique(cl[cl >= 0])
        go = cl[(self.rng.random(cl.size) < self.p["elites.client_follow"])]
        go = go[(s.state[go] == LOYAL) | (s.state[go] == SHIRKING)]
        s.state[go] = DEFECTED
        self._off_grid(go)

    # 6. repression --------------------------------------------------------------------------------
    def _repress(self, acting: NDArray[np.bool_]) -> None:
        s, pr, p = self.soldiers, self.protesters, self.p
        cops = np.flatnonzero((s.state == LOYAL) & s.on_duty & (s.pos >= 0) & acting)
        P = self.n_protesters
        is_active = np.zeros(P + s.state.size, dtype=bool)
        is_active[:P] = pr.state == ACTIVE
        n = cops.size
        got = arrest(
            self.grid,
            s.pos[cops],
            p["soldiers.vision"],
            self.occupant,
            is_active,
            self.rng.random((ARREST_ROUNDS, n)),
            self.rng.random((ARREST_ROUNDS, n)),
        )
        got = np.sort(got)
        pr.state[got] = JAILED
        self._arrested[got] = True
        pr.jail[got] = self.rng.integers(0, p["protest.max_jail"] + 1, size=got.size)
        self.arrests_today += got.size
        if got.size and p["protest.backfire"] > 0:
            R = len(self.region_names)
            per_r = np.bincount(pr.region[got], minlength=R)
            pop_r = np.bincount(pr.region, minlength=R)
            share = np.divide(per_r, pop_r, out=np.zeros(R), where=pop_r > 0)
            loss = rules.backfire_loss(share, p["protest.backfire"], p["regime.lethality"])
            self.legitimacy = np.clip(self.legitimacy - loss, 0.0, 1.0)

    # 7. movement ----------------------------------------------------------------------------------
    def _move(self, mine: NDArray[np.bool_]) -> None:
        pr, s, p = self.protesters, self.soldiers, self.p
        P = self.n_protesters
        walkers = np.flatnonzero((pr.state != JAILED) & mine[:P])
        marching = np.flatnonzero((s.pos >= 0) & mine[P:])
        movers = np.concatenate([walkers, P + marching])
        pv, sv = p["protest.vision"], p["soldiers.vision"]
        radii = (
            pv
            if pv == sv
            else np.concatenate([np.full(walkers.size, pv), np.full(marching.size, sv)])
        )
        tries = p["grid.move_tries"]
        move(
            self.grid,
            self.occupant,
            self.pos,
            movers,
            radii,
            self.rng.random((MOVE_ROUNDS, movers.size, tries)),
            self.rng.random((MOVE_ROUNDS, movers.size)),
        )

    # 8. outcome -----------------------------------------------------------------------------------
    def _check_outcome(self) -> None:
        p, st, s = self.p, self.stats, self.soldiers
        if self.outcome is None:
            loyal = s.state == LOYAL
            force = rules.loyal_force(
                float((loyal & ~s.guard).sum()),
                float((loyal & s.guard).sum()),
                p["outcome.guard_weight"],
            )
            opp = rules.opposition_strength(
                float((self.protesters.state == ACTIVE).sum()),
                float((s.state == DEFECTED).sum()),
                p["outcome.protester_weight"],
                p["outcome.defector_weight"],
            )
            self._collapse_days = self._collapse_days + 1 if force < opp else 0
            in_core = st["soldiers_loyal"] + st["soldiers_shirking"]
            split = (
                st["soldiers_defected"] >= p["outcome.split_defected"] > 0
                and in_core >= p["outcome.split_loyal"]
            )
            self._split_days = self._split_days + 1 if split else 0
            k = p["outcome.k_days"]
            if self.elites.state.size and st["elites_defected"] > p["outcome.elite_majority"]:
                self._decide("collapse", "elite_majority")
            elif self._collapse_days >= k:
                self._decide("collapse", "loyal_force_below_opposition")
            elif self._split_days >= p["outcome.split_days"]:
                self._decide("split", "armed_defectors_and_loyal_core")
        had = self.region_had_defection()
        for r in np.flatnonzero(had & ~self._first_region_defection):
            self.log.append((self.day, f"first defection in {self.region_names[r]}"))
        self._first_region_defection |= had
        if self.day >= p["run.horizon"]:
            if self.outcome is None:
                self._decide("survival", "horizon_reached")
            self.running = False
        elif self.outcome is not None and not self.until_horizon:
            self.running = False

    def _decide(self, outcome: str, rule: str) -> None:
        if self.outcome is None:
            self.outcome, self.outcome_day, self.outcome_rule = outcome, self.day, rule
            self.log.append((self.day, f"outcome: {outcome} ({rule})"))

    # 9. data --------------------------------------------------------------------------------------
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

    def _update_stats(self) -> None:
        s, pr = self.soldiers, self.protesters
        S0 = max(self.initial_force, 1)
        P = max(self.n_protesters, 1)
        sc = np.bincount(s.state, minlength=5) / S0
        pc = np.bincount(pr.state, minlength=3) / P
        E = self.elites.state.size
        self.stats = {
            "day": self.day,
            "active_protesters": float(pc[ACTIVE]),
            "jailed_protesters": float(pc[JAILED]),
            "soldiers_loyal": float(sc[LOYAL]),
            "soldiers_shirking": float(sc[SHIRKING]),
            "soldiers_deserted": float(sc[DESERTED]),
            "soldiers_defected": float(sc[DEFECTED]),
            "soldiers_detained": float(sc[DETAINED]),
            "elites_defected": float((self.elites.state == ELITE_DEFECTED).mean()) if E else 0.0,
            "belief_survival": self.belief_public,
            "legitimacy": float(self.legitimacy.mean()),
            "arrests": float(self.arrests_today),
        }
        R, G = len(self.region_names), self.n_groups
        key = ((s.region * G + s.group) * 3 + s.rank) * 5 + s.state
        self.group_counts.append(np.bincount(key, minlength=R * G * 3 * 5))

    def _collect(self) -> None:
        self.datacollector.collect(self)


def geometry_problems(scenario: Scenario, origin: str) -> list[str]:
    """Rules on the grid that involve several parameters; the model refuses to build if any fails.

    Vision must fit the torus (``2 v + 1`` cells, so no cell is counted twice; Epstein 2002 uses
    vision 7 on 40 x 40), and a region's protesters and soldiers must fit its cells.
    """
    p = scenario.params
    side = min(p["grid.width"], p["grid.height"])
    problems = []
    for name in ("protest.vision", "soldiers.vision"):
        if 2 * p[name] + 1 > side:
            problems.append(
                f"{origin}: field `{name}`: vision {p[name]} needs a grid at "
                f"least {2 * p[name] + 1} cells wide (grid is {side})"
            )
    for r in scenario.regions:
        total = r["citizen_density"] + r["garrison_density"]
        if total > 1:
            problems.append(
                f"{origin}: field `regions.{r['name']}`: citizen_density + "
                f"garrison_density must be at most 1 (got {total:g})"
            )
    return problems


def _stat(name: str):
    def reporter(model: RegimeModel) -> float:
        return model.stats[name]

    reporter.__name__ = name
    return reporter


def _draw_category(cum: NDArray[np.float64], u: NDArray[np.float64]) -> NDArray[np.int64]:
    """Index of the category each uniform draw falls in, given cumulative probabilities per row."""
    if u.size == 0:
        return np.zeros(0, dtype=np.int64)
    last = cum.shape[1] - 1
    return np.minimum((u[:, None] >= cum).sum(axis=1), last).astype(np.int64)


def _event_text(ev: dict[str, Any]) -> str:
    extra = ", ".join(f"{k}={v}" for k, v in ev.items() if k not in ("day", "kind", "note"))
    note = f": {ev['note']}" if ev.get("note") else ""
    return f"event {ev['kind']}" + (f" ({extra})" if extra else "") + note
