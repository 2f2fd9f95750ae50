"""Calibration specs: a Morris screen, a history-matching wave or a check, as a TOML file.

A spec file::

    [calibration]
    name = "ci_screen"              # a name; results go to calibration/<name>/
    title = "..."
    kind = "screen"                 # screen | wave | check | levers
    seed = 20261203                 # seeds the design and every run (one SeedSequence)
    seeds = 1                       # runs per design point, each with its own seed
    until_horizon = false           # keep running after the outcome

    [budget]
    max_runs = 60                   # a design larger than this is refused
    max_minutes = 5.0               # one invocation stops after this long (the same command
                                    # resumes)

    [parameters]
    names = ["soldiers.moral_cost", "belief.intercept"]   # or "behavioural": all of them
    ranges = { "belief.intercept" = [-2.0, 4.0] }         # optional: narrow a registry range

    [[cases]]                       # what the runs start from (calibration/cases.py)
    name = "base"
    scenario = "baseline"
    set = { "run.horizon" = 40 }
    features = {}                   # coded features, inputs of the emulators

    [[targets]]                     # a named measure of a run (calibration/targets.py)
    name = "left_40"
    measure = "left_share"
    args = { day = 40 }
    cases = ["base"]                # default: every case
    observed = 0.02                 # waves: the observed value, its sd and the model discrepancy
    obs_sd = 0.01
    discrepancy_sd = 0.005
    compare = "run"                 # run: history is one draw (adds the seed variance); or mean
    required = false                # waves, rule second_max: true = never the one target let miss

    [screen]                        # kind = "screen" only
    trajectories = 10
    levels = 4
    max_chosen = 12
    threshold = 0.1

    [wave]                          # kind = "wave" only
    points = 40
    previous = "../wave1"           # a previous wave's results folder (relative to this file)
    cutoff = 3.0
    rule = "max"                    # or "second_max"
    candidates = 100000
    keep = 1000
    sobol_samples = 256

    [check]                         # kind = "check" only (calibration/check.py): no [parameters]
    sample = "../calibrated/sample.parquet"
    draws = 20
    test_set = false
    groups = { navco = { draws = 10, seeds = 1 } }

    [levers]                        # kind = "levers" only (calibration/levers.py): no
    draws = 20                      # [parameters] and no [[targets]]
    names = "all"
    values = 11

Parameters must be behavioural (:data:`defection.model.params.BEHAVIOURAL`): calibration fits
nothing else. Every problem is one line naming the file, the field and the rule; unknown keys are
refused.

Runs are ``(parameter vector, case, seed)`` triples drawn jointly (docs/CALIBRATION.md): a
screen's Morris trajectories each get one case and one seed per replicate (common random numbers
along a trajectory, so an elementary effect compares runs that differ only in the parameter); a
first wave is one Latin hypercube over the parameters and a case column, whose stratified last
column gives each case its share of runs; a later wave picks its points from the previous wave's
non-implausible sample (greedy maximin) and deals the cases out in a shuffled, balanced order.
A check crosses ``draws`` vectors of a calibrated sample with every case x seeds
(:mod:`defection.calibration.check`); a levers spec crosses them with every case x every policy
lever x evenly spaced values of it x seeds (:mod:`defection.calibration.levers`).
"""

from __future__ import annotations

import hashlib
import json
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from defection import __version__
from defection.calibration import check as check_mod
from defection.calibration import levers as levers_mod
from defection.calibration import navcases  # registers the "navco" case source
from defection.calibration.casecode import MAPPING
from defection.calibration.cases import Case, allow_test_set, build_case
from defection.calibration.check import CheckTable
from defection.calibration.levers import LeverPlan, LeversTable
from defection.calibration.targets import TargetMeasures, column, measure_problems
from defection.model import version
from defection.model.address import NAME_PATTERN
from defection.model.address import closest as _closest
from defection.model.params import BEHAVIOURAL, PARAMS
from defection.model.scenario import ScenarioError

__all__ = [
    "Calibration",
    "ParamRange",
    "Target",
    "load_calibration",
    "calibration_from_dict",
]

_STRICT = ConfigDict(extra="forbid", strict=True)
_LOOSE = ConfigDict(extra="forbid", strict=False)

#: A spec whose design is larger than this is refused whatever its budget says.
MAX_RUNS = 1_000_000


class Meta(BaseModel):
    """The ``[calibration]`` table."""

    model_config = _STRICT
    name: Annotated[str, Field(pattern=NAME_PATTERN)]
    title: str = ""
    description: str = ""
    kind: Literal["screen", "wave", "check", "levers"]
    seed: Annotated[int, Field(ge=0, lt=2**63)] = 0
    seeds: Annotated[int, Field(ge=1, le=1000)] = 1
    until_horizon: bool = False


class Budget(BaseModel):
    """The ``[budget]`` table."""

    model_config = _LOOSE
    max_runs: Annotated[int, Field(ge=1, le=MAX_RUNS, strict=True)]
    max_minutes: Annotated[float, Field(gt=0, le=100_000)]


class ScreenTable(BaseModel):
    """The ``[screen]`` table: the Morris design and the rule that chooses parameters."""

    model_config = _LOOSE
    trajectories: Annotated[int, Field(ge=2, le=100_000, strict=True)]
    levels: Annotated[int, Field(ge=2, le=100, strict=True)] = 4
    max_chosen: Annotated[int, Field(ge=1, le=12, strict=True)] = 12
    threshold: Annotated[float, Field(ge=0, le=1)] = 0.1


