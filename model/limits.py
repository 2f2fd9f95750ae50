"""The resource budget: how large a scenario or a sweep may be, and what a run is expected to need.

Every value of a scenario is checked against the registry's bounds (:mod:`.address`), but values
that are each in bounds can together ask for more than a machine holds: a 5000 x 5000 grid, 200
regions of 1000 x 1000, ten million soldiers, a thousand regions of fifty groups for a hundred
thousand days. So a scenario (and a sweep) is also checked against :class:`Limits`:

* the file itself: its size, how deeply its tables nest, how long its ``extends`` chain is
  (checked as the file is read, by :mod:`defection.model.tomlfile`);
* how many regions, groups and events it lists, its horizon;
* its grid cells (per region and in all), its agents as the densities and ``soldiers.count``
  make them (:func:`size_of`), and the memory a run is expected to need at its peak
  (:func:`expected_peak_bytes`, from figures measured by ``scripts/measure_memory.py``);
* for a sweep, its number of runs, counted from the spec before any design point is drawn.

Two sets of limits exist: :data:`DEFAULT`, which keeps one run under about 1 GiB, and
:data:`LARGE` (the command line's ``--allow-large``), for machines and runs that can afford more.
Both are in the README ("Resource limits"), which says what the raised limits cost.

This module also holds :func:`soldiers_fit_problems`, the check that ``soldiers.count`` soldiers
fit the cells a run can place them on, which ``building.build_problems`` (the model's checks
before it builds, also run by ``defection validate``) includes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from defection.model.scenario import Scenario

MiB = 2**20
GiB = 2**30

#: The command-line flag that selects :data:`LARGE`.
FLAG = "--allow-large"


@dataclass(frozen=True)
class Limits:
    """Caps on what a scenario file, a sweep file and one run may ask for.

    Attributes:
        name: ``default`` or ``large``.
        file_bytes: Size of one scenario or sweep file (each file of an ``extends`` chain).
        depth: How deeply tables and arrays may nest in a file (a valid scenario needs 4).
        extends: Files in an ``extends`` chain, the file itself included.
        regions: ``[[regions]]`` tables.
        groups: ``[[groups]]`` tables.
        events: ``[[events]]`` tables.
        horizon: ``run.horizon``, days.
        cells_per_region: ``grid.width`` x ``grid.height``.
        cells: Cells of all regions.
        agents: Protester and soldier agents the densities (or ``soldiers.count``) make,
            expected values.
        soldiers: Soldier agents (regular and guards), expected values.
        region_group_days: Regions x groups x ``run.horizon``: the per-day counts a run keeps.
        memory: Expected peak memory of one run (:func:`expected_peak_bytes`), bytes.
        sweep_runs: Runs of one sweep (design points x replicates).
    """

    name: str
    file_bytes: int
    depth: int
    extends: int
    regions: int
    groups: int
    events: int
    horizon: int
    cells_per_region: int
    cells: int
    agents: int
    soldiers: int
    region_group_days: int
    memory: int
    sweep_runs: int


#: The default budget: one run needs at most about 1 GiB. Each cap alone stays inside it (with
#: the other sizes small); together they are held to it by :func:`expected_peak_bytes`.
DEFAULT = Limits(
    name="default",
    file_bytes=1 * MiB,
    depth=16,
    extends=16,
    regions=64,
    groups=16,
    events=1_000,
    horizon=10_000,
    cells_per_region=4_000_000,
    cells=4_000_000,
    agents=2_500_000,
    soldiers=150_000,
    region_group_days=800_000,
    memory=1 * GiB,
    sweep_runs=200_000,
)

#: ``--allow-large``: one run may need up to about 16 GiB; the registry's bounds still hold.
LARGE = Limits(
    name="large",
    file_bytes=64 * MiB,
    depth=64,
    extends=256,
    regions=1_000,
    groups=100,
    events=100_000,
    horizon=100_000,
    cells_per_region=25_000_000,
    cells=64_000_000,
    agents=40_000_000,
    soldiers=2_500_000,
    region_group_days=16_000_000,
    memory=16 * GiB,
    sweep_runs=2_000_000,
)


def limits_for(allow_large: bool) -> Limits:
    """:data:`LARGE` if ``allow_large``, else :data:`DEFAULT`."""
    return LARGE if allow_large else DEFAULT


def raise_hint(limits: Limits, field: str) -> str:
    """How to go further: the flag and the limit it sets, or that this is the flag's limit."""
    if limits.name == DEFAULT.name:
        return f" ({FLAG} raises it to {getattr(LARGE, field):,})"
    return f" (the limit with {FLAG})" if limits.name == LARGE.name else ""


