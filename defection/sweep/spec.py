"""Sweep files: which scenario, which parameters to vary, how, how often, and what to keep.

A sweep file is TOML::

    [sweep]
    name = "baseline_pay_repression"   # a lower-case letter, then lower-case letters, digits, _
    title = "Pay x repression on the baseline"
    scenario = "baseline"              # a bundled name, or a path relative to this file
    design = "grid"                    # grid | lhs | sobol
    replicates = 10                    # seeded runs per design point
    seed = 20261125                    # seeds the design and every run
    seeds = "independent"              # or "common": replicate r gets the same seed at every point
    samples = 64                       # lhs: design points; sobol: base sample N (a power of 2)
    until_horizon = false              # keep running after the outcome

    [set]                              # fixed overrides for every run, by address
    "run.horizon" = 200

    [vary."soldiers.pay"]              # grid: range + steps, or a list of values
    range = [0.0, 3.0]
    steps = 7

    [vary."regime.repression"]
    values = [0.2, 0.5, 0.8]

    [outputs]
    series = ["active_protesters", "soldiers_defected"]   # per-day series kept (default: all)

Addresses are those of scenario files and ``--set`` (``section.name``, ``regions.<r>.<field>``,
``groups.<g>.<field>``); dotted keys may also be written as nested tables (``[vary.soldiers.pay]``).
Bounds, types and units come from the parameter registry, so a range outside a parameter's bounds is
an error before anything runs. Latin hypercube and Sobol designs are drawn with SALib (Herman &
Usher 2017, doi:10.21105/joss.00097); Sobol designs use Saltelli's scheme without second-order
terms, N x (D + 2) points.

Seeds come from ``numpy.random.SeedSequence(seed, spawn_key=(point, replicate))`` (or
``(replicate,)`` with ``seeds = "common"``), never from the machine that runs them, so a sweep gives
the same rows on every backend; each run's seed is stored and ``defection run --seed`` replays it.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from defection import __version__
from defection.model import limits as lim
from defection.model import tomlfile, version
from defection.model.address import NAME_PATTERN, InvalidValue, coerce, param_for
from defection.model.address import closest as _closest
from defection.model.limits import DEFAULT, Limits
from defection.model.outputs import SWEEP_SERIES
from defection.model.params import Param
from defection.model.scenario import Scenario, ScenarioError, load
from defection.model.schema import pydantic_problems

#: Per-day series a sweep can keep (the model's DataCollector columns but ``day``).
SERIES_NAMES: tuple[str, ...] = SWEEP_SERIES

# A sweep with more runs than ``limits.sweep_runs`` (:mod:`defection.model.limits`) is refused
# before its design is drawn: a typo in ``steps`` must not start (or plan) a billion runs.

_STRICT = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class SweepMeta(BaseModel):
    """The ``[sweep]`` table."""

    model_config = _STRICT
    name: Annotated[str, Field(pattern=NAME_PATTERN)]
    title: str = ""
    description: str = ""
    scenario: str
    design: Literal["grid", "lhs", "sobol"] = "grid"
    replicates: Annotated[int, Field(ge=1, le=100_000)] = 1
    seed: Annotated[int, Field(ge=0, lt=2**63)] = 0
    seeds: Literal["independent", "common"] = "independent"
    samples: Annotated[int, Field(ge=2, le=1_000_000)] | None = None
    until_horizon: bool = False


class Axis(BaseModel):
    """One ``[vary."address"]`` table."""

    model_config = ConfigDict(extra="forbid", strict=False, allow_inf_nan=False)
    range: Annotated[list[float], Field(min_length=2, max_length=2)] | None = None
    steps: Annotated[int, Field(ge=2, le=10_000, strict=True)] | None = None
    values: Annotated[list[Any], Field(min_length=1)] | None = None


class Outputs(BaseModel):
    """The ``[outputs]`` table."""

    model_config = _STRICT
    series: list[str] = Field(default_factory=lambda: list(SERIES_NAMES))


class SpecModel(BaseModel):
    """A whole sweep file (after nested tables are flattened to dotted addresses)."""

    model_config = _STRICT
    sweep: SweepMeta
    set: dict[str, Any] = Field(default_factory=dict)
    vary: dict[str, Axis]
    outputs: Outputs = Field(default_factory=Outputs)


@dataclass(frozen=True)
class Dimension:
    """A varied parameter: its address, registry entry (bounds, type, unit) and its axis."""

    address: str
    param: Param
    lo: float | None
    hi: float | None
    values: tuple[Any, ...] | None  # grid values (explicit or from range + steps)

    @property
    def column_type(self) -> str:
        """DuckDB column type of the parameter's values."""
        return {"float": "DOUBLE", "int": "BIGINT", "bool": "BOOLEAN", "choice": "VARCHAR"}[
            self.param.type
        ]


