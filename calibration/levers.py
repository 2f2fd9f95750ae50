"""The levers kind of calibration spec: is a policy lever a cliff? (issue #10, done-when).

Issue #10 asks that each policy lever, swept over 11 evenly spaced values on ``syria_2011`` and
``soviet_1991`` in each of 20 draws x 3 seeds, change the share of the force that leaves by at
most 0.25 from one value to the next (the median over draws of the largest one-step change), or
that docs/CALIBRATION.md show the cliff and the evidence for it. A **levers** spec
(``kind = "levers"``) is that sweep::

    [calibration]
    name = "levers"
    kind = "levers"
    seed = 20261220
    seeds = 3                       # seeds per (draw, case, lever, value)

    [budget]
    max_runs = 31000
    max_minutes = 50                # one invocation (a part) stops after this long

    [levers]
    sample = "../calibrated/sample.parquet"   # relative to this file (this is the default)
    draws = 20                      # vectors of the sample, drawn without replacement
    names = "all"                   # every registry parameter of role lever; or a list
    values = 11                     # evenly spaced over each lever's range, both ends included
    threshold = 0.25                # the done-when's bound on the median largest step
    bounds = { "x.y" = { hi = 5.0, source = "assumption: ..." } }   # a lever with no finite end
    run_seconds = { syria_2011 = 1.2 }         # a case's seconds a run, for the budget estimate

    [[cases]]                       # scenario cases (a short horizon in CI)
    name = "syria_2011"
    scenario = "syria_2011"

The vectors are drawn as a check draws them (:mod:`defection.calibration.check`, whose code this
reuses: the sample's columns are the parameters, ``draw_rows`` the draw). The design has one
point per (lever, draw, case, value), lever by lever; each point runs ``seeds`` times. **Common
random numbers**: a point's ``group`` is its (draw, case), so every value of every lever of one
(draw, case, seed) runs with one model seed and a one-step difference compares runs that differ
only in the lever. The spec has no ``[parameters]`` and no ``[[targets]]``: the parameters are
the sample's, and the measure is fixed, ``left_share`` on the run's last day (the outcome day, or
the horizon): the share of the force that deserted or defected.

**Scheduled events.** A scenario event that sets the swept lever (``syria_2011``'s day-120 pay cut
sets ``soldiers.pay``) would overwrite the swept value, so for that lever's runs the event stops
setting it (:func:`neutralise`): an event that does nothing else is dropped; one that also does
something else keeps doing it, with the lever's field removed (or, for a field whose registry
default the model would apply when it is left out, a crackdown's ``repression``, held at the swept
value). Which events were changed, and how, is recorded per (case, lever) in the manifest and
listed by the report. The other levers' runs keep every event.

**Parts.** The full job (issue #10: 23 levers x 11 values x 20 draws x 3 seeds x 2 cases, 30,360
runs) takes hours, and ``results/`` does not survive between working periods. So a levers spec is
run in parts: ``defection calibrate SPEC [--levers a,b]`` runs the runs of the chosen levers (by
default every lever with runs left, lever by lever) that are neither in the committed folder
``calibration/<name>/`` nor in the database, until its time budget, then commits what the
database holds (:func:`commit`): ``runs/<lever>.parquet``, one compact row per run
(:data:`RUN_COLUMNS`), ``manifest.json`` and ``spec.toml``. A later invocation on a fresh clone
reads those files and runs only the rest. Committed runs belong to one spec: a folder whose
manifest has another spec hash (another sample, design, case or model version) is refused.

**The report** (:func:`write_report`, ``defection validation --levers-report``) reads the
committed folder only: per (case, lever, draw) the mean left share over seeds at each value and the
largest absolute one-step change; per (case, lever) the median over draws, its 90 % interval over
draws and pass or cliff against the threshold (:func:`lever_rows`); levers not run are "not run"
and levers with runs missing "partial", never guessed. It writes the section of
docs/CALIBRATION.md between :data:`BEGIN` and :data:`END` and the plot ``docs/calibration/
levers.png``.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
import math
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from defection.model.events import EVENT_SETS, event_sets

__all__ = [
    "BEGIN",
    "END",
    "EVENT_SETS",
    "LeverBound",
    "LeverCaseRunner",
    "LeverPlan",
    "LeverRange",
    "LeversError",
    "LeversTable",
    "RUN_COLUMNS",
    "commit",
    "compact_runs",
    "curves",
    "draw_steps",
    "estimate",
    "folder_problems",
    "lever_ranges",
    "lever_rows",
    "levers_design",
    "neutralise",
    "part_tasks",
    "plot_levers",
    "read_committed",
    "render",
    "run_part",
    "seed_means",
    "select_levers",
    "write_report",
]

_LOOSE = ConfigDict(extra="forbid", strict=False)

#: Markers of the generated section in docs/CALIBRATION.md.
BEGIN, END = "<!-- levers:begin -->", "<!-- levers:end -->"
#: The measure every run is read as (a :data:`defection.calibration.targets.MEASURES` name).
MEASURE = "left_share"
#: Interval level over draws.
LEVEL = 0.90
#: Committed runs need at least this many runs of a case before their median time replaces the
#: spec's ``run_seconds`` in the budget estimate.
MIN_TIMED = 10

#: Which parameter each scheduled-event field sets (model/events.py, ``apply_events``; the
#: registry's ``EVENT_FIELDS`` meanings, "Sets <parameter>.", say the same: a test checks it).

#: One compact row per committed run.
RUN_COLUMNS = (
    "run_id",
    "scenario",
    "draw",
    "sample_row",
    "lever",
    "step",
    "value",
    "replicate",
    "seed",
    "status",
    "error",
    "left_share",
    "outcome",
    "outcome_day",
    "days",
    "run_seconds",
)


class LeversError(ValueError):
    """A committed levers folder that cannot be read or used (one line naming the file)."""


# ------------------------------------------------------------------------------------------------
# the spec's [levers] table
# ------------------------------------------------------------------------------------------------


class LeverBound(BaseModel):
    """One entry of ``levers.bounds``: an end the registry does not give, and why."""

    model_config = _LOOSE
    lo: float | None = None
    hi: float | None = None
    source: Annotated[str, Field(min_length=1)]


class LeversTable(BaseModel):
    """The ``[levers]`` table (kind ``levers``)."""

    model_config = _LOOSE
    sample: str | None = None
    draws: Annotated[int, Field(ge=1, le=100_000, strict=True)]
    names: list[str] | Literal["all"] = "all"
    values: Annotated[int, Field(ge=2, le=1000, strict=True)] = 11
    threshold: Annotated[float, Field(gt=0, le=1)] = 0.25
    bounds: dict[str, LeverBound] = Field(default_factory=dict)
    run_seconds: dict[str, Annotated[float, Field(gt=0, le=100_000)]] = Field(default_factory=dict)


@dataclass(frozen=True)
class LeverRange:
    """A swept lever: its range, its values and where the range comes from.

    Attributes:
        name: The registry name.
        lo: Lowest value.
        hi: Highest value.
        values: The evenly spaced values, ``lo`` and ``hi`` included.
        source: ``"registry"``, or the spec's ``levers.bounds`` source for an end it gives.
    """

    name: str
    lo: float
    hi: float
    values: tuple[float, ...]
    source: str = "registry"

    def record(self) -> dict[str, Any]:
        """The manifest's entry."""
        return {
            "name": self.name,
            "lo": self.lo,
            "hi": self.hi,
            "values": list(self.values),
            "source": self.source,
        }


