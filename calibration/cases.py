"""Cases: what a calibration runs the model on.

A case is anything that yields a :class:`~defection.model.scenario.Scenario` and a set of
per-case feature values (:class:`Case`). The emulators of a wave take the features as inputs
beside the parameters, so one emulator can speak for many cases (a NAVCO campaign coded from its
features, issue #10 section 2), and a case without features is told apart by an indicator.

Cases are built from the spec's ``[[cases]]`` tables by a **case source**, chosen by the table's
``source`` key (default ``"scenario"``):

* ``scenario`` (:class:`ScenarioCase`): a bundled scenario name or a scenario file, with
  overrides (``set``, typically the horizon) and optional coded ``features``.

A later module adds a source with :func:`register_source` (for example campaigns built from coded
NAVCO features); its table is validated by its own pydantic model, with unknown keys refused.
Any case may name the NAVCO campaign it stands for (``navco_id``): it must be in the fitting set
of the committed split (:func:`check_fit_campaign`), which is read row by row keeping only
``set == "fit"`` rows; the test set is never used here.

**The test set.** One kind of spec may run test-set campaigns: a check spec (``kind = "check"``)
that says so with ``check.test_set = true``, which only ``defection validation --test-set`` runs
(docs/CALIBRATION.md). Its cases are built inside :func:`allow_test_set`; everywhere else
(screens, waves, other checks) :func:`is_test_set_allowed` is False and a test-set campaign is an
error naming it.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from defection.model.address import NAME_PATTERN
from defection.model.scenario import Scenario, ScenarioError, load

__all__ = [
    "Case",
    "CaseRunner",
    "ScenarioCase",
    "SOURCES",
    "build_case",
    "check_fit_campaign",
    "fit_campaign_ids",
    "register_source",
    "split_overrides",
    "allow_test_set",
    "is_test_set_allowed",
]


@dataclass
class Case:
    """One case of a calibration.

    Attributes:
        name: The case's name in the spec (a name: lower-case letters, digits, _).
        scenario: The resolved scenario the case's runs start from (its overrides applied).
        features: Coded feature values, by feature name (inputs of the emulators).
        weight: Relative share of the design's runs that go to this case.
        source: The case source that built it.
        navco_id: The NAVCO campaign it stands for, if any (always one of the fitting set).
        describe: The case as given in the spec (for the manifest and the hash).
    """

    name: str
    scenario: Scenario
    features: dict[str, float] = field(default_factory=dict)
    weight: float = 1.0
    source: str = "scenario"
    navco_id: int | None = None
    describe: dict[str, Any] = field(default_factory=dict)
    group: str = ""
    builder: Callable[[dict[str, float] | None], Scenario] | None = None

    def __post_init__(self) -> None:
        if not self.group:
            self.group = self.name

    def runner(self) -> CaseRunner:
        """What the worker starts a run of this case from (:class:`CaseRunner`)."""
        return CaseRunner(self.scenario, self.builder)


#: Prefix of the mapping coefficients' names (``calibration/casecode.py``, ``MAPPING``).
COEFF_PREFIX = "case."


def split_overrides(values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(mapping coefficients, model overrides)`` of a run's values, by the ``case.`` prefix.

    The coefficients are passed on as given: ``casecode.coefficients`` checks and converts them.
    """
    coeffs = {k: v for k, v in values.items() if k.startswith(COEFF_PREFIX)}
    rest = {k: v for k, v in values.items() if not k.startswith(COEFF_PREFIX)}
    return coeffs, rest


@dataclass(frozen=True)
class CaseRunner:
    """A case as the sweep engine's workers see it: ``with_overrides`` like a scenario.

    The run's values named ``case.*`` (mapping coefficients) act when the scenario is written: a
    case coded from features (a ``builder``) is rebuilt with them; a case with a fixed scenario has
    no mapping, so they do not act on it. The other values are overrides of the scenario, as in a
    sweep. Picklable (the backends send it to every worker once).

    Attributes:
        scenario: The case's scenario at the default coefficients.
        builder: ``builder(coeffs) -> Scenario`` for a case coded from features, else None.
    """

    scenario: Scenario
    builder: Callable[[dict[str, float] | None], Scenario] | None = None

    @property
    def hash(self) -> str:
        """The default scenario's hash."""
        return self.scenario.hash

    def with_overrides(self, values: dict[str, Any], origin: str = "") -> Scenario:
        """The run's scenario: rebuilt with its ``case.*`` values, then the rest applied."""
        coeffs, rest = split_overrides(values)
        base = self.builder(coeffs) if (self.builder is not None and coeffs) else self.scenario
        return base.with_overrides(rest, origin=origin) if rest else base


_STRICT = ConfigDict(extra="forbid", strict=True)


class CaseBase(BaseModel):
    """Keys every case table has, whatever its source."""

    model_config = _STRICT
    name: Annotated[str, Field(pattern=NAME_PATTERN)]
    source: str = "scenario"
    features: dict[str, float] = Field(default_factory=dict)
    weight: Annotated[float, Field(gt=0, le=1000, strict=False)] = 1.0
    navco_id: Annotated[int, Field(ge=1)] | None = None


class ScenarioCase(CaseBase):
    """A ``[[cases]]`` table of source ``scenario``: a scenario and its overrides."""

    scenario: str
    set: dict[str, Any] = Field(default_factory=dict)


#: A case source: ``(table, origin, where, base_dir) -> Case or [Case, ...]``; raises
#: ScenarioError. A source that returns several cases (one table standing for many campaigns)
#: gives them the table's name as their ``group``; a target naming the group reads them all.
Source = Callable[[dict[str, Any], str, str, Path | None], Any]


