"""The address module and the registry's fields: addresses, values, live changes, event fields and
the name rule (hostile names are refused with a clean one-line error, never another exception)."""

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from defection.model import scenario as scn
from defection.model.address import (
    NAME_PATTERN,
    Address,
    InvalidValue,
    ScenarioError,
    check_live,
    coerce,
    is_name,
    param_for,
    parse_address,
)
from defection.model.params import (
    BUILD_ONLY,
    BY_NAME,
    EVENT_FIELDS,
    EVENT_KINDS,
    GROUP_FIELDS,
    PARAMS,
    REGION_FIELDS,
    event_field_default,
)
from defection.sweep.spec import spec_from_dict

# ------------------------------------------------------------------------------------------------
# addresses
# ------------------------------------------------------------------------------------------------


def test_parse_address_forms():
    assert parse_address("soldiers.pay") == Address("param", "soldiers", "pay")
    assert parse_address("regions.north.legitimacy") == Address("region", "north", "legitimacy")
    assert parse_address("groups.ruling.share") == Address("group", "ruling", "share")
    assert str(parse_address("regions.north.legitimacy")) == "regions.north.legitimacy"
    assert param_for("regions.north.legitimacy") is REGION_FIELDS["legitimacy"]
    assert param_for("groups.x.legitimacy_shift") is GROUP_FIELDS["legitimacy_shift"]
    assert param_for("regions.north.capital").type == "bool"
    assert param_for("regions.north.nonsense") is None
    assert param_for("nonsense") is None


@pytest.mark.parametrize(
    ("address", "needle"),
    [
        ("soldiers.payy", "did you mean `soldiers.pay`"),
        ("nonsense", "addresses are section.name"),
        ("a.b.c.d", "unknown parameter"),
        ("regions.north", "unknown parameter"),
    ],
)
def test_parse_address_refuses(address, needle):
    with pytest.raises(ScenarioError) as exc:
        parse_address(address)
    assert needle in exc.value.problems[0]


# ------------------------------------------------------------------------------------------------
# values
# ------------------------------------------------------------------------------------------------


def test_coerce_types_and_bounds():
    assert coerce("soldiers.pay", 1) == 1.0 and type(coerce("soldiers.pay", 1)) is float
    assert coerce("run.horizon", 30) == 30
    assert coerce("run.horizon", 30.4, lenient=True) == 30
    assert coerce("grid.movement", False) is False
    assert coerce("soldiers.threshold_dist", "ladder") == "ladder"
    assert coerce("regions.x.legitimacy", 0.3) == 0.3
    refused = [
        ("soldiers.pay", True, "must be a number"),
        ("soldiers.pay", "0.5", "must be a number"),
        ("soldiers.pay", math.nan, "must be between 0 and 3 x subsistence"),
        ("soldiers.pay", 3.5, "must be between 0 and 3 x subsistence"),
        ("run.horizon", 30.0, "must be an integer"),
        ("run.horizon", True, "must be an integer"),
        ("grid.movement", 1, "must be true or false"),
        ("soldiers.threshold_dist", "uniform", "must be one of normal, ladder"),
        ("groups.g.share", 1.5, "must be between 0 and 1 share"),
    ]
    for address, value, rule in refused:
        with pytest.raises(InvalidValue) as exc:
            coerce(address, value)
        assert exc.value.rule == rule, (address, value)
        assert isinstance(exc.value, ScenarioError)


def test_every_registry_default_passes_its_own_check():
    for p in PARAMS:
        assert coerce(p, p.default) == p.default, p.name
    for fields in EVENT_FIELDS.values():
        for p in fields.values():
            if p.default is not None:
                assert coerce(p, p.default) == p.default, p.name


def test_check_live():
    assert check_live("soldiers.pay", 2) == 2.0
    assert type(check_live("soldiers.pay", 2)) is float
    for name, value, needle in [
        ("soldiers.payy", 1.0, "unknown parameter; did you mean `soldiers.pay`"),
        ("soldiers.guard_share", 0.2, "fixed when the model is built"),
        ("soldiers.pay", 9, "must be between 0 and 3"),
        ("soldiers.pay", "x", "must be a number"),
    ]:
        with pytest.raises(ScenarioError) as exc:
            check_live(name, value)
        assert exc.value.problems[0].startswith(f"set_param: `{name}`: "), exc.value.problems
        assert needle in exc.value.problems[0]
    for name in BUILD_ONLY:
        with pytest.raises(ScenarioError, match="fixed when the model is built"):
            check_live(name, BY_NAME[name].default)