@dataclass
class LeverPlan:
    """What a levers calibration adds to a :class:`~defection.calibration.spec.Calibration`.

    Attributes:
        table: The ``[levers]`` table.
        ranges: The swept levers, in spec order.
        edits: Per case and lever, the scheduled events changed for that lever's runs
            (:func:`neutralise`'s records).
    """

    table: LeversTable
    ranges: list[LeverRange]
    edits: dict[str, dict[str, list[dict[str, Any]]]]

    @property
    def names(self) -> list[str]:
        """The swept levers' names."""
        return [r.name for r in self.ranges]

    def edit_records(self) -> list[dict[str, Any]]:
        """Every changed event as one flat record (case, lever, day, kind, note, action)."""
        return [
            {"case": case, "lever": lever, **rec}
            for case, by_lever in self.edits.items()
            for lever, recs in by_lever.items()
            for rec in recs
        ]


def _end(x: float | None) -> str:
    return f"{float(x):g}" if x is not None and math.isfinite(float(x)) else "none"


def lever_ranges(table: LeversTable, where: str) -> tuple[list[LeverRange], list[str]]:
    """The swept levers with their values, from ``levers.names``, the registry and ``bounds``.

    Args:
        table: The ``[levers]`` table.
        where: ``"<file>: field"``, the start of every problem.

    Returns:
        ``(levers in spec order, problems)``.
    """
    from defection.model import params as registry
    from defection.model.address import closest

    at = f"{where} `levers"
    levers = {p.name: p for p in registry.LEVERS}
    names = list(levers) if table.names == "all" else list(table.names)
    problems: list[str] = []
    if not names:
        problems.append(f'{at}.names`: name at least one lever, or "all"')
    if len(set(names)) != len(names):
        problems.append(f"{at}.names`: lists a lever twice")
    out = []
    for name in dict.fromkeys(names):
        p = levers.get(name)
        if p is None:
            known = registry.BY_NAME.get(name)
            if known is not None:
                problems.append(
                    f"{at}.names`: `{name}` has role {known.role}; a levers spec sweeps "
                    "parameters of role lever (defection params --levers lists them)"
                )
            else:
                problems.append(f"{at}.names`: unknown lever `{name}`{closest(name, list(levers))}")
            continue
        if p.type != "float":
            problems.append(
                f"{at}.names`: `{name}` is of type {p.type}; only float levers can take evenly "
                "spaced values"
            )
            continue
        bound = table.bounds.get(name)
        ends = {}
        for end in ("lo", "hi"):
            reg = getattr(p, end)
            reg = float(reg) if reg is not None else math.nan
            given = getattr(bound, end) if bound is not None else None
            if given is not None:
                if not math.isfinite(given):
                    problems.append(f"{at}.bounds.{name}.{end}`: must be a finite number")
                elif math.isfinite(reg) and (given < reg if end == "lo" else given > reg):
                    problems.append(
                        f"{at}.bounds.{name}.{end}`: {given:g} leaves the registry's range "
                        f"[{_end(p.lo)}, {_end(p.hi)}]; a bound may only narrow it"
                    )
                ends[end] = float(given)
            elif math.isfinite(reg):
                ends[end] = reg
            else:
                problems.append(
                    f"{at}.bounds.{name}.{end}`: `{name}` has no finite {end} in the registry; "
                    f'give `{end}` and its `source` ("assumption: <why this bound>")'
                )
        if len(ends) < 2:
            continue
        lo, hi = ends["lo"], ends["hi"]
        if not lo < hi:
            problems.append(f"{at}.bounds.{name}`: must go from low to high (got [{lo:g}, {hi:g}])")
            continue
        values = tuple(float(v) for v in np.linspace(lo, hi, table.values))
        source = bound.source if bound is not None else "registry"
        out.append(LeverRange(name, lo, hi, values, source))
    for name in table.bounds:
        if name not in names:
            problems.append(f"{at}.bounds.{name}`: not one of the swept levers (`levers.names`)")
    return out, problems


# ------------------------------------------------------------------------------------------------
# scheduled events that set a swept lever
# ------------------------------------------------------------------------------------------------


