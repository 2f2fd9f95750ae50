"""Fuzz suite (issue #9): generated malformed and hostile scenario files, sweep files and command
lines. Each kind must give exit 2, exactly one line on stderr (``error: ...``, naming the file,
field or option), no traceback, and write nothing.

The corpus is generated: values come from the parameter registry (a seeded draw picks which
parameter each kind of bad value goes into), names from a list of hostile strings, structures
from a valid scenario and a valid sweep taken apart in every way listed below. Every kind runs
in a work folder that already holds a ``results/`` folder with a run in it; after the command the
whole folder must be byte for byte what it was (nothing written, nothing replaced, nothing left
behind). Scenario files go through both ``validate`` and ``run``, which must print the same line
(``validate`` runs every check ``run`` runs). Everything runs in-process (Typer's CliRunner).

A second test feeds Hypothesis's random mutations of a valid scenario to ``validate``: whatever
the mutation, the answer is ``ok`` (exit 0) or one ``error:`` line per problem (exit 2), never a
traceback.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import random
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cli_kit import invoke
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from defection.model.limits import DEFAULT
from defection.model.outputs import SWEEP_SERIES
from defection.model.params import EVENT_FIELDS, GROUP_FIELDS, PARAMS, REGION_FIELDS

# ------------------------------------------------------------------------------------------------
# the corpus
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """One kind of bad input.

    Attributes:
        name: Unique name (the test id).
        command: ``scenario`` (the file ``s.toml`` through validate and run), ``sweep`` (the file
            ``w.toml`` through sweep), or ``cli`` (``args`` as given).
        files: Files to create in the work folder: name -> text or bytes.
        args: The command line (``cli`` kinds).
        needle: A string the error line must contain (besides the file name).
    """

    name: str
    command: str
    files: dict[str, str | bytes] = field(default_factory=dict)
    args: tuple[str, ...] = ()
    needle: str = ""


def tv(value) -> str:
    """A value as a TOML literal."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # JSON's escapes are TOML's (\uXXXX, \n, \", \\)
    if isinstance(value, list):
        return "[" + ", ".join(tv(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {tv(v)}" for k, v in value.items()) + "}"
    if isinstance(value, dt.datetime):
        return value.isoformat()
    raise TypeError(value)


HEAD = '[scenario]\nname = "fz"\n'
SMALL = "[grid]\nwidth = 20\nheight = 20\n"
REGIONS = '[[regions]]\nname = "north"\ncapital = true\n[[regions]]\nname = "south"\n'
GROUPS = '[[groups]]\nname = "majority"\nshare = 0.8\n[[groups]]\nname = "ruling"\ncore = true\n'

#: Hostile names: each breaks the name rule (scenario, region, group and sweep names).
HOSTILE_NAMES = {
    "path traversal": "../../../escaped",
    "absolute path": "/tmp/escaped",
    "sql injection": 'x" DOUBLE; DROP TABLE series; DELETE FROM runs; --',
    "quote": "north 'A'",
    "upper case": "North",
    "leading digit": "1north",
    "too long": "n" * 65,
    "empty": "",
    "newline": "a\nb",
    "nul": "a\u0000b",
    "unicode": "nörth",
    "space": "north east",
    "dot": "a.b",
    "slash": "a/b",
}

RNG = random.Random(9)  # which parameter each kind of value goes into: drawn, but the same each run


def _pick(candidates):
    return RNG.choice(sorted(candidates, key=lambda p: p.name))


def _section_value(p, value) -> str:
    return HEAD + f"[{p.section}]\n{p.leaf} = {tv(value)}\n"


def scenario_kinds() -> list[Kind]:
    kinds: list[Kind] = []

    def add(name: str, text: str | bytes, needle: str = "", extra: dict | None = None) -> None:
        kinds.append(
            Kind(f"scenario: {name}", "scenario", {"s.toml": text, **(extra or {})}, (), needle)
        )

    # -- not a TOML document ---------------------------------------------------------------------
    add("empty file", "", "field `scenario`")
    add("only a comment", "# nothing here\n", "field `scenario`")
    add("binary garbage", bytes(RNG.randrange(256) for _ in range(512)), "")
    add("not UTF-8", HEAD.encode() + b'title = "caf\xe9"\n', "UTF-8")
    add("byte order mark", "\ufeff" + HEAD, "not valid TOML")
    add("NUL byte", HEAD + "title = 'a\x00b'\n", "not valid TOML")
    add("unterminated string", HEAD + 'title = "open\n', "not valid TOML")
    add("duplicate key", HEAD + "[soldiers]\npay = 1.0\npay = 2.0\n", "not valid TOML")
    add(
        "table twice", HEAD + "[soldiers]\npay = 1.0\n[soldiers]\narrears = 0.1\n", "not valid TOML"
    )
    add("bad escape", HEAD + 'title = "\\q"\n', "not valid TOML")
    add("unclosed inline table", HEAD + "[soldiers]\npay = {a = 1\n", "not valid TOML")
    add("table and array of tables", HEAD + "[regions]\n[[regions]]\n", "not valid TOML")
    add("bad bare key", HEAD + "[soldiers]\npay! = 1.0\n", "not valid TOML")
    add(
        "inline tables 400 deep",
        HEAD + "[soldiers]\npay = " + "{a = " * 400 + "1" + "}" * 400,
        "too deeply",
    )
    add("arrays 2000 deep", HEAD + "[soldiers]\npay = " + "[" * 2000 + "1" + "]" * 2000, "nest")
    add("tables 20 deep", HEAD + "x = " + "{a = " * 20 + "1" + "}" * 20 + "\n", "levels deep")
    add("file over the size limit", HEAD + "#" * (DEFAULT.file_bytes + 1) + "\n", "bytes")
    # -- structure --------------------------------------------------------------------------------
    add("no [scenario] table", "[soldiers]\npay = 1.0\n", "field `scenario`")
    add("scenario not a table", "scenario = 3\n", "field `scenario`")
    add("no scenario name", '[scenario]\ntitle = "x"\n', "field `scenario.name`")
    add("scenario name not a string", "[scenario]\nname = 3\n", "field `scenario.name`")
    add("section not a table", "soldiers = 3\n" + HEAD, "field `soldiers`")
    add("regions not an array", "regions = 3\n" + HEAD, "field `regions`")
    add("regions of numbers", "regions = [1]\n" + HEAD, "field `regions[0]`")
    add("events not an array", 'events = "soon"\n' + HEAD, "field `events`")
    add("sources not a table", "sources = [1]\n" + HEAD, "field `sources`")
    # -- hostile names ----------------------------------------------------------------------------
    for what, name in HOSTILE_NAMES.items():
        add(f"scenario name: {what}", f"[scenario]\nname = {tv(name)}\n", "must be a name")
    for what in ("sql injection", "path traversal", "quote"):
        add(
            f"region name: {what}",
            HEAD + f"[[regions]]\nname = {tv(HOSTILE_NAMES[what])}\n",
            "must be a name",
        )
        add(
            f"group name: {what}",
            HEAD + f"[[groups]]\nname = {tv(HOSTILE_NAMES[what])}\n",
            "must be a name",
        )
    # -- unknown keys -----------------------------------------------------------------------------
    p = _pick([q for q in PARAMS])
    add("unknown table", HEAD + f"[{p.section}z]\n{p.leaf} = 1\n", "unknown key")
    add(
        "misspelled parameter", HEAD + f"[{p.section}]\n{p.leaf}x = 1\n", f"did you mean `{p.leaf}`"
    )
    add("unknown key in [scenario]", HEAD + 'author = "me"\n', "unknown key `author`")
    add("unknown region field", HEAD + REGIONS + "legitimcy = 0.5\n", "did you mean `legitimacy`")
    add("unknown group field", HEAD + GROUPS + "shares = 0.5\n", "unknown key `shares`")
    kind = RNG.choice(sorted(EVENT_FIELDS))
    add(
        "unknown event field",
        HEAD + f'[[events]]\nday = 1\nkind = "{kind}"\nwhen = 3\n',
        "unknown key `when`",
    )
    # -- values, drawn from the registry ----------------------------------------------------------
    floats = [q for q in PARAMS if q.type == "float"]
    ints = [q for q in PARAMS if q.type == "int"]
    bools = [q for q in PARAMS if q.type == "bool"]
    choices = [q for q in PARAMS if q.type == "choice"]
    for what, make in {
        "below its range": lambda q: q.lo - max(1.0, abs(q.lo)),
        "above its range": lambda q: q.hi + max(1.0, abs(q.hi)),
        "inf": lambda q: math.inf,
        "-inf": lambda q: -math.inf,
        "nan": lambda q: math.nan,
        "a string": lambda q: "high",
        "a numeric string": lambda q: str(q.default),
        "a bool": lambda q: True,
        "an array": lambda q: [q.default],
        "a table": lambda q: {"value": q.default},
        "a date": lambda q: dt.datetime(2011, 3, 15, 12, 0, tzinfo=dt.UTC),
    }.items():
        q = _pick(floats)
        add(f"float parameter {what}", _section_value(q, make(q)), f"field `{q.name}`")
    for what, make in {
        "a fraction": lambda q: q.lo + 0.5,
        "below its range": lambda q: int(q.lo) - 1,
        "above its range": lambda q: int(q.hi) + 1,
        "2**63": lambda q: 2**63 - 1,
        "a string": lambda q: "many",
    }.items():
        q = _pick(ints)
        add(f"int parameter {what}", _section_value(q, make(q)), f"field `{q.name}`")
    q = _pick(bools)
    add("switch as a string", _section_value(q, "true"), f"field `{q.name}`")
    add("switch as a number", _section_value(q, 1), f"field `{q.name}`")
    q = _pick(choices)
    add("unknown choice", _section_value(q, "uniform_random"), f"field `{q.name}`")
    add("choice as a number", _section_value(q, 2), f"field `{q.name}`")
    leaf = RNG.choice(sorted(k for k, v in REGION_FIELDS.items() if v.type == "float"))
    add("region value out of range", HEAD + REGIONS + f"{leaf} = 7.5\n", f"regions.south.{leaf}")
    add("region value nan", HEAD + REGIONS + f"{leaf} = nan\n", "finite")
    add("region population inf", HEAD + REGIONS + "population = inf\n", "finite")
    add("region population negative", HEAD + REGIONS + "population = -1.0\n", "population")
    gleaf = RNG.choice(sorted(k for k, v in GROUP_FIELDS.items() if v.type == "float"))
    add("group value nan", HEAD + GROUPS + f"{gleaf} = nan\n", "finite")
    add("group share above 1", HEAD + GROUPS + "share = 1.5\n", "groups.ruling.share")
    add(
        "region mix unknown group",
        HEAD + GROUPS + REGIONS + "groups = {majorty = 1.0}\n",
        "did you mean `majority`",
    )
    add(
        "region mix share above 1",
        HEAD + GROUPS + REGIONS + "groups = {majority = 2.0}\n",
        "regions.south.groups",
    )
    add("region mix as a string", HEAD + GROUPS + REGIONS + 'groups = "all"\n', "regions.south")
    ekind = RNG.choice(
        [
            k
            for k in sorted(EVENT_FIELDS)
            if any(f.type == "float" for f in EVENT_FIELDS[k].values())
        ]
    )
    eleaf = next(k for k, f in EVENT_FIELDS[ekind].items() if f.type == "float")
    event = f'[[events]]\nday = 3\nkind = "{ekind}"\n'
    add("event value out of range", HEAD + event + f"{eleaf} = 9.0\n", f"events[0].{eleaf}")
    add("event value nan", HEAD + event + f"{eleaf} = nan\n", "finite")
    add("event value a string", HEAD + event + f'{eleaf} = "lots"\n', f"events[0].{eleaf}")
    # -- rules across fields ----------------------------------------------------------------------
    add("duplicate region names", HEAD + REGIONS + '[[regions]]\nname = "north"\n', "appears twice")
    add("duplicate group names", HEAD + GROUPS + '[[groups]]\nname = "ruling"\n', "appears twice")
    add("two capitals", HEAD + REGIONS + "capital = true\n", "capital")
    add("two core groups", HEAD + GROUPS + '[[groups]]\nname = "third"\ncore = true\n', "core")
    add("ranks above one", HEAD + "[soldiers]\nofficer_share = 0.6\nnco_share = 0.5\n", "at most 1")
    add("unknown event kind", HEAD + '[[events]]\nday = 3\nkind = "invasion"\n', "events[0].kind")
    add(
        "event field of another kind",
        HEAD + '[[events]]\nday = 3\nkind = "crackdown"\npay = 0.5\n',
        "a `crackdown` event takes",
    )
    add("event that sets nothing", HEAD + '[[events]]\nday = 3\nkind = "pay_cut"\n', "needs `pay`")
    add("event day negative", HEAD + '[[events]]\nday = -1\nkind = "crackdown"\n', "events[0].day")
    add(
        "event day after the horizon",
        HEAD + '[[events]]\nday = 400\nkind = "crackdown"\n',
        "after the horizon",
    )
    add(
        "event day a fraction",
        HEAD + '[[events]]\nday = 2.5\nkind = "crackdown"\n',
        "events[0].day",
    )
    add(
        "event day 2**62",
        HEAD + f'[[events]]\nday = {2**62}\nkind = "crackdown"\n',
        "after the horizon",
    )
    add(
        "event in an unknown region",
        HEAD + REGIONS + '[[events]]\nday = 3\nkind = "legitimacy_shock"\ndelta = -0.1\n'
        'region = "mars"\n',
        "unknown region `mars`",
    )
    add(
        "event region a hostile name",
        HEAD + '[[events]]\nday = 3\nkind = "legitimacy_shock"\ndelta = -0.1\n'
        f"region = {tv(HOSTILE_NAMES['path traversal'])}\n",
        "events[0].region",
    )
    add(
        "source of no parameter",
        HEAD + '[sources]\n"soldiers.payy" = "me"\n',
        "did you mean `soldiers.pay`",
    )
    add("source not text", HEAD + '[sources]\n"soldiers.pay" = 3\n', "sources")
    add(
        "historical without sources",
        '[scenario]\nname = "fz"\nhistorical = true\n[soldiers]\npay = 2.0\n',
        "without a source",
    )
    # -- extends ----------------------------------------------------------------------------------
    add("extends a missing parent", HEAD + 'extends = "no_such_parent"\n', "no_such_parent")
    add("extends not a string", HEAD + "extends = 3\n", "must be a string")
    add("extends itself", HEAD + 'extends = "s.toml"\n', "circular")
    add(
        "extends in a circle",
        HEAD + 'extends = "p.toml"\n',
        "circular",
        {"p.toml": '[scenario]\nname = "p"\nextends = "s.toml"\n'},
    )
    chain = {
        f"c{i}.toml": f'[scenario]\nname = "c{i}"\nextends = "c{i + 1}.toml"\n'
        for i in range(1, 1_200)
    }
    chain["c1200.toml"] = '[scenario]\nname = "c1200"\n'
    add("extends a chain of 1,200 files", HEAD + 'extends = "c1.toml"\n', "chain of extends", chain)
    add(
        "extends a folder",
        HEAD + 'extends = "folder"\n',
        "scenario.extends",
        {"folder/x.toml": HEAD},
    )
    add("extends a file that is not TOML", HEAD + 'extends = "/etc/passwd"\n', "")
    add(
        "extends a parent with a bad value",
        HEAD + 'extends = "p.toml"\n',
        "soldiers.pay",
        {"p.toml": '[scenario]\nname = "p"\n[soldiers]\npay = 99.0\n'},
    )
    add(
        "extends a parent nested 400 deep",
        HEAD + 'extends = "p.toml"\n',
        "too deeply",
        {"p.toml": '[scenario]\nname = "p"\nx = ' + "{a = " * 400 + "1" + "}" * 400 + "\n"},
    )
    add("extends a name with NUL", HEAD + 'extends = "a\\u0000b"\n', "scenario.extends")
    add(
        "extends a name of 5,000 characters",
        HEAD + f'extends = "{"p" * 5000}"\n',
        "scenario.extends",
    )
    # -- size limits ------------------------------------------------------------------------------
    add("horizon over the limit", HEAD + "[run]\nhorizon = 20000\n", "field `run.horizon`")
    add("grid over the limit", HEAD + "[grid]\nwidth = 3000\nheight = 3000\n", "field `grid`")
    add("cells over the limit", HEAD + "[grid]\nwidth = 1500\nheight = 1500\n" + REGIONS, "in all")
    add(
        "agents over the limit",
        HEAD + "[grid]\nwidth = 1600\nheight = 1600\n[protest]\ncitizen_density = 1.0\n"
        "[soldiers]\ngarrison_density = 0.0\n",
        "agents",
    )
    add(
        "soldiers.count over the limit",
        HEAD + "[grid]\nwidth = 500\nheight = 500\n[protest]\ncitizen_density = 0.0\n"
        "[soldiers]\ncount = 200000\ngarrison_density = 1.0\n",
        "field `soldiers.count`",
    )
    add(
        "soldiers by density over the limit",
        HEAD + "[grid]\nwidth = 500\nheight = 500\n[protest]\ncitizen_density = 0.0\n"
        "[soldiers]\ngarrison_density = 1.0\n",
        "field `soldiers.garrison_density`",
    )
    add(
        "too many regions",
        HEAD + "".join(f'[[regions]]\nname = "r{i}"\n' for i in range(65)),
        "65 regions",
    )
    add(
        "too many groups",
        HEAD + "".join(f'[[groups]]\nname = "g{i}"\n' for i in range(17)),
        "17 groups",
    )
    add(
        "too many events", HEAD + '[[events]]\nday = 1\nkind = "crackdown"\n' * 1001, "1,001 events"
    )
    add(
        "regions x groups x days over the limit",
        HEAD
        + "[run]\nhorizon = 10000\n"
        + GROUPS
        + "".join(f'[[regions]]\nname = "r{i}"\n' for i in range(64)),
        "region-group-days",
    )
    add(
        "memory over the budget",
        HEAD + "[grid]\nwidth = 1100\nheight = 1100\n" + REGIONS,
        "budget of 1,024 MiB",
    )
    # -- the model's own checks (validate must say what run says) ---------------------------------
    add(
        "vision wider than the grid",
        HEAD + "[grid]\nwidth = 9\nheight = 9\n[protest]\nvision = 6\n[soldiers]\nvision = 2\n",
        "field `protest.vision`",
    )
    add(
        "densities above 1",
        HEAD + SMALL + REGIONS + "citizen_density = 0.9\ngarrison_density = 0.2\n",
        "must be at most 1",
    )
    add("more soldiers than free cells", HEAD + SMALL + "[soldiers]\ncount = 350\n", "do not fit")
    add(
        "soldiers and no garrison anywhere",
        HEAD + SMALL + "[soldiers]\ncount = 10\ngarrison_density = 0.0\n",
        "no region",
    )
    add(
        "a stated peak nobody reaches",
        HEAD + SMALL + "[protest]\nlegitimacy = 1.0\npeak_share = 0.01\n",
        "protest.peak_share",
    )
    add(
        "a stated peak above the population",
        HEAD + SMALL + "[protest]\nlegitimacy = 0.85\npeak_share = 0.5\n",
        "mobilisable",
    )
    return kinds


SWEEP_HEAD = '[sweep]\nname = "fz"\nscenario = "baseline"\nseed = 3\n'
SWEEP_SET = '[set]\n"run.horizon" = 5\n"grid.width" = 20\n"grid.height" = 20\n'
PAY = '[vary."soldiers.pay"]\nvalues = [0.5, 2.0]\n'


def sweep_kinds() -> list[Kind]:
    kinds: list[Kind] = []

    def add(name: str, text: str, needle: str = "", extra: dict | None = None) -> None:
        kinds.append(Kind(f"sweep: {name}", "sweep", {"w.toml": text, **(extra or {})}, (), needle))

    def axis(address: str, body: str) -> str:
        return SWEEP_HEAD + SWEEP_SET + f"[vary.{json.dumps(address)}]\n{body}\n"

    q = _pick([p for p in PARAMS if p.type == "float" and p.role == "lever"])
    add("not TOML", "[sweep\n", "not valid TOML")
    add("no [sweep] table", SWEEP_SET + PAY, "field `sweep`")
    add("no [vary] table", SWEEP_HEAD + SWEEP_SET, "field `vary`")
    add("empty [vary]", SWEEP_HEAD + SWEEP_SET + "[vary]\n", "name at least one parameter")
    add("unknown table", SWEEP_HEAD + SWEEP_SET + PAY + "[extras]\nx = 1\n", "unknown key")
    add("misspelled key", SWEEP_HEAD.replace("seed", "sed") + SWEEP_SET + PAY, "did you mean")
    for what in ("sql injection", "path traversal", "upper case"):
        add(
            f"name: {what}",
            SWEEP_HEAD.replace('"fz"', tv(HOSTILE_NAMES[what])) + SWEEP_SET + PAY,
            "sweep.name",
        )
    add("unknown design", SWEEP_HEAD + 'design = "random"\n' + SWEEP_SET + PAY, "sweep.design")
    add("no replicates", SWEEP_HEAD + "replicates = 0\n" + SWEEP_SET + PAY, "sweep.replicates")
    add(
        "too many replicates",
        SWEEP_HEAD + "replicates = 1000000\n" + SWEEP_SET + PAY,
        "sweep.replicates",
    )
    add(
        "negative seed", SWEEP_HEAD.replace("seed = 3", "seed = -3") + SWEEP_SET + PAY, "sweep.seed"
    )
    add("seed of 2**63", SWEEP_HEAD.replace("seed = 3", f"seed = {2**63}") + SWEEP_SET + PAY, "")
    add("samples on a grid", SWEEP_HEAD + "samples = 8\n" + SWEEP_SET + PAY, "sweep.samples")
    add(
        "lhs without samples",
        SWEEP_HEAD
        + 'design = "lhs"\n'
        + SWEEP_SET
        + f'[vary."{q.name}"]\nrange = [{q.lo}, {q.hi}]\n',
        "needs `samples`",
    )
    add(
        "sobol samples not a power of 2",
        SWEEP_HEAD
        + 'design = "sobol"\nsamples = 12\n'
        + SWEEP_SET
        + f'[vary."{q.name}"]\nrange = [{q.lo}, {q.hi}]\n',
        "power of 2",
    )
    add("unknown parameter", axis(q.name + "x", "values = [0.5]"), "did you mean")
    add(
        "region that does not exist",
        axis("regions.atlantis.legitimacy", "values = [0.5]"),
        "no region named `atlantis`",
    )
    add(
        "hostile region in an address",
        axis('regions.x"; DROP TABLE runs; --.legitimacy', "values = [0.5]"),
        "no region named",
    )
    add("empty values", axis(q.name, "values = []"), f"vary.{q.name}")
    add(
        "values equal after conversion",
        axis(q.name, f"values = [{int(q.lo)}, {float(q.lo)}]"),
        "the same value",
    )
    add("value out of range", axis(q.name, f"values = [{q.hi + 1}]"), "refused")
    add("value of the wrong type", axis(q.name, 'values = ["high"]'), "refused")
    add("value nan", axis(q.name, "values = [nan]"), "refused")
    add(
        "range from high to low",
        axis(q.name, f"range = [{q.hi}, {q.lo}]\nsteps = 3"),
        "low to high",
    )
    add(
        "range outside the bounds",
        axis(q.name, f"range = [{q.lo}, {q.hi + 5}]\nsteps = 3"),
        "outside the parameter's bounds",
    )
    add("range with inf", axis(q.name, f"range = [{q.lo}, inf]\nsteps = 3"), "finite")
    add("range of three numbers", axis(q.name, "range = [0, 0.5, 1]\nsteps = 3"), "range")
    add("one step", axis(q.name, f"range = [{q.lo}, {q.hi}]\nsteps = 1"), "steps")
    add("steps over the limit", axis(q.name, f"range = [{q.lo}, {q.hi}]\nsteps = 100000"), "steps")
    add(
        "values and range",
        axis(q.name, f"values = [0.5]\nrange = [{q.lo}, {q.hi}]"),
        "either `values` or `range`",
    )
    add(
        "a 10000^3 grid",
        SWEEP_HEAD
        + SWEEP_SET
        + "".join(
            f'[vary."{a}"]\nrange = [0.0, 1.0]\nsteps = 10000\n'
            for a in ("regime.repression", "soldiers.surveillance", "regime.lethality")
        ),
        "1,000,000,000,000 runs",
    )
    add(
        "lhs with values",
        SWEEP_HEAD
        + 'design = "lhs"\nsamples = 4\n'
        + SWEEP_SET
        + f'[vary."{q.name}"]\nvalues = [0.5]\n',
        "samples `range",
    )
    add(
        "lhs over a switch",
        SWEEP_HEAD
        + 'design = "lhs"\nsamples = 4\n'
        + SWEEP_SET
        + '[vary."soldiers.can_defect"]\nrange = [0, 1]\n',
        "numeric",
    )
    add(
        "range over a choice",
        axis("soldiers.threshold_dist", "range = [0, 1]\nsteps = 2"),
        "numeric",
    )
    add(
        "[set] unknown parameter",
        SWEEP_HEAD + SWEEP_SET + '"soldiers.payy" = 1.0\n' + PAY,
        "did you mean",
    )
    add(
        "[set] out of range",
        SWEEP_HEAD + SWEEP_SET + '"regime.lethality" = 4.0\n' + PAY,
        "regime.lethality",
    )
    b = _pick([p for p in PARAMS if p.build_only and p.type == "float" and p.hi <= 1])
    add(
        "[set] build-only lever out of range",
        SWEEP_HEAD + SWEEP_SET + f'"{b.name}" = {b.hi + 1}\n' + PAY,
        b.name,
    )
    add("vary build-only lever out of range", axis(b.name, f"values = [{b.hi + 1}]"), "refused")
    add(
        "set and varied",
        SWEEP_HEAD + SWEEP_SET + '"soldiers.pay" = 1.0\n' + PAY,
        "also fixed in [set]",
    )
    add(
        "unknown series",
        SWEEP_HEAD + SWEEP_SET + PAY + '[outputs]\nseries = ["active"]\n',
        "unknown series",
    )
    add(
        "series twice",
        SWEEP_HEAD + SWEEP_SET + PAY + f"[outputs]\nseries = {tv([SWEEP_SERIES[0]] * 2)}\n",
        "twice",
    )
    add(
        "missing scenario",
        SWEEP_HEAD.replace('"baseline"', '"baselin"') + SWEEP_SET + PAY,
        "did you mean `baseline`",
    )
    add(
        "scenario that is not valid",
        SWEEP_HEAD.replace('"baseline"', '"bad.toml"') + PAY,
        "sweep.scenario",
        {"bad.toml": HEAD + "[soldiers]\npay = 9.0\n"},
    )
    add(
        "scenario at an absolute path",
        SWEEP_HEAD.replace('"baseline"', '"/etc/shadow"') + PAY,
        "sweep.scenario",
    )
    add(
        "[set] 400 deep",
        SWEEP_HEAD + "[set]\nx = " + "{a = " * 400 + "1" + "}" * 400 + "\n" + PAY,
        "too deeply",
    )
    add(
        "[vary] 400 deep",
        SWEEP_HEAD + SWEEP_SET + "[vary]\nx = " + "{a = " * 400 + "1" + "}" * 400 + "\n",
        "too deeply",
    )
    add(
        "a point the model refuses",
        SWEEP_HEAD
        + SWEEP_SET.replace('"grid.width" = 20\n', '"soldiers.vision" = 2\n')
        + '[vary."grid.width"]\nvalues = [10, 30]\n',
        "vision",
    )
    add(
        "a point over the size limits",
        SWEEP_HEAD
        + SWEEP_SET.replace('"grid.width" = 20\n"grid.height" = 20\n', "")
        + '[vary."grid.width"]\nvalues = [20, 3000]\n[vary."grid.height"]\nvalues = [20, 3000]\n',
        "field `grid`",
    )
    add("soldiers that do not fit", axis("soldiers.count", "values = [10, 5000]"), "do not fit")
    add("file over the size limit", SWEEP_HEAD + "#" * (DEFAULT.file_bytes + 1) + "\n", "bytes")
    return kinds


def cli_kinds() -> list[Kind]:
    kinds: list[Kind] = []
    spec = {"w.toml": SWEEP_HEAD + SWEEP_SET + PAY}

    def add(name: str, args: list[str], needle: str = "", files: dict | None = None) -> None:
        kinds.append(Kind(f"cli: {name}", "cli", files or {}, tuple(args), needle))

    run = ["run", "baseline", "-q"]
    p = _pick([q for q in PARAMS if q.type == "float"])
    add("run --seed -1", [*run, "--seed", "-1"], "--seed -1")
    add("run --seed not a number", [*run, "--seed", "one"], "--seed")
    add("run --seed a fraction", [*run, "--seed", "1.5"], "--seed")
    add("run --steps 0", [*run, "--steps", "0"], "--steps")
    add("run --steps negative", [*run, "--steps", "-3"], "--steps")
    add("run --steps over the horizon limit", [*run, "--steps", "20000"], "run.horizon")
    add("run --set without =", [*run, "--set", "soldiers.pay"], "expected name=value")
    add("run --set without a value", [*run, "--set", "soldiers.pay="], "expected name=value")
    add("run --set without a name", [*run, "--set", "=1"], "expected name=value")
    add("run --set unknown parameter", [*run, "--set", f"{p.name}x=1"], "unknown parameter")
    add("run --set out of range", [*run, "--set", f"{p.name}={p.hi + 1}"], "must be between")
    add("run --set nan", [*run, "--set", f"{p.name}=nan"], p.name)
    add("run --set inf", [*run, "--set", f"{p.name}=inf"], p.name)
    add("run --set a string", [*run, "--set", f"{p.name}=lots"], p.name)
    add("run --set a table", [*run, "--set", f"{p.name}={{a = 1}}"], p.name)
    add(
        "run --set nested 400 deep", [*run, "--set", f"{p.name}=" + "[" * 400 + "]" * 400], "nested"
    )
    b = _pick([q for q in PARAMS if q.build_only and q.type == "int"])
    add("run --set build-only out of range", [*run, "--set", f"{b.name}={int(b.hi) + 1}"], b.name)
    add(
        "run --set unknown region",
        [*run, "--set", "regions.atlantis.legitimacy=0.5"],
        "no region named",
    )
    add("run --set hostile region", [*run, "--set", "regions.../../x.legitimacy=0.5"], "")
    add("run --out a file", [*run, "--out", "afile"], "is a file", {"afile": "x"})
    add("run --out below a file", [*run, "--out", "afile/run"], "below", {"afile": "x"})
    add(
        "run --out a folder of other files",
        [*run, "--out", "mine"],
        "not a run folder",
        {"mine/notes.txt": "mine"},
    )
    add("run an unknown scenario", ["run", "basline"], "did you mean `baseline`")
    add("run a folder", ["run", "folder"], "no such file", {"folder/x.txt": "x"})
    add("run a 5,000-character path", ["run", "x" * 5000], "")
    add("run without a scenario", ["run"], "Missing argument")
    add("run an unknown option", [*run, "--speed", "3"], "No such option")
    add("validate a missing file", ["validate", "nothere.toml"], "no such file")
    add("sweep --workers 0", ["sweep", "w.toml", "--workers", "0"], "--workers", spec)
    add(
        "sweep --workers and --scheduler",
        ["sweep", "w.toml", "--workers", "2", "--scheduler", "tcp://127.0.0.1:1"],
        "--workers and --scheduler",
        spec,
    )
    add(
        "sweep --scheduler not an address",
        ["sweep", "w.toml", "--scheduler", "not a url"],
        "--scheduler",
        spec,
    )
    add(
        "sweep --db a folder",
        ["sweep", "w.toml", "--workers", "1", "--db", "results"],
        "--db",
        spec,
    )
    add(
        "sweep --db below a file",
        ["sweep", "w.toml", "--workers", "1", "--db", "afile/s.duckdb"],
        "--db",
        {**spec, "afile": "x"},
    )
    add("sweep a missing file", ["sweep", "nothere.toml", "--workers", "1"], "cannot read")
    add("report --outcome unknown", ["report", "x", "--outcome", "victory"], "--outcome")
    add("report --out a file", ["report", "x", "--out", "afile"], "--out", {"afile": "x"})
    add("ui --port 70000", ["ui", "baseline", "--port", "70000"], "--port 70000")
    add("ui --host not an address", ["ui", "baseline", "--host", "999.1.1.1"], "--host")
    add("an unknown command", ["explode"], "No such command")
    add("params --levers with a value", ["params", "--levers=maybe"], "")
    return kinds


KINDS = scenario_kinds() + sweep_kinds() + cli_kinds()
BY_KIND = {k.name: k for k in KINDS}


def test_the_corpus_has_at_least_100_kinds_each_named_once():
    assert len(BY_KIND) == len(KINDS), "two kinds share a name"
    counts = {c: sum(k.command == c for k in KINDS) for c in ("scenario", "sweep", "cli")}
    assert len(KINDS) >= 100, counts
    assert all(n >= 30 for n in counts.values()), counts


# ------------------------------------------------------------------------------------------------
# running a kind
# ------------------------------------------------------------------------------------------------


def _snapshot(root: Path) -> dict[str, str]:
    """Every file and folder under ``root``, with a digest of each file."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            out[rel] = "link"
        elif path.is_dir():
            out[rel] = "dir"
        else:
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


@pytest.fixture
def work(tmp_path, monkeypatch):
    """A work folder with results from an earlier run; ``ui`` is kept from starting a server."""
    monkeypatch.setattr(os, "execve", lambda *a: pytest.fail(f"the UI started: {a[1]}"))
    root = tmp_path / "work"
    run = root / "results" / "runs" / "baseline" / "seed-1"
    run.mkdir(parents=True)
    (run / "summary.json").write_text('{"seed": 1}')
    (root / "results" / "sweeps.duckdb").write_bytes(b"an earlier database")
    return root


def _check_one_line(proc, *needles: str) -> None:
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out, out
    assert proc.returncode == 2, out
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


@pytest.mark.parametrize("name", list(BY_KIND))
def test_a_bad_input_is_one_line_exit_2_and_writes_nothing(name, work):
    kind = BY_KIND[name]
    for rel, content in kind.files.items():
        path = work / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    before = _snapshot(work)
    if kind.command == "scenario":
        checked = invoke("validate", "s.toml", cwd=work)
        _check_one_line(checked, kind.needle)
        ran = invoke("run", "s.toml", "-q", cwd=work)
        _check_one_line(ran, kind.needle)
        assert ran.stderr == checked.stderr  # validate runs every check run runs
    elif kind.command == "sweep":
        proc = invoke("sweep", "w.toml", "--workers", "1", "-q", cwd=work)
        _check_one_line(proc, kind.needle)
    else:
        _check_one_line(invoke(*kind.args, cwd=work), kind.needle)
    assert _snapshot(work) == before


# ------------------------------------------------------------------------------------------------
# random mutations (Hypothesis)
# ------------------------------------------------------------------------------------------------

VALID = (
    HEAD
    + "[run]\nhorizon = 30\n"
    + SMALL
    + "[soldiers]\npay = 1.0\ncount = 40\nguard_share = 0.1\n"
    + "[protest]\nlegitimacy = 0.7\n"
    + GROUPS
    + REGIONS
    + "groups = {majority = 0.5, ruling = 0.5}\n"
    + '[[events]]\nday = 5\nkind = "crackdown"\nrepression = 1.0\n'
)

#: Tokens a mutation may insert: pieces of TOML, numbers at and past the edges, hostile text.
TOKENS = [
    "[",
    "]",
    "{",
    "}",
    "=",
    '"',
    "'",
    ",",
    ".",
    "\n",
    "#",
    "[[regions]]",
    "[soldiers]",
    "nan",
    "inf",
    "-inf",
    "-1",
    "0",
    "1e308",
    "99999999999999999999",
    "true",
    "1979-05-27",
    '"../../x"',
    "\\u0000",
    "name",
    "extends",
    "count",
    "horizon",
    "width",
    "day",
]


@st.composite
def mutated(draw):
    text = VALID
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["insert", "delete", "replace"]))
        token = draw(st.sampled_from(TOKENS) | st.text(max_size=6))
        span = draw(st.integers(1, 12))
        if action == "insert":
            text = text[:at] + token + text[at:]
        elif action == "delete":
            text = text[:at] + text[at + span :]
        else:
            text = text[:at] + token + text[at + span :]
    return text


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=mutated())
def test_a_mutated_scenario_is_ok_or_one_line_per_problem(text, tmp_path_factory):
    folder = tmp_path_factory.mktemp("mut")
    (folder / "s.toml").write_text(text, encoding="utf-8", errors="surrogatepass")
    proc = invoke("validate", "s.toml", cwd=folder)
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out, out
    assert proc.returncode in (0, 2), out
    if proc.returncode == 0:
        assert proc.stdout.startswith("ok: ") and not proc.stderr
    else:
        assert all(ln.startswith("error: ") for ln in proc.stderr.strip().splitlines()), out
    assert sorted(p.name for p in folder.iterdir()) == ["s.toml"]
