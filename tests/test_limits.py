"""The resource budget (issue #9, findings 4, 5, 7, 10, 11): size limits, the memory estimate,
files that nest or extend without end, sweeps counted before they are drawn, values a sweep would
repeat, non-finite numbers, `validate` running every check `run` runs, and what a stopped sweep
says it saved.

The memory budget itself is measured at the caps in child processes (marked slow): a model at
each default cap is built, run and written, and its peak resident memory must stay inside the
budget and below the estimate that let it through.
"""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_kit import assert_clean_input_error, invoke
from sweep_kit import SMALL_SPEC, write_spec

from defection.model import limits as lim
from defection.model import tomlfile
from defection.model.limits import DEFAULT, LARGE, MiB
from defection.model.params import (
    BUILD_ONLY,
    BY_NAME,
    EVENT_FIELDS,
    GROUP_FIELDS,
    PARAMS,
    REGION_FIELDS,
    REGION_OWN,
)
from defection.model.scenario import ScenarioError, from_dict, load

ROOT = Path(__file__).resolve().parents[1]
MEASURE = ROOT / "scripts" / "measure_memory.py"


def one_region(side: int, citizen: float = 0.7, garrison: float = 0.04, **sections) -> dict:
    """A one-region scenario document of ``side`` x ``side`` cells."""
    doc = {
        "scenario": {"name": "big"},
        "grid": {"width": side, "height": side},
        "protest": {"citizen_density": citizen},
        "soldiers": {"garrison_density": garrison},
        "regions": [{"name": "a"}],
    }
    for section, values in sections.items():
        doc.setdefault(section, {}).update(values)
    return doc


def many(n_regions: int, n_groups: int, side: int = 5, horizon: int = 365) -> dict:
    return {
        "scenario": {"name": "many"},
        "run": {"horizon": horizon},
        "grid": {"width": side, "height": side},
        "protest": {"vision": 2},
        "soldiers": {"vision": 2},
        "groups": [{"name": f"g{i}", "share": 1.0} for i in range(n_groups)],
        "regions": [{"name": f"r{i}"} for i in range(n_regions)],
    }


def refused(doc: dict, *needles: str, limits=DEFAULT) -> str:
    with pytest.raises(ScenarioError) as exc:
        from_dict(doc, "f.toml", limits=limits)
    assert len(exc.value.problems) == 1, exc.value.problems
    line = exc.value.problems[0]
    for needle in needles:
        assert needle in line, (needle, line)
    return line


# -- each cap: one over is refused in one line naming the field and the flag; at it, accepted -----

#: Empty grids (no agents) of the ``many`` documents.
EMPTY = {
    "protest": {"citizen_density": 0.0, "vision": 2},
    "soldiers": {"garrison_density": 0.0, "vision": 2},
}

#: (what, document at the cap, document one over it, strings the refusal names)
CAPS = {
    "horizon": (
        one_region(40, run={"horizon": DEFAULT.horizon}),
        one_region(40, run={"horizon": DEFAULT.horizon + 1}),
        ["field `run.horizon`", "10,001 days", "limit of 10,000", "--allow-large"],
    ),
    "cells per region": (
        one_region(2000, 0.0, 0.0),
        one_region(2000, 0.0, 0.0) | {"grid": {"width": 2001, "height": 2000}},
        ["field `grid`", "2001 x 2000", "4,002,000 cells", "per region"],
    ),
    "cells in all": (
        many(4, 1, side=1000) | EMPTY,
        many(5, 1, side=1000) | EMPTY,
        ["field `regions`", "5 regions of 1,000,000 cells are 5,000,000 cells", "in all"],
    ),
    "agents": (
        one_region(1580, 1.0, 0.0),
        one_region(1590, 1.0, 0.0),
        ["field `protest.citizen_density`", "about 2,528,100 agents", "limit of 2,500,000"],
    ),
    "soldiers.count": (
        one_region(400, 0.0, 1.0, soldiers={"count": DEFAULT.soldiers}),
        one_region(400, 0.0, 1.0, soldiers={"count": DEFAULT.soldiers + 1}),
        ["field `soldiers.count`", "150,001 soldiers", "limit of 150,000"],
    ),
    "soldiers from densities": (
        one_region(387, 0.0, 1.0),
        one_region(388, 0.0, 1.0),
        ["field `soldiers.garrison_density`", "150,544 soldiers"],
    ),
    "regions": (
        many(DEFAULT.regions, 1),
        many(DEFAULT.regions + 1, 1),
        ["field `regions`", "65 regions", "limit of 64"],
    ),
    "groups": (
        many(1, DEFAULT.groups),
        many(1, DEFAULT.groups + 1),
        ["field `groups`", "17 groups", "limit of 16"],
    ),
    "events": (
        one_region(40) | {"events": [{"day": 1, "kind": "crackdown"}] * DEFAULT.events},
        one_region(40) | {"events": [{"day": 1, "kind": "crackdown"}] * (DEFAULT.events + 1)},
        ["field `events`", "1,001 events"],
    ),
    "regions x groups x days": (
        many(64, 12, horizon=1040),
        many(64, 13, horizon=1040),
        ["field `run.horizon`", "64 regions x 13 groups x 1,040 days", "865,280"],
    ),
    "memory": (
        one_region(1200, 0.94, 0.04),
        one_region(1581, 0.94, 0.04),
        ["a run would need about", "at its peak", "budget of 1,024 MiB", "16,384 MiB"],
    ),
}


