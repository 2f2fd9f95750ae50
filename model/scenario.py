"""Scenario files: TOML, validated against a schema generated from the parameter registry.

A scenario file has these tables (all optional but ``[scenario]``)::

    [scenario]            name, title, description, extends, historical
    [run] [grid] [protest] [opposition] [soldiers] [belief] [regime] [elites] [outcome]
                          parameters from the registry (``defection.model.params``)
    [[groups]]            identity groups: name, core, share, legitimacy_shift
    [[regions]]           regions: name, capital, groups = {name = share}, per-region overrides
    [[events]]            scheduled events: day, kind, and the kind's fields
    [sources]             "address" = "citation" or "assumption: reason"

``extends = "baseline"`` (a bundled name or a path relative to the file) loads that scenario first
and overrides it: tables merge key by key, regions and groups merge by name, and ``events`` given in
the child replace the parent's list.

Errors are collected, not raised one at a time: :class:`ScenarioError` holds one line per problem,
each naming the file, the field and the rule.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from defection.model.params import BY_NAME, GROUP_FIELDS, PARAMS, REGION_FIELDS, SECTIONS, Param

EVENT_KINDS = ("pay_cut", "crackdown", "elite_split", "coup", "legitimacy_shock")


class ScenarioError(Exception):
    """Bad scenario input. ``problems`` holds one human-readable line per problem."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


# ------------------------------------------------------------------------------------------------
# schema generated from the registry
# ------------------------------------------------------------------------------------------------

_STRICT = ConfigDict(extra="forbid", strict=True)


def _field_type(p: Param) -> Any:
    if p.type == "bool":
        return bool
    if p.type == "int":
        return int
    if p.type == "choice":
        return Literal[p.choices]  # type: ignore[valid-type]
    return float


def _field(p: Param, default: Any) -> Any:
    kw: dict[str, Any] = {"description": f"{p.meaning} [{p.unit}] Source: {p.source}"}
    if p.type in ("int", "float"):
        kw["ge"], kw["le"] = p.lo, p.hi
    # Strict float accepts ints (TOML writes 1 for 1.0) but refuses bools and numeric strings.
    typ = _field_type(p)
    return (typ | None if default is None else typ, Field(default, **kw))


def _section_model(section: str) -> type[BaseModel]:
    fields = {p.leaf: _field(p, p.default) for p in PARAMS if p.section == section}
    return create_model(section.capitalize(), __config__=_STRICT, **fields)


class Meta(BaseModel):
    """The ``[scenario]`` table."""

    model_config = _STRICT
    name: str = Field(description="Short name (file stem), used in output paths.")
    title: str = Field("", description="Human title.")
    description: str = Field("", description="What the scenario represents.")
    extends: str | None = Field(None, description="Bundled name or relative path of a parent.")
    historical: bool = Field(False, description="Encodes a real case: every value needs a source.")


class Group(BaseModel):
    """An identity group (``[[groups]]``)."""

    model_config = _STRICT
    name: str
    core: bool = Field(False, description="The ruler's own group (ethnic stacking draws from it).")
    share: Annotated[float, Field(ge=0, le=1)] = GROUP_FIELDS["share"][0]
    legitimacy_shift: Annotated[float, Field(ge=-1, le=1)] = GROUP_FIELDS["legitimacy_shift"][0]


def _region_model() -> type[BaseModel]:
    fields: dict[str, Any] = {
        "name": (str, Field(description="Region name (used in addresses).")),
        "capital": (
            bool,
            Field(False, description="The centre: guards stand here; coups aim here."),
        ),
        "population": (
            Annotated[float, Field(ge=0)],
            Field(1.0, description="Relative population: weight of its home-region recruitment."),
        ),
        "groups": (
            dict[str, Annotated[float, Field(ge=0, le=1)]] | None,
            Field(None, description="Identity mix {group = share}; default: national shares."),
        ),
    }
    for leaf, p in REGION_FIELDS.items():
        fields[leaf] = _field(p, None)
    return create_model("Region", __config__=_STRICT, **fields)


Region = _region_model()