def document_problems(doc: dict[str, Any], origin: str, limits: Limits) -> list[str]:
    """Counts of a scenario document's tables against ``limits``, checked before its schema."""
    problems = []
    for table, cap in (
        ("regions", limits.regions),
        ("groups", limits.groups),
        ("events", limits.events),
    ):
        entries = doc.get(table)
        if isinstance(entries, list) and len(entries) > cap:
            problems.append(
                f"{origin}: field `{table}`: {len(entries):,} {table}, more than the limit of "
                f"{cap:,}{raise_hint(limits, table)}"
            )
    return problems


# ------------------------------------------------------------------------------------------------
# the run: its size and its expected peak memory
# ------------------------------------------------------------------------------------------------

#: Peak resident memory of ``defection run`` (build, days, outputs written), by what a scenario
#: asks for. Measured by ``.venv/bin/python scripts/measure_memory.py`` on 2 December 2026 (two
#: sizes each, the slope between them; measured: base 217 MiB, cell 117 bytes, protester 109,
#: soldier 885, tie 483, day 2,203, region-group-day 592) and rounded up by a fifth or more,
#: so that the estimate is above what a run takes (``tests/test_limits.py`` checks it at the caps).
#: The process itself: the interpreter, numpy, pandas, Mesa, pyarrow and matplotlib, a small run.
BASE_BYTES = 280 * MiB
#: Per grid cell (occupancy, coordinates, the FFT planes of the neighbourhood counts).
CELL_BYTES = 145
#: Per protester agent, besides its cell.
PROTESTER_BYTES = 135
#: Per soldier agent, besides its cell and its ties.
SOLDIER_BYTES = 1_100
#: Per tie of the soldiers' network (squad cliques, leaders, cross ties).
TIE_BYTES = 600
#: Per day of the run (the DataCollector's series, ``timeseries.parquet``).
DAY_BYTES = 2_700
#: Per region, identity group and day (the per-day group counts and ``groups.parquet``).
REGION_GROUP_DAY_BYTES = 750


@dataclass(frozen=True)
class Size:
    """What a scenario asks a run to hold (expected counts: the densities are probabilities).

    Attributes:
        regions: Regions. groups: Identity groups. days: ``run.horizon``.
        cells_per_region: Cells of one region's grid. cells: Cells of all regions.
        protesters: Protester agents. soldiers: Soldier agents (regular and guards).
        ties: Ties of the soldiers' network (an upper bound).
        elites: Elite agents.
    """

    regions: int
    groups: int
    days: int
    cells_per_region: int
    cells: int
    protesters: float
    soldiers: float
    ties: float
    elites: int

    @property
    def agents(self) -> float:
        """Protester and soldier agents."""
        return self.protesters + self.soldiers

    @property
    def region_group_days(self) -> int:
        """Regions x groups x days."""
        return self.regions * self.groups * self.days

    @property
    def peak_bytes(self) -> int:
        """Expected peak memory of a run of this size (see :func:`expected_peak_bytes`)."""
        return int(
            BASE_BYTES
            + CELL_BYTES * self.cells
            + PROTESTER_BYTES * self.protesters
            + SOLDIER_BYTES * self.soldiers
            + TIE_BYTES * self.ties
            + DAY_BYTES * self.days
            + REGION_GROUP_DAY_BYTES * self.region_group_days
        )