@pytest.mark.parametrize("cap", list(CAPS))
def test_each_cap_refuses_one_over_in_one_line_and_accepts_the_cap(cap):
    at, over, needles = CAPS[cap]
    line = refused(over, "f.toml", *needles, "--allow-large")
    assert "\n" not in line
    sc = from_dict(at, "f.toml")  # at the cap: accepted, and inside the budget
    assert lim.expected_peak_bytes(sc) <= DEFAULT.memory
    large = from_dict(over, "f.toml", limits=LARGE)  # the flag raises it
    assert large.limits is LARGE


def test_caps_stay_with_a_scenario_through_its_overrides():
    """--set, a sweep point or the pilot run: an override is checked against the same limits."""
    base = load("baseline")
    with pytest.raises(ScenarioError, match="limit of 10,000"):
        base.with_overrides({"run.horizon": 20_000})
    big = load("baseline", limits=LARGE).with_overrides({"run.horizon": 20_000})
    assert big.params["run.horizon"] == 20_000 and big.limits is LARGE


def test_every_default_cap_fits_the_default_budget_alone():
    """Each cap reached with the rest small is a run the memory estimate lets through."""
    for cap, (at, _, _) in CAPS.items():
        assert lim.expected_peak_bytes(from_dict(at, cap)) <= DEFAULT.memory, cap


def test_the_estimate_grows_with_every_size():
    base = from_dict(one_region(100), "f")
    peak = lim.expected_peak_bytes(base)
    for doc in (
        one_region(101),
        one_region(100, citizen=0.8),
        one_region(100, garrison=0.05),
        one_region(100, soldiers={"squad_size": 9}),
        one_region(100, soldiers={"cross_ties": 2.0}),
        one_region(100, soldiers={"guard_share": 0.2}),
        one_region(100, run={"horizon": 366}),
        one_region(100) | {"groups": [{"name": "x"}, {"name": "y"}]},
    ):
        assert lim.expected_peak_bytes(from_dict(doc, "f")) > peak, doc


# -- files: size, nesting, extends ----------------------------------------------------------------


def _nested(levels: int, inline: bool = True) -> str:
    if inline:
        return "x = " + "{a = " * levels + "1" + "}" * levels + "\n"
    return "x = " + "[" * levels + "1" + "]" * levels + "\n"


