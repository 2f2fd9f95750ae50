"""Calibration targets: named measures that read one finished run as a number.

A calibration spec names its targets by a measure of :data:`MEASURES` and the measure's arguments
(``measure = "defected_share"``, ``args = {day = 365}``). Each measure is a pure function of a
run's row (the sweep store's final figures and outcome: :func:`defection.runner.final_figures`)
and its per-day frame (the DataCollector columns of :data:`defection.model.outputs.SERIES`), so a
target is computed in the worker that ran the model (:class:`TargetMeasures`) and only the number
travels back and is stored (column ``target:<name>``).

Reading a day past the end of a run: a run stops on its outcome day unless the spec asks for
``until_horizon``; a share read on a later day is the last day's value (nothing changes after
the outcome in the model's arrays), and the spec says so in its documentation
(docs/CALIBRATION.md).

To add a measure: a function ``f(run: RunView, **args) -> float`` here, and a :class:`Measure`
entry in :data:`MEASURES` with its arguments' bounds; specs, validation and documentation follow.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from defection.model.outputs import SUCCESS_OUTCOMES

__all__ = [
    "MEASURES",
    "Arg",
    "Measure",
    "RunView",
    "TargetMeasures",
    "column",
    "measure_problems",
    "measures_markdown",
]


@dataclass(frozen=True)
class RunView:
    """What a measure reads: the run's row and its per-day frame.

    Attributes:
        row: The run's row (``outcome``, ``outcome_day``, ``days``, final shares and figures).
        series: The DataCollector frame, one row per day from day 0 (column ``day``).
    """

    row: Mapping[str, Any]
    series: pd.DataFrame

    def at(self, name: str, day: int | None) -> float:
        """Series ``name`` on ``day`` (None: the last day); past the run's end, its last value.

        Args:
            name: A series of :data:`defection.model.outputs.SERIES`.
            day: Day to read (0 is the start), or None for the last simulated day.
        """
        values = self.series[name].to_numpy(dtype=float)
        if values.size == 0:
            return math.nan
        if day is None:
            return float(values[-1])
        days = self.series["day"].to_numpy()
        i = int(np.searchsorted(days, day, side="right")) - 1
        return float(values[max(i, 0)])


@dataclass(frozen=True)
class Arg:
    """An argument of a measure: integer days or a share, with bounds and a default."""

    type: type
    lo: float
    hi: float
    default: Any = None
    meaning: str = ""


@dataclass(frozen=True)
class Measure:
    """A named measure of a run.

    Attributes:
        name: Its name in specs.
        fn: ``fn(run, **args) -> float``.
        meaning: One sentence for the documentation.
        unit: ``share``, ``0/1`` or ``days``.
        args: Its arguments by name (all optional: each has a default).
    """

    name: str
    fn: Callable[..., float]
    meaning: str
    unit: str
    args: dict[str, Arg] = field(default_factory=dict)


# ------------------------------------------------------------------------------------------------
# the measures (pure functions of one run)
# ------------------------------------------------------------------------------------------------


def defected_share(run: RunView, day: int | None = None) -> float:
    """Share of the initial force in state ``defected`` on ``day``."""
    return run.at("soldiers_defected", day)


def deserted_share(run: RunView, day: int | None = None) -> float:
    """Share of the initial force in state ``deserted`` on ``day``."""
    return run.at("soldiers_deserted", day)


def left_share(run: RunView, day: int | None = None) -> float:
    """Share of the initial force that deserted or defected, on ``day``."""
    return run.at("soldiers_deserted", day) + run.at("soldiers_defected", day)


def detained_share(run: RunView, day: int | None = None) -> float:
    """Share of the initial force detained by its own regime, on ``day``."""
    return run.at("soldiers_detained", day)


def elites_defected(run: RunView, day: int | None = None) -> float:
    """Share of the elites who defected, on ``day``."""
    return run.at("elites_defected", day)


def peak_participation(run: RunView, day: int | None = None) -> float:
    """Highest daily participation (active people / denominator, NAVCO's measure) up to ``day``."""
    s = run.series
    if day is not None:
        s = s[s["day"] <= day]
    return float(s["participation"].max()) if len(s) else math.nan


def fell_before(run: RunView, day: int = 365) -> float:
    """1 if the regime fell (collapse or transition) on a day before ``day``, else 0."""
    oc, when = run.row.get("outcome"), run.row.get("outcome_day")
    return float(oc in SUCCESS_OUTCOMES and when is not None and when < day)


def collapse_before(run: RunView, day: int = 365) -> float:
    """1 if the loyal force gave way (outcome ``collapse``) on a day before ``day``, else 0."""
    oc, when = run.row.get("outcome"), run.row.get("outcome_day")
    return float(oc == "collapse" and when is not None and when < day)


def fall_day(run: RunView, day: int = 365) -> float:
    """Day the regime fell (collapse or transition); ``day`` + 1 when it had not by then."""
    oc, when = run.row.get("outcome"), run.row.get("outcome_day")
    if oc in SUCCESS_OUTCOMES and when is not None and when <= day:
        return float(when)
    return float(day + 1)


def navco_defect(run: RunView) -> float:
    """NAVCO DEFECT of the run (docs/MEASUREMENT.md section 3): 1 or 0."""
    return float(run.row["navco_defect"])


def navco_success(run: RunView) -> float:
    """NAVCO SUCCESS of the run (docs/MEASUREMENT.md section 4): 1 or 0."""
    return float(run.row["navco_success"])


def navco_success_defect(run: RunView) -> float:
    """NAVCO SUCCESS and DEFECT both in the run: 1 or 0 (the joint of the success gap)."""
    return float(run.row["navco_success"]) * float(run.row["navco_defect"])


def detained_max(run: RunView, day: int | None = None) -> float:
    """Largest share of the initial force detained by its own regime on any day up to ``day``."""
    s = run.series
    if day is not None:
        s = s[s["day"] <= day]
    return float(s["soldiers_detained"].max()) if len(s) else math.nan


def fell_between(run: RunView, after: int = 0, day: int = 365) -> float:
    """1 if the regime fell on a day from ``after`` (inclusive) to before ``day``, else 0."""
    oc, when = run.row.get("outcome"), run.row.get("outcome_day")
    return float(oc in SUCCESS_OUTCOMES and when is not None and after <= when < day)


def desertion_excess(run: RunView, day: int | None = None) -> float:
    """Share deserted minus share defected on ``day`` (>= 0: desertion at least defection)."""
    return run.at("soldiers_deserted", day) - run.at("soldiers_defected", day)


def first_defect_day(run: RunView, day: int = 365) -> float:
    """First day any NAVCO DEFECT rule held (docs/MEASUREMENT.md section 3); ``day`` + 1 if none.

    The rules' first days come from the worker (``navco_rules_first_day``, the summary's
    ``navco.defect_rules_first_day``); a row without them (a stored row read later) gives NaN.
    """
    rules = run.row.get("navco_rules_first_day")
    if rules is None:
        return math.nan
    days = [d for d in rules.values() if d is not None and d <= day]
    return float(min(days)) if days else float(day + 1)


def fall_after_defect(run: RunView, day: int = 365) -> float:
    """Days from the first NAVCO DEFECT day to the fall (both up to ``day``); NaN if either lacks.

    A regime that fell with no DEFECT, or a DEFECT with no fall, has no such interval: the value
    is NaN and the run is left out of the target (its other targets say which happened).
    """
    first = first_defect_day(run, day)
    fell = fall_day(run, day)
    if not math.isfinite(first) or first > day or fell > day:
        return math.nan
    return float(fell - first)


def core_left(run: RunView) -> float:
    """Share of the core identity group's soldiers who left by the run's end; NaN without one.

    From the worker (``core_left_share``, :func:`defection.runner.core_left_share`); a stored row
    read later, or a scenario with no core group, gives NaN.
    """
    v = run.row.get("core_left_share")
    return float(v) if v is not None else math.nan


_DAY = Arg(int, 0, 100_000, None, "day read (0 is the start; default: the run's last day)")
_AFTER = Arg(int, 0, 100_000, 0, "the first day that counts")
_BY = Arg(int, 1, 100_000, 365, "the day before which it counts")
_UNTIL = Arg(int, 1, 100_000, 365, "the last day looked at")

#: Every measure a target may use, by name.
MEASURES: dict[str, Measure] = {
    m.name: m
    for m in (
        Measure(
            "defected_share",
            defected_share,
            defected_share.__doc__.split("\n")[0],
            "share",
            {"day": _DAY},
        ),  # noqa: E501
        Measure(
            "deserted_share",
            deserted_share,
            deserted_share.__doc__.split("\n")[0],
            "share",
            {"day": _DAY},
        ),  # noqa: E501
        Measure(
            "left_share", left_share, left_share.__doc__.split("\n")[0], "share", {"day": _DAY}
        ),  # noqa: E501
        Measure(
            "detained_share",
            detained_share,
            detained_share.__doc__.split("\n")[0],
            "share",
            {"day": _DAY},
        ),  # noqa: E501
        Measure(
            "elites_defected",
            elites_defected,
            elites_defected.__doc__.split("\n")[0],
            "share",
            {"day": _DAY},
        ),  # noqa: E501
        Measure(
            "peak_participation",
            peak_participation,
            peak_participation.__doc__.split("\n")[0],
            "share",
            {"day": _DAY},
        ),  # noqa: E501
        Measure(
            "fell_before", fell_before, fell_before.__doc__.split("\n")[0], "0/1", {"day": _BY}
        ),  # noqa: E501
        Measure(
            "collapse_before",
            collapse_before,
            collapse_before.__doc__.split("\n")[0],
            "0/1",
            {"day": _BY},
        ),  # noqa: E501
        Measure("fall_day", fall_day, fall_day.__doc__.split("\n")[0], "days", {"day": _UNTIL}),  # noqa: E501
        Measure("navco_defect", navco_defect, navco_defect.__doc__.split("\n")[0], "0/1"),
        Measure(
            "detained_max",
            detained_max,
            detained_max.__doc__.split("\n")[0],
            "share",
            {"day": _DAY},
        ),  # noqa: E501
        Measure(
            "fell_between",
            fell_between,
            fell_between.__doc__.split("\n")[0],
            "0/1",
            {"after": _AFTER, "day": _BY},
        ),  # noqa: E501
        Measure(
            "desertion_excess",
            desertion_excess,
            desertion_excess.__doc__.split("\n")[0],
            "share",
            {"day": _DAY},
        ),  # noqa: E501
        Measure(
            "first_defect_day",
            first_defect_day,
            first_defect_day.__doc__.split("\n")[0],
            "days",
            {"day": _UNTIL},
        ),  # noqa: E501
        Measure(
            "fall_after_defect",
            fall_after_defect,
            fall_after_defect.__doc__.split("\n")[0],
            "days",
            {"day": _UNTIL},
        ),  # noqa: E501
        Measure("navco_success", navco_success, navco_success.__doc__.split("\n")[0], "0/1"),
        Measure(
            "navco_success_defect",
            navco_success_defect,
            navco_success_defect.__doc__.split("\n")[0],
            "0/1",
        ),
        Measure("core_left", core_left, core_left.__doc__.split("\n")[0], "share"),
    )
}


def measure_problems(measure: str, args: Mapping[str, Any], where: str) -> list[str]:
    """Why ``measure`` with ``args`` is not usable (an unknown name, argument or value).

    Args:
        measure: A name of :data:`MEASURES`.
        args: Its arguments.
        where: ``"<file>: field `targets.<name>`"``, the start of every line.
    """
    from defection.model.address import closest

    m = MEASURES.get(measure)
    if m is None:
        return [
            f"{where}.measure: unknown measure `{measure}`{closest(measure, list(MEASURES))} "
            f"(known: {', '.join(MEASURES)})"
        ]
    problems = []
    for key, value in args.items():
        a = m.args.get(key)
        if a is None:
            known = ", ".join(m.args) or "none"
            problems.append(
                f"{where}.args: unknown argument `{key}` of measure `{measure}` (takes: {known})"
            )
            continue
        ok_type = isinstance(value, a.type) and not isinstance(value, bool)
        if a.type is float:
            ok_type = isinstance(value, int | float) and not isinstance(value, bool)
        if not ok_type or not a.lo <= value <= a.hi:
            problems.append(
                f"{where}.args.{key}: must be {'a whole number' if a.type is int else 'a number'} "
                f"from {a.lo:g} to {a.hi:g} (got {value!r})"
            )
    return problems


def column(target: str) -> str:
    """The run column that holds a target's value: ``target:<name>``."""
    return f"target:{target}"


@dataclass(frozen=True)
class TargetMeasures:
    """The targets of a calibration, computed in the worker from a finished run.

    A picklable callable for :attr:`defection.sweep.engine.Task.measures`.

    Attributes:
        targets: ``(target name, measure name, args as sorted (key, value) pairs)`` per target.
    """

    targets: tuple[tuple[str, str, tuple[tuple[str, Any], ...]], ...]

    def __call__(self, row: Mapping[str, Any], series: pd.DataFrame) -> dict[str, float]:
        """``{target:<name>: value}`` for every target (NaN where a value cannot be read)."""
        run = RunView(row, series)
        out = {}
        for name, measure, args in self.targets:
            value = MEASURES[measure].fn(run, **dict(args))
            out[column(name)] = float(value) if value is not None else math.nan
        return out


def measures_markdown() -> str:
    """The measures as a Markdown table (docs/CALIBRATION.md)."""
    lines = ["| measure | unit | arguments | meaning |", "|---|---|---|---|"]
    for m in MEASURES.values():
        args = "; ".join(
            f"`{k}` ({a.meaning}{'' if a.default is None else f', default {a.default}'})"
            for k, a in m.args.items()
        )
        meaning = m.meaning.replace("``", "`")
        lines.append(f"| `{m.name}` | {m.unit} | {args or '-'} | {meaning} |")
    return "\n".join(lines)
