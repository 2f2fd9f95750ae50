"""Initialization (ODD section 5): the grids, who stands where, units, soldiers and elites.

Each part of the build draws from its own stream (placement, protesters, units, soldiers,
elites, and branches: police companies and conscripts), so a parameter that changes the size of
one draw (the guard share changes how many guard cells are picked) shifts neither the other parts'
draws nor the daily processes'.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from defection.model import elites, measurement, rules, soldier_rules
from defection.model.limits import soldiers_fit_problems
from defection.model.network import Units, build_units
from defection.model.rules import CONSCRIPT, ELITE_LOYAL, LOYAL, OFFICER, QUIET
from defection.model.scenario import Scenario, ScenarioError
from defection.model.space import GridStack
from defection.model.state import EliteArrays, ProtesterArrays, SoldierArrays

if TYPE_CHECKING:
    from defection.model.regime import RegimeModel


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


def force_problems(scenario: Scenario, origin: str) -> list[str]:
    """Rules on the force's branches: guards and police together are at most the whole force."""
    p = scenario.params
    total = p["police.share"] + p["soldiers.guard_share"]
    if total > 1:
        return [
            f"{origin}: field `police.share`: police.share + soldiers.guard_share must be at "
            f"most 1 (got {total:g})"
        ]
    return []


def build_problems(scenario: Scenario, origin: str) -> list[str]:
    """Every check the model makes before it builds (``defection validate`` runs the same).

    Geometry, the force's branches, whether ``soldiers.count`` soldiers fit
    (:func:`.limits.soldiers_fit_problems`), then the measurement model's.
    """
    return (
        geometry_problems(scenario, origin)
        + force_problems(scenario, origin)
        + soldiers_fit_problems(scenario, origin)
        + measurement.measurement_problems(scenario, origin)
    )


def draw_category(cum: NDArray[np.float64], u: NDArray[np.float64]) -> NDArray[np.int64]:
    """Index of the category each uniform draw falls in, given cumulative probabilities per row."""
    if u.size == 0:
        return np.zeros(0, dtype=np.int64)
    last = cum.shape[1] - 1
    return np.minimum((u[:, None] >= cum).sum(axis=1), last).astype(np.int64)