def test_build_only_is_the_registry_flag():
    assert {p.name for p in PARAMS if p.build_only} == BUILD_ONLY
    # with the elite faction's share and gap, the steady margin, the crowd's build-up and its
    # shape, the soldier agents' floor (soldiers.min_agents) and the spread of conscience
    assert len(BUILD_ONLY) == 42
    assert "soldiers.guard_share" in BUILD_ONLY and "soldiers.pay" not in BUILD_ONLY


# ------------------------------------------------------------------------------------------------
# events
# ------------------------------------------------------------------------------------------------


def test_event_defaults_and_kinds():
    assert scn.EVENT_KINDS == EVENT_KINDS
    assert event_field_default("crackdown", "repression") == 1.0
    assert event_field_default("elite_split", "share") == 0.2
    assert event_field_default("coup", "share") == 0.2
    assert event_field_default("coup", "legitimacy_cost") == 0.1
    assert event_field_default("legitimacy_shock", "delta") == 0.0
    assert event_field_default("pay_cut", "pay") is None
    with pytest.raises(KeyError):
        event_field_default("crackdown", "pay")


def _events_doc(*events):
    return {
        "scenario": {"name": "ev"},
        "regions": [{"name": "north", "capital": True}],
        "events": list(events),
    }


def test_defaults_are_not_written_into_the_scenario():
    """The model reads event defaults from the registry; the scenario (and its hash) keeps only
    the fields the file gives."""
    sc = scn.from_dict(_events_doc({"day": 1, "kind": "crackdown"}))
    assert sc.events == [{"day": 1, "kind": "crackdown", "note": ""}]


@pytest.mark.parametrize(
    ("event", "needles"),
    [
        (
            {"day": 1, "kind": "crackdown", "pay": 0.5, "delta": 0.1},
            ["field `events[0].pay`: a `crackdown` event takes", "field `events[0].delta`"],
        ),
        ({"day": 1, "kind": "pay_cut"}, ["field `events[0]`: a `pay_cut` event needs `pay`"]),
        ({"day": 1, "kind": "pay_cut", "note": "x"}, ["`pay` or `arrears`"]),
        ({"day": 1, "kind": "legitimacy_shock"}, ["needs `delta`"]),
        ({"day": 1, "kind": "coup", "region": "north"}, ["field `events[0].region`"]),
        ({"day": 1, "kind": "elite_split", "legitimacy_cost": 0.2}, ["`legitimacy_cost`"]),
        ({"day": 1, "kind": "coup", "share": 1.5}, ["field `events[0].share`", "between 0"]),
        ({"day": 1, "kind": "coup", "faction": "softline"}, ["field `events[0].faction`"]),
        ({"day": 1, "kind": "elite_split", "faction": "hardline"}, ["`faction`"]),
    ],
)
def test_events_refuse_fields_of_other_kinds(event, needles):
    with pytest.raises(ScenarioError) as exc:
        scn.from_dict(_events_doc(event), origin="ev.toml")
    text = "\n".join(exc.value.problems)
    assert all(p.startswith("ev.toml: field `events[0]") for p in exc.value.problems), text
    for needle in needles:
        assert needle in text, (needle, text)


def test_every_kind_accepts_its_own_fields():
    for kind, fields in EVENT_FIELDS.items():
        ev = {"day": 1, "kind": kind}
        for leaf, p in fields.items():
            if p.type == "name":
                ev[leaf] = "north"
            elif p.type == "choice":
                ev[leaf] = p.choices[-1]
            else:
                ev[leaf] = (p.lo + p.hi) / 2
        sc = scn.from_dict(_events_doc(ev))
        assert sc.events[0]["kind"] == kind


# ------------------------------------------------------------------------------------------------
# names
# ------------------------------------------------------------------------------------------------