def neutralise(
    events: Sequence[Mapping[str, Any]], swept: Mapping[str, float]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The events with none of them setting a swept lever, and a record of each change.

    An event that sets a swept lever and nothing else is dropped. One that also sets something
    else is kept: the lever's field is removed, or, when the model would apply the field's
    registry default in its absence (a crackdown's ``repression``), held at the swept value.

    Args:
        events: The scenario's events (TOML-shaped dicts: ``day``, ``kind``, fields, ``note``).
        swept: ``{lever: value}`` of the run.

    Returns:
        ``(events, records)``; a record has ``index`` (in ``events``), ``day``, ``kind``,
        ``note``, ``action`` (``dropped`` or ``kept``), ``fields`` (``{field: what was done}``)
        and ``kept`` (the other parameters the event still sets).
    """
    from defection.model.params import event_field_default

    out, records = [], []
    for i, ev in enumerate(events):
        sets = event_sets(ev)
        hit = {f: p for f, p in sets.items() if p in swept}
        if not hit:
            out.append(dict(ev))
            continue
        rest = sorted({p for f, p in sets.items() if f not in hit})
        rec: dict[str, Any] = {
            "index": i,
            "day": int(ev["day"]),
            "kind": str(ev["kind"]),
            "note": str(ev.get("note", "")),
            "sets": sorted(set(hit.values())),
            "kept": rest,
        }
        if not rest:
            rec |= {"action": "dropped", "fields": {f: "dropped with the event" for f in hit}}
            records.append(rec)
            continue
        new = dict(ev)
        fields = {}
        for f, p in hit.items():
            if event_field_default(str(ev["kind"]), f) is None:
                new.pop(f, None)
                fields[f] = "removed"
            else:  # left out, the model would apply its default: hold the run's value instead
                new[f] = float(swept[p])
                fields[f] = "held at the swept value"
        rec |= {"action": "kept", "fields": fields}
        records.append(rec)
        out.append(new)
    return out, records


def describe_edit(rec: Mapping[str, Any]) -> str:
    """A changed event in words: what happened to it and what it still does."""
    if rec["action"] == "dropped":
        return "dropped (it set nothing else)"
    parts = [f"`{f}` {what}" for f, what in rec["fields"].items()]
    kept = ", ".join(f"`{p}`" for p in rec["kept"])
    return f"kept, {'; '.join(parts)} (it still sets {kept})"


@dataclass(frozen=True)
class LeverCaseRunner:
    """A scenario case as a levers spec's workers see it (``with_overrides`` like a scenario).

    A run's values that name a swept lever hold for the whole run: the scenario's events that
    would set it are changed first (:func:`neutralise`), then every value is applied as an
    override. Picklable (the backends send it to every worker once).

    Attributes:
        scenario: The case's scenario (its ``set`` applied).
        levers: The spec's swept levers.
    """

    scenario: Any
    levers: frozenset[str]

    @property
    def hash(self) -> str:
        """The case scenario's hash."""
        return self.scenario.hash

    def with_overrides(self, values: dict[str, Any], origin: str = "") -> Any:
        """The run's scenario: events that set a swept lever changed, then ``values`` applied."""
        from defection.calibration.cases import split_overrides

        _, rest = split_overrides(values)  # a scenario case has no mapping: case.* do nothing
        swept = {k: float(v) for k, v in rest.items() if k in self.levers}
        base = self.scenario
        if swept:
            raw = copy.deepcopy(base.raw)
            raw["events"], _ = neutralise(raw.get("events", []), swept)
            base = dataclasses.replace(base, raw=raw)
        return base.with_overrides(rest, origin=origin) if rest else base


def event_edits(cases: Sequence[Any], ranges: Sequence[LeverRange]) -> dict[str, Any]:
    """Per case and lever, the events :func:`neutralise` changes for that lever's runs."""
    out: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for c in cases:
        events = c.scenario.raw.get("events", [])
        for r in ranges:
            _, recs = neutralise(events, {r.name: r.lo})
            if recs:
                out.setdefault(c.name, {})[r.name] = recs
    return out


# ------------------------------------------------------------------------------------------------
# the design
# ------------------------------------------------------------------------------------------------


def levers_design(
    params: Sequence[Any],
    cases: Sequence[Any],
    vectors: pd.DataFrame,
    rows: np.ndarray,
    ranges: Sequence[LeverRange],
    seeds: int,
) -> pd.DataFrame:
    """One row per (lever, draw, case, value), lever by lever.

    Args:
        params: The parameters (the sample's columns).
        cases: The spec's cases.
        vectors: The sample's vectors.
        rows: The drawn sample rows, in draw order.
        ranges: The swept levers.
        seeds: Runs per point.

    Returns:
        Columns ``point``, ``group`` (the (draw, case): one model seed per seed index across
        every value of every lever), ``case``, ``draw``, ``sample_row``, ``lever``, ``step``
        (the value's index), ``value``, ``seeds``, then one per parameter.
    """
    names = [p.name for p in params]
    recs = []
    for r in ranges:
        for d, row in enumerate(rows):
            for ci, c in enumerate(cases):
                for k, v in enumerate(r.values):
                    recs.append((d * len(cases) + ci, c.name, d, int(row), r.name, k, v))
    cols = ["group", "case", "draw", "sample_row", "lever", "step", "value"]
    df = pd.DataFrame(recs, columns=cols)
    df["seeds"] = seeds
    values = vectors[names].to_numpy(dtype=float)[df["sample_row"].to_numpy(dtype=np.int64)]
    df = pd.concat([df, pd.DataFrame(values.reshape(len(df), len(names)), columns=names)], axis=1)
    ints = ["group", "draw", "sample_row", "step", "seeds"]
    df = df.astype(dict.fromkeys(ints, np.int64) | {"value": float})
    df.insert(0, "point", np.arange(len(df), dtype=np.int64))
    return df


def end_problems(
    params: Sequence[Any],
    cases: Sequence[Any],
    design: pd.DataFrame,
    ranges: Sequence[LeverRange],
    where: str,
) -> list[str]:
    """Each case must build with each lever at both ends (with the first drawn vector).

    As a screen builds its cases at both ends of its box (the vectors themselves are checked by
    :func:`defection.calibration.check.vector_problems`).
    """
    from defection.model.building import build_problems
    from defection.model.scenario import ScenarioError

    names = [p.name for p in params]
    first = design.iloc[0] if len(design) else None
    vector = {n: float(first[n]) for n in names} if first is not None else {}
    levers = frozenset(r.name for r in ranges)
    problems: list[str] = []
    for c in cases:
        runner = LeverCaseRunner(c.scenario, levers)
        for r in ranges:
            for end in (r.lo, r.hi):
                at = f"{where} `cases.{c.name}` (`{r.name}` = {end:g})"
                try:
                    sc = runner.with_overrides(vector | {r.name: end}, origin=at)
                except ScenarioError as exc:
                    problems += exc.problems
                    continue
                problems += build_problems(sc, at)
    return list(dict.fromkeys(problems))


# ------------------------------------------------------------------------------------------------
# running a part
# ------------------------------------------------------------------------------------------------


def select_levers(calib: Any, given: str | None) -> tuple[list[str], list[str]]:
    """The levers a part runs: ``--levers a,b`` (in spec order), or every lever of the spec.

    Returns:
        ``(levers, problems)``.
    """
    from defection.model.address import closest

    names = calib.levers.names
    if given is None:
        return list(names), []
    asked = [x.strip() for x in given.split(",") if x.strip()]
    problems = []
    if not asked:
        problems.append("--levers: name at least one lever (comma-separated registry names)")
    for a in asked:
        if a not in names:
            problems.append(
                f"--levers: `{a}` is not a lever of {calib.path or calib.name}{closest(a, names)} "
                f"(its levers: {', '.join(names)})"
            )
    return [n for n in names if n in asked], problems


def part_tasks(calib: Any, skip: set[str], levers: Iterable[str]) -> list[Any]:
    """The runs of ``levers`` not in ``skip``, lever by lever (design order, then seed).

    Each task carries the sample's vector and its lever's value (``overrides``), its case, and
    the seed of its (draw, case) group and seed index.
    """
    from defection.calibration.runs import tasks_for

    d = calib.design
    want = set(levers)
    lever_of = dict(zip(d["point"].tolist(), d["lever"].tolist(), strict=True))
    value_of = dict(zip(d["point"].tolist(), map(float, d["value"]), strict=True))
    out = [
        dataclasses.replace(t, overrides=t.overrides | {lever_of[t.point]: value_of[t.point]})
        for t in tasks_for(calib, skip)
        if lever_of[t.point] in want
    ]
    out.sort(key=lambda t: (t.point, t.replicate))
    return out


def part_size(calib: Any, levers: Iterable[str]) -> int:
    """Runs of ``levers`` in the design."""
    d = calib.design
    return int(d.loc[d["lever"].isin(set(levers)), "seeds"].sum())


def estimate(
    calib: Any, tasks: Sequence[Any], committed: pd.DataFrame, workers: int
) -> tuple[float | None, dict[str, tuple[float, str]]]:
    """Minutes the tasks need on ``workers`` processes, and the seconds a run used per case.

    A case's seconds a run are the median of its committed runs (at least :data:`MIN_TIMED`),
    else the spec's ``levers.run_seconds``; a case with neither makes the estimate unknown.

    Returns:
        ``(minutes or None, {case: (seconds a run, where that figure comes from)})``.
    """
    per: dict[str, tuple[float, str]] = {}
    for c in calib.cases:
        timed = committed[(committed["scenario"] == c.name) & (committed["status"] == "ok")]
        secs = pd.to_numeric(timed["run_seconds"], errors="coerce").dropna()
        if len(secs) >= MIN_TIMED:
            per[c.name] = (float(secs.median()), f"median of {len(secs)} committed runs")
        elif c.name in calib.levers.table.run_seconds:
            per[c.name] = (float(calib.levers.table.run_seconds[c.name]), "spec's run_seconds")
    need = {t.case for t in tasks}
    if not need <= set(per):
        return None, per
    total = sum(per[t.case][0] for t in tasks)
    return total / max(workers, 1) / 60.0, per


def run_part(
    calib: Any,
    store: Any,
    levers: Sequence[str],
    committed_ids: set[str],
    workers: int = 1,
    scheduler: Any = None,
    on_start: Any = None,
    on_result: Any = None,
) -> Any:
    """Run the runs of ``levers`` neither committed nor in ``store``, until the time budget.

    The same machinery as :func:`defection.calibration.runs.run_calibration` (the store, the
    backends, the clock); every finished run is committed to the database as it comes.

    Args:
        calib: The levers calibration.
        store: The open database.
        levers: The levers of this part.
        committed_ids: Run ids in the committed folder.
        workers: Local processes; 1 runs in this process.
        scheduler: A Dask scheduler address or ``LocalCluster``.
        on_start: Called once before the first run with the progress and the clock.
        on_result: Called after each run with the progress, the result and, once, the timing
            line of :meth:`defection.calibration.runs.Clock.note`.

    Returns:
        The progress (``total``: the part's runs; ``skipped``: those already done).

    Raises:
        BudgetSpent: ``budget.max_minutes`` passed with runs left (the finished ones are saved).
    """
    import time

    from defection.calibration.runs import Clock
    from defection.sweep.coordinator import Progress, run_tasks

    store.register(calib.store_view())
    done = store.done_ids(calib.calib_id) | set(committed_ids)
    tasks = part_tasks(calib, done, levers)
    total = part_size(calib, levers)
    prog = Progress(calib.calib_id, total)
    prog.skipped = total - len(tasks)
    clock = Clock(len(tasks), calib.budget.max_minutes, first=max(5, 3 * workers))

    def started(p: Any) -> None:
        clock.start = time.monotonic()
        if on_start is not None:
            on_start(p, clock)

    def finished(p: Any, res: Any) -> None:
        line = clock.note(p.done)
        if on_result is not None:
            on_result(p, res, line)
        clock.check(p.done)

    names = frozenset(calib.levers.names)
    runners = {c.name: LeverCaseRunner(c.scenario, names) for c in calib.cases}
    return run_tasks(tasks, runners, store, prog, workers, scheduler, started, finished)


# ------------------------------------------------------------------------------------------------
# the committed folder
# ------------------------------------------------------------------------------------------------


def compact_runs(calib: Any, rows: pd.DataFrame) -> pd.DataFrame:
    """The committed form of the database's rows of ``calib``: :data:`RUN_COLUMNS`, by run id."""
    from defection.calibration.targets import column

    design = calib.design.set_index("point")
    df = rows.copy()
    for c in ("error", "outcome", "outcome_day", "days", "run_seconds", column(MEASURE)):
        if c not in df.columns:
            df[c] = None
    pts = df["point"].to_numpy(dtype=np.int64)
    out = pd.DataFrame(
        {
            "run_id": df["run_id"].astype(str).to_numpy(),
            "scenario": design["case"].reindex(pts).astype(str).to_numpy(),
            "draw": design["draw"].reindex(pts).to_numpy(dtype=np.int64),
            "sample_row": design["sample_row"].reindex(pts).to_numpy(dtype=np.int64),
            "lever": design["lever"].reindex(pts).astype(str).to_numpy(),
            "step": design["step"].reindex(pts).to_numpy(dtype=np.int64),
            "value": design["value"].reindex(pts).to_numpy(dtype=float),
            "replicate": df["replicate"].to_numpy(dtype=np.int64),
            "seed": df["seed"].to_numpy(dtype=np.int64),
            "status": df["status"].astype(str).to_numpy(),
            "error": df["error"].astype(object).where(df["error"].notna(), None).to_numpy(),
            "left_share": pd.to_numeric(df[column(MEASURE)], errors="coerce").to_numpy(float),
            "outcome": df["outcome"].astype(object).where(df["outcome"].notna(), None).to_numpy(),
            "outcome_day": pd.to_numeric(df["outcome_day"], errors="coerce").astype("Int64"),
            "days": pd.to_numeric(df["days"], errors="coerce").astype("Int64"),
            "run_seconds": pd.to_numeric(df["run_seconds"], errors="coerce").to_numpy(float),
        }
    )
    return out.sort_values("run_id", kind="stable").reset_index(drop=True)


def _empty_runs() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in RUN_COLUMNS})