def build(
    m: RegimeModel, streams: dict[str, np.random.Generator], pilot_share: float | None = None
) -> None:
    """Lay out the regions' grids and create every agent's state on ``m`` (ODD section 5).

    Each cell holds a protester with probability ``citizen_density``, a soldier with probability
    ``garrison_density`` (or exactly ``soldiers.count`` soldiers drawn by density), or nothing, as
    Mesa's Epstein example draws it; guard soldiers are added in the capital. Soldiers are then cut
    into units where they stand (:func:`~defection.model.network.build_units`) and given a home
    region, an identity group, loyalty and a threshold; elites get client company commanders.

    Sets on ``m``: ``grid``, ``occupant``, ``pos``, ``off_map`` (per soldier: serves off the
    map from the start, ``soldiers.min_agents``), ``n_protesters``, ``n_soldiers``,
    ``protesters``, ``soldiers``, ``units``, ``elites``, ``n_groups``, ``core_group``,
    ``capital``, ``initial_force``, ``garrison``, ``legitimacy``, ``group_shift``, ``measure``
    (people per agent, :mod:`~defection.model.measurement`) and ``protester_people`` (people each
    protester agent stands for).

    ``pilot_share`` is the pilot run's peak active share when the scenario states a peak
    (:mod:`~defection.model.measurement`).

    Raises:
        ScenarioError: ``soldiers.count`` soldiers do not fit the free cells, or the stated peak
            cannot be reached.
    """
    sc, p = m.scenario_def, m.p
    R, H, W = len(sc.regions), p["grid.height"], p["grid.width"]
    m.grid = GridStack(R, H, W)
    cells = m.grid.cells
    G = len(sc.groups)
    m.n_groups = G
    core = [i for i, g in enumerate(sc.groups) if g["core"]]
    m.core_group = core[0] if core else -1
    m.capital = next(i for i, r in enumerate(sc.regions) if r["capital"])
    cell_region = np.arange(cells) // (H * W)
    prot_cells, sold_cells, sreg, guard, guard_share = _place(m, streams["place"], cell_region)
    P, S = prot_cells.size, sold_cells.size
    m.occupant = np.full(cells, -1, dtype=np.int64)
    m.occupant[prot_cells] = np.arange(P)
    placed = sold_cells >= 0
    m.occupant[sold_cells[placed]] = P + np.flatnonzero(placed)
    m.off_map = ~placed  # soldiers who serve off the map from the start (soldiers.min_agents)
    m.n_protesters, m.n_soldiers = P, S
    # one position array for every agent on the grid; protesters' and soldiers' are views
    m.pos = np.concatenate([prot_cells, sold_cells]).astype(np.int64)
    # --- protesters
    preg = cell_region[prot_cells]
    mix = np.array([[r["groups"][g["name"]] for g in sc.groups] for r in sc.regions])
    cum = np.cumsum(mix, axis=1)
    hard = np.array([r["hardship"] for r in sc.regions])
    rng = streams["protesters"]
    m.protesters = ProtesterArrays(
        region=preg,
        group=draw_category(cum[preg], rng.random(P)),
        hardship=hard[preg] * rng.random(P),
        risk_aversion=rng.random(P),
        tactic_draw=rng.random(P),
        state=np.full(P, QUIET, dtype=np.int8),
        jail=np.zeros(P, dtype=np.int64),
        pos=m.pos[:P],
        # drawn last, and only with a build-up: without one every other draw stays the same
        join_day=rules.join_days(p["protest.buildup_days"], P, rng, p["protest.buildup_growth"]),
    )
    _build_soldiers(m, streams, sreg, guard, guard_share, cum)
    _build_elites(m, streams["elites_build"])
    m.measure = measurement.measure(sc, np.bincount(preg, minlength=R), S, pilot_share, m.origin)
    m.protester_people = m.measure.protester_people[preg]
    m.legitimacy = np.array([r["legitimacy"] for r in sc.regions], dtype=float)
    m.group_shift = np.array([g["legitimacy_shift"] for g in sc.groups], dtype=float)


def apportion(total: int, weights: NDArray[np.float64]) -> NDArray[np.int64]:
    """Split ``total`` into whole parts proportional to ``weights`` (largest remainders).

    Each part gets ``floor(total w_i / sum w)``; the units left go to the largest remainders,
    ties to the lower index (Hamilton's method). Equal weights when they sum to 0. No random
    number is drawn.
    """
    w = np.asarray(weights, dtype=float)
    if w.size == 0:
        return np.zeros(0, dtype=np.int64)
    if not w.sum() > 0:
        w = np.ones_like(w)
    quota = total * w / w.sum()
    parts = np.floor(quota).astype(np.int64)
    left = int(total - parts.sum())
    order = np.argsort(-(quota - parts), kind="stable")
    parts[order[:left]] += 1
    return parts


def off_map_counts(
    on_map: int, on_map_guards: int, min_agents: int, guard_share: float
) -> tuple[int, int]:
    """Regular and guard soldier agents who serve off the map: ``(regular, guards)``.

    The force is represented by at least ``min_agents`` soldier agents
    (``soldiers.min_agents``); when the map holds fewer (``on_map``, of whom ``on_map_guards``
    guards), the rest serve off it, guards until they make ``round(guard_share x total)`` of the
    whole, regulars for the remainder. None when the map holds enough.
    """
    extra = max(0, int(min_agents) - int(on_map))
    if extra == 0:
        return 0, 0
    total = on_map + extra
    guards = min(extra, max(0, int(round(guard_share * total)) - int(on_map_guards)))
    return extra - guards, guards


