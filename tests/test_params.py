"""Live parameters: moving any registry parameter within its range changes some output.

A parameter that changes nothing is dead (or wired to the wrong name). Each parameter is moved to
the end of its range that differs from its current value (bools flip, choices switch) on a small
baseline (16x16 grids, 30 days, fixed seed, run to the horizon, no Mesa proxies). The outputs
compared are the DataCollector series, every final state array, the agent counts and the run
summary (outcome, people counts, regions).

Some parameters only bite in some situations (the purge of wavering officers needs wavering
officers; the split rule needs a split). So each parameter is tried in a short list of
situations, ``CONTEXTS``, each a handful of overrides of the small baseline with the reason it
exists; the parameter is live if it changes the outputs in at least one of them.

The tests at the end check the registry's roles: every entry has one, the levers are the role
``lever``, and the behavioural set (what calibration fits) is listed for review.
"""

import dataclasses
import functools
import json
import re
from pathlib import Path

import numpy as np
import pytest
from operating_point import V3_WEIGHTS

from defection.model import scenario as scn
from defection.model.address import coerce
from defection.model.params import (
    BEHAVIOURAL,
    BY_NAME,
    EVENT_FIELDS,
    GROUP_FIELDS,
    LEVERS,
    PARAMS,
    REGION_OWN,
    ROLES,
    SECTIONS,
    markdown_table,
)
from defection.model.regime import RegimeModel
from defection.model.scenario import ScenarioError
from defection.runner import summarize

SEED = 3
SMALL = {"grid.width": 16, "grid.height": 16, "run.horizon": 30}

#: Situations tried in order: (overrides of SMALL, why this situation is needed).
CONTEXTS = {  # each at the mechanisms' operating point (tests/operating_point.py)
    "calm": ({**V3_WEIGHTS}, "the small baseline itself"),
    "crisis": (
        {**V3_WEIGHTS, "belief.intercept": -1.0, "soldiers.guard_share": 0.2},
        "soldiers and elites leave; guard units exist (guard loyalty, resentment)",
    ),
    "no_elites": (
        {**V3_WEIGHTS, "belief.intercept": 0.0, "elites.count": 0},
        "a gradual cascade without the elite-majority rule: purges, neighbours' beliefs, "
        "collapse by force",
    ),
    "split": (
        {
            **V3_WEIGHTS,
            "belief.intercept": 4.0,
            "elites.count": 0,
            "soldiers.guard_share": 0.45,
            "outcome.split_days": 5,
        },
        "a loyal guard core holds while others defect: the split rule (its persistence, "
        "outcome.split_days, shortened to fit the 30-day horizon)",
    ),
    "force": (
        {
            **V3_WEIGHTS,
            "belief.intercept": 0.0,
            "elites.count": 0,
            "soldiers.guard_share": 0.3,
            "outcome.protester_weight": 0.0,
        },
        "collapse decided by loyal force against armed defectors alone (defector and guard "
        "weights)",
    ),
    "units": (
        {
            **V3_WEIGHTS,
            "soldiers.squad_size": 2,
            "soldiers.squads_per_company": 1,
            "soldiers.rotation": 0.5,
            "belief.intercept": 0.0,
        },
        "several battalions per region (16x16 garrisons fit in one battalion of the default "
        "size), rotated away from home",
    ),
    "lethal": (
        {**V3_WEIGHTS, "regime.lethality": 0.5},
        "lethal repression (the baseline's is not): the lethality factors of backfire and of "
        "soldiers' moral cost act only when it is above 0",
    ),
    "faction": (
        {**V3_WEIGHTS, "elites.softline_share": 0.5},
        "an elite soft-line faction exists, so how far its loyalty lies below the rest's "
        "(elites.softline_gap) has members to act on",
    ),
    "steady": (
        {**V3_WEIGHTS, "elites.steady_start": True},
        "elites drawn under the steady start (the operating point draws them untruncated), so "
        "how far the belief may fall before the first one breaks (elites.steady_margin) moves "
        "their loyalty",
    ),
    "plots": (
        {
            **V3_WEIGHTS,
            "elites.plots": True,
            "elites.plot_signal": 0.0,
            "elites.plot_quorum": 0.01,
            "regime.party_removal": True,
        },
        "insiders plot (elites.plots) at the first sign of a crisis, one of them a quorum, in a "
        "party regime: the plot's threshold, quorum and vote have a plot to act on",
    ),
    "concession": (
        {
            **V3_WEIGHTS,
            "elites.count": 0,
            "regime.concession_nonviolent": 0.05,
            "regime.concession_violent": 0.05,
        },
        "the ruler may concede (both rates above 0) and no elite majority ends the run first, so "
        "how the hazard grows with the crowd's size (regime.concession_elasticity) has a "
        "hazard to act on",
    ),
    "buildup": (
        {**V3_WEIGHTS, "protest.buildup_days": 10},
        "the crowd builds up over ten days, so the shape of the build-up "
        "(protest.buildup_growth) has join days to act on",
    ),
    "mechanisms": (
        {
            **V3_WEIGHTS,
            "belief.intercept": 0.0,
            "elites.count": 0,
            "soldiers.arrears": 0.5,
            "police.share": 0.3,
            "police.duty_first": 0.5,
            "soldiers.conscript_share": 0.5,
            "soldiers.conscript_pay": 0.5,
            "soldiers.w_legitimacy": 3.0,
            "soldiers.legitimacy_desert_share": 0.5,
            "soldiers.exit_barrier": 0.0,
            "opposition.w_support": 1.0,
            "support.regime_money": 0.5,
            "support.regime_troops": 0.5,
            "support.opposition": 0.5,
        },
        "the mechanisms of issue #10 switched on: police and conscripts exist (their loyalty and "
        "pay), arrears for a patron's money to cover, a principled motive strong enough (and "
        "desertion cheap enough) for its desertion share to bite, and outside support for the "
        "weights that multiply it (belief.w_support, opposition.w_support)",
    ),
}