def read_committed(folder: Path) -> tuple[dict[str, Any] | None, pd.DataFrame]:
    """A levers folder's manifest (None: no folder) and its committed runs (every lever's file).

    Raises:
        LeversError: An unreadable manifest or runs file, or runs without a manifest.
    """
    folder = Path(folder)
    man_path = folder / "manifest.json"
    files = sorted((folder / "runs").glob("*.parquet")) if (folder / "runs").is_dir() else []
    if not man_path.is_file():
        if files:
            raise LeversError(f"{man_path}: missing, but {folder / 'runs'} holds runs")
        return None, _empty_runs()
    try:
        manifest = json.loads(man_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise LeversError(f"{man_path}: not readable JSON ({type(exc).__name__})") from None
    if not isinstance(manifest, dict) or manifest.get("kind") != "levers":
        raise LeversError(f"{man_path}: field `kind`: not a levers spec's results")
    frames = []
    for f in files:
        try:
            df = pd.read_parquet(f)
        except Exception as exc:  # noqa: BLE001 - any unreadable file is one line
            raise LeversError(f"{f}: not a readable Parquet file ({type(exc).__name__})") from None
        missing = [c for c in RUN_COLUMNS if c not in df.columns]
        if missing:
            raise LeversError(f"{f}: lacks the column(s) {', '.join(missing)}")
        frames.append(df[list(RUN_COLUMNS)])
    runs = pd.concat(frames, ignore_index=True) if frames else _empty_runs()
    prefix = f"{manifest.get('calibration_id')}/"
    if len(runs) and not runs["run_id"].astype(str).str.startswith(prefix).all():
        raise LeversError(
            f"{folder / 'runs'}: field `run_id`: runs of another calibration than the manifest's "
            f"{manifest.get('calibration_id')}"
        )
    return manifest, runs


#: What a levers results folder may hold.
FOLDER_FILES = ("manifest.json", "spec.toml", "runs")


def folder_problems(folder: Path, calib: Any) -> list[str]:
    """Why ``folder`` cannot take ``calib``'s runs (other files; another spec's runs)."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        return [f"--out {folder}: is a file, not a folder"]
    if not folder.is_dir():
        return []
    extra = [p.name for p in folder.iterdir() if p.name not in FOLDER_FILES]
    if extra:
        return [
            f"--out {folder}: holds files that are not a levers spec's results "
            f"({', '.join(sorted(extra)[:5])}); choose a new or empty folder"
        ]
    try:
        manifest, _ = read_committed(folder)
    except LeversError as exc:
        return [str(exc)]
    if manifest is not None and manifest.get("spec_hash") != calib.spec_hash:
        return [
            f"{folder / 'manifest.json'}: field `spec_hash`: the committed runs are of "
            f"{manifest.get('calibration_id')}, this spec is {calib.calib_id} (another sample, "
            "design, case or model version); move the folder away to start again, or run the "
            "spec it was run with"
        ]
    return []


def _atomic_bytes(path: Path, write: Any) -> None:
    """Write ``path`` through ``write(tmp_path)`` into a temporary sibling, renamed into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _manifest(
    calib: Any, runs: pd.DataFrame, parts: list[dict[str, Any]], old: dict[str, Any] | None
) -> dict[str, Any]:
    from defection import __version__
    from defection.calibration.runs import _commit
    from defection.model import version

    ok = int((runs["status"] == "ok").sum())
    plan = calib.levers
    per_lever = runs.groupby("lever").size().to_dict() if len(runs) else {}
    per_case = {c.name: dict(c.describe) for c in calib.cases}
    return {
        "name": calib.name,
        "title": calib.title,
        "kind": "levers",
        "calibration_id": calib.calib_id,
        "spec_hash": calib.spec_hash,
        "spec": "spec.toml",
        "model_version": version.MODEL_VERSION,
        "package_version": __version__,
        **_commit(),
        "created": (old or {}).get("created")
        or dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "updated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "sample": calib.sample_info,
        "parameters": [[p.name, p.lo, p.hi] for p in calib.params],
        "cases": per_case,
        "levers": [r.record() for r in plan.ranges],
        "draws": plan.table.draws,
        "seeds": calib.meta.seeds,
        "values": plan.table.values,
        "threshold": plan.table.threshold,
        "measure": MEASURE,
        "until_horizon": calib.meta.until_horizon,
        "event_edits": plan.edit_records(),
        "runs": {
            "planned": calib.n_runs,
            "committed": len(runs),
            "ok": ok,
            "failed": len(runs) - ok,
            "per_lever": {k: int(v) for k, v in per_lever.items()},
        },
        "parts": parts,
    }


def commit(
    calib: Any,
    folder: Path,
    db_rows: pd.DataFrame,
    part: dict[str, Any] | None = None,
) -> tuple[list[Path], int]:
    """Add the database's runs of ``calib`` to the committed folder (only changed files written).

    Args:
        calib: The levers calibration.
        folder: The committed folder (``calibration/<name>``).
        db_rows: The database's rows of the calibration (:meth:`Store.runs`).
        part: What this invocation did (levers, runs, seconds), appended to the manifest's
            ``parts`` when it added runs.

    Returns:
        ``(files written, runs added)``.
    """
    folder = Path(folder)
    old, committed = read_committed(folder)
    new = compact_runs(calib, db_rows) if len(db_rows) else _empty_runs()
    new = new[~new["run_id"].isin(set(committed["run_id"]))]
    written: list[Path] = []
    runs = committed
    if len(new):
        runs = pd.concat([committed, new], ignore_index=True) if len(committed) else new
        for lever in sorted(set(new["lever"])):
            rows = runs[runs["lever"] == lever].sort_values("run_id", kind="stable")
            rows = rows.reset_index(drop=True)[list(RUN_COLUMNS)]
            path = folder / "runs" / f"{lever}.parquet"
            _atomic_bytes(path, lambda p, rows=rows: rows.to_parquet(p, index=False))
            written.append(path)
    parts = list((old or {}).get("parts", []))
    if len(new) and part is not None:
        parts.append(part | {"runs_added": len(new)})
    if len(new) or old is None:
        spec_path = folder / "spec.toml"
        if not spec_path.is_file() or spec_path.read_text(encoding="utf-8") != calib.text:
            _atomic_bytes(spec_path, lambda p: p.write_text(calib.text, encoding="utf-8"))
            written.append(spec_path)
        doc = _manifest(calib, runs, parts, old)
        text = json.dumps(doc, indent=2, default=_json_default) + "\n"
        _atomic_bytes(folder / "manifest.json", lambda p: p.write_text(text, encoding="utf-8"))
        written.append(folder / "manifest.json")
    return written, len(new)


def _json_default(x: Any) -> Any:
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.floating):
        return float(x)
    raise TypeError(f"not JSON: {type(x).__name__}")


