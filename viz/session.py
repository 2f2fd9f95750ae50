"""One browser session's run: a model, the levers the user moved, and the pictures of each day.

A thin layer over :class:`~defection.model.regime.RegimeModel` with no Solara in it, so the UI's
logic is testable (and timed) without a browser. The Solara page (:mod:`defection.viz.app`) holds
one :class:`Session` per browser tab.
"""

from __future__ import annotations

import numbers
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from defection.model.address import coerce
from defection.model.outputs import companies_gone_over
from defection.model.params import BUILD_ONLY, LEVERS, Param
from defection.model.regime import RegimeModel
from defection.model.scenario import load
from defection.model.scenario_names import picker_value, scenario_choices, scenario_files
from defection.viz import render

__all__ = [
    "Frame",
    "Session",
    "SessionError",
    "lever_groups",
    "needs_reset",
    "picker_value",
    "scenario_choices",
    "scenario_files",
]


class SessionError(ValueError):
    """A request the session refuses (a scenario it did not list, a bad seed); shown on the page."""


def lever_groups() -> dict[str, list[Param]]:
    """The policy levers of the registry, by section (the order of the sliders)."""
    groups: dict[str, list[Param]] = {}
    for p in LEVERS:
        groups.setdefault(p.section, []).append(p)
    return groups


def needs_reset(name: str) -> bool:
    """Whether a parameter is read only when the model is built (its slider applies on reset)."""
    return name in BUILD_ONLY


@dataclass
class Frame:
    """What the page shows for one day.

    Attributes:
        day: Days simulated.
        network: PNG of the unit network (companies as pies of their soldiers' states).
        charts: PNG of the time series.
        regions: PNG of each region's grid, in model order.
        summaries: Per region: name, shares of active and jailed protesters, garrison left.
        render_ms: Time to make this frame's pictures, in milliseconds.
    """

    day: int
    network: bytes
    charts: bytes
    regions: list[bytes]
    summaries: list[dict[str, Any]]
    render_ms: float