HOSTILE = [
    "",
    "'; DROP TABLE runs; --",
    'a"b',
    "x'",
    "..",
    "../../etc/passwd",
    "a/b",
    "a\\b",
    "a\nb",
    "north\n",
    "a\x00b",
    "\x1b[31mred",
    "x" * 10_000,
    "a" * 65,
    "North",
    "ÄGYPTEN",
    "über",
    "севастополь",
    "中国",
    "a-b",
    "a b",
    "1abc",
    "_x",
    "a.b",
    "robert'); DELETE FROM runs WHERE ('1'='1",
]


def _where(doc_name, field):
    """A scenario document with the hostile name in one place."""
    doc = {
        "scenario": {"name": "ok"},
        "groups": [{"name": "ruling", "core": True}],
        "regions": [{"name": "north", "capital": True}],
    }
    if field == "scenario":
        doc["scenario"]["name"] = doc_name
    elif field == "region":
        doc["regions"][0]["name"] = doc_name
    else:
        doc["groups"][0]["name"] = doc_name
    return doc


def _assert_clean(exc, field):
    problems = exc.value.problems
    assert problems
    for line in problems:
        assert "\n" not in line and "\r" not in line
        assert line.startswith("hostile.toml: field `")
        assert len(line) < 400
    assert any(field in line and NAME_PATTERN in line for line in problems), problems


names = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(max_size=80).filter(lambda s: not is_name(s)),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=65, max_size=300),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=names, where=st.sampled_from(["scenario", "region", "group"]))
def test_hostile_names_are_clean_scenario_errors(name, where):
    assert not is_name(name)
    field = {"scenario": "scenario.name", "region": "regions[0].name", "group": "groups[0].name"}
    with pytest.raises(ScenarioError) as exc:
        scn.from_dict(_where(name, where), origin="hostile.toml")
    _assert_clean(exc, field[where])


@settings(max_examples=60, deadline=None)
@given(name=st.one_of(st.sampled_from(HOSTILE), st.integers(), st.none(), st.lists(st.text())))
def test_hostile_sweep_names_are_clean_errors(name):
    doc = {
        "sweep": {"name": name, "scenario": "baseline"},
        "vary": {"soldiers.pay": {"values": [0.5, 1.0]}},
    }
    with pytest.raises(ScenarioError) as exc:
        spec_from_dict(doc, "hostile.toml")
    assert any("sweep.name" in line for line in exc.value.problems)
    assert all("\n" not in line for line in exc.value.problems)


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(HOSTILE))
def test_hostile_names_in_addresses_are_clean_errors(name):
    sc = scn.load("baseline")
    with pytest.raises(ScenarioError) as exc:
        sc.with_overrides({f"regions.{name}.legitimacy": 0.5})
    assert all("\n" not in line and len(line) < 400 for line in exc.value.problems)


@pytest.mark.parametrize("name", ["a", "north", "homs_hama", "x" * 64, "a1_2"])
def test_good_names_pass(name):
    for where in ("scenario", "region", "group"):
        assert scn.from_dict(_where(name, where)) is not None


def test_non_string_names_are_clean_errors():
    for bad in (3, None, ["a"], {"a": 1}, True):
        for where in ("scenario", "region", "group"):
            with pytest.raises(ScenarioError):
                scn.from_dict(_where(bad, where), origin="hostile.toml")


def test_a_national_override_applies_in_every_region():
    """`--set protest.legitimacy=0.85` is not shadowed by the scenario's per-region values."""
    from defection.model.scenario import load

    sc = load("syria_2011")
    assert len({r["legitimacy"] for r in sc.regions}) > 1  # the scenario sets regions apart
    over = sc.with_overrides({"protest.legitimacy": 0.85})
    assert [r["legitimacy"] for r in over.regions] == [0.85] * len(sc.regions)
    # a region set after the national value keeps its own
    name = sc.regions[0]["name"]
    both = sc.with_overrides({"protest.legitimacy": 0.85, f"regions.{name}.legitimacy": 0.4})
    assert [r["legitimacy"] for r in both.regions] == [0.4] + [0.85] * (len(sc.regions) - 1)
    # and the model uses it
    from defection.model.regime import RegimeModel

    m = RegimeModel(over.with_overrides({"grid.width": 16, "grid.height": 16}), rng=1)
    assert (m.legitimacy == 0.85).all()