@pytest.mark.parametrize(
    "levels, inline, needle",
    [
        (400, True, "too deeply to read"),
        (2_000, True, "too deeply to read"),
        (2_000, False, "nest"),
        (20, True, "levels deep"),
        (17, False, "levels deep"),
    ],
)
@pytest.mark.parametrize("where", ["file", "extends parent", "sweep [set]", "sweep [vary]"])
def test_deep_nesting_is_one_line_exit_2(levels, inline, needle, where, tmp_path):
    body = _nested(levels, inline)
    if where == "file":
        (tmp_path / "s.toml").write_text('[scenario]\nname = "s"\n[soldiers]\n' + body)
        args, named = ["validate", "s.toml"], "s.toml"
    elif where == "extends parent":
        (tmp_path / "p.toml").write_text('[scenario]\nname = "p"\n[soldiers]\n' + body)
        (tmp_path / "s.toml").write_text('[scenario]\nname = "s"\nextends = "p.toml"\n')
        args, named = ["run", "s.toml", "-q"], "p.toml"
    else:
        table = "[set]\n" if where == "sweep [set]" else '[vary."soldiers.pay"]\nvalues = [1.0]\n'
        write_spec(tmp_path, SMALL_SPEC.split("[set]")[0] + table + body, "deep.toml")
        args, named = ["sweep", "deep.toml", "--workers", "1", "-q"], "deep.toml"
    proc = invoke(*args, cwd=tmp_path)
    assert_clean_input_error(proc, named, needle, "more than the limit of 16")
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "results").exists()