@dataclass
class Session:
    """A run in the browser: scenario, seed, lever settings, model and pictures.

    Args:
        scenario: The scenario shown first: a file name from :func:`scenario_files`, or any name or
            path ``load`` accepts (server side: ``defection ui``'s argument).
        seed: Seed of the model's random generator.
        levers: Lever values the user set, applied on top of the scenario on every (re)build.
        choices: The scenarios this session serves, picker value to file (default: the bundled
            ones and ``scenario``, :func:`scenario_choices`); :meth:`reset` refuses any other.
    """

    scenario: str
    seed: int = 1
    levers: dict[str, Any] = field(default_factory=dict)
    choices: dict[str, Path] | None = None
    model: RegimeModel = field(init=False)
    notes: list[tuple[int, str]] = field(init=False)
    last_step_ms: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        if self.choices is None:
            self.choices = scenario_choices(self.scenario)
        if self.scenario not in self.choices:
            self.scenario = picker_value(self.scenario)
        if self.scenario not in self.choices:
            raise SessionError(f"{self.scenario}: not one of the scenarios this session serves")
        self.reset()

    # ------------------------------------------------------------------------------------------
    def reset(self, seed: int | None = None, scenario: str | None = None) -> None:
        """Rebuild the model from the scenario, the seed and the levers set so far.

        Picking another scenario forgets the levers (the sliders go back to its values). Both
        arguments come from the browser: the scenario must be one of :attr:`choices` (its file is
        looked up there) and the seed a whole number >= 0.

        Raises:
            SessionError: A scenario not listed, or a bad seed; the session keeps its current run.
            ScenarioError: The scenario does not load; the session keeps its current run.
        """
        assert self.choices is not None
        if scenario is not None and (not isinstance(scenario, str) or scenario not in self.choices):
            shown = repr(scenario)
            shown = shown if len(shown) <= 80 else shown[:77] + "..."
            raise SessionError(f"scenario {shown}: not one of the scenarios listed in the picker")
        if seed is not None and (
            isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0
        ):
            raise SessionError(f"seed {seed!r:.40}: must be a whole number >= 0")
        new_scenario = scenario is not None and scenario != self.scenario
        name = scenario if new_scenario else self.scenario
        levers = {} if new_scenario else self.levers
        seed = self.seed if seed is None else int(seed)
        # build first: a scenario that fails to load leaves the session as it was
        model = RegimeModel(load(self.choices[name]), rng=seed, overrides=levers or None)
        self.scenario, self.levers, self.seed, self.model = name, levers, seed, model
        self.notes = []
        self._went_over = self._companies_gone_over()
        self._network = render.UnitNetworkPainter(self.model)
        self._charts = render.ChartPainter(self.model)
        self.last_step_ms = 0.0

    def set_lever(self, name: str, value: Any) -> bool:
        """Set a lever: now if the model can take it mid-run, else from the next reset.

        The value is checked and converted by the registry (a slider's number is rounded for an
        integer parameter).

        Returns:
            True if the running model took the value, False if it waits for a reset.

        Raises:
            ScenarioError: Unknown parameter, or a value of the wrong type or out of bounds.
        """
        value = coerce(name, value, lenient=True)
        self.levers[name] = value
        if needs_reset(name):
            return False
        self.model.set_param(name, value)
        return True

    def lever_value(self, name: str) -> Any:
        """A lever's value as the slider shows it: pending (build-only) or the model's current."""
        if needs_reset(name) and name in self.levers:
            return self.levers[name]
        return self.model.p[name]

    @property
    def running(self) -> bool:
        """Whether the model can step (no outcome yet, horizon not reached)."""
        return bool(self.model.running)

    def step(self, days: int = 1) -> None:
        """Advance up to ``days`` days (fewer if the run stops) and note units that went over."""
        t = time.perf_counter()
        self.model.run(steps=days, on_day=lambda _: self._note_units())
        self.last_step_ms = 1000 * (time.perf_counter() - t)

    # ------------------------------------------------------------------------------------------
    def _companies_gone_over(self) -> NDArray[np.bool_]:
        u = self.model.units
        return companies_gone_over(self.model.soldiers.state, u.company, u.company_size)

    def _note_units(self) -> None:
        """Log companies whose every soldier has defected (a unit going over), once each."""
        now = self._companies_gone_over()
        m = self.model
        u = m.units
        for c in np.flatnonzero(now & ~self._went_over):
            bn = int(u.battalion[u.company_commander[c]])
            region = m.region_names[int(u.battalion_region[bn])]
            kind = "guard company" if u.battalion_guard[bn] else "company"
            self.notes.append(
                (m.day, f"{kind} {c} (battalion {bn}, {region}) went over to the opposition")
            )
        self._went_over |= now

    def event_log(self) -> list[tuple[int, str]]:
        """Notable moments so far, oldest first: the model's log and units that went over."""
        entries = list(self.model.log) + self.notes
        return sorted(entries, key=lambda e: e[0])

    def scheduled(self) -> list[tuple[int, str]]:
        """The scenario's events still to come, as ``(day, kind and note)``."""
        out = []
        for ev in self.model.scenario_def.events:
            if ev["day"] > self.model.day:
                note = f": {ev['note']}" if ev.get("note") else ""
                out.append((int(ev["day"]), f"{ev['kind']}{note}"))
        return sorted(out)

    def frame(self) -> Frame:
        """Make the pictures of the current day."""
        t = time.perf_counter()
        m = self.model
        network = self._network.png(m)
        charts = self._charts.png(m)
        regions = render.region_pngs(m)
        return Frame(
            day=m.day,
            network=network,
            charts=charts,
            regions=regions,
            summaries=render.region_summaries(m),
            render_ms=1000 * (time.perf_counter() - t),
        )