class Event(BaseModel):
    """A scheduled event (``[[events]]``). Fields other than day and kind depend on the kind.

    Kinds and their effects (applied at the start of ``day``):
        pay_cut: sets ``soldiers.pay`` to ``pay`` and/or ``soldiers.arrears`` to ``arrears``.
        crackdown: sets ``regime.repression`` to ``repression`` (default 1) and
            ``regime.lethality`` to ``lethality`` if given.
        elite_split: a ``share`` of the still-loyal elites defect publicly.
        coup: a ``share`` of elites (the faction) and their client units try to seize the capital;
            success (their force exceeds the loyal force in the capital) means collapse; failure
            purges them and costs ``legitimacy_cost`` of legitimacy everywhere.
        legitimacy_shock: adds ``delta`` to legitimacy everywhere (or in ``region``).
    """

    model_config = _STRICT
    day: int = Field(ge=0)
    kind: Literal[EVENT_KINDS]  # type: ignore[valid-type]
    note: str = ""
    pay: Annotated[float, Field(ge=0, le=3)] | None = None
    arrears: Annotated[float, Field(ge=0, le=1)] | None = None
    repression: Annotated[float, Field(ge=0, le=1)] | None = None
    lethality: Annotated[float, Field(ge=0, le=1)] | None = None
    share: Annotated[float, Field(ge=0, le=1)] | None = None
    legitimacy_cost: Annotated[float, Field(ge=0, le=1)] | None = None
    delta: Annotated[float, Field(ge=-1, le=1)] | None = None
    region: str | None = None


_SECTION_MODELS = {s: _section_model(s) for s in SECTIONS}

ScenarioModel = create_model(
    "ScenarioFile",
    __config__=_STRICT,
    scenario=(Meta, ...),
    groups=(list[Group], Field(default_factory=list)),
    regions=(list[Region], Field(default_factory=list)),
    events=(list[Event], Field(default_factory=list)),
    sources=(dict[str, str], Field(default_factory=dict)),
    **{s: (m, Field(default_factory=m)) for s, m in _SECTION_MODELS.items()},
)


def json_schema() -> dict[str, Any]:
    """Return the JSON Schema of scenario files (for editors)."""
    schema = ScenarioModel.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "defection scenario file"
    return schema


# ------------------------------------------------------------------------------------------------
# resolved scenario
# ------------------------------------------------------------------------------------------------


@dataclass
class Scenario:
    """A validated scenario with every parameter resolved.

    Attributes:
        name: Scenario name.
        title: Human title.
        params: Every registry parameter, by dotted name.
        groups: Identity groups (dicts with name, core, share, legitimacy_shift).
        regions: Regions (dicts with every per-region field resolved).
        events: Scheduled events (dicts), sorted by day.
        sources: Sources by address.
        path: File the scenario came from, if any.
        raw: The merged TOML document (before defaults), for hashing and provenance.
    """

    name: str
    title: str
    params: dict[str, Any]
    groups: list[dict[str, Any]]
    regions: list[dict[str, Any]]
    events: list[dict[str, Any]]
    sources: dict[str, str]
    historical: bool = False
    path: Path | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Any:
        return self.params[name]

    @property
    def hash(self) -> str:
        """SHA-256 of the resolved scenario (parameters, regions, groups, events)."""
        doc = {
            "params": self.params,
            "groups": self.groups,
            "regions": self.regions,
            "events": self.events,
        }
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()

    def source_of(self, address: str) -> str | None:
        """Return the source recorded for ``address`` or its closest recorded prefix."""
        parts = address.split(".")
        for n in range(len(parts), 0, -1):
            key = ".".join(parts[:n])
            if key in self.sources:
                return self.sources[key]
        return None

    def with_overrides(self, overrides: dict[str, Any], origin: str = "--set") -> Scenario:
        """Return a copy with ``{address: value}`` applied and validated.

        Args:
            overrides: Values by address (``soldiers.pay``, ``regions.latvia.legitimacy``).
            origin: Where the overrides come from, for error messages.

        Raises:
            ScenarioError: An unknown address or a bad value.
        """
        doc = copy.deepcopy(self.raw)
        problems: list[str] = []
        for address, value in overrides.items():
            problems += _apply_address(doc, address, value, origin)
        if problems:
            raise ScenarioError(problems)
        # The file was checked when loaded; an override may shorten the run past scheduled events
        # (they never fire) and needs no citation even in a historical scenario.
        return _resolve(doc, self.path, origin, file_checks=False)


def bundled_dir() -> Path:
    """Folder of the scenario files installed with the package."""
    return Path(str(resources.files("defection.scenarios")))


def bundled_names() -> list[str]:
    """Names of the bundled scenarios."""
    return sorted(p.stem for p in bundled_dir().glob("*.toml"))


