"""Policies as data (model/policy.py): the file's checks, the measures' rules, and a run with one.

A package draws no random numbers, so a package that changes nothing gives the run without it
bit for bit, and a difference between two runs on one seed is the package's effect in that run.
"""

import json
import textwrap

import numpy as np
import pytest
from cli_kit import assert_clean_input_error, cli, invoke
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from defection.model import params as registry
from defection.model import policy as pol
from defection.model.address import ScenarioError
from defection.model.regime import RegimeModel
from defection.model.rules import SOLDIER_STATES
from defection.model.scenario import load

#: Baseline on a small grid, with a legitimacy shock on day 2 (to start a conditional measure)
#: and a pay cut on day 4 (to meet a measure that holds or yields).
SMALL = """
[scenario]
name = "small_events"
extends = "baseline"

[run]
horizon = 8

[grid]
width = 16
height = 16

[[events]]
day = 2
kind = "legitimacy_shock"
delta = -0.4

[[events]]
day = 4
kind = "pay_cut"
pay = 0.5
"""


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    path = tmp_path_factory.mktemp("policy") / "small_events.toml"
    path.write_text(SMALL)
    return load(path)


def package(*measures, side="regime", name="p"):
    """A checked package of the given measures (dicts)."""
    doc = {
        "policy": {"name": "t"},
        "packages": [{"name": name, "side": side, "measures": list(measures)}],
    }
    return pol.parse_policy(doc, "t.toml").package(name)


def levers_by_day(scenario, pkg, *levers, seed=1):
    """Each lever's value on each day of a run (after the day's events and measures)."""
    seen = []
    m = RegimeModel(scenario, rng=seed, until_horizon=True, policy=pkg)
    m.run(on_day=lambda mm: seen.append(tuple(mm.p[x] for x in levers)))
    return m, seen


# ------------------------------------------------------------------------------------------------
# rules
# ------------------------------------------------------------------------------------------------


def test_a_ramp_reaches_its_value_linearly_over_its_days():
    ms = pol.Measure(lever="soldiers.pay", value=2.0, ramp_days=4)
    st = pol._MeasureState(started=True, start_day=10, start_value=1.0)
    got = [pol.measure_value(ms, st, d) for d in range(10, 16)]
    assert got == pytest.approx([1.25, 1.5, 1.75, 2.0, 2.0, 2.0])
    assert pol.measure_value(pol.Measure(lever="soldiers.pay", value=2.0), st, 10) == 2.0


def test_a_condition_reads_one_series_above_or_below():
    above = pol.Condition(series="soldiers_deserted", above=0.02)
    below = pol.Condition(series="legitimacy", below=0.5)
    assert pol.condition_holds(None, {})
    assert pol.condition_holds(above, {"soldiers_deserted": 0.03})
    assert not pol.condition_holds(above, {"soldiers_deserted": 0.02})
    assert pol.condition_holds(below, {"legitimacy": 0.4})
    assert not pol.condition_holds(below, {"legitimacy": 0.5})


def test_sides_own_their_levers():
    assert pol.side_of("opposition.amnesty") == "opposition"
    assert pol.side_of("soldiers.pay") == "regime"


# ------------------------------------------------------------------------------------------------
# the file
# ------------------------------------------------------------------------------------------------


def test_the_bundled_policy_files_load_and_cover_both_sides():
    names = pol.bundled_policy_names()
    assert "syria_2011" in names and "soviet_1991" in names
    for name in names:
        pf = pol.load_policy(name)
        sides = {p.side for p in pf.packages.values()}
        assert sides == {"regime", "opposition"}, name
        for sc in pf.scenarios:
            for pkg in pf.packages.values():
                assert pol.scenario_problems(pkg, load(sc), name) == []


