"""Scenario files: bundled scenarios load, ``extends`` merges, sources, overrides, JSON schema."""

import json
import textwrap

import pytest

from defection.model import scenario as scn
from defection.model.params import BY_NAME, GROUP_FIELDS, PARAMS, REGION_FIELDS, SECTIONS
from defection.model.scenario import Scenario, ScenarioError


def _write(path, text):
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------------------
# bundled scenarios
# ------------------------------------------------------------------------------------------------


def test_bundled_names_include_the_reference_scenarios():
    names = scn.bundled_names()
    assert names == sorted(names)
    assert {"baseline", "epstein_1"} <= set(names)


@pytest.mark.parametrize("name", scn.bundled_names())
def test_every_bundled_scenario_loads(name):
    sc = scn.load(name)
    assert isinstance(sc, Scenario)
    assert sc.name == name  # the [scenario] name is the file stem
    assert sc.path is not None
    assert sc.path.name == f"{name}.toml"
    # every registry parameter is resolved, with the registry's type
    assert set(sc.params) == set(BY_NAME)
    for p in PARAMS:
        v = sc.params[p.name]
        if p.type == "float":
            assert type(v) is float, p.name
        elif p.type == "int":
            assert type(v) is int, p.name
        elif p.type == "bool":
            assert type(v) is bool, p.name
        else:
            assert v in p.choices, p.name
        if p.lo is not None:
            assert p.lo <= v <= p.hi, p.name
    # regions: at least one, exactly one capital, every per-region field resolved
    assert sc.regions
    assert sum(r["capital"] for r in sc.regions) == 1
    for r in sc.regions:
        assert set(REGION_FIELDS) <= set(r)
        assert sum(r["groups"].values()) == pytest.approx(1.0)
        assert set(r["groups"]) == {g["name"] for g in sc.groups}
    assert sum(g["share"] for g in sc.groups) == pytest.approx(1.0)
    days = [e["day"] for e in sc.events]
    assert days == sorted(days)
    assert all(d <= sc.params["run.horizon"] for d in days)
    # loading by path gives the same scenario
    assert scn.load(sc.path).hash == sc.hash
    assert len(sc.hash) == 64


def test_find_unknown_name_suggests_closest():
    with pytest.raises(ScenarioError) as exc:
        scn.find("baseline_x")
    (line,) = exc.value.problems
    assert "did you mean `baseline`" in line


def test_defaults_apply_when_a_file_sets_nothing(tmp_path):
    path = _write(tmp_path / "bare.toml", '[scenario]\nname = "bare"\n')
    sc = scn.load(path)
    for p in PARAMS:
        assert sc.params[p.name] == p.default, p.name
    assert [r["name"] for r in sc.regions] == ["country"]
    assert sc.regions[0]["capital"] is True
    assert [g["name"] for g in sc.groups] == ["all"]
    assert sc.title == "bare"


def test_ints_are_accepted_for_floats_but_bools_and_strings_are_not(tmp_path):
    ok = _write(tmp_path / "ok.toml", '[scenario]\nname = "ok"\n[soldiers]\npay = 2\n')
    sc = scn.load(ok)
    assert sc.params["soldiers.pay"] == 2.0
    assert type(sc.params["soldiers.pay"]) is float
    for bad in ("true", '"2"'):
        path = _write(tmp_path / "bad.toml", f'[scenario]\nname = "bad"\n[soldiers]\npay = {bad}\n')
        with pytest.raises(ScenarioError) as exc:
            scn.load(path)
        assert "soldiers.pay" in str(exc.value)


# ------------------------------------------------------------------------------------------------
# extends
# ------------------------------------------------------------------------------------------------