def find(name_or_path: str | Path) -> Path:
    """Find a scenario file: an existing path, or a bundled name (with or without ``.toml``).

    Raises:
        ScenarioError: Nothing found; lists the bundled names.
    """
    path = Path(name_or_path)
    if path.is_file():
        return path
    stem = path.name.removesuffix(".toml")
    candidate = bundled_dir() / f"{stem}.toml"
    if path.parent == Path(".") and candidate.is_file():
        return candidate
    names = bundled_names()
    hint = difflib.get_close_matches(stem, names, n=1)
    more = f"; did you mean `{hint[0]}`?" if hint else ""
    raise ScenarioError(
        [
            f"{name_or_path}: no such file and no bundled scenario of that name{more} "
            f"(bundled: {', '.join(names)})"
        ]
    )


def load(name_or_path: str | Path, overrides: dict[str, Any] | None = None) -> Scenario:
    """Load, merge (``extends``) and validate a scenario.

    Args:
        name_or_path: A path to a TOML file or the name of a bundled scenario.
        overrides: Optional ``{address: value}`` applied after loading (like ``--set``).

    Returns:
        The resolved scenario.

    Raises:
        ScenarioError: Every problem found, one per line.
    """
    path = find(name_or_path)
    doc = _read_merged(path, chain=())
    scenario = _resolve(doc, path, str(path))
    if overrides:
        scenario = scenario.with_overrides(overrides)
    return scenario


def from_dict(doc: dict[str, Any], origin: str = "<dict>") -> Scenario:
    """Validate a scenario given as a dict shaped like the TOML file (no ``extends``)."""
    return _resolve(copy.deepcopy(doc), None, origin)


# ------------------------------------------------------------------------------------------------
# internals
# ------------------------------------------------------------------------------------------------


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError([f"{path}: cannot read file ({exc.strerror})"]) from None
    except UnicodeDecodeError:
        raise ScenarioError([f"{path}: not UTF-8 text"]) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError([f"{path}: not valid TOML: {exc}"]) from None


def _read_merged(path: Path, chain: tuple[Path, ...]) -> dict[str, Any]:
    resolved = path.resolve()
    if resolved in chain:
        cycle = " -> ".join(str(p) for p in (*chain, resolved))
        raise ScenarioError([f"{path}: field `scenario.extends`: circular extends ({cycle})"])
    doc = _read_toml(path)
    meta = doc.get("scenario")
    parent_ref = meta.get("extends") if isinstance(meta, dict) else None
    if not parent_ref:
        return doc
    if not isinstance(parent_ref, str):
        raise ScenarioError([f"{path}: field `scenario.extends`: must be a string"])
    rel = path.parent / parent_ref
    if not rel.suffix:
        rel = rel.with_suffix(".toml")
    try:
        parent_path = rel if rel.is_file() else find(parent_ref)
    except ScenarioError as exc:
        raise ScenarioError(
            [f"{path}: field `scenario.extends`: {p}" for p in exc.problems]
        ) from None
    parent = _read_merged(parent_path, (*chain, resolved))
    merged = _merge(parent, doc)
    merged["scenario"].pop("extends", None)
    return merged