def test_a_file_over_the_size_limit_is_refused_before_it_is_parsed(tmp_path):
    path = tmp_path / "huge.toml"
    path.write_text('[scenario]\nname = "x"\n' + "# padding\n" * (DEFAULT.file_bytes // 10 + 1))
    assert_clean_input_error(
        invoke("validate", "huge.toml", cwd=tmp_path), "huge.toml", "1,048,576 bytes"
    )
    assert invoke("validate", "huge.toml", "--allow-large", cwd=tmp_path).returncode == 0


def _chain(folder: Path, n: int) -> Path:
    for i in range(n):
        parent = f'extends = "c{i + 1}.toml"\n' if i < n - 1 else ""
        (folder / f"c{i}.toml").write_text(f'[scenario]\nname = "c{i}"\n{parent}')
    return folder / "c0.toml"


def test_an_extends_chain_of_1200_files_is_one_line_exit_2_at_once(tmp_path):
    _chain(tmp_path, 1_200)
    t = time.monotonic()
    proc = invoke("validate", "c0.toml", cwd=tmp_path)
    assert time.monotonic() - t < 10
    assert_clean_input_error(
        proc, "c0.toml", "field `scenario.extends`", "more than 16 files", "c16.toml"
    )
    assert len(proc.stderr.strip().splitlines()) == 1


def test_an_extends_chain_at_the_limit_loads_and_merges_in_order(tmp_path):
    _chain(tmp_path, DEFAULT.extends)
    (tmp_path / f"c{DEFAULT.extends - 1}.toml").write_text(
        '[scenario]\nname = "root"\n[soldiers]\npay = 2.0\nsurveillance = 0.1\n'
    )
    (tmp_path / "c3.toml").write_text(
        '[scenario]\nname = "c3"\nextends = "c4.toml"\n[soldiers]\npay = 0.5\n'
    )
    sc = load(tmp_path / "c0.toml")
    assert sc.name == "c0"
    assert sc.params["soldiers.pay"] == 0.5 and sc.params["soldiers.surveillance"] == 0.1
    longer = tmp_path / "longer"
    longer.mkdir()
    _chain(longer, DEFAULT.extends + 1)
    with pytest.raises(ScenarioError, match="more than 16 files"):
        load(longer / "c0.toml")
    assert load(longer / "c0.toml", limits=LARGE).name == "c0"


def test_nesting_depth_counts_tables_and_arrays_without_recursion():
    assert tomlfile.nesting_depth(1) == 0
    assert tomlfile.nesting_depth({"a": 1}) == 1
    assert tomlfile.nesting_depth({"a": [1, {"b": [2]}]}) == 4
    deep: dict = {}
    node = deep
    for _ in range(100_000):  # far past Python's stack
        node["a"] = {}
        node = node["a"]
    assert tomlfile.nesting_depth(deep) == 100_001  # the innermost table is empty, and counts
    with pytest.raises(ScenarioError, match="nest 100001 levels deep"):
        from_dict(deep, "deep")


# -- sweeps: counted before they are drawn ---------------------------------------------------------

HUGE_GRID = """
[sweep]
name = "huge"
scenario = "baseline"

[vary."soldiers.pay"]
range = [0.0, 3.0]
steps = 10000

[vary."regime.repression"]
range = [0.0, 1.0]
steps = 10000

[vary."soldiers.surveillance"]
range = [0.0, 1.0]
steps = 10000
"""


@pytest.mark.parametrize("dry_run", [True, False])
def test_a_10000_cubed_grid_is_refused_at_once(dry_run, tmp_path):
    spec = write_spec(tmp_path, HUGE_GRID, "huge.toml")
    args = [sys.executable, "-m", "defection", "sweep", str(spec), "--workers", "1"]
    args += ["--dry-run"] if dry_run else []
    t = time.monotonic()
    proc = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert time.monotonic() - t < 30
    assert_clean_input_error(
        proc, "huge.toml", "1,000,000,000,000 runs", "more than the limit of 200,000"
    )
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize(
    "sweep, vary, points",
    [
        ({"replicates": 4}, {"soldiers.pay": {"values": [0.5, 1.0, 2.0]}}, 3),
        (
            {},
            {
                "soldiers.pay": {"range": [0.0, 3.0], "steps": 7},
                "regime.lethality": {"values": [0.0, 0.5]},
            },
            14,
        ),
        ({"design": "lhs", "samples": 64}, {"soldiers.pay": {"range": [0.0, 3.0]}}, 64),
        (
            {"design": "sobol", "samples": 32},
            {"soldiers.pay": {"range": [0.0, 3.0]}, "regime.lethality": {"range": [0.0, 1.0]}},
            128,
        ),
    ],
)
def test_planned_points_are_the_points_the_design_draws(sweep, vary, points):
    from defection.sweep.spec import Axis, SweepMeta, planned_points, spec_from_dict

    meta = {"name": "p", "scenario": "baseline", **sweep}
    assert planned_points(SweepMeta(**meta), {k: Axis(**v) for k, v in vary.items()}) == points
    drawn = spec_from_dict({"sweep": meta, "vary": vary}, "p.toml")
    assert len(drawn.points) == points
    assert drawn.n_runs == points * sweep.get("replicates", 1)


def test_a_sweep_over_the_size_limits_is_refused_at_its_top_corner(tmp_path):
    """Two axes each fine alone: together (the top corner) the run is over the budget."""
    text = SMALL_SPEC.replace('"grid.width" = 20\n"grid.height" = 20\n', "").replace(
        '[vary."regime.repression"]\nvalues = [0.2, 0.8]',
        '[vary."grid.width"]\nvalues = [20, 800]\n\n[vary."grid.height"]\nvalues = [20, 1000]',
    )
    spec = write_spec(tmp_path, text, "big.toml")
    proc = invoke("sweep", str(spec), "--workers", "1", "--dry-run", cwd=tmp_path)
    assert_clean_input_error(proc, "big.toml [vary]", "budget of 1,024 MiB")
    ok = invoke("sweep", str(spec), "--workers", "1", "--dry-run", "--allow-large", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "note: expected peak memory about" in ok.stderr  # printed before a large sweep


# -- values a sweep would repeat ---------------------------------------------------------------


@pytest.mark.parametrize(
    "address, values, needle",
    [
        ("soldiers.pay", "[1, 1.0]", "lists 1 and 1.0, the same value 1.0 for a float parameter"),
        ("soldiers.pay", "[0.5, 2, 0.5]", "lists 0.5 twice"),
        ("regime.lethality", "[0, 0.0, -0.0]", "lists 0 and 0.0"),
        ("soldiers.squad_size", "[4, 8, 4]", "lists 4 twice"),
        ("soldiers.can_defect", "[true, true]", "lists True twice"),
        ("soldiers.threshold_dist", '["ladder", "ladder"]', "lists 'ladder' twice"),
    ],
)
def test_values_equal_after_coercion_are_refused_naming_the_parameter(
    address, values, needle, tmp_path
):
    text = SMALL_SPEC.replace(
        '[vary."soldiers.pay"]\nvalues = [0.5, 2.0]', f'[vary."{address}"]\nvalues = {values}'
    )
    spec = write_spec(tmp_path, text, "dup.toml")
    proc = invoke("sweep", str(spec), "--workers", "1", "--dry-run", cwd=tmp_path)
    assert_clean_input_error(proc, "dup.toml", f"field `vary.{address}`", needle)


# -- no infinite or NaN number is accepted anywhere -----------------------------------------------


def _float_fields():
    """(document, location) for every float field of a scenario: sections, regions, groups,
    events."""
    for p in PARAMS:
        if p.type == "float":
            yield p.name, lambda v, p=p: {"scenario": {"name": "x"}, p.section: {p.leaf: v}}
    for leaf, p in {**REGION_OWN, **REGION_FIELDS}.items():
        if p.type == "float":
            yield (
                f"regions.a.{leaf}",
                lambda v, leaf=leaf: {
                    "scenario": {"name": "x"},
                    "regions": [{"name": "a", leaf: v}],
                },
            )
    for leaf, p in GROUP_FIELDS.items():
        if p.type == "float":
            yield (
                f"groups.g.{leaf}",
                lambda v, leaf=leaf: {
                    "scenario": {"name": "x"},
                    "groups": [{"name": "g", leaf: v}],
                },
            )
    for kind, fields in EVENT_FIELDS.items():
        for leaf, p in fields.items():
            if p.type == "float":
                yield (
                    f"events[{kind}].{leaf}",
                    lambda v, kind=kind, leaf=leaf: {
                        "scenario": {"name": "x"},
                        "events": [{"day": 1, "kind": kind, leaf: v}],
                    },
                )
    yield (
        "regions.a.groups",
        lambda v: {
            "scenario": {"name": "x"},
            "groups": [{"name": "g"}],
            "regions": [{"name": "a", "groups": {"g": v}}],
        },
    )


FLOAT_FIELDS = dict(_float_fields())


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan], ids=["inf", "-inf", "nan"])
def test_no_float_field_accepts_an_infinite_or_nan_value(value):
    assert len(FLOAT_FIELDS) > 60
    accepted = []
    for where, make in FLOAT_FIELDS.items():
        try:
            from_dict(make(value), "x.toml")
        except ScenarioError as exc:
            assert len(exc.problems) == 1, (where, exc.problems)
            assert "finite" in exc.problems[0] or "must be between" in exc.problems[0], where
        else:
            accepted.append(where)
    assert not accepted


@pytest.mark.parametrize("text", ["population = inf", "population = nan", "population = -inf"])
def test_population_inf_or_nan_is_a_clear_error(text, tmp_path):
    (tmp_path / "p.toml").write_text(
        f'[scenario]\nname = "p"\nextends = "baseline"\n[[regions]]\nname = "north"\n{text}\n'
    )
    proc = invoke("run", "p.toml", "-q", cwd=tmp_path)
    assert_clean_input_error(
        proc, "p.toml", "field `regions.north.population`", "must be a finite number"
    )
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "+inf"])
def test_set_and_sweep_refuse_non_finite_values(value, tmp_path):
    proc = invoke("run", "baseline", "-q", "--set", f"soldiers.pay={value}", cwd=tmp_path)
    assert_clean_input_error(proc, "--set", "soldiers.pay")
    text = SMALL_SPEC.replace("values = [0.5, 2.0]", f"range = [0.0, {value}]\nsteps = 3")
    write_spec(tmp_path, text, "nf.toml")
    proc = invoke("sweep", "nf.toml", "--workers", "1", "--dry-run", cwd=tmp_path)
    assert_clean_input_error(proc, "nf.toml", "vary.soldiers.pay")