#: Values used instead of a range end, with the reason.
MOVE_TO = {
    "grid.width": (17, "5 is narrower than the vision diamond; 5000 is too slow for a unit test"),
    "grid.height": (17, "as grid.width"),
}

#: Parameters exempt from the test, with the reason. Keep this empty unless a parameter truly
#: cannot change any output of a small run; a dead parameter must be fixed, not listed here.
EXEMPT: dict[str, str] = {}

#: Summary fields that differ by construction (they echo the inputs), not by the run.
ECHO = ("parameters", "scenario_hash", "commit", "version")


def _scenario(overrides):
    return scn.load("baseline", {**SMALL, **overrides})


def _fingerprint(overrides):
    m = RegimeModel(_scenario(overrides), rng=SEED, until_horizon=True)
    m.run()
    arrays = {}
    groups = {"protesters": m.protesters, "soldiers": m.soldiers, "elites": m.elites}
    for prefix, obj in groups.items():
        for f in dataclasses.fields(obj):
            arrays[f"{prefix}.{f.name}"] = np.asarray(getattr(obj, f.name))
    arrays["legitimacy"] = m.legitimacy
    summary = summarize(m, SEED)
    for key in ECHO:
        summary.pop(key)
    return {
        "series": m.datacollector.get_model_vars_dataframe(),
        "arrays": arrays,
        "counts": (m.n_protesters, m.n_soldiers, m.elites.state.size),
        "summary": json.dumps(summary, sort_keys=True, default=str),
    }


def _differences(a, b):
    """Names of the outputs that differ between two fingerprints."""
    out = []
    if not a["series"].equals(b["series"]):
        out.append("series")
    if a["counts"] != b["counts"]:
        out.append("counts")
    keys = a["arrays"].keys() | b["arrays"].keys()
    for k in sorted(keys):
        x, y = a["arrays"].get(k), b["arrays"].get(k)
        if x is None or y is None or x.shape != y.shape or not np.array_equal(x, y):
            out.append(k)
    if a["summary"] != b["summary"]:
        out.append("summary")
    return out


@functools.cache
def _reference(context):
    return _fingerprint(CONTEXTS[context][0])


def _moves(p, current):
    """Candidate moved values: both range ends that differ from ``current``."""
    if p.name in MOVE_TO:
        return [MOVE_TO[p.name][0]]
    if p.type == "bool":
        return [not current]
    if p.type == "choice":
        return [c for c in p.choices if c != current]
    if p.type in ("int", "float"):
        cast = int if p.type == "int" else float
        ends = [cast(p.lo), cast(p.hi)]
        return [v for v in ends if v != current]
    raise AssertionError(f"{p.name}: no rule to move a parameter of type {p.type!r}")


#: Every parameter but the exempt ones; ``_moves`` refuses a type it cannot move, so a new type
#: fails ``test_every_parameter_is_covered`` instead of dropping out of the test.
LIVE = [p for p in PARAMS if p.name not in EXEMPT]


def _toward(p, current, end):
    """Values from ``end`` halfway back toward ``current`` (for ends another rule refuses)."""
    for k in range(1, 24):
        v = current + (end - current) / 2**k
        v = int(round(v)) if p.type == "int" else float(v)
        if v == current:
            return
        yield v


def _first_feasible(p, overrides, end, tried, context):
    """Fingerprint of the run with ``p`` at ``end`` or, if refused, nearer its current value."""
    current = _scenario(overrides).params[p.name]
    candidates = [end]
    if p.type in ("int", "float") and p.name not in MOVE_TO:
        candidates += list(_toward(p, current, end))
    for value in candidates:
        try:
            return value, _fingerprint({**overrides, p.name: value})
        except ScenarioError as exc:  # e.g. a range end that breaks another rule
            if value == end:
                tried.append(f"{context}: {p.name}={value!r} refused ({exc.problems[0]})")
    return None, None