def test_extends_overrides_one_value_and_one_region_by_name(tmp_path):
    parent = scn.load("baseline")
    assert len(parent.regions) >= 2, "baseline is expected to have several regions"
    target = parent.regions[1]["name"]
    new_legit = 0.123 if parent.regions[1]["legitimacy"] != 0.123 else 0.321
    new_pay = 2.5 if parent.params["soldiers.pay"] != 2.5 else 0.25
    path = _write(
        tmp_path / "child.toml",
        f"""
        [scenario]
        name = "child"
        extends = "baseline"

        [soldiers]
        pay = {new_pay}

        [[regions]]
        name = "{target}"
        legitimacy = {new_legit}
        """,
    )
    child = scn.load(path)
    assert child.name == "child"
    assert child.path == path
    # the one value changed; every other parameter is the parent's
    assert child.params["soldiers.pay"] == new_pay
    for name, value in parent.params.items():
        if name != "soldiers.pay":
            assert child.params[name] == value, name
    # regions merge by name: same names, same order; only the named one changes, only that field
    assert [r["name"] for r in child.regions] == [r["name"] for r in parent.regions]
    for pr, cr in zip(parent.regions, child.regions, strict=True):
        if pr["name"] == target:
            assert cr["legitimacy"] == new_legit
            assert {k: v for k, v in cr.items() if k != "legitimacy"} == {
                k: v for k, v in pr.items() if k != "legitimacy"
            }
        else:
            assert cr == pr
    # groups, events and sources come from the parent
    assert child.groups == parent.groups
    assert child.events == parent.events
    assert child.sources == parent.sources
    assert "extends" not in child.raw["scenario"]
    assert child.hash != parent.hash


def test_extends_adds_new_regions_and_replaces_events(tmp_path):
    _write(
        tmp_path / "parent.toml",
        """
        [scenario]
        name = "parent"
        [run]
        horizon = 50
        [[regions]]
        name = "a"
        capital = true
        [[events]]
        day = 5
        kind = "crackdown"
        [[events]]
        day = 9
        kind = "pay_cut"
        pay = 0.5
        """,
    )
    path = _write(
        tmp_path / "kid.toml",
        """
        [scenario]
        name = "kid"
        extends = "parent.toml"
        [[regions]]
        name = "b"
        legitimacy = 0.4
        [[events]]
        day = 3
        kind = "legitimacy_shock"
        delta = -0.1
        region = "b"
        """,
    )
    sc = scn.load(path)
    assert [r["name"] for r in sc.regions] == ["a", "b"]
    assert sc.regions[1]["legitimacy"] == 0.4
    assert sc.params["run.horizon"] == 50
    assert [e["kind"] for e in sc.events] == ["legitimacy_shock"]
    # extends also works without the .toml suffix
    _write(tmp_path / "kid2.toml", '[scenario]\nname = "kid2"\nextends = "parent"\n')
    assert [e["day"] for e in scn.load(tmp_path / "kid2.toml").events] == [5, 9]


def test_extends_chain_of_three(tmp_path):
    _write(tmp_path / "a.toml", '[scenario]\nname = "a"\n[soldiers]\npay = 2.0\nloyalty = 1.0\n')
    _write(tmp_path / "b.toml", '[scenario]\nname = "b"\nextends = "a"\n[soldiers]\npay = 1.5\n')
    _write(tmp_path / "c.toml", '[scenario]\nname = "c"\nextends = "b"\n[soldiers]\nvision = 3\n')
    sc = scn.load(tmp_path / "c.toml")
    assert (sc["soldiers.pay"], sc["soldiers.loyalty"], sc["soldiers.vision"]) == (1.5, 1.0, 3)


def test_circular_extends_is_an_error(tmp_path):
    _write(tmp_path / "x.toml", '[scenario]\nname = "x"\nextends = "y"\n')
    _write(tmp_path / "y.toml", '[scenario]\nname = "y"\nextends = "x"\n')
    with pytest.raises(ScenarioError) as exc:
        scn.load(tmp_path / "x.toml")
    assert "circular" in str(exc.value)
    assert "scenario.extends" in str(exc.value)


# ------------------------------------------------------------------------------------------------
# sources
# ------------------------------------------------------------------------------------------------