@dataclass
class Sweep:
    """A validated sweep with its design drawn.

    Attributes:
        name: Sweep name from the file.
        title: Human title.
        path: The sweep file.
        scenario: The base scenario with ``[set]`` applied.
        dims: The varied parameters, in file order.
        points: One ``{address: value}`` per design point, in design order.
        meta: The validated ``[sweep]`` table.
        series: Per-day series kept.
        peak_bytes: The largest expected peak memory of one run over the design's extremes
            (:func:`defection.model.limits.expected_peak_bytes`).
    """

    name: str
    title: str
    path: Path | None
    scenario: Scenario
    dims: list[Dimension]
    points: list[dict[str, Any]]
    meta: SweepMeta
    series: tuple[str, ...]
    canonical: dict[str, Any] = field(default_factory=dict)
    peak_bytes: int = 0

    @property
    def replicates(self) -> int:
        """Runs per design point."""
        return self.meta.replicates

    @property
    def n_runs(self) -> int:
        """Runs in the whole sweep."""
        return len(self.points) * self.meta.replicates

    @functools.cached_property
    def sweep_id(self) -> str:
        """``<name>-<10 hex>``: the name and a hash of everything that determines the rows.

        The hash covers the validated spec, the resolved scenario, the package version and the
        model version (:data:`defection.model.version.MODEL_VERSION`), so changing any of them
        starts a new sweep instead of mixing rows into an old one. Computed once (every run id
        holds it; ``dataclasses.replace`` makes a new sweep, with its own).
        """
        digest = hashlib.sha256(canonical_json(self).encode()).hexdigest()
        return f"{self.name}-{digest[:10]}"

    def run_id(self, point: int, replicate: int) -> str:
        """Deterministic id of one run: ``<sweep id>/p<point>/r<replicate>``."""
        return f"{self.sweep_id}/p{point:06d}/r{replicate:05d}"

    def seed(self, point: int, replicate: int) -> int:
        """Seed of one run, from ``SeedSequence``; below 2**63 so it fits a BIGINT."""
        key = (replicate,) if self.meta.seeds == "common" else (point, replicate)
        ss = np.random.SeedSequence(self.meta.seed, spawn_key=(1, *key))
        return int(ss.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


# ------------------------------------------------------------------------------------------------
# loading
# ------------------------------------------------------------------------------------------------


def load_spec(path: str | Path, limits: Limits = DEFAULT) -> Sweep:
    """Read, validate and draw a sweep file. Nothing is run and nothing is written.

    Args:
        path: The sweep file.
        limits: Size limits of the files, of the sweep's runs and of each run
            (:mod:`defection.model.limits`; ``LARGE`` is the command line's ``--allow-large``).

    Raises:
        ScenarioError: Every problem found, one per line, naming the file, the field and the rule.
    """
    path = Path(path)
    doc = tomlfile.read_toml(path, limits, what="sweep file")
    return spec_from_dict(doc, str(path), base_dir=path.parent, path=path, limits=limits)


def spec_from_dict(
    doc: dict[str, Any],
    origin: str,
    base_dir: Path | None = None,
    path: Path | None = None,
    limits: Limits = DEFAULT,
) -> Sweep:
    """Validate a sweep document (shaped like the TOML file) and draw its design.

    The number of runs is counted from the spec (the product of the axes' value counts, or the
    samples) and checked against ``limits.sweep_runs`` before the scenario is loaded or any
    design point is drawn.

    Raises:
        ScenarioError: Every problem found.
    """
    if problem := tomlfile.depth_problem(doc, origin, limits):
        raise ScenarioError([problem])
    doc = dict(doc)
    problems: list[str] = []
    for table in ("set", "vary"):
        if isinstance(doc.get(table), dict):
            doc[table] = _flatten(
                doc[table], leaf_keys=set(Axis.model_fields) if table == "vary" else set()
            )
    if "vary" not in doc:
        problems.append(f"{origin}: field `vary`: required but missing (at least one parameter)")
        doc["vary"] = {}
    try:
        spec = SpecModel.model_validate(doc)
    except ValidationError as exc:
        raise ScenarioError(problems + _spec_problems(exc, doc, origin)) from None
    if problems:
        raise ScenarioError(problems)
    meta = spec.sweep
    planned = planned_points(meta, spec.vary) * meta.replicates
    if planned > limits.sweep_runs:
        hint = (
            f" ({lim.FLAG} raises it to {lim.LARGE.sweep_runs:,})"
            if limits.name == DEFAULT.name
            else f" (the limit with {lim.FLAG})"
        )
        raise ScenarioError(
            [
                f"{origin}: the design has {planned:,} runs ({planned // meta.replicates:,} "
                f"points x {meta.replicates:,} replicates), more than the limit of "
                f"{limits.sweep_runs:,}{hint}"
            ]
        )

    # the scenario, with [set] applied
    scenario_path = _scenario_path(meta.scenario, base_dir)
    try:
        base = load(scenario_path, limits=limits)
    except ScenarioError as exc:
        raise ScenarioError(
            [f"{origin}: field `sweep.scenario`: {line}" for line in exc.problems]
        ) from None
    scenario = base.with_overrides(spec.set, origin=f"{origin} [set]") if spec.set else base

    dims: list[Dimension] = []
    if not spec.vary:
        problems.append(f"{origin}: field `vary`: name at least one parameter to vary")
    for address, axis in spec.vary.items():
        where = f"{origin}: field `vary.{address}`"
        if address in spec.set:
            problems.append(f"{where}: also fixed in [set]; a parameter is either set or varied")
            continue
        dim, errs = _dimension(address, axis, meta.design, where, scenario)
        problems += errs
        if dim is not None:
            dims.append(dim)
    problems += _design_problems(meta, origin)
    unknown = [s for s in spec.outputs.series if s not in SERIES_NAMES]
    for s in unknown:
        problems.append(
            f"{origin}: field `outputs.series`: unknown series `{s}`"
            f"{_closest(s, list(SERIES_NAMES))} (known: {', '.join(SERIES_NAMES)})"
        )
    if len(set(spec.outputs.series)) != len(spec.outputs.series):
        problems.append(f"{origin}: field `outputs.series`: lists a series twice")
    if problems:
        raise ScenarioError(problems)

    points = _draw(meta, dims)
    # every value a run will see must pass the scenario schema (a cross-field rule may refuse one)
    peak = _check_points(scenario, dims, origin)
    canonical = {
        "sweep": meta.model_dump(exclude={"title", "description"}) | {"scenario": base.name},
        "set": spec.set,
        "vary": {d.address: [d.lo, d.hi, d.values] for d in dims},
        "series": spec.outputs.series,
        "scenario_hash": scenario.hash,
        "version": __version__,
        "model_version": version.MODEL_VERSION,
    }
    return Sweep(
        name=meta.name,
        title=meta.title or meta.name,
        path=path,
        scenario=scenario,
        dims=dims,
        points=points,
        meta=meta,
        series=tuple(spec.outputs.series),
        canonical=canonical,
        peak_bytes=peak,
    )


def planned_points(meta: SweepMeta, vary: dict[str, Axis]) -> int:
    """Design points a validated spec asks for, counted without drawing any.

    A grid has the product of its axes' value counts (``values``, or ``steps`` of a ``range``);
    a Latin hypercube ``samples`` points; a Sobol design ``samples x (axes + 2)`` (Saltelli's
    scheme without second-order terms). An axis whose count is missing counts 1 (its own error
    is reported later).
    """
    if meta.design == "grid":
        counts = [len(a.values) if a.values is not None else (a.steps or 1) for a in vary.values()]
        return math.prod(counts)
    samples = meta.samples or 0
    return samples if meta.design == "lhs" else samples * (len(vary) + 2)


# ------------------------------------------------------------------------------------------------
# internals
# ------------------------------------------------------------------------------------------------


def _spec_problems(exc: ValidationError, doc: dict[str, Any], origin: str) -> list[str]:
    """The scenario machinery's messages, with the closest valid key of the sweep file's tables."""
    tables: dict[str, list[str]] = {
        "sweep": list(SweepMeta.model_fields),
        "vary": list(Axis.model_fields),
        "outputs": list(Outputs.model_fields),
    }
    lines = pydantic_problems(exc, doc, origin)
    out = []
    for err, line in zip(exc.errors(), lines, strict=True):
        loc = tuple(err["loc"])
        if err["type"] == "extra_forbidden":
            key = str(loc[-1])
            options = list(SpecModel.model_fields) if len(loc) == 1 else tables.get(str(loc[0]), [])
            where = ".".join(str(x) for x in loc)
            line = f"{origin}: field `{where}`: unknown key `{key}`{_closest(key, options)}"
            if len(loc) == 1:
                line += f" (tables: {', '.join(SpecModel.model_fields)})"
        out.append(line)
    return out


def _flatten(table: dict[str, Any], leaf_keys: set[str], prefix: str = "") -> dict[str, Any]:
    """Nested tables to dotted addresses; a table holding any of ``leaf_keys`` is a leaf."""
    out: dict[str, Any] = {}
    for key, value in table.items():
        address = f"{prefix}{key}"
        if not isinstance(value, dict) or leaf_keys & set(value):
            out[address] = value
        else:
            out.update(_flatten(value, leaf_keys, f"{address}."))
    return out


def _scenario_path(name: str, base_dir: Path | None) -> str | Path:
    if base_dir is not None and (base_dir / name).is_file():
        return base_dir / name
    return name


def _dimension(
    address: str, axis: Axis, design: str, where: str, scenario: Scenario
) -> tuple[Dimension | None, list[str]]:
    p = param_for(address)
    if p is None:
        # reuse the scenario machinery's message (closest name, address forms)
        try:
            scenario.with_overrides({address: 0}, origin=where.split(": field")[0] + " [vary]")
        except ScenarioError as exc:
            return None, exc.problems
        return None, [f"{where}: not a parameter that can be varied"]
    try:  # the address must exist in this scenario (a region or group of that name)
        scenario.with_overrides({address: p.default}, origin=where.split(": field")[0] + " [vary]")
    except ScenarioError as exc:
        if any("no region" in x or "no group" in x or "unknown" in x for x in exc.problems):
            return None, exc.problems
    numeric = p.type in ("float", "int")
    unit = f" {p.unit}" if p.unit else ""
    bounds = f"{p.lo:g} to {p.hi:g}{unit}" if numeric else ""
    errs: list[str] = []
    if axis.values is not None and (axis.range is not None or axis.steps is not None):
        errs.append(f"{where}: give either `values` or `range` (with `steps` for a grid), not both")
        return None, errs
    if axis.values is None and axis.range is None:
        errs.append(f"{where}: needs `range = [lo, hi]` or `values = [...]`")
        return None, errs
    if design != "grid":
        if axis.values is not None or axis.steps is not None:
            errs.append(
                f"{where}: a {design} design samples `range = [lo, hi]`; `values` and `steps` "
                "are for grid designs"
            )
            return None, errs
        if not numeric:
            errs.append(
                f"{where}: a {design} design needs a numeric parameter; `{address}` is {p.type}"
            )
            return None, errs
    values: tuple[Any, ...] | None = None
    lo = hi = None
    if axis.range is not None:
        if not numeric:
            errs.append(
                f"{where}: `range` needs a numeric parameter; `{address}` is {p.type} "
                "(use `values`)"
            )
            return None, errs
        lo, hi = float(axis.range[0]), float(axis.range[1])
        if not lo < hi:
            errs.append(f"{where}: `range` must go from low to high (got [{lo:g}, {hi:g}])")
        for v in (lo, hi):
            if not p.lo <= v <= p.hi:
                errs.append(
                    f"{where}: `range` value {v:g} is outside the parameter's bounds ({bounds})"
                )
        if design == "grid":
            if axis.steps is None:
                errs.append(f"{where}: a grid `range` needs `steps` (number of values, at least 2)")
            elif not errs:
                grid = np.linspace(lo, hi, axis.steps)
                if p.type == "int":
                    ints = tuple(int(round(v)) for v in grid)
                    if len(set(ints)) != len(ints):
                        errs.append(
                            f"{where}: {axis.steps} steps over [{lo:g}, {hi:g}] repeat integer "
                            "values; use fewer steps or `values`"
                        )
                    values = ints
                else:
                    values = tuple(float(v) for v in grid)
        elif axis.steps is not None:
            errs.append(f"{where}: `steps` is for grid designs")
    else:
        vals = list(axis.values or [])
        coerced: dict[Any, Any] = {}  # value as the run sees it -> as written
        for v in vals:
            try:
                c = coerce(p, v)
            except InvalidValue as exc:
                errs.append(f"{where}: value {v!r} refused: {exc.rule}")
                continue
            if c in coerced:  # 1 and 1.0 are one value of a float parameter: one design point
                first = coerced[c]
                if repr(first) == repr(v):
                    what = f"{v!r} twice"
                else:
                    what = f"{first!r} and {v!r}, the same value {c!r} for a {p.type} parameter"
                errs.append(f"{where}: `values` lists {what}; each value makes one design point")
            coerced.setdefault(c, v)
        if not errs:
            values = tuple(coerce(p, v) for v in vals)
            if numeric:
                lo, hi = float(min(values)), float(max(values))
    if errs:
        return None, errs
    return Dimension(address, p, lo, hi, values), []


def _design_problems(meta: SweepMeta, origin: str) -> list[str]:
    where = f"{origin}: field `sweep.samples`"
    if meta.design == "grid":
        if meta.samples is not None:
            return [f"{where}: `samples` is for lhs and sobol designs; a grid's size is its axes'"]
        return []
    if meta.samples is None:
        return [f"{where}: a {meta.design} design needs `samples` (number of design points)"]
    if meta.design == "sobol" and meta.samples & (meta.samples - 1):
        lower = 2 ** int(math.log2(meta.samples))
        return [
            f"{where}: a sobol design needs a power of 2 (Saltelli's scheme keeps its balance "
            f"only then); got {meta.samples}, try {lower} or {lower * 2}"
        ]
    return []


def _draw(meta: SweepMeta, dims: list[Dimension]) -> list[dict[str, Any]]:
    names = [d.address for d in dims]
    if meta.design == "grid":
        return [
            dict(zip(names, combo, strict=True))
            for combo in itertools.product(*(d.values for d in dims))
        ]
    problem = {"num_vars": len(dims), "names": names, "bounds": [[d.lo, d.hi] for d in dims]}
    design_seed = int(
        np.random.SeedSequence(meta.seed, spawn_key=(0,)).generate_state(1, dtype=np.uint32)[0]
    )
    if meta.design == "lhs":
        from SALib.sample import latin

        x = latin.sample(problem, meta.samples, seed=design_seed)
    else:
        from SALib.sample import sobol

        x = sobol.sample(problem, meta.samples, calc_second_order=False, seed=design_seed)
    points = []
    for row in x:
        point = {}
        for d, v in zip(dims, row, strict=True):
            point[d.address] = int(round(float(v))) if d.param.type == "int" else float(v)
        points.append(point)
    return points


def _check_points(scenario: Scenario, dims: list[Dimension], origin: str) -> int:
    """Check the design's extreme points against the scenario schema and the model's own rules.

    Every combination of the axes' extremes is checked (up to 256 of them, else each axis's
    extremes alone and the point where every numeric axis is at its top), which catches rules
    between parameters, such as a vision wider than a grid, and the size limits
    (:mod:`defection.model.limits`): every size grows with its parameter, so the top corner is
    the largest run.

    Returns:
        The largest expected peak memory of one run among the points checked, bytes.
    """
    from defection.model.building import build_problems

    def ends(d: Dimension) -> tuple[Any, ...]:
        vals = d.values if d.values is not None else (d.lo, d.hi)
        if d.param.type in ("float", "int") and len(vals) > 2:
            vals = (min(vals), max(vals))
        return tuple(int(round(v)) if d.param.type == "int" else v for v in vals)

    axes = [[(d.address, v) for v in ends(d)] for d in dims]
    if math.prod(len(a) for a in axes) <= 256:
        corners = [dict(c) for c in itertools.product(*axes)]
    else:
        corners = [dict([c]) for a in axes for c in a]
        corners.append({d.address: max(ends(d)) for d in dims if d.param.type in ("float", "int")})
    problems: list[str] = []
    where = f"{origin} [vary]"
    peak = lim.expected_peak_bytes(scenario)
    for c in corners:
        try:
            sc = scenario.with_overrides(c, origin=where)
        except ScenarioError as exc:
            problems += exc.problems
            continue
        at = ", ".join(f"{k} = {v!r}" for k, v in c.items())
        problems += [f"{line} (at {at})" for line in build_problems(sc, where)]
        peak = max(peak, lim.expected_peak_bytes(sc))
    if problems:
        raise ScenarioError(list(dict.fromkeys(problems)))
    return peak


def canonical_json(sweep: Sweep) -> str:
    """The spec as stored in the database (JSON, keys sorted)."""
    return json.dumps(sweep.canonical, sort_keys=True, default=str)


__all__ = [
    "SERIES_NAMES",
    "Dimension",
    "Sweep",
    "canonical_json",
    "load_spec",
    "planned_points",
    "spec_from_dict",
]