BAD = {
    "unknown_key": ('lever = "soldiers.pay"\nvalue = 1.0\nramp = 3', ["`ramp`", "`ramp_days`"]),
    "unknown_lever": ('lever = "soldiers.payy"\nvalue = 1.0', ["soldiers.payy", "`soldiers.pay`"]),
    "not_a_lever": (
        'lever = "soldiers.loyalty"\nvalue = 1.0',
        ["soldiers.loyalty", "behavioural parameter, not a lever"],
    ),
    "out_of_range": ('lever = "soldiers.pay"\nvalue = 7.0', ["value`", "between 0 and 3"]),
    "other_side": ('lever = "opposition.amnesty"\nvalue = 1.0', ["the opposition's lever"]),
    "build_only_late": (
        'lever = "soldiers.guard_share"\nvalue = 0.3\nday = 5',
        ["fixed when the model is built", "day 0 only"],
    ),
    "day0_ramp": ('lever = "soldiers.pay"\nvalue = 1.0\nday = 0\nramp_days = 3', ["day 0"]),
    "both_bounds": (
        'lever = "soldiers.pay"\nvalue = 1.0\nwhen = { series = "legitimacy", above = 0.1, '
        "below = 0.9 }",
        ["exactly one of `above` and `below`"],
    ),
    "unknown_series": (
        'lever = "soldiers.pay"\nvalue = 1.0\nwhen = { series = "desertion", above = 0.1 }',
        ["when.series"],
    ),
    "bad_rule": ('lever = "soldiers.pay"\nvalue = 1.0\nevents = "ignore"', ["events`"]),
}


def policy_text(measure: str, side: str = "regime", name: str = "p") -> str:
    return (
        textwrap.dedent(
            f"""\
        [policy]
        name = "bad"

        [[packages]]
        name = "{name}"
        side = "{side}"

        [[packages.measures]]
        """
        )
        + measure
        + "\n"
    )


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_measure_is_refused_naming_the_file_the_field_and_the_rule(case, tmp_path):
    text, needles = BAD[case]
    path = tmp_path / "bad.toml"
    path.write_text(policy_text(text))
    with pytest.raises(ScenarioError) as exc:
        pol.load_policy(path)
    line = next((p for p in exc.value.problems if all(n in p for n in needles)), None)
    assert line is not None, (needles, exc.value.problems)
    assert line.startswith(f"{path}: field `packages"), line


def test_duplicate_and_reserved_package_names_are_refused(tmp_path):
    one = policy_text('lever = "soldiers.pay"\nvalue = 1.0', name="none")
    two = one.split("[[packages]]")[1]
    path = tmp_path / "twice.toml"
    path.write_text(one + "[[packages]]" + two)
    with pytest.raises(ScenarioError) as exc:
        pol.load_policy(path)
    text = "\n".join(exc.value.problems)
    assert "appears twice" in text
    assert "`none` is the do-nothing package" in text


def test_a_measure_after_the_horizon_is_refused(small):
    pkg = package({"lever": "soldiers.pay", "value": 1.0, "day": 20})
    with pytest.raises(ScenarioError, match="after `small_events`'s horizon"):
        RegimeModel(small, rng=1, policy=pkg)


def test_the_json_schema_describes_the_file():
    schema = pol.json_schema()
    assert schema["title"] == "defection policy file"
    assert set(schema["properties"]) == {"policy", "packages"}
    assert "Measure" in schema["$defs"]


# ------------------------------------------------------------------------------------------------
# in a run
# ------------------------------------------------------------------------------------------------


def test_a_package_that_changes_nothing_leaves_the_run_bit_for_bit(small):
    """No random numbers drawn: common random numbers with the run without a package."""
    same = package({"lever": "regime.messaging", "value": float(small.params["regime.messaging"])})
    a = RegimeModel(small, rng=3, until_horizon=True)
    a.run()
    b = RegimeModel(small, rng=3, until_horizon=True, policy=same)
    b.run()
    da = a.datacollector.get_model_vars_dataframe()
    db = b.datacollector.get_model_vars_dataframe()
    assert da.equals(db)
    assert np.array_equal(a.soldiers.state, b.soldiers.state)
    assert np.array_equal(a.protesters.state, b.protesters.state)


def test_hold_undoes_an_event_the_same_day_and_says_so(small):
    pkg = package({"lever": "soldiers.pay", "value": 1.3, "day": 2, "events": "hold"})
    m, pay = levers_by_day(small, pkg, "soldiers.pay")
    assert [p for (p,) in pay] == [1.0, 1.3, 1.3, 1.3, 1.3, 1.3, 1.3, 1.3]
    held = [t for d, t in m.log if "holds `soldiers.pay` at 1.3" in t]
    assert held and "which set 0.5" in held[0]
    assert [d for d, t in m.log if "holds" in t] == [4]


