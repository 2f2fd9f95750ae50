"""Policies as data: packages of measures that set the levers of a run (docs/POLICIES.md).

A policy file (TOML, checked like a scenario file, :func:`json_schema` for editors) names
packages; a package is what one side does, the regime (``side = "regime"``: pay, guards,
surveillance, purges, stacking, messaging, ...) or the opposition (``side = "opposition"``:
amnesty, nonviolent discipline). A measure sets one lever (a registry parameter of role
``lever``, :data:`~defection.model.params.LEVERS`):

- from a day (``day``; ``day = 0`` sets it when the model is built, the only choice for a lever
  fixed at build such as ``soldiers.guard_share``);
- at once, or ramped linearly from the value it has on its first day over ``ramp_days`` days;
- unconditionally, or from the first day on which a condition on yesterday's figures holds
  (``when = { series = "soldiers_deserted", above = 0.02 }``): once it holds, the measure stays
  on (latched);
- holding the lever against the scenario's scheduled events (``events = "hold"``, the default:
  an event that sets the lever on a day the measure is on is undone the same day, before anyone
  decides), or yielding to them (``events = "yield"``: the event's value stands and the measure
  stops). Either way the run's log says so, and :func:`event_conflicts` lists the scheduled
  events a package may meet before the run starts.

Measures are applied each day right after the scheduled events (ODD section 3, item 1), in
file order, so that of two measures on one lever the later one wins on a day both are on. They
draw no random numbers: a run with a package and the same run without it use the same random
streams (common random numbers), so their difference is the package's effect in that run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from defection.model.address import (
    NAME_PATTERN,
    NAME_RULE,
    InvalidValue,
    ScenarioError,
    check_live,
    closest,
    coerce,
    quoted,
    shown,
)
from defection.model.events import event_sets
from defection.model.limits import DEFAULT, Limits
from defection.model.outputs import SERIES
from defection.model.params import BY_NAME, LEVERS
from defection.model.tomlfile import read_toml

if TYPE_CHECKING:
    from defection.model.regime import RegimeModel
    from defection.model.scenario import Scenario

#: The two sides a package can belong to.
SIDES: tuple[str, ...] = ("regime", "opposition")
#: What a measure does when a scheduled event sets its lever.
EVENT_RULES: tuple[str, ...] = ("hold", "yield")
#: Series a condition can read (yesterday's value; docs/OUTPUTS.md): every per-day series but
#: the day itself.
CONDITION_SERIES: tuple[str, ...] = tuple(s for s in SERIES if s != "day")
#: The name of the do-nothing package a comparison adds; a file may not use it.
BASELINE = "none"
#: At most this many packages in a file, and measures in a package.
MAX_PACKAGES = 64
MAX_MEASURES = 64

_STRICT = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
Name = Annotated[str, Field(pattern=NAME_PATTERN, description=NAME_RULE)]

_LEVER_NAMES = [p.name for p in LEVERS]


def side_of(lever: str) -> str:
    """Which side sets a lever: the opposition its ``opposition.*`` levers, the regime the rest."""
    return "opposition" if lever.startswith("opposition.") else "regime"


class Condition(BaseModel):
    """When a measure starts: a series of yesterday's figures above or below a value."""

    model_config = _STRICT
    series: Literal[CONDITION_SERIES] = Field(  # type: ignore[valid-type]
        description="A per-day series (docs/OUTPUTS.md), read as it was at the end of yesterday."
    )
    above: float | None = Field(None, description="Start once the series is above this.")
    below: float | None = Field(None, description="Start once the series is below this.")


class Measure(BaseModel):
    """One lever set by a package (``[[packages.measures]]``)."""

    model_config = _STRICT
    lever: str = Field(description="A policy lever (`defection params --levers`).")
    value: float = Field(description="The lever's value once the measure is fully on.")
    day: int = Field(1, ge=0, description="First day it may start; 0: set when the model is built.")
    ramp_days: int = Field(
        0, ge=0, description="Reach the value linearly over this many days (0: at once)."
    )
    when: Condition | None = Field(None, description="Start only once this holds (latched).")
    events: Literal[EVENT_RULES] = Field(  # type: ignore[valid-type]
        "hold",
        description="A scheduled event setting this lever while the measure is on: `hold` "
        "undoes it the same day, `yield` lets it stand and ends the measure.",
    )
    note: str = Field("", description="What the measure stands for.")


class Package(BaseModel):
    """A package of measures one side takes (``[[packages]]``)."""

    model_config = _STRICT
    name: Name = Field(description=f"Package name (used in outputs); {NAME_RULE}.")
    side: Literal[SIDES] = Field(description="Who takes it: regime or opposition.")  # type: ignore[valid-type]
    title: str = Field("", description="Human title.")
    description: str = Field("", description="What the package represents, and its sources.")
    measures: list[Measure] = Field(min_length=1, max_length=MAX_MEASURES)