@pytest.mark.parametrize("name", [p.name for p in LIVE])
def test_parameter_is_live(name):
    p = BY_NAME[name]
    tried = []
    for context, (overrides, _why) in CONTEXTS.items():
        current = _scenario(overrides).params[name]
        for end in _moves(p, current):
            value, moved = _first_feasible(p, overrides, end, tried, context)
            if moved is None:
                continue
            if _differences(_reference(context), moved):
                return
            tried.append(f"{context}: {name} {current!r} -> {value!r} changed nothing")
    pytest.fail(f"`{name}` looks dead: moving it changed no output\n  " + "\n  ".join(tried))


def test_every_parameter_is_covered():
    """Each parameter is exempt (with a reason) or can be moved to another value it accepts."""
    assert set(EXEMPT) <= set(BY_NAME), "an exemption names no parameter"
    assert all(why.strip() for why in EXEMPT.values()), "an exemption gives no reason"
    assert set(MOVE_TO) <= set(BY_NAME)
    assert not set(MOVE_TO) & set(EXEMPT), "an exempt parameter needs no move"
    base = _scenario({}).params
    for name, (value, _why) in MOVE_TO.items():
        assert coerce(BY_NAME[name], value) == value
        assert value != base[name], f"{name}: MOVE_TO does not move it"
    for p in LIVE:
        moves = _moves(p, base[p.name])
        assert moves, f"`{p.name}`: no value to move it to from {base[p.name]!r}"
        for v in moves:
            assert v != base[p.name]
            assert coerce(p, v) == v, p.name  # a value of the registry's type, in bounds


def _model_source() -> str:
    """Source of the model's engine: everything in ``model/`` that is not the registry or the
    scenario machinery, and the runner (which reports in people)."""
    root = Path(__file__).resolve().parents[1]
    skip = {"params.py", "address.py", "schema.py", "scenario.py"}
    files = [f for f in (root / "model").rglob("*.py") if f.name not in skip]
    return "\n".join(f.read_text(encoding="utf-8") for f in [*files, root / "defection/runner.py"])


def test_every_parameter_is_read_by_the_model():
    """Independent of the runs above: each registry name appears in the engine's source (a
    per-region parameter may be read from the region table by its leaf), and every
    ``"section.name"`` string in the engine names a registry parameter (no typos)."""
    src = _model_source()
    strings = set(re.findall(r'"([a-z_]+(?:\.[a-z_]+)?)"', src))
    unread = [
        p.name for p in PARAMS if p.name not in strings and not (p.per_region and p.leaf in strings)
    ]
    assert not unread, f"never read by the model: {unread}"
    dotted = {s for s in strings if "." in s and s.split(".")[0] in SECTIONS}
    assert dotted <= set(BY_NAME), f"not registry names: {sorted(dotted - set(BY_NAME))}"


def test_contexts_are_distinct_situations():
    """The situations really differ (otherwise the extra contexts test nothing new)."""
    refs = {c: _reference(c) for c in CONTEXTS}
    outcomes = {c: json.loads(r["summary"])["outcome_rule"] for c, r in refs.items()}
    for c in CONTEXTS:
        if c != "calm":
            assert _differences(refs["calm"], refs[c]), c
    # at least two different outcome rules across the situations
    assert len(set(outcomes.values())) >= 2, outcomes


# ------------------------------------------------------------------------------------------------
# Roles: what kind of quantity each parameter is (issue #10)
# ------------------------------------------------------------------------------------------------

#: The policy levers (the UI's sliders): the parameters marked ``lever=True`` before roles existed,
#: and ``police.duty_first`` (issue #10: how far the regime sends its police to the crowds first).
LEVER_NAMES = (
    "opposition.violent_share",
    "opposition.amnesty",
    "soldiers.pay",
    "soldiers.officer_bonus",
    "soldiers.arrears",
    "soldiers.business_stake",
    "soldiers.indoctrination",
    "soldiers.rotation",
    "soldiers.surveillance",
    "soldiers.punishment",
    "soldiers.family_reprisal",
    "soldiers.exit_barrier",
    "soldiers.guard_share",
    "soldiers.ethnic_stacking",
    "soldiers.purge_rate",
    "police.duty_first",
    "regime.repression",
    "regime.selective_deployment",
    "regime.lethality",
    "regime.messaging",
    "regime.information_control",
    "elites.rents",
    "elites.purge_risk",
)