def test_yield_lets_the_event_stand_and_ends_the_measure(small):
    pkg = package({"lever": "soldiers.pay", "value": 1.3, "day": 2, "events": "yield"})
    m, pay = levers_by_day(small, pkg, "soldiers.pay")
    assert [p for (p,) in pay] == [1.0, 1.3, 1.3, 0.5, 0.5, 0.5, 0.5, 0.5]
    assert [d for d, t in m.log if "yields `soldiers.pay`" in t] == [4]


def test_a_conditional_measure_starts_the_day_after_its_condition_holds_and_stays_on(small):
    """The shock of day 2 lowers legitimacy at the end of day 2: the measure starts on day 3."""
    pkg = package(
        {
            "lever": "soldiers.surveillance",
            "value": 0.9,
            "ramp_days": 2,
            "when": {"series": "legitimacy", "below": 0.6},
        }
    )
    m, surv = levers_by_day(small, pkg, "soldiers.surveillance")
    base = small.params["soldiers.surveillance"]
    got = [s for (s,) in surv]
    assert got[:2] == [base, base]
    assert got[2] == pytest.approx(base + (0.9 - base) / 2)
    assert got[3:] == [0.9] * 5
    assert [d for d, t in m.log if "policy p:" in t and "legitimacy < 0.6" in t] == [3]


def test_later_measures_win_on_one_lever(small):
    pkg = package(
        {"lever": "soldiers.pay", "value": 1.2, "day": 1},
        {"lever": "soldiers.pay", "value": 2.0, "day": 6},
    )
    _, pay = levers_by_day(small, pkg, "soldiers.pay")
    assert [p for (p,) in pay] == [1.2] * 5 + [2.0] * 3


def test_day_zero_sets_a_build_only_lever_and_keeps_the_scenario_s_pool(small):
    stated = small.with_overrides({"protest.peak_share": 0.005})
    pkg = package({"lever": "soldiers.guard_share", "value": 0.3, "day": 0})
    a = RegimeModel(stated, rng=2)
    b = RegimeModel(stated, rng=2, policy=pkg)
    assert b.scenario_def.params["soldiers.guard_share"] == 0.3
    assert a.scenario_def.params["soldiers.guard_share"] == 0.0
    assert b.pilot_share == a.pilot_share  # the package treats the scenario's population
    assert b.soldiers.guard.sum() > a.soldiers.guard.sum()


def test_the_opposition_side_sets_its_levers(small):
    pkg = package({"lever": "opposition.amnesty", "value": 2.0, "day": 3}, side="opposition")
    _, am = levers_by_day(small, pkg, "opposition.amnesty")
    assert [a for (a,) in am] == [0.0, 0.0] + [2.0] * 6


def test_event_conflicts_name_the_events_a_package_meets():
    pf = pol.load_policy("syria_2011")
    sc = load("syria_2011")
    held = pol.event_conflicts(pf.package("pay_held"), sc)
    assert [(c["day"], c["kind"], c["lever"], c["rule"]) for c in held] == [
        (120, "pay_cut", "soldiers.pay", "hold")
    ]
    assert "holds it" in pol.describe_conflict(held[0], "pay_held")
    assert pol.event_conflicts(pf.package("amnesty"), sc) == []


# ------------------------------------------------------------------------------------------------
# the command line
# ------------------------------------------------------------------------------------------------


def write_policy(folder, measure='lever = "soldiers.pay"\nvalue = 1.4\nday = 2'):
    path = folder / "pol.toml"
    path.write_text(policy_text(measure, name="raise"))
    return path