class PolicyMeta(BaseModel):
    """The ``[policy]`` table."""

    model_config = _STRICT
    name: Name = Field(description=f"Short name (file stem); {NAME_RULE}.")
    title: str = Field("", description="Human title.")
    description: str = Field("", description="What the packages are for.")
    scenarios: list[str] = Field(
        default_factory=list, description="Scenarios the packages are written for."
    )


class PolicyModel(BaseModel):
    """A policy file."""

    model_config = _STRICT
    policy: PolicyMeta
    packages: list[Package] = Field(min_length=1, max_length=MAX_PACKAGES)


def json_schema() -> dict[str, Any]:
    """Return the JSON Schema of policy files (for editors)."""
    schema = PolicyModel.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "defection policy file"
    return schema


# ------------------------------------------------------------------------------------------------
# loading and checking
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyFile:
    """A checked policy file: its ``[policy]`` table and its packages by name, in file order."""

    name: str
    title: str
    description: str
    scenarios: tuple[str, ...]
    packages: dict[str, Package]
    path: Path | None = None

    def package(self, name: str) -> Package:
        """The package called ``name``.

        Raises:
            ScenarioError: No such package (names the file and the packages it has).
        """
        if name not in self.packages:
            names = list(self.packages)
            raise ScenarioError(
                [
                    f"{self.origin}: no package `{quoted(name)}`{closest(name, names)} "
                    f"(packages: {', '.join(names)})"
                ]
            )
        return self.packages[name]

    @property
    def origin(self) -> str:
        """The file's name for messages (a bundled file's as ``scenarios/policies/NAME.toml``)."""
        if self.path is None:
            return self.name
        if self.path.parent.resolve() == bundled_policies_dir().resolve():
            return f"scenarios/policies/{self.path.name}"
        return str(self.path)


def bundled_policies_dir() -> Path:
    """Folder of the policy files installed with the package (``scenarios/policies``)."""
    from importlib import resources

    return Path(str(resources.files("defection.scenarios"))) / "policies"


def bundled_policy_names() -> list[str]:
    """Names of the bundled policy files."""
    return sorted(p.stem for p in bundled_policies_dir().glob("*.toml"))


def find_policy(name_or_path: str | Path) -> Path:
    """A policy file: an existing path, or a bundled name (with or without ``.toml``).

    Raises:
        ScenarioError: Nothing found; lists the bundled names.
    """
    from defection.model.scenario import find_file

    return find_file(name_or_path, bundled_policies_dir(), "policy file")


def load_policy(name_or_path: str | Path, limits: Limits = DEFAULT) -> PolicyFile:
    """Read and check a policy file (a path, or the name of a bundled one).

    Raises:
        ScenarioError: Every problem found, one line each naming the file, the field and the
            rule.
    """
    path = find_policy(name_or_path)
    doc = read_toml(path, limits, what="policy file")
    return parse_policy(doc, str(path), path)


def parse_policy(doc: dict[str, Any], origin: str, path: Path | None = None) -> PolicyFile:
    """Check a TOML-shaped policy document (:func:`load_policy` without the file)."""
    try:
        parsed = PolicyModel.model_validate(doc)
    except ValidationError as exc:
        raise ScenarioError(_schema_problems(exc, doc, origin)) from None
    problems: list[str] = []
    seen: set[str] = set()
    for k, pkg in enumerate(parsed.packages):
        at = f"{origin}: field `packages.{pkg.name}"  # by name, as the schema's lines
        if pkg.name == BASELINE:
            problems.append(
                f"{at}.name`: `{BASELINE}` is the do-nothing package a comparison adds; "
                "choose another name"
            )
        if pkg.name in seen:
            problems.append(
                f"{origin}: field `packages[{k}].name`: package `{pkg.name}` appears twice"
            )
        seen.add(pkg.name)
        for i, ms in enumerate(pkg.measures):
            problems += measure_problems(ms, pkg.side, f"{at}.measures[{i}]")
    if problems:
        raise ScenarioError(problems)
    return PolicyFile(
        name=parsed.policy.name,
        title=parsed.policy.title,
        description=parsed.policy.description,
        scenarios=tuple(parsed.policy.scenarios),
        packages={p.name: p for p in parsed.packages},
        path=path,
    )