# ------------------------------------------------------------------------------------------------
# the analysis (pure functions of a committed runs frame)
# ------------------------------------------------------------------------------------------------


def seed_means(runs: pd.DataFrame) -> pd.DataFrame:
    """Per (scenario, lever, draw, step): the mean left share over its ok runs.

    Returns:
        Columns ``scenario``, ``lever``, ``draw``, ``step``, ``value``, ``mean`` (NaN when no
        run is ok), ``ok`` (ok runs) and ``n`` (runs).
    """
    keys = ["scenario", "lever", "draw", "step"]
    if runs.empty:
        return pd.DataFrame(columns=[*keys, "value", "mean", "ok", "n"])
    df = runs.assign(
        _ok=(runs["status"] == "ok") & np.isfinite(runs["left_share"].astype(float)),
        _x=runs["left_share"].astype(float),
    )
    df["_x"] = df["_x"].where(df["_ok"])
    g = df.groupby(keys, sort=True)
    out = g.agg(value=("value", "first"), mean=("_x", "mean"), ok=("_ok", "sum"), n=("_x", "size"))
    return out.reset_index().astype({"ok": np.int64, "n": np.int64})


def draw_steps(runs: pd.DataFrame, values: int, seeds: int) -> pd.DataFrame:
    """Per (scenario, lever, draw): the largest absolute one-step change of the seed means.

    Args:
        runs: Committed runs.
        values: Values per lever (steps are ``0 .. values - 1``).
        seeds: Runs per (draw, value).

    Returns:
        Columns ``scenario``, ``lever``, ``draw``, ``complete`` (every run of the draw is in),
        ``usable`` (complete, and every value has an ok run), ``max_step`` (NaN unless usable)
        and ``at`` (the step ``k`` whose change to ``k + 1`` is the largest).
    """
    means = seed_means(runs)
    recs = []
    for (case, lever, draw), g in means.groupby(["scenario", "lever", "draw"], sort=True):
        g = g.sort_values("step")
        complete = len(g) == values and int(g["n"].sum()) == values * seeds
        usable = complete and bool((g["ok"] > 0).all())
        if usable:
            diffs = np.abs(np.diff(g["mean"].to_numpy(dtype=float)))
            at = int(np.argmax(diffs))
            step = float(diffs[at])
        else:
            at, step = -1, math.nan
        recs.append((case, lever, int(draw), complete, usable, step, at))
    cols = ["scenario", "lever", "draw", "complete", "usable", "max_step", "at"]
    return pd.DataFrame(recs, columns=cols)