def _merge(parent: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(parent)
    for key, value in child.items():
        if key in ("regions", "groups") and isinstance(value, list):
            by_name = {r.get("name"): r for r in out.get(key, []) if isinstance(r, dict)}
            merged_list = list(out.get(key, []))
            for item in value:
                name = item.get("name") if isinstance(item, dict) else None
                if name in by_name:
                    idx = merged_list.index(by_name[name])
                    merged_list[idx] = {**by_name[name], **item}
                else:
                    merged_list.append(item)
            out[key] = merged_list
        elif key == "events":
            out[key] = copy.deepcopy(value)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = {**out[key], **value}
        else:
            out[key] = copy.deepcopy(value)
    return out


def _closest(word: str, options: list[str]) -> str:
    hit = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f"; did you mean `{hit[0]}`?" if hit else ""


def _loc_to_address(doc: dict[str, Any], loc: tuple[Any, ...]) -> str:
    """Turn a pydantic error location into our address form (regions by name)."""
    parts: list[str] = []
    node: Any = doc
    for i, item in enumerate(loc):
        if isinstance(item, int) and isinstance(node, list):
            entry = node[item] if item < len(node) else None
            name = entry.get("name") if isinstance(entry, dict) else None
            parts.append(str(name) if name is not None and loc[i - 1] != "events" else f"[{item}]")
            node = entry
        else:
            parts.append(str(item))
            node = node.get(item) if isinstance(node, dict) else None
    return ".".join(parts).replace(".[", "[")


def _pydantic_problems(exc: ValidationError, doc: dict[str, Any], origin: str) -> list[str]:
    problems = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        address = _loc_to_address(doc, loc)
        typ = err["type"]
        if typ == "extra_forbidden":
            parent_loc, key = loc[:-1], str(loc[-1])
            options = _valid_keys(parent_loc)
            problems.append(
                f"{origin}: field `{address}`: unknown key `{key}`{_closest(key, options)}"
            )
            continue
        got = err.get("input")
        rule = err["msg"]
        if typ in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
            p = BY_NAME.get(address) or REGION_FIELDS.get(str(loc[-1]))
            if p is not None and p.lo is not None:
                rule = f"must be between {p.lo:g} and {p.hi:g} {p.unit}".rstrip()
        if typ == "missing":
            problems.append(f"{origin}: field `{address}`: required but missing")
        else:
            problems.append(f"{origin}: field `{address}`: {rule} (got {got!r})")
    return problems


def _valid_keys(parent_loc: tuple[Any, ...]) -> list[str]:
    if not parent_loc:
        return ["scenario", "groups", "regions", "events", "sources", *SECTIONS]
    head = parent_loc[0]
    if head in SECTIONS:
        return [p.leaf for p in PARAMS if p.section == head]
    if head == "regions":
        return list(Region.model_fields)
    if head == "groups":
        return list(Group.model_fields)
    if head == "events":
        return list(Event.model_fields)
    if head == "scenario":
        return list(Meta.model_fields)
    return []


def _apply_address(doc: dict[str, Any], address: str, value: Any, origin: str) -> list[str]:
    """Set ``address`` in a TOML-shaped document; return problems (empty when fine)."""
    parts = address.split(".")
    if len(parts) == 2 and parts[0] in SECTIONS:
        if address not in BY_NAME:
            return [f"{origin}: `{address}`: unknown parameter{_closest(address, list(BY_NAME))}"]
        doc.setdefault(parts[0], {})[parts[1]] = value
        return []
    if len(parts) == 3 and parts[0] in ("regions", "groups"):
        table, name, key = parts
        entries = doc.get(table, [])
        match = [e for e in entries if isinstance(e, dict) and e.get("name") == name]
        if not match:
            names = [str(e.get("name")) for e in entries if isinstance(e, dict)]
            return [f"{origin}: `{address}`: no {table[:-1]} named `{name}`{_closest(name, names)}"]
        match[0][key] = value
        return []
    return [
        f"{origin}: `{address}`: unknown parameter{_closest(address, list(BY_NAME))} "
        "(addresses are section.name, regions.<region>.<field> or groups.<group>.<field>)"
    ]


def _semantic_problems(doc: dict[str, Any], origin: str, file_checks: bool = True) -> list[str]:
    """Rules across fields that the per-field schema cannot express.

    ``file_checks`` adds the rules about the file as written (events after its horizon, sources of
    a historical scenario); overrides applied to a loaded scenario skip them.
    """
    problems: list[str] = []
    groups = doc.get("groups", [])
    regions = doc.get("regions", [])
    group_names = [g["name"] for g in groups]
    region_names = [r["name"] for r in regions]
    for table, names in (("groups", group_names), ("regions", region_names)):
        seen = set()
        for n in names:
            if n in seen:
                problems.append(f"{origin}: field `{table}`: name `{n}` appears twice")
            seen.add(n)
    if groups and sum(1 for g in groups if g.get("core")) > 1:
        problems.append(f"{origin}: field `groups`: at most one group may be `core = true`")
    for r in regions:
        for g in r.get("groups") or {}:
            if g not in group_names:
                problems.append(
                    f"{origin}: field `regions.{r['name']}.groups`: unknown group `{g}`"
                    f"{_closest(g, group_names)}"
                )
    if regions and sum(1 for r in regions if r.get("capital")) > 1:
        problems.append(f"{origin}: field `regions`: at most one region may be `capital = true`")
    known = set(BY_NAME) | set(SECTIONS) | {"scenario", "regions", "groups", "events"}
    for key in doc.get("sources", {}):
        parts = key.split(".")
        ok = key in known or (
            parts[0] in ("regions", "groups")
            and len(parts) >= 2
            and parts[1] in (region_names if parts[0] == "regions" else group_names)
        )
        if not ok:
            problems.append(
                f"{origin}: field `sources`: `{key}` is not a parameter, section, region or group"
                f"{_closest(key, sorted(known))}"
            )
    for i, ev in enumerate(doc.get("events", [])):
        if ev.get("region") is not None and ev["region"] not in region_names:
            problems.append(
                f"{origin}: field `events[{i}].region`: unknown region `{ev['region']}`"
                f"{_closest(ev['region'], region_names)}"
            )
    horizon = doc.get("run", {}).get("horizon", BY_NAME["run.horizon"].default)
    for i, ev in enumerate(doc.get("events", []) if file_checks else []):
        if ev["day"] > horizon:
            problems.append(
                f"{origin}: field `events[{i}].day`: day {ev['day']} is after the horizon "
                f"({horizon})"
            )
    if file_checks and doc.get("scenario", {}).get("historical"):
        problems += _missing_sources(doc, origin)
    share_sum = doc.get("soldiers", {}).get(
        "officer_share", BY_NAME["soldiers.officer_share"].default
    ) + doc.get("soldiers", {}).get("nco_share", BY_NAME["soldiers.nco_share"].default)
    if share_sum > 1:
        problems.append(
            f"{origin}: field `soldiers.officer_share`: officer_share + nco_share must be "
            f"at most 1 (got {share_sum:g})"
        )
    return problems


def _missing_sources(doc: dict[str, Any], origin: str) -> list[str]:
    """A historical scenario must give a source for every value it sets."""
    sources = doc.get("sources", {})

    def covered(address: str) -> bool:
        parts = address.split(".")
        return any(".".join(parts[:n]) in sources for n in range(len(parts), 0, -1))

    missing = []
    for section in SECTIONS:
        for key in doc.get(section, {}):
            if not covered(f"{section}.{key}"):
                missing.append(f"{section}.{key}")
    for table in ("regions", "groups"):
        for entry in doc.get(table, []):
            for key in entry:
                if key != "name" and not covered(f"{table}.{entry['name']}.{key}"):
                    missing.append(f"{table}.{entry['name']}.{key}")
    return [
        f"{origin}: field `sources`: historical scenario sets `{m}` without a source "
        "(add a citation, or 'assumption: <reason>')"
        for m in missing
    ]


def _resolve(
    doc: dict[str, Any], path: Path | None, origin: str, file_checks: bool = True
) -> Scenario:
    try:
        parsed = ScenarioModel.model_validate(doc)
    except ValidationError as exc:
        raise ScenarioError(_pydantic_problems(exc, doc, origin)) from None
    problems = _semantic_problems(_with_meta(doc, parsed), origin, file_checks)
    if problems:
        raise ScenarioError(problems)
    params: dict[str, Any] = {}
    for section in SECTIONS:
        sec = getattr(parsed, section)
        for p in PARAMS:
            if p.section == section:
                value = getattr(sec, p.leaf)
                params[p.name] = float(value) if p.type == "float" else value
    groups = [g.model_dump() for g in parsed.groups] or [
        {"name": "all", "core": True, "share": 1.0, "legitimacy_shift": 0.0}
    ]
    total = sum(g["share"] for g in groups) or 1.0
    for g in groups:
        g["share"] = g["share"] / total
    national_mix = {g["name"]: g["share"] for g in groups}
    regions = []
    raw_regions = parsed.regions or [Region(name="country", capital=True)]
    for r in raw_regions:
        entry = r.model_dump()
        for leaf, p in REGION_FIELDS.items():
            if entry.get(leaf) is None:
                entry[leaf] = params[p.name]
        mix = entry.get("groups") or national_mix
        mix_total = sum(mix.values()) or 1.0
        entry["groups"] = {g: mix.get(g, 0.0) / mix_total for g in national_mix}
        regions.append(entry)
    if not any(r["capital"] for r in regions):
        regions[0]["capital"] = True
    events = sorted(
        (e.model_dump(exclude_none=True) for e in parsed.events), key=lambda e: e["day"]
    )
    return Scenario(
        name=parsed.scenario.name,
        title=parsed.scenario.title or parsed.scenario.name,
        params=params,
        groups=groups,
        regions=regions,
        events=events,
        sources=dict(parsed.sources),
        historical=parsed.scenario.historical,
        path=path,
        raw=doc,
    )


def _with_meta(doc: dict[str, Any], parsed: BaseModel) -> dict[str, Any]:
    """Document with events as validated dicts (defaults filled) for the semantic checks."""
    out = dict(doc)
    out["events"] = [e.model_dump() for e in parsed.events]  # type: ignore[attr-defined]
    out["groups"] = [g.model_dump() for g in parsed.groups]  # type: ignore[attr-defined]
    out["regions"] = [{k: v for k, v in r.items()} for r in doc.get("regions", [])]
    return out