def test_run_with_a_package_records_it(tmp_path, small):
    scen = tmp_path / "small_events.toml"
    scen.write_text(SMALL)
    path = write_policy(tmp_path)
    proc = invoke(
        "run", str(scen), "--policy", str(path), "--package", "raise", "--out", "o", "-q",
        cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    s = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert s["policy"]["package"] == "raise"
    assert s["policy"]["measures"][0]["value"] == 1.4
    assert s["parameters"]["soldiers.pay"] == 1.0  # the scenario's value; the package acts later
    assert any("holds `soldiers.pay` at 1.4" in e["text"] for e in s["events"])
    assert "note: day 4: event pay_cut sets `soldiers.pay`" in proc.stderr


def test_run_without_a_policy_records_none(tmp_path, small):
    scen = tmp_path / "small_events.toml"
    scen.write_text(SMALL)
    proc = invoke("run", str(scen), "--out", "o", "-q", "--steps", "2", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "o" / "summary.json").read_text())["policy"] is None


def test_cli_policy_errors_are_clean(tmp_path):
    bad = write_policy(tmp_path, 'lever = "soldiers.pay"\nvalue = 9.0')
    run = ("run", "baseline", "--steps", "2", "-q", "--out", "o")
    assert_clean_input_error(
        invoke(*run, "--policy", str(bad), cwd=tmp_path), "pol.toml", "value", "between 0 and 3"
    )
    assert_clean_input_error(invoke(*run, "--package", "x", cwd=tmp_path), "only with --policy")
    assert_clean_input_error(
        invoke(*run, "--policy", "syria_2011", cwd=tmp_path), "choose one with --package"
    )
    assert_clean_input_error(
        invoke(*run, "--policy", "syria_2011", "--package", "pay_hel", cwd=tmp_path),
        "no package `pay_hel`; did you mean `pay_held`?",
    )
    assert_clean_input_error(
        invoke(*run, "--policy", "nowhere", cwd=tmp_path), "no bundled policy file"
    )


def test_schema_policy_prints_the_policy_schema(tmp_path):
    proc = cli("schema", "--policy", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["title"] == "defection policy file"


# ------------------------------------------------------------------------------------------------
# invariants
# ------------------------------------------------------------------------------------------------

LIVE = [p for p in registry.LEVERS if not p.build_only]


@st.composite
def measures(draw):
    """A measure on a live lever: any value in range, day, ramp, condition and rule."""
    p = draw(st.sampled_from(LIVE))
    ms = {
        "lever": p.name,
        "value": draw(st.floats(p.lo, p.hi, allow_nan=False)),
        "day": draw(st.integers(1, 8)),
        "ramp_days": draw(st.integers(0, 5)),
        "events": draw(st.sampled_from(pol.EVENT_RULES)),
    }
    if draw(st.booleans()):
        ms["when"] = {
            "series": draw(st.sampled_from(pol.CONDITION_SERIES)),
            draw(st.sampled_from(["above", "below"])): draw(st.floats(0, 1)),
        }
    return ms


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(measures(), min_size=1, max_size=4))
def test_any_package_keeps_levers_in_range_and_the_force_whole(small, ms):
    """Whatever the measures: every lever within its range each day, every soldier counted."""
    by_side: dict[str, list] = {}
    for m in ms:
        by_side.setdefault(pol.side_of(m["lever"]), []).append(m)
    side, chosen = next(iter(by_side.items()))
    pkg = package(*chosen, side=side)
    names = [p.name for p in LIVE]
    model, seen = levers_by_day(small, pkg, *names)
    for values in seen:
        for p, v in zip(LIVE, values, strict=True):
            assert p.lo <= v <= p.hi, (p.name, v)
    shares = model.stats
    total = sum(shares[f"soldiers_{s}"] for s in SOLDIER_STATES)
    assert total == pytest.approx(1.0)


def test_two_measures_on_one_lever_both_report_the_event_s_own_value(small):
    pkg = package(
        {"lever": "soldiers.pay", "value": 1.2, "day": 1},
        {"lever": "soldiers.pay", "value": 1.6, "day": 3},
    )
    m, pay = levers_by_day(small, pkg, "soldiers.pay")
    assert [p for (p,) in pay] == [1.2, 1.2] + [1.6] * 6
    held = [t for d, t in m.log if d == 4 and "holds" in t]
    assert held == [
        "policy p: holds `soldiers.pay` at 1.2 against today's event (which set 0.5)",
        "policy p: holds `soldiers.pay` at 1.6 against today's event (which set 0.5)",
    ]