def _schema_problems(exc: ValidationError, doc: dict[str, Any], origin: str) -> list[str]:
    """The schema's problems in the scenario files' form, with a hint for a misspelled key."""
    from defection.model.schema import _loc_to_address, pydantic_problems

    lines = pydantic_problems(exc, doc, origin)
    out = []
    for err, line in zip(exc.errors(), lines, strict=True):
        if err["type"] == "extra_forbidden":
            loc = tuple(err["loc"])
            key = str(loc[-1])
            model = _model_at(loc[:-1])
            hint = closest(key, list(model.model_fields)) if model is not None else ""
            line = (
                f"{origin}: field `{_loc_to_address(doc, loc[:-1]) or '(top level)'}`: "
                f"unknown key `{quoted(key)}`{hint}"
            )
        out.append(line)
    return out


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The schema model of the table at a pydantic location (``()`` is the file)."""
    names = [x for x in loc if isinstance(x, str)]
    chain: dict[tuple[str, ...], type[BaseModel]] = {
        (): PolicyModel,
        ("policy",): PolicyMeta,
        ("packages",): Package,
        ("packages", "measures"): Measure,
        ("packages", "measures", "when"): Condition,
    }
    return chain.get(tuple(names))


def measure_problems(ms: Measure, side: str, where: str) -> list[str]:
    """The rules a measure breaks (``where`` names it and lacks the closing backtick)."""
    p = BY_NAME.get(ms.lever)
    if p is None or not p.lever:
        what = (
            "an unknown parameter"
            if p is None
            else f"a {p.role} parameter, not a lever (a policy sets only levers)"
        )
        return [
            f"{where}.lever`: `{quoted(ms.lever)}` is {what}{closest(ms.lever, _LEVER_NAMES)} "
            "(levers: `defection params --levers`)"
        ]
    problems = []
    try:
        coerce(p, ms.value)
    except InvalidValue as exc:
        problems.append(f"{where}.value`: {exc.rule} for `{p.name}` (got {shown(ms.value)})")
    if side_of(p.name) != side:
        problems.append(
            f"{where}.lever`: `{p.name}` is the {side_of(p.name)}'s lever, and this package is "
            f"the {side}'s (a package is one side's; put it in a package with side = "
            f'"{side_of(p.name)}")'
        )
    if ms.day == 0 and (ms.ramp_days or ms.when is not None):
        problems.append(
            f"{where}.day`: day 0 sets the lever when the model is built, so it takes no "
            "`ramp_days` or `when` (start on day 1 or later)"
        )
    if p.build_only and (ms.day != 0):
        problems.append(
            f"{where}.day`: `{p.name}` is fixed when the model is built, so a measure sets it "
            f"on day 0 only (got day {ms.day})"
        )
    if ms.when is not None and (ms.when.above is None) == (ms.when.below is None):
        problems.append(f"{where}.when`: give exactly one of `above` and `below`")
    return problems


def scenario_problems(pkg: Package, scenario: Scenario, origin: str) -> list[str]:
    """Rules a package breaks against one scenario: a measure after the scenario's horizon."""
    horizon = int(scenario.params["run.horizon"])
    return [
        f"{origin}: field `packages.{pkg.name}.measures[{i}].day`: day {ms.day} is after "
        f"`{scenario.name}`'s horizon ({horizon}): the measure would never start"
        for i, ms in enumerate(pkg.measures)
        if ms.day > horizon
    ]


def build_overrides(pkg: Package) -> dict[str, float]:
    """``{lever: value}`` of the package's day-0 measures (applied as the scenario is built)."""
    return {ms.lever: ms.value for ms in pkg.measures if ms.day == 0}


def event_conflicts(pkg: Package, scenario: Scenario) -> list[dict[str, Any]]:
    """The scenario's events that set a lever on a day one of the package's measures may be on.

    A measure with a condition may be on from its ``day``; whether it is on when the event comes
    is known only during the run, whose log says what happened.

    Returns:
        One record per (event, measure): ``day``, ``kind``, ``note``, ``lever``, ``measure``
        (its index), ``rule`` (``hold`` or ``yield``) and ``conditional``.
    """
    out = []
    for ev in scenario.events:
        sets = set(event_sets(ev).values())
        for i, ms in enumerate(pkg.measures):
            if ms.lever in sets and int(ev["day"]) >= max(ms.day, 1):
                out.append(
                    {
                        "day": int(ev["day"]),
                        "kind": str(ev["kind"]),
                        "note": str(ev.get("note", "")),
                        "lever": ms.lever,
                        "measure": i,
                        "rule": ms.events,
                        "conditional": ms.when is not None,
                    }
                )
    return out


def describe_conflict(c: dict[str, Any], package: str) -> str:
    """An :func:`event_conflicts` record in words."""
    what = "holds it" if c["rule"] == "hold" else "yields to it and stops"
    cond = " if its condition has started it by then" if c["conditional"] else ""
    return (
        f"day {c['day']}: event {c['kind']} sets `{c['lever']}`; package `{package}` "
        f'{what} (measure {c["measure"]}, events = "{c["rule"]}"){cond}'
    )