def test_the_json_schema_bounds_every_number():
    """Every number of a scenario file has a lower and an upper bound in the schema."""
    from defection.model.schema import json_schema

    schema = json_schema()
    unbounded = []

    def walk(node, path):
        if isinstance(node, dict):
            types = {node.get("type")} | {a.get("type") for a in node.get("anyOf", [])}
            if {"number", "integer"} & types:
                lo = node.get("minimum", node.get("exclusiveMinimum"))
                hi = node.get("maximum", node.get("exclusiveMaximum"))
                sub = [a for a in node.get("anyOf", []) if a.get("type") in ("number", "integer")]
                for a in sub:
                    lo = a.get("minimum", lo)
                    hi = a.get("maximum", hi)
                if lo is None or hi is None:
                    unbounded.append(path)
            for k, v in node.items():
                walk(v, f"{path}/{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{path}/{i}")

    walk(schema, "")
    # an event's day is bounded by the horizon (checked across fields), not by the schema
    assert all(p.endswith("/day") for p in unbounded), unbounded


# -- validate runs every check run runs -----------------------------------------------------------

BUILD_REFUSED = {
    "vision wider than the grid": (
        "[grid]\nwidth = 12\nheight = 12\n[protest]\nvision = 7\n[soldiers]\nvision = 3\n",
        ["field `protest.vision`", "at least 15 cells wide (grid is 12)"],
    ),
    "densities above 1": (
        '[grid]\nwidth = 20\nheight = 20\n[[regions]]\nname = "a"\ncitizen_density = 0.8\n'
        "garrison_density = 0.3\n",
        ["field `regions.a`", "must be at most 1 (got 1.1)"],
    ),
    "more soldiers than free cells": (
        "[grid]\nwidth = 20\nheight = 20\n[soldiers]\ncount = 200\n",
        ["field `soldiers.count`", "200 soldiers do not fit", "120 cells free"],
    ),
    "soldiers.count with no garrison anywhere": (
        "[grid]\nwidth = 20\nheight = 20\n[soldiers]\ncount = 5\ngarrison_density = 0.0\n",
        ["field `soldiers.count`", "no region has a positive garrison density"],
    ),
    "a stated peak nobody would reach": (
        "[grid]\nwidth = 20\nheight = 20\n[protest]\nlegitimacy = 1.0\npeak_share = 0.01\n",
        ["field `protest.peak_share`", "no one would ever protest"],
    ),
}