def lever_rows(runs: pd.DataFrame, plan: Mapping[str, Any]) -> pd.DataFrame:
    """Per (case, lever) of the plan: the median over draws of the largest step, and the verdict.

    Args:
        runs: Committed runs.
        plan: ``cases`` (names), ``levers`` (records with ``name``, ``lo``, ``hi``, ``values``),
            ``draws``, ``seeds`` and ``threshold`` (the manifest holds them).

    Returns:
        One row per (lever, case), levers in plan order and cases within each: ``scenario``,
        ``lever``, ``lo``, ``hi``, ``planned``, ``runs``, ``failed``, ``draws`` (usable),
        ``median``, ``q_lo``, ``q_hi`` (the central :data:`LEVEL` over usable draws), ``at_lo``,
        ``at_hi`` (the value interval most draws have their largest step in), ``at_share`` and
        ``status``: ``not run`` (no run), ``partial`` (runs missing: the median so far, no
        verdict), ``no usable draw`` (every draw has a value whose runs all failed), ``pass``
        (median at most the threshold) or ``cliff``.
    """
    draws, seeds, thr = int(plan["draws"]), int(plan["seeds"]), float(plan["threshold"])
    levers = list(plan["levers"])
    n_values = {lv["name"]: len(lv["values"]) for lv in levers}
    steps = {
        name: draw_steps(runs[runs["lever"] == name], n_values[name], seeds) for name in n_values
    }
    recs = []
    for lv in levers:
        for case in plan["cases"]:
            name, vals = lv["name"], list(lv["values"])
            r = runs[(runs["scenario"] == case) & (runs["lever"] == name)]
            planned = draws * len(vals) * seeds
            s = steps[name]
            s = s[(s["scenario"] == case) & s["usable"]]
            x = s["max_step"].to_numpy(dtype=float)
            rec = {
                "scenario": case,
                "lever": name,
                "lo": float(lv["lo"]),
                "hi": float(lv["hi"]),
                "planned": planned,
                "runs": len(r),
                "failed": int((r["status"] != "ok").sum()),
                "draws": len(x),
                "median": float(np.median(x)) if len(x) else math.nan,
                "q_lo": math.nan,
                "q_hi": math.nan,
                "at_lo": math.nan,
                "at_hi": math.nan,
                "at_share": math.nan,
            }
            if len(x):
                lo_q, hi_q = np.quantile(x, [(1 - LEVEL) / 2, (1 + LEVEL) / 2])
                rec |= {"q_lo": float(lo_q), "q_hi": float(hi_q)}
                counts = s["at"].value_counts()
                k = int(counts.index[0])
                rec |= {
                    "at_lo": vals[k],
                    "at_hi": vals[k + 1],
                    "at_share": float(counts.iloc[0] / len(x)),
                }
            if len(r) == 0:
                status = "not run"
            elif len(r) < planned:
                status = "partial"
            elif not len(x):
                status = "no usable draw"
            else:
                status = "pass" if rec["median"] <= thr else "cliff"
            rec["status"] = status
            recs.append(rec)
    return pd.DataFrame(recs)