def size_of(scenario: Scenario) -> Size:
    """What a scenario asks a run to hold.

    Protesters and regular soldiers are the expected counts of the cell-by-cell draw (cells x
    density per region), or ``soldiers.count`` when it is set; guards add
    ``guard_share / (1 - guard_share)`` of the regulars, at most one region's cells; at least
    ``soldiers.min_agents`` soldiers in all (those beyond the map's serve off it). Ties are an
    upper bound per soldier: ``(squad_size - 1) / 2`` in his squad's clique, ``cross_ties / 2``
    and one to his leader.
    """
    p = scenario.params
    per_region = int(p["grid.width"]) * int(p["grid.height"])
    regions = scenario.regions
    protesters = sum(per_region * r["citizen_density"] for r in regions)
    drawn = sum(per_region * r["garrison_density"] for r in regions)
    regular = float(p["soldiers.count"]) if p["soldiers.count"] > 0 else drawn
    g = p["soldiers.guard_share"]
    guards = min(g / (1.0 - g) * regular, float(per_region)) if g < 1 else float(per_region)
    soldiers = max(regular + guards, float(p["soldiers.min_agents"]))  # the rest off the map
    ties_each = (p["soldiers.squad_size"] - 1) / 2 + p["soldiers.cross_ties"] / 2 + 1
    return Size(
        regions=len(regions),
        groups=len(scenario.groups),
        days=int(p["run.horizon"]),
        cells_per_region=per_region,
        cells=per_region * len(regions),
        protesters=protesters,
        soldiers=soldiers,
        ties=soldiers * ties_each,
        elites=int(p["elites.count"]),
    )


def expected_peak_bytes(scenario: Scenario) -> int:
    """Expected peak resident memory of ``defection run`` on ``scenario``, bytes.

    ``BASE + cells x CELL + protesters x PROTESTER + soldiers x SOLDIER + ties x TIE
    + days x DAY + regions x groups x days x REGION_GROUP_DAY``, with the coefficients measured
    by ``scripts/measure_memory.py`` and rounded up. A scenario that states its peak
    participation runs a pilot first; the pilot is freed before the run is built, so it adds
    little.
    """
    return size_of(scenario).peak_bytes


def describe(size: Size) -> str:
    """``about 620 MiB (1,065,664 agents on 1,440,000 cells, 365 days)`` for messages."""
    return (
        f"about {size.peak_bytes / MiB:,.0f} MiB ({size.agents:,.0f} agents on "
        f"{size.cells:,} cells, {days(size.days)})"
    )


def days(n: int) -> str:
    """``1 day``, ``365 days``."""
    return f"{n:,} day" + ("" if n == 1 else "s")