@pytest.mark.parametrize("case", list(BUILD_REFUSED))
def test_validate_reports_what_run_refuses_with_the_same_lines(case, tmp_path):
    body, needles = BUILD_REFUSED[case]
    (tmp_path / "b.toml").write_text('[scenario]\nname = "b"\n' + body)
    checked = invoke("validate", "b.toml", cwd=tmp_path)
    ran = invoke("run", "b.toml", "-q", cwd=tmp_path)
    assert_clean_input_error(checked, "b.toml", *needles)
    assert_clean_input_error(ran, "b.toml", *needles)
    assert checked.stderr == ran.stderr
    assert not (tmp_path / "results").exists()


def _fit_cases():
    """Small scenarios around the soldiers-fit boundary: (id, document)."""
    for side in (8, 12, 20):
        for citizen in (0.0, 0.5, 0.7, 0.95):
            mean = side * side * (1 - citizen)
            sd = math.sqrt(side * side * citizen * (1 - citizen))
            for count in {1, int(mean - 6 * sd), int(mean - 5 * sd), int(mean), side * side + 1}:
                if count >= 1:
                    yield (
                        f"{side}-{citizen}-{count}",
                        one_region(
                            side,
                            citizen,
                            0.1,
                            soldiers={"count": count, "vision": 1},
                            protest={"vision": 1},
                        ),
                    )


@pytest.mark.parametrize("case, doc", list(_fit_cases()))
def test_validate_and_the_build_agree_on_whether_soldiers_fit(case, doc):
    """If validate passes, the model builds on every seed tried; if not, the build refuses."""
    from defection.model.building import build_problems
    from defection.model.regime import RegimeModel

    sc = from_dict(doc, case)
    problems = build_problems(sc, sc.name)  # the origin the model names
    for seed in (1, 2, 3):
        if problems:
            with pytest.raises(ScenarioError) as exc:
                RegimeModel(sc, rng=seed)
            assert exc.value.problems == problems
        else:
            assert RegimeModel(sc, rng=seed).n_soldiers >= doc["soldiers"]["count"]


# -- build-only levers out of range: exit 2, one line, by --set and by a sweep --------------------

BUILD_ONLY_NUMERIC = sorted(n for n in BUILD_ONLY if BY_NAME[n].type in ("int", "float"))
PAY_AXIS = '[vary."soldiers.pay"]\nvalues = [0.5, 2.0]'