def test_source_of_uses_the_closest_recorded_prefix():
    sc = scn.from_dict(
        {
            "scenario": {"name": "src"},
            "regions": [{"name": "north", "capital": True}, {"name": "south"}],
            "sources": {
                "protest": "section source",
                "protest.legitimacy": "exact source",
                "regions.north": "north source",
                "regions": "all regions",
            },
        }
    )
    assert sc.source_of("protest.legitimacy") == "exact source"
    assert sc.source_of("protest.hardship") == "section source"
    assert sc.source_of("protest") == "section source"
    assert sc.source_of("regions.north.legitimacy") == "north source"
    assert sc.source_of("regions.south.legitimacy") == "all regions"
    assert sc.source_of("soldiers.pay") is None


def test_baseline_sources_resolve():
    sc = scn.load("baseline")
    assert sc.sources, "baseline records its sources"
    for key, value in sc.sources.items():
        assert sc.source_of(key) == value
        assert sc.source_of(f"{key}.something") == value


def test_historical_scenario_needs_a_source_for_every_value(tmp_path):
    doc = {
        "scenario": {"name": "h", "historical": True},
        "soldiers": {"pay": 2.0, "loyalty": 1.0},
        "sources": {"soldiers.pay": "a citation"},
    }
    with pytest.raises(ScenarioError) as exc:
        scn.from_dict(doc)
    assert len(exc.value.problems) == 1
    assert "soldiers.loyalty" in exc.value.problems[0]
    doc["sources"]["soldiers"] = "assumption: a stated reason"
    assert scn.from_dict(doc).historical is True


# ------------------------------------------------------------------------------------------------
# overrides
# ------------------------------------------------------------------------------------------------


def test_with_overrides_on_a_region_address():
    sc = scn.load("baseline")
    name = sc.regions[-1]["name"]
    before = [dict(r) for r in sc.regions]
    out = sc.with_overrides({f"regions.{name}.legitimacy": 0.05, "soldiers.pay": 0.5})
    assert out.regions[-1]["legitimacy"] == 0.05
    assert out.params["soldiers.pay"] == 0.5
    for r_old, r_new in zip(before[:-1], out.regions[:-1], strict=True):
        assert r_old == r_new
    # the original is unchanged
    assert [dict(r) for r in sc.regions] == before
    assert sc.params["soldiers.pay"] == scn.load("baseline").params["soldiers.pay"]


def test_load_with_overrides_equals_with_overrides():
    a = scn.load("baseline", {"grid.width": 16, "soldiers.surveillance": 0.9})
    b = scn.load("baseline").with_overrides({"grid.width": 16, "soldiers.surveillance": 0.9})
    assert a.hash == b.hash
    assert a.params["soldiers.surveillance"] == 0.9


def test_group_override():
    sc = scn.load("baseline")
    g = sc.groups[0]["name"]
    out = sc.with_overrides({f"groups.{g}.legitimacy_shift": -0.2})
    assert out.groups[0]["legitimacy_shift"] == -0.2


@pytest.mark.parametrize(
    ("address", "value", "needle"),
    [
        ("soldiers.survelance", 0.5, "did you mean `soldiers.surveillance`"),
        ("soldiers.pay", 99, "must be between 0 and"),
        ("regions.nowhere.legitimacy", 0.5, "no region named `nowhere`"),
        ("regions.capital.pay", 0.5, "unknown key `pay`"),
        ("regions.capital.legitimacy", 1.5, "regions.capital.legitimacy"),
        ("groups.nobody.share", 0.5, "no group named `nobody`"),
        ("nonsense", 1, "unknown parameter"),
        ("a.b.c.d", 1, "unknown parameter"),
        ("soldiers.pay", "lots", "soldiers.pay"),
        ("soldiers.pay", True, "soldiers.pay"),
        ("run.horizon", 2.5, "run.horizon"),
    ],
)
def test_bad_overrides_raise_scenario_error(address, value, needle):
    sc = scn.load("baseline")
    with pytest.raises(ScenarioError) as exc:
        sc.with_overrides({address: value})
    assert any(needle in line for line in exc.value.problems), exc.value.problems
    assert all(line.startswith("--set") for line in exc.value.problems)