class WaveTable(BaseModel):
    """The ``[wave]`` table: the design, the implausibility rule and the next wave's sample."""

    model_config = _LOOSE
    points: Annotated[int, Field(ge=4, le=MAX_RUNS, strict=True)]
    previous: str | None = None
    cutoff: Annotated[float, Field(gt=0, le=100)] = 3.0
    rule: Literal["max", "second_max"] = "max"
    candidates: Annotated[int, Field(ge=100, le=10_000_000, strict=True)] = 100_000
    keep: Annotated[int, Field(ge=1, le=1_000_000, strict=True)] = 1000
    sobol_samples: Annotated[int, Field(ge=8, le=1_000_000, strict=True)] = 256
    restarts: Annotated[int, Field(ge=0, le=50, strict=True)] = 3
    pool: bool = False


class ParamsTable(BaseModel):
    """The ``[parameters]`` table: which behavioural parameters, and narrowed ranges."""

    model_config = _STRICT
    names: list[str] | Literal["behavioural"]
    ranges: dict[str, Annotated[list[float], Field(min_length=2, max_length=2, strict=False)]] = (
        Field(default_factory=dict)
    )


class NavcoCell(BaseModel):
    """A target's ``navco`` table: one cell of the data's NAVCO tables (calibration/navcases.py)."""

    model_config = _STRICT
    table: Literal[
        "defect_by_bin",
        "defect_by_method",
        "success_by_method",
        "success_gap",
        "success_and_defect",
    ]
    cell: str


class TargetTable(BaseModel):
    """One ``[[targets]]`` table."""

    model_config = _LOOSE
    name: Annotated[str, Field(pattern=NAME_PATTERN)]
    measure: str
    args: dict[str, Any] = Field(default_factory=dict)
    cases: list[str] | None = None
    observed: float | None = None
    obs_sd: Annotated[float, Field(ge=0)] | None = None
    discrepancy_sd: Annotated[float, Field(ge=0)] = 0.0
    compare: Literal["run", "mean"] | None = None
    range: Annotated[list[float], Field(min_length=2, max_length=2)] | None = None
    navco: NavcoCell | None = None
    required: bool = False


class SpecModel(BaseModel):
    """A whole calibration spec (``cases`` are validated by their source)."""

    model_config = _STRICT
    calibration: Meta
    budget: Budget
    parameters: ParamsTable | None = None  # required but for kinds check and levers
    cases: Annotated[list[Any], Field(min_length=1)]
    targets: Annotated[list[TargetTable], Field(min_length=1)] | None = None  # but for levers
    screen: ScreenTable | None = None
    wave: WaveTable | None = None
    check: CheckTable | None = None
    levers: LeversTable | None = None


@dataclass(frozen=True)
class ParamRange:
    """A calibrated parameter: its registry name, its range in this spec and its default."""

    name: str
    lo: float
    hi: float
    default: float

    @property
    def address(self) -> str:
        """The parameter's address (its registry name: behavioural parameters are national)."""
        return self.name

    @property
    def column_type(self) -> str:
        """DuckDB column type of its values (behavioural parameters are floats)."""
        return "DOUBLE"


@dataclass(frozen=True)
class Target:
    """A validated target: a measure of its cases' runs, and what history says of it."""

    name: str
    measure: str
    args: dict[str, Any]
    cases: tuple[str, ...]
    observed: float | None
    obs_sd: float
    discrepancy_sd: float
    compare: str
    range: tuple[float, float] | None = None
    navco: dict[str, str] | None = None
    train_cases: tuple[str, ...] = ()
    required: bool = False

    @property
    def history(self) -> bool:
        """Whether history says something of it (an observed value or a range)."""
        return self.observed is not None or self.range is not None

    @property
    def training(self) -> tuple[str, ...]:
        """The cases whose runs its emulator trains on (an aggregate cell: its whole group)."""
        return self.train_cases or self.cases

    @property
    def column(self) -> str:
        """The run column holding its value."""
        return column(self.name)