#: The behavioural parameters, the set calibration fits (SALib's Morris screen first). Listed here
#: so that a change to the set shows in review.
BEHAVIOURAL_NAMES = (
    "protest.threshold",
    "protest.arrest_k",
    "protest.backfire",
    "protest.backfire_lethality",
    "opposition.defector_value",
    "opposition.officer_reward_factor",
    "opposition.fight_risk",
    "opposition.w_support",
    "soldiers.w_pay",
    "soldiers.loyalty",
    "soldiers.loyalty_sd",
    "soldiers.core_loyalty",
    "soldiers.core_tied_fate",
    "soldiers.moral_cost",
    "soldiers.conscience_sd",
    "soldiers.crowd_scale",
    "soldiers.shared_identity",
    "soldiers.home_region",
    "soldiers.lethality_weight",
    "soldiers.nonviolence_weight",
    "soldiers.safety_in_numbers",
    "soldiers.peer_weight",
    "soldiers.threshold",
    "soldiers.threshold_sd",
    "soldiers.choice_noise",
    "soldiers.desert_punishment",
    "soldiers.guard_loyalty",
    "soldiers.guard_resentment",
    "soldiers.follow_commander",
    "soldiers.follower_detection",
    "soldiers.w_legitimacy",
    "soldiers.legitimacy_desert_share",
    "soldiers.conscript_exit",
    "soldiers.conscript_loyalty",
    "police.loyalty",
    "belief.intercept",
    "belief.w_protest",
    "belief.w_defect",
    "belief.w_elite",
    "belief.w_armed",
    "belief.w_messaging",
    "belief.w_neighbours",
    "belief.memory",
    "belief.w_support",
    "regime.concession_nonviolent",
    "regime.concession_violent",
    "regime.concession_elasticity",
    "regime.concession_defection",
    "elites.loyalty",
    "elites.loyalty_sd",
    "elites.softline_gap",
    "elites.outside_option",
    "elites.peer_weight",
    "elites.armed_threat",
    "elites.steady_margin",
    "elites.choice_noise",
    "elites.plot_signal",
    "elites.plot_quorum",
    "elites.plot_protest_gain",
    "elites.client_follow",
)


def _every_registry_entry():
    fields = [*REGION_OWN.values(), *GROUP_FIELDS.values()]
    fields += [p for kind in EVENT_FIELDS.values() for p in kind.values()]
    return [*PARAMS, *fields]


def test_every_parameter_has_a_role():
    assert ROLES == ("behavioural", "structure", "lever", "measurement", "numerical")
    for p in _every_registry_entry():
        assert p.role in ROLES, p.name


def test_levers_are_exactly_the_role_lever_and_unchanged():
    assert all(p.role == "lever" and p.lever for p in LEVERS)
    assert not [p.name for p in PARAMS if p.lever != (p.role == "lever")]
    assert tuple(p.name for p in LEVERS) == LEVER_NAMES


def test_role_rules_of_thumb():
    """The roles follow their definitions where a name says enough."""
    for p in PARAMS:
        if p.section == "outcome":
            assert p.role == "measurement", p.name
    for name in ("protest.mobilisable_share", "protest.peak_share", "protest.denominator"):
        assert BY_NAME[name].role == "measurement", name
    for name in ("run.horizon", "grid.substeps", "grid.move_tries", "protest.rounding"):
        assert BY_NAME[name].role == "numerical", name
    for name in ("grid.width", "grid.height", "soldiers.squad_size", "elites.count"):
        assert BY_NAME[name].role == "structure", name
    # event fields that set a lever are levers; the others are facts of the case
    for kind in EVENT_FIELDS.values():
        for p in kind.values():
            sets = p.meaning.removeprefix("Sets ").rstrip(".")
            assert p.role == ("lever" if sets in BY_NAME and BY_NAME[sets].lever else "structure")


def test_behavioural_parameters_are_listed_and_screenable():
    assert tuple(p.name for p in BEHAVIOURAL) == BEHAVIOURAL_NAMES
    assert all(p.role == "behavioural" for p in BEHAVIOURAL)
    for p in BEHAVIOURAL:  # a Morris screen needs a numeric range around the default
        assert p.type in ("float", "int") and p.lo < p.hi, p.name
        assert p.lo <= p.default <= p.hi, p.name


def test_markdown_table_shows_roles_and_lists_the_behavioural_parameters():
    table = markdown_table(role="behavioural").splitlines()
    assert table[0] == "| name | default | range | unit | role | meaning | source |"
    rows = table[2:]
    assert [r.split("`")[1] for r in rows] == list(BEHAVIOURAL_NAMES)
    assert all("| behavioural |" in r for r in rows)
    full = markdown_table()
    for p in PARAMS:
        row = next(r for r in full.splitlines() if r.startswith(f"| `{p.name}`"))
        assert f"| {p.role} |" in row, p.name
    levers = markdown_table(levers_only=True).splitlines()[2:]
    assert [r.split("`")[1] for r in levers] == list(LEVER_NAMES)