def test_errors_are_collected_not_raised_one_at_a_time():
    with pytest.raises(ScenarioError) as exc:
        scn.from_dict(
            {
                "scenario": {"name": "many"},
                "soldiers": {"pay": 9.0, "survelliance": 0.1},
                "protest": {"legitimacy": "high"},
            },
            origin="many.toml",
        )
    problems = exc.value.problems
    assert len(problems) == 3
    assert all(p.startswith("many.toml: field `") for p in problems)


# ------------------------------------------------------------------------------------------------
# JSON schema
# ------------------------------------------------------------------------------------------------


def _resolve_ref(schema, node):
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        return schema["$defs"][name]
    for option in node.get("anyOf", ()):
        if "$ref" in option:
            return _resolve_ref(schema, option)
    return node


def test_json_schema_covers_every_section_and_parameter():
    schema = scn.json_schema()
    assert isinstance(schema, dict)
    json.dumps(schema)  # serializable
    assert schema["$schema"].startswith("https://json-schema.org/")
    props = schema["properties"]
    for key in ("scenario", "groups", "regions", "events", "sources", *SECTIONS):
        assert key in props, key
    assert "scenario" in schema["required"]
    for section in SECTIONS:
        sec = _resolve_ref(schema, props[section])
        assert sec.get("additionalProperties") is False
        leaves = {p.leaf for p in PARAMS if p.section == section}
        assert set(sec["properties"]) == leaves, section
        for p in PARAMS:
            if p.section != section:
                continue
            field = sec["properties"][p.leaf]
            assert field["default"] == p.default
            assert p.meaning in field["description"]
            if p.lo is not None:
                assert field["minimum"] == p.lo
                assert field["maximum"] == p.hi
    region = schema["$defs"]["Region"]["properties"]
    assert set(REGION_FIELDS) <= set(region)
    group = schema["$defs"]["Group"]["properties"]
    assert set(GROUP_FIELDS) <= set(group)
    event_kinds = schema["$defs"]["Event"]["properties"]["kind"]
    assert set(event_kinds["enum"]) == set(scn.EVENT_KINDS)


def test_overrides_may_shorten_the_run_past_scheduled_events(tmp_path):
    """``--steps``/``--set run.horizon`` on a scenario with later events is a shorter run, not
    an error: the file was checked as written; the later events simply never fire."""
    path = _write(
        tmp_path / "ev.toml",
        """
        [scenario]
        name = "ev"
        [run]
        horizon = 50
        [[events]]
        day = 20
        kind = "crackdown"
        """,
    )
    sc = scn.load(path, {"run.horizon": 5})
    assert sc.params["run.horizon"] == 5
    assert [e["day"] for e in sc.events] == [20]
    # the file itself is still checked
    _write(tmp_path / "ev2.toml", path.read_text().replace("horizon = 50", "horizon = 10"))
    with pytest.raises(ScenarioError, match="after the horizon"):
        scn.load(tmp_path / "ev2.toml")


def test_overrides_of_a_historical_scenario_need_no_source(tmp_path):
    """Sources document the file; a what-if override (``--set``, a sweep) is not part of it."""
    path = _write(
        tmp_path / "hist.toml",
        """
        [scenario]
        name = "hist"
        historical = true
        [soldiers]
        pay = 0.5
        [sources]
        "soldiers.pay" = "a citation"
        """,
    )
    sc = scn.load(path, {"grid.width": 16, "protest.legitimacy": 0.4})
    assert sc.historical
    assert sc.params["grid.width"] == 16
    assert sc.source_of("grid.width") is None
    # bad values are still refused
    with pytest.raises(ScenarioError, match="grid.width"):
        scn.load(path, {"grid.width": 1})