@dataclass
class Calibration:
    """A validated calibration spec with its design drawn.

    Attributes:
        name: Spec name (results go to ``calibration/<name>/``).
        title: Human title.
        kind: ``screen``, ``wave``, ``check`` or ``levers``.
        path: The spec file.
        text: The spec file's text (committed with the results).
        meta: The ``[calibration]`` table.
        budget: The ``[budget]`` table.
        params: The calibrated parameters in spec order.
        cases: The cases in spec order.
        targets: The targets in spec order.
        screen: The ``[screen]`` table (screens).
        wave: The ``[wave]`` table (waves).
        previous: The previous wave (waves that continue one), loaded from its folder.
        design: One row per design point: ``point``, ``group`` (Morris trajectory, or the point),
            ``case``, then one column per parameter (a check adds ``draw``, ``sample_row`` and
            ``seeds`` before them; a levers spec also ``lever``, ``step`` and ``value``, and its
            ``group`` is the (draw, case)).
        canonical: Everything that determines the runs and the analysis (hashed into the id).
        check: The ``[check]`` table (checks).
        sample: The sample a check draws from (:class:`defection.ensemble.Sample`).
        sample_info: What the manifest records of that sample (path, sha256, rows drawn, its
            manifest's commit and model version).
        levers: The swept levers, their values and the changed events (levers specs).
    """

    name: str
    title: str
    kind: str
    path: Path | None
    text: str
    meta: Meta
    budget: Budget
    params: list[ParamRange]
    cases: list[Case]
    targets: list[Target]
    screen: ScreenTable | None
    wave: WaveTable | None
    previous: Any
    design: pd.DataFrame
    canonical: dict[str, Any] = field(default_factory=dict)
    check: CheckTable | None = None
    sample: Any = None
    sample_info: dict[str, Any] | None = None
    levers: LeverPlan | None = None

    # -- identity and sizes ----------------------------------------------------------------------

    @property
    def spec_hash(self) -> str:
        """SHA-256 of :attr:`canonical` (keys sorted)."""
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()

    @property
    def calib_id(self) -> str:
        """``<name>-<10 hex>``: the run ids' prefix in the results database."""
        return f"{self.name}-{self.spec_hash[:10]}"

    def canonical_json(self) -> str:
        """:attr:`canonical` as JSON with sorted keys."""
        return json.dumps(self.canonical, sort_keys=True, default=str)

    @property
    def n_points(self) -> int:
        """Design points."""
        return len(self.design)

    def replicates(self) -> np.ndarray:
        """Runs (seeds) of each design point: ``seeds`` for a screen or a wave; a check's own."""
        if "seeds" in self.design.columns:
            return self.design["seeds"].to_numpy(dtype=np.int64)
        return np.full(len(self.design), self.meta.seeds, dtype=np.int64)

    @property
    def n_runs(self) -> int:
        """Runs: design points x seeds."""
        return int(self.replicates().sum())

    @property
    def param_names(self) -> list[str]:
        """The calibrated parameters' names."""
        return [p.name for p in self.params]

    def run_id(self, point: int, replicate: int) -> str:
        """Deterministic id of one run: ``<calibration id>/p<point>/r<replicate>``."""
        return f"{self.calib_id}/p{point:06d}/r{replicate:05d}"

    def seed(self, group: int, replicate: int) -> int:
        """Seed of the runs of design group ``group`` (a Morris trajectory, or a point).

        From ``SeedSequence(seed, spawn_key=(1, group, replicate))``, below 2**63.
        """
        ss = np.random.SeedSequence(self.meta.seed, spawn_key=(1, group, replicate))
        return int(ss.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))

    def case_runs(self) -> dict[str, int]:
        """Runs per case."""
        counts = pd.Series(self.replicates(), index=self.design["case"]).groupby(level=0).sum()
        return {c.name: int(counts.get(c.name, 0)) for c in self.cases}

    def check_entry(self) -> dict[str, Any]:
        """The manifest's ``check`` entry: the sample, the draws and seeds per case, the test set.

        A check has no analysis of its own (the validation report reads its runs).
        """
        assert self.check is not None and self.sample_info is not None
        plan = self.design.groupby("case", sort=False).agg(
            draws=("draw", "nunique"), seeds=("seeds", "first")
        )
        return {
            "sample": self.sample_info,
            "draws": self.check.draws,
            "test_set": self.check.test_set,
            "per_case": {
                str(c): {"draws": int(r.draws), "seeds": int(r.seeds)} for c, r in plan.iterrows()
            },
        }

    def measures(self) -> TargetMeasures:
        """The picklable callable that computes every target in the worker."""
        return TargetMeasures(
            tuple((t.name, t.measure, tuple(sorted(t.args.items()))) for t in self.targets)
        )

    def store_view(self) -> SimpleNamespace:
        """What :meth:`defection.sweep.store.Store.register` reads of a sweep."""
        names = "+".join(c.name for c in self.cases)
        hashes = hashlib.sha256("".join(c.scenario.hash for c in self.cases).encode())
        return SimpleNamespace(
            sweep_id=self.calib_id,
            name=self.name,
            title=self.title,
            scenario=SimpleNamespace(name=names, hash=hashes.hexdigest()),
            meta=SimpleNamespace(
                design={"screen": "morris"}.get(self.kind, self.kind), seed=self.meta.seed
            ),
            dims=self.params,
            points=range(self.n_points),
            replicates=int(self.replicates().max()) if self.n_points else self.meta.seeds,
            n_runs=self.n_runs,
            canonical=self.canonical | {"model_version": version.MODEL_VERSION},
            path=self.path,
        )


# ------------------------------------------------------------------------------------------------
# loading
# ------------------------------------------------------------------------------------------------