def curves(runs: pd.DataFrame) -> pd.DataFrame:
    """Per (scenario, lever, step): the median over draws of the seed means and its 90 % band.

    Returns:
        Columns ``scenario``, ``lever``, ``step``, ``value``, ``median``, ``q_lo``, ``q_hi``,
        ``draws`` (draws with an ok run at that value).
    """
    means = seed_means(runs).dropna(subset=["mean"])
    cols = ["scenario", "lever", "step", "value", "median", "q_lo", "q_hi", "draws"]
    if means.empty:
        return pd.DataFrame(columns=cols)
    lo_q, hi_q = (1 - LEVEL) / 2, (1 + LEVEL) / 2
    g = means.groupby(["scenario", "lever", "step"], sort=True)
    out = g.agg(
        value=("value", "first"),
        median=("mean", "median"),
        q_lo=("mean", lambda v: float(np.quantile(v, lo_q))),
        q_hi=("mean", lambda v: float(np.quantile(v, hi_q))),
        draws=("mean", "size"),
    ).reset_index()
    return out[cols]


# ------------------------------------------------------------------------------------------------
# the report
# ------------------------------------------------------------------------------------------------


def _num(x: float, digits: int = 3) -> str:
    return "–" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


def _g(x: float) -> str:
    return f"{x:.4g}"


def _verdict(row: Mapping[str, Any], thr: float) -> str:
    st = row["status"]
    if st == "pass":
        return "pass"
    if st == "cliff":
        return f"**cliff** (> {thr:g})"
    if st == "partial":
        return f"partial ({row['runs']:,} of {row['planned']:,} runs; no verdict)"
    if st == "no usable draw":
        return "no usable draw (failed runs)"
    return "not run"


_SAMPLE_KEYS = ("name", "kind", "status", "commit", "model_version")