def _place(m: RegimeModel, rng: np.random.Generator, cell_region: NDArray[np.int64]):
    """Who stands where: per cell, citizen / soldier / empty; then guard cells in the capital.

    Then the soldiers who serve off the map (``soldiers.min_agents``, :func:`off_map_counts`):
    regulars spread over the regions as the map's regulars are (:func:`apportion`), guards in
    the capital; their cell is -1. Order: the regulars (the map's, then those off it), then the
    guards (likewise). Returns the protesters' cells, the soldiers' cells, their regions, their
    guard flags and the guard share.
    """
    sc, p = m.scenario_def, m.p
    H, W = p["grid.height"], p["grid.width"]
    cells = cell_region.size
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
        room = np.count_nonzero(weight)  # build_problems refuses a count near it beforehand
        if n > room:
            raise ScenarioError(
                [
                    f"{m.origin}: field `soldiers.count`: {n} soldiers do not fit "
                    f"({room} free cells with positive garrison density)"
                ]
            )
        pick = rng.choice(free, size=n, replace=False, p=weight / weight.sum())
        sold_cells = np.sort(pick)
    n_regular = sold_cells.size
    guard_share = p["soldiers.guard_share"]
    n_guard = int(round(guard_share / (1.0 - guard_share) * n_regular))
    lo = m.capital * H * W
    free = np.setdiff1d(np.arange(lo, lo + H * W), np.concatenate([prot_cells, sold_cells]))
    n_guard = min(n_guard, free.size)
    guard_cells = np.sort(rng.choice(free, size=n_guard, replace=False))
    off_reg, off_guard = off_map_counts(
        n_regular + n_guard, n_guard, p["soldiers.min_agents"], guard_share
    )
    R = len(sc.regions)
    on_map_reg = np.bincount(cell_region[sold_cells], minlength=R)
    weights = (
        on_map_reg
        if on_map_reg.sum() > 0
        else np.array([r["garrison_density"] for r in sc.regions], dtype=float)
    )
    off_reg_region = np.repeat(np.arange(R), apportion(off_reg, weights))
    cells_all = np.concatenate(
        [sold_cells, np.full(off_reg, -1), guard_cells, np.full(off_guard, -1)]
    ).astype(np.int64)
    sreg = np.concatenate(
        [
            cell_region[sold_cells],
            off_reg_region,
            cell_region[guard_cells],
            np.full(off_guard, m.capital),
        ]
    ).astype(np.int64)
    guard = np.zeros(cells_all.size, dtype=bool)
    guard[n_regular + off_reg :] = True
    return prot_cells, cells_all, sreg, guard, guard_share


def _build_soldiers(
    m: RegimeModel,
    streams: dict[str, np.random.Generator],
    sreg: NDArray[np.int64],
    guard: NDArray[np.bool_],
    guard_share: float,
    cum: NDArray[np.float64],
) -> None:
    """Units first (they are formed where soldiers stand), then homes, groups, loyalty."""
    sc, p = m.scenario_def, m.p
    R, S = len(sc.regions), sreg.size
    m.units = units = build_units(
        sreg,
        guard,
        p["soldiers.squad_size"],
        p["soldiers.squads_per_company"],
        p["soldiers.companies_per_battalion"],
        p["soldiers.officer_share"],
        p["soldiers.nco_share"],
        p["soldiers.cross_ties"],
        streams["units"],
    )
    # branches (their own stream, so no earlier draw moves): police companies, then conscripts
    branches = streams["branches"]
    police = _police(units, p["police.share"] * S, branches)
    rng = streams["soldiers_build"]
    # home region per battalion: stationed at home unless rotated away
    pop = np.array([r["population"] for r in sc.regions], dtype=float)
    pop = pop / pop.sum() if pop.sum() > 0 else np.full(R, 1.0 / R)
    n_bn = units.battalion_region.size
    rotated = rng.random(n_bn) < p["soldiers.rotation"]
    drawn_home = draw_category(np.cumsum(pop)[None, :].repeat(n_bn, 0), rng.random(n_bn))
    bn_home = np.where(rotated | units.battalion_guard, drawn_home, units.battalion_region)
    home = bn_home[units.battalion] if S else np.zeros(0, dtype=np.int64)
    home = np.where(police, sreg, home)  # police serve in their home region
    # identity group: officers and guards stacked from the core group
    grp = draw_category(cum[home], rng.random(S))
    stack = (units.rank == OFFICER) | guard
    stacked = stack & (rng.random(S) < p["soldiers.ethnic_stacking"]) & (m.core_group >= 0)
    grp = np.where(stacked, m.core_group, grp)
    loyalty = (
        p["soldiers.loyalty"]
        + p["soldiers.loyalty_sd"] * rng.standard_normal(S)
        + p["soldiers.core_loyalty"] * (grp == m.core_group)
        + p["soldiers.guard_loyalty"] * guard
        - p["soldiers.guard_resentment"] * guard_share * ~guard
    )
    # conscripts: drafted men of the army's rank and file (after every draw above)
    drafted = branches.random(S) < p["soldiers.conscript_share"]
    conscript = drafted & (units.rank == CONSCRIPT) & ~guard & ~police
    loyalty = loyalty + p["police.loyalty"] * police + p["soldiers.conscript_loyalty"] * conscript
    # conscience: each man's multiplier of the moral cost, drawn whatever the spread (the last
    # draw of the branches stream, so no other draw moves; 1 everywhere at spread 0)
    conscience = soldier_rules.conscience_factor(
        p["soldiers.conscience_sd"], branches.standard_normal(S)
    )
    if p["soldiers.threshold_dist"] == "ladder":
        threshold = np.arange(S) / max(S - 1, 1)
    else:
        threshold = p["soldiers.threshold"] + p["soldiers.threshold_sd"] * rng.standard_normal(S)
    m.soldiers = SoldierArrays(
        region=sreg,
        home=home,
        group=grp,
        guard=guard,
        police=police,
        rank=units.rank,
        conscript=conscript,
        loyalty=loyalty,
        threshold=threshold,
        exposure=rng.random(S),
        conscience=conscience,
        state=np.full(S, LOYAL, dtype=np.int8),
        pos=m.pos[m.n_protesters :],
        belief=np.ones(S),
        on_duty=np.zeros(S, dtype=bool),
    )
    m.initial_force = S
    m.garrison = np.bincount(sreg, minlength=R)