def load_calibration(path: str | Path) -> Calibration:
    """Read, validate and draw a calibration spec. Nothing is run and nothing is written.

    Raises:
        ScenarioError: Every problem found, one per line, naming the file, the field and the rule.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        doc = tomllib.loads(text)
    except OSError as exc:
        raise ScenarioError([f"{path}: cannot read calibration spec ({exc.strerror})"]) from None
    except UnicodeDecodeError:
        raise ScenarioError([f"{path}: not UTF-8 text"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError([f"{path}: not valid TOML: {exc}"]) from None
    return calibration_from_dict(doc, str(path), base_dir=path.parent, path=path, text=text)


def calibration_from_dict(
    doc: dict[str, Any],
    origin: str,
    base_dir: Path | None = None,
    path: Path | None = None,
    text: str = "",
) -> Calibration:
    """Validate a spec document (shaped like the TOML file) and draw its design.

    Raises:
        ScenarioError: Every problem found.
    """
    try:
        spec = SpecModel.model_validate(doc)
    except ValidationError as exc:
        raise ScenarioError(_spec_problems(exc, origin, doc)) from None
    meta = spec.calibration
    problems: list[str] = []
    where = f"{origin}: field"

    # kind-specific tables
    needs = {"screen": "trajectories", "wave": "points", "check": "draws", "levers": "draws"}
    for kind, what in needs.items():
        given = getattr(spec, kind) is not None
        if meta.kind == kind and not given:
            spec_word = f"{kind} spec" if kind == "levers" else kind
            problems.append(f"{where} `{kind}`: a {spec_word} needs a [{kind}] table ({what})")
        elif meta.kind != kind and given:
            problems.append(
                f'{where} `{kind}`: [{kind}] is for kind = "{kind}"; this is a {meta.kind}'
            )
    drawn = meta.kind in ("check", "levers")  # vectors drawn from a calibrated sample
    if drawn and spec.parameters is not None:
        what = "a check's" if meta.kind == "check" else "a levers spec's"
        problems.append(
            f"{where} `parameters`: {what} parameters are its sample's columns "
            f"(`{meta.kind}.sample`); leave [parameters] out"
        )
    if not drawn and spec.parameters is None:
        problems.append(f"{where} `parameters`: required but missing")
    if meta.kind == "levers" and spec.targets is not None:
        problems.append(
            f"{where} `targets`: a levers spec reads every run as the share of the force that "
            "left on its last day (left_share); leave [[targets]] out"
        )
    if meta.kind != "levers" and spec.targets is None:
        problems.append(f"{where} `targets`: required but missing")

    sample = None
    if meta.kind == "check":
        params, sample, errs = _check_params(spec.check, "check", base_dir, where)
    elif meta.kind == "levers":
        params, sample, errs = _check_params(spec.levers, "levers", base_dir, where)
    elif spec.parameters is not None:
        params, errs = _params(spec, where)
    else:
        params, errs = [], []
    problems += errs

    # only a check that says so may build test-set campaigns (defection validation --test-set)
    test_set = spec.check is not None and meta.kind == "check" and spec.check.test_set
    cases: list[Case] = []
    with allow_test_set(test_set):
        for i, table in enumerate(spec.cases):
            try:
                cases.extend(build_case(table, origin, i, base_dir))
            except ScenarioError as exc:
                problems += exc.problems
    names = [c.name for c in cases]
    groups = {c.group for c in cases if c.group != c.name}
    if len(set(names)) != len(names) or groups & set(names):
        problems.append(f"{where} `cases`: names a case twice")
    if params and cases and not drawn:
        problems += _check_params_in_cases(params, cases, where)

    if meta.kind == "levers":
        targets = [_left_share_target(tuple(c.name for c in cases))]
        problems += [
            f"{where} `cases.{c.name}`: a levers spec runs scenario cases (source "
            f'"scenario"), not {c.source}'
            for c in cases
            if c.source != "scenario"
        ]
    else:
        targets, errs = _targets(spec, cases, meta.kind, where)
        problems += errs
    if problems:
        raise ScenarioError(problems)

    if meta.kind == "check":
        return _check_calibration(spec, params, cases, targets, sample, where, path, text)
    if meta.kind == "levers":
        return _levers_calibration(spec, params, cases, targets, sample, where, path, text)

    previous = None
    if spec.wave is not None and spec.wave.previous is not None:
        from defection.calibration.history import PreviousWave

        prev_path = Path(spec.wave.previous)
        if not prev_path.is_absolute() and base_dir is not None:
            prev_path = base_dir / prev_path
        previous = PreviousWave.load(prev_path, params, f"{where} `wave.previous`")

    design = _draw(meta, spec, params, cases, previous, where)
    n_runs = len(design) * meta.seeds
    if n_runs > spec.budget.max_runs:
        raise ScenarioError(
            [
                f"{where} `budget.max_runs`: the design needs {n_runs:,} runs "
                f"({len(design)} points x {meta.seeds} seeds), more than the budget of "
                f"{spec.budget.max_runs:,}"
            ]
        )
    canonical = {
        "calibration": meta.model_dump(exclude={"title", "description"}),
        "parameters": [[p.name, p.lo, p.hi] for p in params],
        "cases": [c.describe for c in cases],
        "targets": [target_identity(t) for t in targets],
        "screen": spec.screen.model_dump() if spec.screen else None,
        # `pool` joins the identity only when set, so the specs written before it keep theirs
        "wave": (
            spec.wave.model_dump(exclude={"previous"} | (set() if spec.wave.pool else {"pool"}))
            if spec.wave
            else None
        ),
        "previous": previous.spec_hash if previous is not None else None,
        "budget_runs": spec.budget.max_runs,
        "version": __version__,
        "model_version": version.MODEL_VERSION,
    }
    return Calibration(
        name=meta.name,
        title=meta.title or meta.name,
        kind=meta.kind,
        path=path,
        text=text,
        meta=meta,
        budget=spec.budget,
        params=params,
        cases=cases,
        targets=targets,
        screen=spec.screen,
        wave=spec.wave,
        previous=previous,
        design=design,
        canonical=canonical,
    )


# ------------------------------------------------------------------------------------------------
# internals
# ------------------------------------------------------------------------------------------------


def _check_params(
    table: CheckTable | LeversTable | None, name: str, base_dir: Path | None, where: str
) -> tuple[list[ParamRange], Any, list[str]]:
    """A check's (or a levers spec's) parameters: its sample's columns (calibration/check.py).

    Args:
        table: The ``[check]`` or ``[levers]`` table (``sample``, ``draws``).
        name: The table's name, for the messages.
        base_dir: The spec's folder.
        where: ``"<file>: field"``.
    """
    from defection.ensemble import EnsembleError, load_sample

    if table is None:
        return [], None, []
    path = check_mod.sample_path(table, base_dir)
    given = table.sample is not None
    if given and not path.is_file():
        return [], None, [f"{where} `{name}.sample`: {path}: no such file"]
    try:
        sample = load_sample(path if given else None)
    except EnsembleError as exc:
        default = "" if given else " (default)"
        return [], None, [f"{where} `{name}.sample`{default}: {exc}"]
    params, problems = check_mod.sample_params(sample, where, table=name)
    if table.draws > len(sample.vectors):
        problems.append(
            f"{where} `{name}.draws`: {table.draws} vectors asked, the sample {sample.path} "
            f"holds {len(sample.vectors)}; vectors are drawn without replacement"
        )
    return params, sample, problems


def _left_share_target(cases: tuple[str, ...]) -> Target:
    """The one measure of a levers spec: the share of the force that left, on the last day."""
    return Target(
        name=levers_mod.MEASURE,
        measure=levers_mod.MEASURE,
        args={},
        cases=cases,
        observed=None,
        obs_sd=0.0,
        discrepancy_sd=0.0,
        compare="run",
    )


def _levers_calibration(
    spec: SpecModel,
    params: list[ParamRange],
    cases: list[Case],
    targets: list[Target],
    sample: Any,
    where: str,
    path: Path | None,
    text: str,
) -> Calibration:
    """Draw a levers spec's design (vectors x cases x levers x values x seeds) and its identity.

    The draw is a check's (:func:`defection.calibration.check.draw_rows`); the identity hashes
    what determines the runs (not the budget, the threshold or the run-time estimates), so a
    part run with another budget adds to the same committed runs.
    """
    meta, table = spec.calibration, spec.levers
    assert table is not None and sample is not None
    ranges, problems = levers_mod.lever_ranges(table, where)
    names = [c.name for c in cases]
    for c in table.run_seconds:
        if c not in names:
            problems.append(
                f"{where} `levers.run_seconds.{c}`: no case `{c}`{_closest(c, names)} "
                f"(cases: {', '.join(names)})"
            )
    if problems:
        raise ScenarioError(problems)
    rows = check_mod.draw_rows(meta.seed, len(sample.vectors), table.draws)
    design = levers_mod.levers_design(params, cases, sample.vectors, rows, ranges, meta.seeds)
    n_runs = int(design["seeds"].sum())
    if n_runs > spec.budget.max_runs:
        raise ScenarioError(
            [
                f"{where} `budget.max_runs`: the design needs {n_runs:,} runs ({table.draws} draws "
                f"x {len(cases)} cases x {len(ranges)} levers x {table.values} values x "
                f"{meta.seeds} seeds), more than the budget of {spec.budget.max_runs:,}"
            ]
        )
    first = design[design["lever"] == ranges[0].name] if ranges else design
    problems = check_mod.vector_problems(params, cases, first, where)
    problems += levers_mod.end_problems(params, cases, first, ranges, where)
    if problems:
        raise ScenarioError(list(dict.fromkeys(problems)))
    sha = check_mod.file_sha256(sample.path)
    info = check_mod.sample_record(sample, sha, rows)
    plan = LeverPlan(table, ranges, levers_mod.event_edits(cases, ranges))
    canonical = {
        "calibration": meta.model_dump(exclude={"title", "description"}),
        "parameters": [[p.name, p.lo, p.hi] for p in params],
        "cases": [c.describe for c in cases],
        "levers": {
            "draws": table.draws,
            "values": table.values,
            "ranges": [[r.name, r.lo, r.hi] for r in ranges],
            "measure": levers_mod.MEASURE,
        },
        "sample": {"sha256": sha, "rows": info["rows"]},
        "version": __version__,
        "model_version": version.MODEL_VERSION,
    }
    return Calibration(
        name=meta.name,
        title=meta.title or meta.name,
        kind=meta.kind,
        path=path,
        text=text,
        meta=meta,
        budget=spec.budget,
        params=params,
        cases=cases,
        targets=targets,
        screen=None,
        wave=None,
        previous=None,
        design=design,
        canonical=canonical,
        sample=sample,
        sample_info=info,
        levers=plan,
    )


def _check_calibration(
    spec: SpecModel,
    params: list[ParamRange],
    cases: list[Case],
    targets: list[Target],
    sample: Any,
    where: str,
    path: Path | None,
    text: str,
) -> Calibration:
    """Draw a check's design (its sample's vectors x every case x seeds) and its identity."""
    meta, check = spec.calibration, spec.check
    assert check is not None and sample is not None
    plan, problems = check_mod.group_plan(check, meta.seeds, cases, where)
    if problems:
        raise ScenarioError(problems)
    rows = check_mod.draw_rows(meta.seed, len(sample.vectors), check.draws)
    design = check_mod.check_design(params, cases, sample.vectors, rows, plan)
    n_runs = int(design["seeds"].sum())
    if n_runs > spec.budget.max_runs:
        per = ", ".join(f"{c} {d} x {s}" for c, (d, s) in list(plan.items())[:6])
        raise ScenarioError(
            [
                f"{where} `budget.max_runs`: the design needs {n_runs:,} runs (draws x seeds per "
                f"case: {per}{', ...' if len(plan) > 6 else ''}), more than the budget of "
                f"{spec.budget.max_runs:,}"
            ]
        )
    problems = check_mod.vector_problems(params, cases, design, where)
    if problems:
        raise ScenarioError(problems)
    sha = check_mod.file_sha256(sample.path)
    info = check_mod.sample_record(sample, sha, rows)
    canonical = {
        "calibration": meta.model_dump(exclude={"title", "description"}),
        "parameters": [[p.name, p.lo, p.hi] for p in params],
        "cases": [c.describe for c in cases],
        "targets": [target_identity(t) for t in targets],
        "check": check.model_dump(exclude={"sample"}),
        "sample": {"sha256": sha, "rows": info["rows"]},
        "budget_runs": spec.budget.max_runs,
        "version": __version__,
        "model_version": version.MODEL_VERSION,
    }
    return Calibration(
        name=meta.name,
        title=meta.title or meta.name,
        kind=meta.kind,
        path=path,
        text=text,
        meta=meta,
        budget=spec.budget,
        params=params,
        cases=cases,
        targets=targets,
        screen=None,
        wave=None,
        previous=None,
        design=design,
        canonical=canonical,
        check=check,
        sample=sample,
        sample_info=info,
    )


def _spec_problems(exc: ValidationError, origin: str, doc: dict[str, Any]) -> list[str]:
    tables: dict[str, type[BaseModel]] = {
        "calibration": Meta,
        "budget": Budget,
        "screen": ScreenTable,
        "wave": WaveTable,
        "check": CheckTable,
        "levers": LeversTable,
        "targets": TargetTable,
        "parameters": ParamsTable,
    }
    out = []
    for err in exc.errors():
        loc = [str(x) for x in err["loc"]]
        # a union's branch names (list[str], literal) are not part of the field's address
        loc = [x for x in loc if not x.startswith(("list[", "literal[", "function-"))]
        # an array-of-tables entry is named by its `name` when it has one
        if len(loc) > 1 and loc[0] in ("targets", "cases") and loc[1].isdigit():
            items = doc.get(loc[0])
            i = int(loc[1])
            if isinstance(items, list) and i < len(items) and isinstance(items[i], dict):
                name = items[i].get("name")
                if isinstance(name, str) and name:
                    loc[1] = name
        at = ".".join(loc)
        if err["type"] == "extra_forbidden":
            key = loc[-1]
            model = tables.get(loc[0]) if len(loc) > 1 else SpecModel
            options = list(model.model_fields) if model else []
            line = f"{origin}: field `{at}`: unknown key `{key}`{_closest(key, options)}"
            if len(loc) == 1:
                line += f" (tables and keys: {', '.join(SpecModel.model_fields)})"
            out.append(line)
        elif err["type"] == "missing":
            out.append(f"{origin}: field `{at}`: required but missing")
        elif loc[:2] == ["levers", "names"]:
            out.append(
                f'{origin}: field `levers.names`: a list of lever names, or "all" for every '
                f"registry parameter of role lever (got {err.get('input')!r})"
            )
        elif loc[:2] == ["parameters", "names"]:
            out.append(
                f"{origin}: field `parameters.names`: a list of behavioural parameter names, or "
                f'"behavioural" for all of them (got {err.get("input")!r})'
            )
        else:
            out.append(f"{origin}: field `{at}`: {err['msg']} (got {err.get('input')!r})")
    return list(dict.fromkeys(out))


def _params(spec: SpecModel, where: str) -> tuple[list[ParamRange], list[str]]:
    behavioural = {p.name: p for p in BEHAVIOURAL}
    registry = {p.name: p for p in PARAMS}
    behavioural |= MAPPING  # the case-coding coefficients (case.*): calibrated with them
    assert spec.parameters is not None
    given = spec.parameters.names
    ranges = spec.parameters.ranges
    names = []
    for name in [given] if isinstance(given, str) else given:
        if name == "behavioural":  # every behavioural parameter of the registry
            names += [p.name for p in BEHAVIOURAL]
        elif name == "case.*":  # every mapping coefficient
            names += list(MAPPING)
        else:
            names.append(name)
    where = f"{where} `parameters"
    problems = []
    if not names:
        problems.append(f"{where}.names`: name at least one parameter")
    if len(set(names)) != len(names):
        problems.append(f"{where}.names`: lists a parameter twice")
    out = []
    for name in dict.fromkeys(names):
        p = behavioural.get(name)
        if p is None:
            if name in registry:
                problems.append(
                    f"{where}.names`: `{name}` has role {registry[name].role}; calibration "
                    "fits behavioural parameters only (defection params shows each role)"
                )
            else:
                problems.append(
                    f"{where}.names`: unknown parameter `{name}`{_closest(name, list(behavioural))}"
                )
            continue
        lo, hi = float(p.lo), float(p.hi)
        if name in ranges:
            rlo, rhi = (float(v) for v in ranges[name])
            if not rlo < rhi:
                problems.append(
                    f"{where}.ranges.{name}`: must go from low to high (got [{rlo:g}, {rhi:g}])"
                )
            elif rlo < lo or rhi > hi:
                problems.append(
                    f"{where}.ranges.{name}`: [{rlo:g}, {rhi:g}] leaves the registry's range "
                    f"[{lo:g}, {hi:g}]; a range may only be narrowed"
                )
            lo, hi = rlo, rhi
        out.append(ParamRange(name, lo, hi, float(p.default)))
    for name in ranges:
        if name not in names:
            problems.append(f"{where}.ranges.{name}`: not one of the calibrated `parameters.names`")
    return out, problems


def _check_params_in_cases(params: list[ParamRange], cases: list[Case], where: str) -> list[str]:
    """Each case's scenario must accept every parameter at both ends of its range."""
    from defection.model.building import build_problems

    problems = []
    for c in cases:
        for end in ("lo", "hi"):
            values = {p.name: getattr(p, end) for p in params}
            try:
                sc = c.runner().with_overrides(values, origin=f"{where} `cases.{c.name}`")
            except ScenarioError as exc:
                problems += exc.problems
                continue
            problems += build_problems(sc, f"{where} `cases.{c.name}` (parameters at {end})")
    return list(dict.fromkeys(problems))