# ------------------------------------------------------------------------------------------------
# during a run
# ------------------------------------------------------------------------------------------------


@dataclass
class _MeasureState:
    started: bool = False
    start_day: int = 0
    start_value: float = 0.0
    released: bool = False


@dataclass
class PolicyRun:
    """A package applied to one run: each measure's state, and the log of what it did.

    Attributes:
        package: The package.
        states: Per measure, whether it has started (and on which day, from which value) and
            whether it has yielded to an event.
    """

    package: Package
    states: list[_MeasureState] = field(default_factory=list)

    def __post_init__(self) -> None:
        # a lever fixed at build was set by build_overrides; nothing is left to do during the run
        self.states = [
            _MeasureState(released=BY_NAME[ms.lever].build_only) for ms in self.package.measures
        ]

    def apply(self, m: RegimeModel) -> None:
        """Apply today's measures (after today's events; nothing drawn at random)."""
        today = m.day
        set_today: set[str] = set()
        for ev in m.scenario_def.events:
            if ev["day"] == today:
                set_today.update(event_sets(ev).values())
        # what today's events set, before any measure (two measures on one lever both see it)
        by_event = {lever: float(m.p[lever]) for lever in set_today}
        name = self.package.name
        for ms, st in zip(self.package.measures, self.states, strict=True):
            if st.released:
                continue
            if not st.started:
                if today < max(ms.day, 1) or not condition_holds(ms.when, m.stats):
                    continue
                st.started, st.start_day, st.start_value = True, today, float(m.p[ms.lever])
                if ms.day > 0:
                    m.log.append((today, start_text(name, ms, st.start_value)))
            if ms.lever in set_today:
                if ms.events == "yield":
                    st.released = True
                    m.log.append(
                        (
                            today,
                            f"policy {name}: yields `{ms.lever}` to today's event "
                            f"({by_event[ms.lever]:g}); the measure stops",
                        )
                    )
                    continue
                target = measure_value(ms, st, today)
                if not math.isclose(by_event[ms.lever], target, rel_tol=0, abs_tol=1e-12):
                    m.log.append(
                        (
                            today,
                            f"policy {name}: holds `{ms.lever}` at {target:g} against today's "
                            f"event (which set {by_event[ms.lever]:g})",
                        )
                    )
            m.p[ms.lever] = check_live(ms.lever, measure_value(ms, st, today))


def measure_value(ms: Measure, st: _MeasureState, today: int) -> float:
    """The value a started measure sets today.

    ``v = v0 + (x - v0) min(1, (t - t0 + 1) / n)`` for a ramp of ``n`` days started on day
    ``t0`` from ``v0`` towards ``x``; ``x`` itself without a ramp.
    """
    if ms.ramp_days <= 0:
        return float(ms.value)
    frac = (today - st.start_day + 1) / ms.ramp_days
    if frac >= 1.0:  # the value itself, not a sum that rounds near it
        return float(ms.value)
    return st.start_value + (float(ms.value) - st.start_value) * frac


def condition_holds(cond: Condition | None, stats: dict[str, float]) -> bool:
    """Whether a measure's condition holds on ``stats`` (no condition: always)."""
    if cond is None:
        return True
    x = float(stats[cond.series])
    return x > cond.above if cond.above is not None else x < float(cond.below)  # type: ignore[arg-type]


def start_text(package: str, ms: Measure, start: float) -> str:
    """The log line of a measure starting."""
    how = f" over {ms.ramp_days} days" if ms.ramp_days else ""
    cond = ""
    if ms.when is not None:
        op, x = (">", ms.when.above) if ms.when.above is not None else ("<", ms.when.below)
        cond = f" ({ms.when.series} {op} {x:g} yesterday)"
    note = f": {ms.note}" if ms.note else ""
    return f"policy {package}: `{ms.lever}` {start:g} -> {ms.value:g}{how}{cond}{note}"


def summary(pkg: Package) -> dict[str, Any]:
    """The package as summary.json records it."""
    return {
        "package": pkg.name,
        "side": pkg.side,
        "measures": [ms.model_dump(exclude_none=True) for ms in pkg.measures],
    }


__all__ = [
    "BASELINE",
    "CONDITION_SERIES",
    "EVENT_RULES",
    "SIDES",
    "Condition",
    "Measure",
    "Package",
    "PolicyFile",
    "PolicyRun",
    "build_overrides",
    "bundled_policies_dir",
    "bundled_policy_names",
    "find_policy",
    "condition_holds",
    "describe_conflict",
    "event_conflicts",
    "json_schema",
    "load_policy",
    "measure_value",
    "parse_policy",
    "scenario_problems",
    "side_of",
    "start_text",
    "summary",
]