def _police(units: Units, target: float, rng: np.random.Generator) -> NDArray[np.bool_]:
    """Per soldier: whether his company is a police company.

    Police are whole regular (non-guard) companies, drawn at random until they hold about
    ``target`` soldiers (:func:`~defection.model.soldier_rules.pick_companies`).
    """
    cmd = units.company_commander
    keys = rng.random(cmd.size)
    regular = ~units.battalion_guard[units.battalion[cmd]]
    picked = soldier_rules.pick_companies(units.company_size, regular, target, keys)
    return picked[units.company] if units.company.size else np.zeros(0, dtype=bool)


def _build_elites(m: RegimeModel, rng: np.random.Generator) -> None:
    """Elites and their client company commanders (regular army only: not guards, not police)."""
    p, units = m.p, m.units
    E, k = p["elites.count"], p["elites.clients"]
    cmd = units.company_commander
    army = ~units.battalion_guard[units.battalion[cmd]] & ~m.soldiers.police[cmd]
    regular_cos = np.flatnonzero(army)
    commanders = units.company_commander[regular_cos]
    clients = np.full((E, k), -1, dtype=np.int64)
    if E and k and commanders.size:
        for e in range(E):
            take = min(k, commanders.size)
            clients[e, :take] = rng.choice(commanders, size=take, replace=False)
    z = rng.standard_normal(E)
    floor = elites.calm_floor(m)
    m.elite_floor = floor  # the calm-time indifference point (elites.plots reads loyalty above it)
    if p["elites.steady_start"]:  # only elites who stay in calm times (rules.calm_loyalty_floor)
        # strictly above L*: an elite at L* has gain 0, and a gain of 0 defects (>= 0)
        above = float(np.nextafter(floor, np.inf))
        loyalty = rules.truncated_normal(z, p["elites.loyalty"], p["elites.loyalty_sd"], above)
    else:
        loyalty = p["elites.loyalty"] + p["elites.loyalty_sd"] * z
    soft = rules.softline_faction(E, p["elites.softline_share"])
    if soft.any() and p["elites.softline_gap"] > 0:  # the same draws z, a lower mean
        mean = p["elites.loyalty"] - p["elites.softline_gap"]
        if p["elites.steady_start"]:
            loyalty[soft] = rules.truncated_normal(z[soft], mean, p["elites.loyalty_sd"], above)
        else:
            loyalty[soft] = mean + p["elites.loyalty_sd"] * z[soft]
    m.elites = EliteArrays(
        loyalty=loyalty,
        clients=clients,
        softline=soft,
        state=np.full(E, ELITE_LOYAL, dtype=np.int8),
    )