def _targets(
    spec: SpecModel, all_cases: list[Case], kind: str, where: str
) -> tuple[list[Target], list[str]]:
    """Validate the targets; a target's ``cases`` may name a case or a group of cases."""
    case_names = [c.name for c in all_cases]
    groups: dict[str, list[str]] = {}
    for c in all_cases:
        groups.setdefault(c.group, []).append(c.name)
    known = list(groups)
    by_name = {c.name: c for c in all_cases}
    problems = []
    out = []
    seen = set()
    for t in spec.targets or []:
        at = f"{where} `targets.{t.name}"
        if t.name in seen:
            problems.append(f"{at}`: a target of this name is already defined")
        seen.add(t.name)
        problems += [line + "`" for line in measure_problems(t.measure, t.args, at)]
        given = list(t.cases) if t.cases is not None else list(groups)
        cases: list[str] = []
        for c in given:
            if c in groups:
                cases += groups[c]
            elif c in case_names:
                cases.append(c)
            else:
                problems.append(
                    f"{at}.cases`: no case `{c}`{_closest(c, known)} (cases: {', '.join(known)})"
                )
        cases = list(dict.fromkeys(cases))
        if t.cases is not None and not t.cases:
            problems.append(f"{at}.cases`: name at least one case (or leave it out: every case)")
        observed, obs_sd, compare, train = t.observed, t.obs_sd, t.compare or "run", ()
        if kind == "check":
            history = ("observed", "obs_sd", "range", "navco", "compare")
            given_keys = [k for k in history if getattr(t, k) is not None]
            if t.discrepancy_sd:
                given_keys.append("discrepancy_sd")
            if given_keys:
                problems.append(
                    f"{at}.{given_keys[0]}`: a check's targets are measures only (no "
                    f"{', '.join(given_keys)}): it has no analysis of its own, and the "
                    "validation report (defection validation) holds the pass rules"
                )
                t = t.model_copy(update={k: None for k in history} | {"discrepancy_sd": 0.0})
        if t.navco is not None:
            cell = t.navco
            need = navcases.CELL_MEASURES[cell.table]
            if t.measure != need:
                problems.append(f"{at}.measure`: a `{cell.table}` cell reads `{need}`")
            if t.observed is not None or t.obs_sd is not None or t.range is not None:
                problems.append(
                    f"{at}.observed`: a navco cell's observed value and sd come from the data "
                    "(navco.targets of the fitting set); leave observed, obs_sd and range out"
                )
            if t.compare == "run":
                problems.append(f"{at}.compare`: a navco cell is a mean over campaigns (mean)")
            if cell.table == "success_gap" and kind == "wave":
                problems.append(
                    f"{at}.navco`: a success_gap cell is not a mean of one run's value, so no "
                    "emulator gives it; a wave fits it through its parts: the success_and_defect "
                    "cell with success_by_method and defect_by_method (a screen takes all)"
                )
            campaign_cases = [by_name[c] for c in cases if by_name[c].source == "navco"]
            if not campaign_cases:
                problems.append(f"{at}.cases`: a navco cell needs cases of source navco")
            try:
                data = navcases.data_cell(cell.table, cell.cell)
            except KeyError as exc:
                problems.append(f"{at}.navco.cell`: {exc.args[0]}")
                data = {"observed": None, "obs_sd": 0.0}
            observed, obs_sd, compare = data["observed"], data["obs_sd"], "mean"
            train = tuple(c.name for c in campaign_cases)
            cases = navcases.cell_cases(cell.table, cell.cell, campaign_cases)
            if campaign_cases and not cases:
                problems.append(
                    f"{at}.navco.cell`: none of the target's campaigns is in cell {cell.cell!r}"
                )
        if t.range is not None:
            lo, hi = t.range
            if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
                problems.append(f"{at}.range`: must be [low, high] (got {t.range})")
            if t.observed is not None:
                problems.append(f"{at}.range`: give an observed value or a range, not both")
            if t.obs_sd is None:
                problems.append(f"{at}.obs_sd`: a range needs the sd of a miss outside it")
        if t.observed is not None and t.obs_sd is None:
            problems.append(f"{at}.obs_sd`: an observed value needs its uncertainty (sd)")
        if t.required and (kind != "wave" or (t.observed is None and t.range is None)):
            problems.append(
                f"{at}.required`: only a wave's target with an observed value or a range can be "
                "required (it is never the one target the second_max rule lets miss)"
            )
        if t.observed is not None and not math.isfinite(t.observed):
            problems.append(f"{at}.observed`: must be a finite number")
        feature_sets = {
            tuple(sorted(by_name[c].features)) for c in (train or cases) if c in by_name
        }
        if len(feature_sets) > 1 and kind != "check":  # a check fits no emulator
            problems.append(
                f"{at}.cases`: the cases a target reads must code the same features (or none): "
                "its emulator takes them as inputs; split it into a target per kind of case"
            )
        out.append(
            Target(
                name=t.name,
                measure=t.measure,
                args=dict(t.args),
                cases=tuple(cases),
                observed=observed,
                obs_sd=float(obs_sd or 0.0),
                discrepancy_sd=float(t.discrepancy_sd),
                compare=compare,
                range=(float(t.range[0]), float(t.range[1])) if t.range is not None else None,
                navco=t.navco.model_dump() if t.navco is not None else None,
                train_cases=train,
                required=bool(t.required),
            )
        )
    if kind == "wave" and not any(t.history for t in out):
        problems.append(
            f"{where} `targets`: a wave needs at least one target with `observed` (or `range`) "
            "and `obs_sd`, or a `navco` cell"
        )
    return out, problems


