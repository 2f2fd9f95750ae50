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

from defection.model.params import BY_NAME, LEVERS, Param
from defection.model.regime import BUILD_ONLY, RegimeModel
from defection.model.rules import DEFECTED
from defection.model.scenario import bundled_dir, bundled_names, find, load
from defection.viz import render


class SessionError(ValueError):
    """A request the session refuses (a scenario it did not list, a bad seed); shown on the page."""


def scenario_files(extra: str | Path | None = None) -> list[str]:
    """The scenario picker's choices: the files in ``scenarios/``, plus ``extra`` if given.

    Bundled scenarios are listed by file name (``syria_2011.toml``); ``extra`` (a path passed to
    ``defection ui``) is listed as given, first, unless it is one of the bundled files.
    """
    return list(scenario_choices(extra))


def scenario_choices(extra: str | Path | None = None) -> dict[str, Path]:
    """The picker's values (as :func:`scenario_files`), each with the file it stands for.

    This is the whole of what a session serves: a value a browser sends is looked up here and
    never used as a path.

    Raises:
        ScenarioError: ``extra`` is no file and no bundled scenario.
    """
    bundled = {f"{name}.toml": bundled_dir() / f"{name}.toml" for name in bundled_names()}
    if extra is None:
        return bundled
    value = picker_value(extra)
    if value in bundled:
        return bundled
    return {value: find(extra).resolve(), **bundled}


def picker_value(name_or_path: str | Path) -> str:
    """The picker's value for a scenario: a bundled file's name, or the path as given.

    Raises:
        ScenarioError: No such file and no bundled scenario of that name.
    """
    path = find(name_or_path)
    if path.parent.resolve() == bundled_dir().resolve():
        return path.name
    return str(name_or_path)


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
        cascade: PNG of the unit network.
        charts: PNG of the time series.
        regions: PNG of each region's grid, in model order.
        summaries: Per region: name, shares of active and jailed protesters, garrison left.
        render_ms: Time to make this frame's pictures, in milliseconds.
    """

    day: int
    cascade: bytes
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
        self._cascade = render.CascadePainter(self.model)
        self._charts = render.ChartPainter(self.model)
        self.last_step_ms = 0.0

    def set_lever(self, name: str, value: Any) -> bool:
        """Set a lever: now if the model can take it mid-run, else from the next reset.

        Returns:
            True if the running model took the value, False if it waits for a reset.
        """
        p = BY_NAME[name]
        value = int(round(value)) if p.type == "int" else float(value)
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
        for _ in range(days):
            if not self.model.running:
                break
            self.model.step()
            self._note_units()
        self.last_step_ms = 1000 * (time.perf_counter() - t)

    # ------------------------------------------------------------------------------------------
    def _companies_gone_over(self) -> NDArray[np.bool_]:
        u, s = self.model.units, self.model.soldiers
        n_co = u.company_size.size
        defected = np.bincount(u.company, weights=s.state == DEFECTED, minlength=n_co)
        return defected >= u.company_size

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
        cascade = self._cascade.png(m)
        charts = self._charts.png(m)
        regions = render.region_pngs(m)
        return Frame(
            day=m.day,
            cascade=cascade,
            charts=charts,
            regions=regions,
            summaries=render.region_summaries(m),
            render_ms=1000 * (time.perf_counter() - t),
        )