def _spec(vary: str, fixed: str = "") -> str:
    """A small sweep of the baseline with ``vary`` and ``fixed`` ([set]) given as TOML lines."""
    return (
        '[sweep]\nname = "b"\nscenario = "baseline"\nseed = 1\n\n'
        f'[set]\n"run.horizon" = 20\n{fixed}\n\n{vary}\n'
    )


def _beyond(p) -> list:
    step = 1 if p.type == "int" else 0.5
    return [p.lo - step, p.hi + step if p.hi < 1e7 else p.hi * 10]


@pytest.mark.parametrize("name", BUILD_ONLY_NUMERIC)
def test_a_build_only_parameter_out_of_range_is_exit_2_by_set_and_by_sweep(name, tmp_path):
    p = BY_NAME[name]
    for value in _beyond(p):
        literal = repr(int(value) if p.type == "int" else float(value))
        proc = invoke("run", "baseline", "-q", "--set", f"{name}={literal}", cwd=tmp_path)
        assert_clean_input_error(proc, "--set", f"field `{name}`", "must be between")
        write_spec(tmp_path, _spec(f'[vary."{name}"]\nvalues = [{literal}]'), "v.toml")
        proc = invoke("sweep", "v.toml", "--workers", "1", "-q", cwd=tmp_path)
        assert_clean_input_error(proc, "v.toml", f"vary.{name}", "refused")
        write_spec(tmp_path, _spec(PAY_AXIS, f'"{name}" = {literal}'), "s.toml")
        proc = invoke("sweep", "s.toml", "--workers", "1", "-q", cwd=tmp_path)
        assert_clean_input_error(proc, "s.toml [set]", name)
    assert not (tmp_path / "results").exists()


def test_a_build_only_value_in_range_the_model_refuses_is_exit_2_before_the_sweep(tmp_path):
    """soldiers.count inside the registry's range, but more than the grid holds at one point."""
    text = SMALL_SPEC.replace(
        '[vary."regime.repression"]\nvalues = [0.2, 0.8]',
        '[vary."soldiers.count"]\nvalues = [10, 300]',
    )
    write_spec(tmp_path, text, "count.toml")
    proc = invoke("sweep", "count.toml", "--workers", "1", "-q", cwd=tmp_path)
    assert_clean_input_error(proc, "count.toml [vary]", "300 soldiers do not fit")
    assert not (tmp_path / "results").exists()


# -- what a stopped sweep says it saved ------------------------------------------------------------


def _stopping_backend(monkeypatch, runs_before: int, exc: BaseException):
    """The serial backend runs ``runs_before`` real runs, then raises ``exc``."""
    import defection.sweep.coordinator as coordinator
    from defection.sweep.engine import execute

    def backend(tasks, scenario, collect):
        for task in tasks[:runs_before]:
            collect(execute(task, scenario))
        raise exc

    monkeypatch.setattr(coordinator, "run_serial", backend)


@pytest.mark.parametrize(
    "runs_before, exc, code, needle",
    [
        (0, RuntimeError("boom"), 1, "no run of this invocation was saved in"),
        (0, OSError(28, "No space left on device"), 1, "no run of this invocation was saved"),
        (2, RuntimeError("boom"), 1, "2 finished runs saved in"),
        (1, RuntimeError("boom"), 1, "1 finished run saved in"),
        (0, KeyboardInterrupt(), 130, "interrupted: no run of this invocation was saved"),
        (3, KeyboardInterrupt(), 130, "interrupted: 3 finished runs saved in"),
    ],
)
def test_a_stopped_sweep_says_what_it_saved(runs_before, exc, code, needle, tmp_path, monkeypatch):
    from sweep_kit import read_runs

    _stopping_backend(monkeypatch, runs_before, exc)
    spec = write_spec(tmp_path)
    proc = invoke("sweep", str(spec), "--workers", "1", "-q", "--db", "s.duckdb", cwd=tmp_path)
    assert proc.returncode == code, proc.stderr
    assert needle in proc.stderr and "Traceback" not in proc.stderr
    assert "finished runs are saved" not in proc.stderr
    runs, _ = read_runs(tmp_path / "s.duckdb")
    assert len(runs) == runs_before