def target_identity(t: Target) -> dict[str, Any]:
    """A target's fields for a spec's identity.

    ``required`` joins only when set, so the specs written before it keep their identity (as
    ``pool`` does for waves).
    """
    out = dict(t.__dict__)
    if not out.get("required"):
        out.pop("required", None)
    return out


def _design_seed(meta: Meta) -> int:
    ss = np.random.SeedSequence(meta.seed, spawn_key=(0,))
    return int(ss.generate_state(1, dtype=np.uint32)[0])


def balanced_cases(n: int, cases: list[Case], rng: np.random.Generator) -> list[str]:
    """``n`` case names in their weights' proportions (largest remainders), shuffled.

    Args:
        n: How many to deal out (design groups).
        cases: The cases, with weights.
        rng: The design's generator.
    """
    w = np.array([c.weight for c in cases], dtype=float)
    quota = n * w / w.sum()
    counts = np.floor(quota).astype(int)
    # ties of the remainders (many campaigns of equal weight, fewer groups than cases) are broken
    # by a draw of its own (seeded by the case names), so the seats do not go to the first cases
    # listed; the design's generator is not touched by it
    key = hashlib.sha256("|".join(c.name for c in cases).encode()).digest()
    tie = np.random.default_rng(np.frombuffer(key[:16], dtype=np.uint32)).random(len(cases))
    order = np.lexsort((tie, -np.round(quota - counts, 12)))
    counts[order[: n - counts.sum()]] += 1
    names = [c.name for c, k in zip(cases, counts, strict=True) for _ in range(k)]
    return [names[i] for i in rng.permutation(n)]