def size_problems(scenario: Scenario, origin: str, limits: Limits = DEFAULT) -> list[str]:
    """What in a resolved scenario is larger than ``limits`` allows: the first such size, or none.

    In order: the horizon, the cells of a region's grid, the cells of all regions, the expected
    agents, the expected soldiers, regions x groups x days, and the expected peak memory of a run
    (:func:`expected_peak_bytes`). Only the first is reported: the later sizes follow from the
    earlier ones (more cells, more agents, more memory), so one line says what to change first.
    """
    p = scenario.params
    s = size_of(scenario)
    w, h = p["grid.width"], p["grid.height"]
    count = p["soldiers.count"] > 0
    checks = (
        ("run.horizon", s.days, "horizon", days(s.days)),
        (
            "grid",
            s.cells_per_region,
            "cells_per_region",
            f"a {w} x {h} grid has {s.cells_per_region:,} cells",
        ),
        (
            "regions",
            s.cells,
            "cells",
            f"{s.regions} regions of {s.cells_per_region:,} cells are {s.cells:,} cells",
        ),
        (
            "protest.citizen_density",
            s.agents,
            "agents",
            f"the densities place about {s.agents:,.0f} agents",
        ),
        (
            "soldiers.count" if count else "soldiers.garrison_density",
            s.soldiers,
            "soldiers",
            f"{'soldiers.count makes' if count else 'the densities place'} about "
            f"{s.soldiers:,.0f} soldiers (guards included)",
        ),
        (
            "run.horizon",
            s.region_group_days,
            "region_group_days",
            f"{s.regions} regions x {s.groups} groups x {days(s.days)} are "
            f"{s.region_group_days:,} region-group-days of counts",
        ),
    )
    per = {"cells_per_region": " per region", "cells": " in all"}
    for field, value, cap_field, what in checks:
        cap = getattr(limits, cap_field)
        if value > cap:
            return [
                f"{origin}: field `{field}`: {what}, more than the limit of {cap:,}"
                f"{per.get(cap_field, '')}{raise_hint(limits, cap_field)}"
            ]
    if s.peak_bytes > limits.memory:
        return [
            f"{origin}: a run would need {describe(s)} at its peak, more than the budget of "
            f"{limits.memory / MiB:,.0f} MiB{_raise_hint_memory(limits)}"
        ]
    return []


def _raise_hint_memory(limits: Limits) -> str:
    if limits.name == DEFAULT.name:
        return f" ({FLAG} raises it to {LARGE.memory / MiB:,.0f} MiB)"
    return f" (the budget with {FLAG})" if limits.name == LARGE.name else ""


# ------------------------------------------------------------------------------------------------
# soldiers.count: do the soldiers fit?
# ------------------------------------------------------------------------------------------------

#: How many standard deviations below its mean the number of free cells may fall before
#: ``soldiers.count`` is refused: at 5, a draw leaves fewer free cells in about 3 runs in 10
#: million, so a count that passes here fits in practice on every seed.
FIT_SIGMAS = 5.0


def soldiers_fit_problems(scenario: Scenario, origin: str) -> list[str]:
    """Whether ``soldiers.count`` soldiers fit the cells the build can place them on.

    The build places protesters cell by cell first, then draws exactly ``soldiers.count``
    soldiers among the cells left free in regions with a positive garrison density. Their number
    is random: ``F = sum_r Binomial(cells_r, 1 - d_r)`` over those regions (``d_r`` the citizen
    density), with mean ``mu = sum_r cells_r (1 - d_r)`` and variance
    ``sigma^2 = sum_r cells_r d_r (1 - d_r)``. The count must be at most ``mu - 5 sigma``
    (:data:`FIT_SIGMAS`), so that whether a scenario builds does not depend on its seed, and
    ``defection validate`` can say so without drawing.
    """
    p = scenario.params
    n = int(p["soldiers.count"])
    if n <= 0:
        return []
    per_region = int(p["grid.width"]) * int(p["grid.height"])
    places = [r for r in scenario.regions if r["garrison_density"] > 0]
    if not places:
        return [
            f"{origin}: field `soldiers.count`: {n:,} soldiers, but no region has a positive "
            "garrison density to place them in"
        ]
    mean = sum(per_region * (1 - r["citizen_density"]) for r in places)
    sd = math.sqrt(
        sum(per_region * r["citizen_density"] * (1 - r["citizen_density"]) for r in places)
    )
    room = math.floor(mean - FIT_SIGMAS * sd)
    if n > room:
        return [
            f"{origin}: field `soldiers.count`: {n:,} soldiers do not fit: the regions with a "
            f"positive garrison density have {mean:,.0f} cells free of protesters on average, and "
            f"at most {max(room, 0):,} soldiers fit on every seed"
        ]
    return []


__all__ = [
    "DEFAULT",
    "FLAG",
    "LARGE",
    "Limits",
    "Size",
    "describe",
    "document_problems",
    "expected_peak_bytes",
    "limits_for",
    "raise_hint",
    "size_of",
    "size_problems",
    "soldiers_fit_problems",
]