def test_a_write_that_fails_is_not_reported_as_saved(tmp_path, monkeypatch):
    from defection.sweep.store import Store

    def full(self, results):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Store, "write", full)
    spec = write_spec(tmp_path)
    proc = invoke("sweep", str(spec), "--workers", "1", "-q", "--db", "s.duckdb", cwd=tmp_path)
    assert proc.returncode == 1
    assert "No space left on device" in proc.stderr
    assert "no run of this invocation was saved" in proc.stderr


# -- the expected peak is printed before a large run ----------------------------------------------


def test_a_large_run_prints_its_expected_peak_before_it_starts(tmp_path, monkeypatch):
    import defection.runner

    def simulate(*a, **k):
        raise RuntimeError("stop here")

    monkeypatch.setattr(defection.runner, "simulate", simulate)
    doc = '[scenario]\nname = "big"\n[grid]\nwidth = 1200\nheight = 1200\n[[regions]]\nname = "a"\n'
    (tmp_path / "big.toml").write_text(doc)
    proc = invoke("run", "big.toml", "-q", cwd=tmp_path)
    assert proc.returncode == 1  # the stub stopped it
    note = [ln for ln in proc.stderr.splitlines() if ln.startswith("note:")]
    assert len(note) == 1 and "expected peak memory about" in note[0], proc.stderr
    assert "1,440,000 cells" in note[0]
    small = invoke("run", "baseline", "-q", "--steps", "1", "--out", "o", cwd=tmp_path)
    assert "note:" not in small.stderr


# -- usage errors are one line -------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, needle",
    [
        (["run", "baseline", "--seed", "x"], "Invalid value for '--seed'"),
        (["run", "baseline", "--steps", "0"], "Invalid value for '--steps'"),
        (["run"], "Missing argument"),
        (["run", "baseline", "--sed", "3"], "No such option: --sed"),
        (["sweep", "x.toml", "--workers", "0"], "Invalid value for '--workers'"),
        (["nosuch"], "No such command"),
    ],
)
def test_a_usage_error_is_one_line_exit_2(args, needle, tmp_path):
    proc = invoke(*args, cwd=tmp_path)
    assert_clean_input_error(proc, needle, "--help")
    assert len(proc.stderr.strip().splitlines()) == 1


# -- the budget, measured at the caps --------------------------------------------------------------


def _measure_script():
    spec = importlib.util.spec_from_file_location("measure_memory", MEASURE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


#: Models at the default caps (``scripts/measure_memory.py --caps`` measures the same).
AT_THE_CAPS = _measure_script().at_the_caps()


def test_the_models_at_the_caps_are_at_the_caps():
    sizes = {}
    for cap, cfg in AT_THE_CAPS.items():
        if "doc" in cfg:
            sc = from_dict(cfg["doc"], cap)
        else:
            sc = load(cfg["bundled"], cfg["set"])
        sizes[cap] = lim.size_of(sc)
        assert lim.expected_peak_bytes(sc) <= DEFAULT.memory, cap  # accepted by default
    assert sizes["agents"].agents > 0.99 * DEFAULT.agents
    assert sizes["cells"].cells == DEFAULT.cells
    assert sizes["soldiers"].soldiers > 0.99 * DEFAULT.soldiers
    assert sizes["regions x groups x days"].region_group_days > 0.99 * DEFAULT.region_group_days
    assert sizes["memory, a stated peak"].peak_bytes > 0.9 * DEFAULT.memory


@pytest.mark.slow
@pytest.mark.parametrize("cap", list(AT_THE_CAPS))
def test_a_model_at_the_caps_stays_inside_the_budget(cap):
    """Built, run to its horizon and written (what `defection run` does) in a child process."""
    cfg = AT_THE_CAPS[cap]
    proc = subprocess.run(
        [sys.executable, str(MEASURE), "--child", "run", json.dumps(cfg)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["peak"] <= got["estimate"] <= DEFAULT.memory, (
        f"{cap}: peak {got['peak'] / MiB:.0f} MiB, estimate {got['estimate'] / MiB:.0f} MiB"
    )