def _draw(
    meta: Meta,
    spec: SpecModel,
    params: list[ParamRange],
    cases: list[Case],
    previous: Any,
    where: str,
) -> pd.DataFrame:
    """The design: one row per point (``point``, ``group``, ``case``, one column per parameter)."""
    names = [p.name for p in params]
    bounds = [[p.lo, p.hi] for p in params]
    seed = _design_seed(meta)
    rng = np.random.default_rng(np.random.SeedSequence(meta.seed, spawn_key=(2,)))
    if meta.kind == "screen":
        from SALib.sample import morris

        assert spec.screen is not None
        problem = {"num_vars": len(params), "names": names, "bounds": bounds}
        s = spec.screen
        x = morris.sample(problem, s.trajectories, num_levels=s.levels, seed=seed)
        per = len(params) + 1
        group = np.arange(len(x)) // per
        dealt = balanced_cases(spec.screen.trajectories, cases, rng)
        case = [dealt[g] for g in group]
    elif previous is None:
        from SALib.sample import latin

        assert spec.wave is not None
        # the case is one more column of the hypercube: its strata give each case its share
        w = np.array([c.weight for c in cases], dtype=float)
        problem = {
            "num_vars": len(params) + 1,
            "names": [*names, "__case__"],
            "bounds": [*bounds, [0.0, 1.0]],
        }
        full = latin.sample(problem, spec.wave.points, seed=seed)
        x = full[:, :-1]
        idx = np.searchsorted(np.cumsum(w) / w.sum(), full[:, -1], side="right")
        case = [cases[min(i, len(cases) - 1)].name for i in idx]
        group = np.arange(len(x))
    else:
        assert spec.wave is not None
        x = previous.design_points(spec.wave.points, params, where)
        case = balanced_cases(len(x), cases, rng)
        group = np.arange(len(x))
    df = pd.DataFrame(np.asarray(x, dtype=float), columns=names)
    df.insert(0, "case", case)
    df.insert(0, "group", np.asarray(group, dtype=np.int64))
    df.insert(0, "point", np.arange(len(df), dtype=np.int64))
    return df