def _scenario_source(table: dict[str, Any], origin: str, where: str, base_dir: Path | None) -> Case:
    """Build a :class:`ScenarioCase`."""
    spec = _validate(ScenarioCase, table, where)
    path: str | Path = spec.scenario
    if base_dir is not None and (base_dir / spec.scenario).is_file():
        path = base_dir / spec.scenario
    try:
        base = load(path)
        sc = base.with_overrides(spec.set, origin=f"{where}.set") if spec.set else base
    except ScenarioError as exc:
        raise ScenarioError([f"{where}.scenario: {line}" for line in exc.problems]) from None
    return Case(
        name=spec.name,
        scenario=sc,
        features=dict(spec.features),
        weight=spec.weight,
        source="scenario",
        navco_id=spec.navco_id,
        describe=spec.model_dump() | {"scenario": base.name, "scenario_hash": sc.hash},
    )


#: Case sources by the ``source`` key of a ``[[cases]]`` table.
SOURCES: dict[str, Source] = {"scenario": _scenario_source}


def register_source(name: str, source: Source) -> None:
    """Add a case source (a later module's campaigns built from coded features, say).

    Args:
        name: The value of ``source`` in a ``[[cases]]`` table that selects it.
        source: ``source(table, origin, where, base_dir) -> Case``; it validates its own table
            (a pydantic model with ``extra="forbid"``, subclassing :class:`CaseBase`) and raises
            :class:`ScenarioError` with one line per problem.
    """
    SOURCES[name] = source


def build_case(table: Any, origin: str, index: int, base_dir: Path | None) -> list[Case]:
    """Build the case or cases of one ``[[cases]]`` table with its source.

    Raises:
        ScenarioError: Every problem of the table, each line naming the file and the field.
    """
    name = table.get("name") if isinstance(table, dict) else None
    where = (
        f"{origin}: field `cases.{name}`"
        if isinstance(name, str)
        else f"{origin}: field `cases[{index}]`"
    )  # noqa: E501
    if not isinstance(table, dict):
        raise ScenarioError([f"{where}: must be a table"])
    source = table.get("source", "scenario")
    if source not in SOURCES:
        raise ScenarioError(
            [f"{where}.source: unknown case source {source!r} (known: {', '.join(SOURCES)})"]
        )
    built = SOURCES[source](table, origin, where, base_dir)
    cases = list(built) if isinstance(built, list | tuple) else [built]
    if is_test_set_allowed():  # a test-set check spec (defection validation --test-set)
        return cases
    fit = fit_campaign_ids()
    for case in cases:
        if case.navco_id is not None and case.navco_id not in fit:
            check_fit_campaign(case.navco_id, f"{where}.navco_id")
    return cases


def _validate(model: type[BaseModel], table: dict[str, Any], where: str) -> Any:
    try:
        return model.model_validate(table)
    except ValidationError as exc:
        raise ScenarioError(model_problems(exc, where, model)) from None


def model_problems(exc: ValidationError, where: str, model: type[BaseModel]) -> list[str]:
    """One line per pydantic error of a table: ``where.field: rule (got value)``."""
    from defection.model.address import closest

    out = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err["loc"])
        at = f"{where}.{loc}" if loc else where
        if err["type"] == "extra_forbidden":
            key = str(err["loc"][-1])
            out.append(f"{at}: unknown key `{key}`{closest(key, list(model.model_fields))}")
        elif err["type"] == "missing":
            out.append(f"{at}: required but missing")
        else:
            out.append(f"{at}: {err['msg']} (got {err.get('input')!r})")
    return out


# ------------------------------------------------------------------------------------------------
# the NAVCO guard: only the fitting set
# ------------------------------------------------------------------------------------------------

#: Whether the cases being built may stand for test-set campaigns (see :func:`allow_test_set`).
_TEST_SET: ContextVar[bool] = ContextVar("defection_test_set", default=False)


@contextmanager
def allow_test_set(allowed: bool = True) -> Iterator[None]:
    """Build cases that may stand for test-set campaigns, within this block only.

    Only a check spec with ``check.test_set = true`` enters it (``defection validation
    --test-set``); screens and waves never do, so a test-set campaign stays an error there.

    Args:
        allowed: Whether the test set is allowed in the block (False changes nothing).
    """
    token = _TEST_SET.set(bool(allowed))
    try:
        yield
    finally:
        _TEST_SET.reset(token)


def is_test_set_allowed() -> bool:
    """True inside :func:`allow_test_set` (a test-set check spec's cases), else False."""
    return _TEST_SET.get()


def fit_campaign_ids(split_path: Path | None = None) -> frozenset[int]:
    """NAVCO IDs of the fitting set of the committed split (rows with ``set == "fit"`` only).

    The file is read row by row and every other row is skipped unread beyond its ``set`` field:
    nothing here keeps or uses a test campaign.
    """
    from defection.calibration.navco import ID, SPLIT_PATH

    path = Path(split_path) if split_path is not None else SPLIT_PATH
    with open(path, newline="", encoding="utf-8") as fh:
        return frozenset(int(r[ID]) for r in csv.DictReader(fh) if r["set"] == "fit")


def check_fit_campaign(navco_id: int, where: str) -> None:
    """Refuse a case that stands for a NAVCO campaign outside the fitting set.

    Raises:
        ScenarioError: ``navco_id`` is not a fitting-set campaign of the committed split (a test
            campaign, or an ID the split does not list).
    """
    if navco_id not in fit_campaign_ids():
        raise ScenarioError(
            [
                f"{where}: NAVCO ID {navco_id} is not in the fitting set of the committed split "
                "(calibration/navco_split.csv); calibration never runs a test campaign"
            ]
        )