def render(
    manifest: Mapping[str, Any],
    rows: pd.DataFrame,
    curve: pd.DataFrame,
    plot: str | None,
    folder: str,
    origin: str | None = None,
) -> str:
    """The generated section's Markdown (between the markers; every number from the arguments).

    Args:
        manifest: The committed folder's manifest.
        rows: :func:`lever_rows`.
        curve: :func:`curves`.
        plot: The plot's path relative to the document, or None.
        folder: The committed folder as shown.
        origin: Where the sample came from, in words (its wave, commit and status), if known.
    """
    m = manifest
    thr = float(m["threshold"])
    cases = list(m["cases"])
    levers = m["levers"]
    runs = m.get("runs") or {}
    s = m.get("sample") or {}
    sm = s.get("manifest") or {}
    dirty = " (with uncommitted changes)" if m.get("dirty") else ""
    n_values, draws, seeds = int(m["values"]), int(m["draws"]), int(m["seeds"])
    lines = [
        "_Generated by `defection validation --levers-report` from the committed runs in "
        f"`{folder}/`; do not edit between the markers._",
        "",
        f"**Source.** Calibration id `{m.get('calibration_id')}`, model version "
        f"{m.get('model_version')}, package {m.get('package_version')}, code commit "
        f"`{m.get('commit')}`{dirty}, runs last added {m.get('updated')}. Sample "
        f"`{s.get('path')}` (sha256 `{str(s.get('sha256'))[:16]}...`, {s.get('vectors')} "
        f"vectors, {len(s.get('rows') or [])} drawn) "
        + (
            origin
            or "(its manifest: "
            + (", ".join(f"{k} {sm[k]}" for k in _SAMPLE_KEYS if k in sm) or "none")
            + ")."
        ),
        "",
        f"**Design.** {draws} draws x {len(cases)} scenario(s) ("
        + ", ".join(f"`{c}`" for c in cases)
        + f") x {len(levers)} levers x {n_values} evenly spaced values over each lever's range "
        f"x {seeds} seed(s) = {int(runs.get('planned', 0)):,} runs. Common random numbers: the "
        "runs of one (draw, scenario, seed) share one model seed across every value of every "
        "lever. Measure: the share of the force that left (deserted + defected) on the run's "
        "last day (its outcome day, or the horizon).",
        "",
        f"**Rule.** Per (scenario, lever, draw): the mean over seeds at each value, and the "
        f"largest absolute change between neighbouring values; per (scenario, lever): the median "
        f"over draws and its 90 % interval (5th to 95th percentile over draws). Pass: median at "
        f"most {thr:g} (issue #10's done-when). A lever with runs missing is *partial* (the "
        "median so far, no verdict); one with no run *not run*. A draw with a value whose runs "
        "all failed is left out and counted.",
        "",
    ]
    done = rows[rows["status"].isin(["pass", "cliff"])]
    cliffs = rows[rows["status"] == "cliff"]
    not_run = sorted(set(rows.loc[rows["status"] == "not run", "lever"]))
    partial = rows[rows["status"] == "partial"]
    lines.append(
        f"**Where it stands.** {int(runs.get('committed', 0)):,} of "
        f"{int(runs.get('planned', 0)):,} runs committed ({int(runs.get('failed', 0))} failed). "
        f"{len(done)} of {len(rows)} (scenario, lever) pairs complete: "
        f"{int((done['status'] == 'pass').sum())} pass, {len(cliffs)} cliff(s); "
        f"{len(partial)} partial; levers not run: "
        + (", ".join(f"`{n}`" for n in not_run) if not_run else "none")
        + "."
    )
    lines += [
        "",
        "| lever | range | scenario | runs | median largest step | 90 % over draws | "
        "largest step in (most draws) | verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows.itertuples():
        where = (
            f"{_g(r.at_lo)} → {_g(r.at_hi)} ({r.at_share:.0%} of {r.draws})"
            if math.isfinite(r.at_lo)
            else "–"
        )
        interval = f"{_num(r.q_lo)} – {_num(r.q_hi)}" if math.isfinite(r.q_lo) else "–"
        fails = f" ({r.failed} failed)" if r.failed else ""
        lines.append(
            f"| `{r.lever}` | {_g(r.lo)} – {_g(r.hi)} | `{r.scenario}` | {r.runs:,}{fails} | "
            f"{_num(r.median)} | {interval} | {where} | {_verdict(r._asdict(), thr)} |"
        )
    if len(cliffs):
        lines += [
            "",
            "**Cliffs.** The median over draws of the share that left, value by value (the "
            "done-when accepts a cliff only with the evidence that it is real, written outside "
            "this generated section):",
            "",
        ]
        for r in cliffs.itertuples():
            c = curve[(curve["scenario"] == r.scenario) & (curve["lever"] == r.lever)]
            pts = ", ".join(
                f"{_g(v)}: {_num(x, 2)}" for v, x in zip(c["value"], c["median"], strict=True)
            )
            lines.append(
                f"- `{r.lever}` on `{r.scenario}`: {pts}; the largest step lies between "
                f"{_g(r.at_lo)} and {_g(r.at_hi)} in {r.at_share:.0%} of {r.draws} draws."
            )
    edits = m.get("event_edits") or []
    lines += ["", "**Scheduled events changed for a lever's runs** (they would overwrite it):", ""]
    if edits:
        lines += ["| scenario | lever | event | change |", "|---|---|---|---|"]
        for e in edits:
            note = f' ("{e["note"]}")' if e.get("note") else ""
            lines.append(
                f"| `{e['case']}` | `{e['lever']}` | day {e['day']} {e['kind']}{note} | "
                f"{describe_edit(e)} |"
            )
    else:
        lines.append("None: no scenario event sets a swept lever.")
    bounded = [lv for lv in levers if lv.get("source", "registry") != "registry"]
    if bounded:
        lines += ["", "**Ranges not from the registry:**", ""]
        lines += [
            f"- `{lv['name']}` [{_g(lv['lo'])}, {_g(lv['hi'])}]: {lv['source']}" for lv in bounded
        ]
    if plot:
        lines += [
            "",
            f"![The share of the force that left against each lever's value: median and 5-95 % "
            f"band over draws, per scenario]({plot})",
        ]
    return "\n".join(lines) + "\n"


def plot_levers(manifest: Mapping[str, Any], curve: pd.DataFrame, path: Path) -> None:
    """One small panel per lever: the median and 5-95 % band over draws, each scenario."""
    from matplotlib.figure import Figure

    levers = [lv["name"] for lv in manifest["levers"]]
    cases = list(manifest["cases"])
    by_name = {lv["name"]: lv for lv in manifest["levers"]}
    ncol = min(5, max(1, len(levers)))
    nrow = math.ceil(len(levers) / ncol)
    fig = Figure(figsize=(2.5 * ncol + 0.5, 2.0 * nrow + 0.8), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrow, ncol, sharey=True, squeeze=False)).ravel()
    colours = ["#3b6fb6", "#d1495b", "#2e8b57", "#8c6bb1", "#e08e0b"]
    for ax, name in zip(axes, levers, strict=False):
        lv = by_name[name]
        drawn = False
        for i, case in enumerate(cases):
            c = curve[(curve["scenario"] == case) & (curve["lever"] == name)]
            if c.empty:
                continue
            col = colours[i % len(colours)]
            ax.fill_between(c["value"], c["q_lo"], c["q_hi"], color=col, alpha=0.2, lw=0)
            ax.plot(c["value"], c["median"], "o-", color=col, ms=2.5, lw=1.2, label=case)
            drawn = True
        if not drawn:
            ax.text(0.5, 0.5, "not run", ha="center", va="center", transform=ax.transAxes)
        ax.set_xlim(float(lv["lo"]), float(lv["hi"]))
        ax.set_ylim(0, 1)
        ax.set_title(name, fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes[len(levers) :]:
        ax.set_visible(False)
    for ax in axes[::ncol]:
        ax.set_ylabel("share that left", fontsize=7)
    handles, labels = [], []
    for ax in axes:
        h, lab = ax.get_legend_handles_labels()
        for hh, ll in zip(h, lab, strict=True):
            if ll not in labels:
                handles.append(hh)
                labels.append(ll)
    if handles:
        fig.legend(handles, labels, loc="outside lower center", ncols=len(labels), fontsize=8)
    fig.suptitle(
        "Share of the force that left, by lever value\n(median and 5-95 % band over draws)",
        fontsize=10,
    )
    fig.savefig(path, dpi=100, format="png")


def plan_of(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """What :func:`lever_rows` needs, from a committed manifest."""
    return {
        "cases": list(manifest["cases"]),
        "levers": manifest["levers"],
        "draws": manifest["draws"],
        "seeds": manifest["seeds"],
        "threshold": manifest["threshold"],
    }


def replace_section(text: str, section: str, doc: Path) -> str:
    """``text`` with the part between :data:`BEGIN` and :data:`END` replaced by ``section``.

    Raises:
        LeversError: The markers are missing, repeated or out of order.
    """
    b, e = text.count(BEGIN), text.count(END)
    if b != 1 or e != 1 or text.index(BEGIN) > text.index(END):
        raise LeversError(
            f"{doc}: needs one `{BEGIN}` line and, after it, one `{END}` line (the generated "
            f"section goes between them); found {b} and {e}"
        )
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{section}{END}{tail}"


def _origin(sample: Mapping[str, Any]) -> str | None:
    """The sample's wave, commit and status, as the validation report words them.

    From the sample's own manifest when the file is still the one the runs drew from (same
    sha256), else from what the levers manifest kept of it.
    """
    from defection.calibration.validation import _sample_manifest, _sample_origin

    root = Path(__file__).resolve().parent.parent  # sample paths are shown relative to it
    sm = _sample_manifest(dict(sample), root)
    if not sm or not (sm.get("wave") or sm.get("commit")):
        return None
    return _sample_origin(sm)


def write_report(folder: Path, docs: Path, shown: str | None = None) -> list[Path]:
    """Write the levers section of ``docs/CALIBRATION.md`` and ``docs/calibration/levers.png``.

    From the committed folder only (its manifest and runs); nothing runs.

    Args:
        folder: The committed levers folder (``calibration/levers``).
        docs: The documentation folder.
        shown: How the folder is named in the report (default: as given).

    Returns:
        The files written.

    Raises:
        LeversError: No committed levers runs, or a document without the markers.
    """
    folder, docs = Path(folder), Path(docs)
    manifest, runs = read_committed(folder)
    if manifest is None:
        raise LeversError(
            f"{folder}: no committed levers runs (no manifest.json; `defection calibrate "
            "calibration/specs/levers.toml` commits them there)"
        )
    doc = docs / "CALIBRATION.md"
    try:
        text = doc.read_text(encoding="utf-8")
    except OSError as exc:
        raise LeversError(f"{doc}: cannot read it ({exc.strerror})") from None
    rows = lever_rows(runs, plan_of(manifest))
    curve = curves(runs)
    origin = _origin(manifest.get("sample") or {})
    section = render(manifest, rows, curve, "calibration/levers.png", shown or str(folder), origin)
    new = replace_section(text, section, doc)  # before anything is written: the markers
    png = docs / "calibration" / "levers.png"
    _atomic_bytes(png, lambda p: plot_levers(manifest, curve, p))
    _atomic_bytes(doc, lambda p: p.write_text(new, encoding="utf-8"))
    return [doc, png]
