"""The scenario file schema, generated from the registry, and the checks across its fields.

:data:`ScenarioModel` (pydantic) checks each value's type and bounds and refuses unknown keys;
:func:`validate` adds the rules between fields (unique names, one capital, the fields of each kind
of event, sources of a historical scenario, ...) and turns every problem into one line naming the
file, the field and the rule.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from defection.model.address import (
    NAME_PATTERN,
    NAME_RULE,
    TABLE_FIELDS,
    InvalidValue,
    ScenarioError,
    bounds_rule,
    closest,
    coerce,
    is_name,
    quoted,
    shown,
)
from defection.model.limits import DEFAULT, Limits, document_problems
from defection.model.params import (
    BY_NAME,
    EVENT_FIELD_UNION,
    EVENT_FIELDS,
    EVENT_KINDS,
    EVENT_NEEDS_ONE_OF,
    GROUP_FIELDS,
    PARAMS,
    REGION_FIELDS,
    REGION_OWN,
    SECTIONS,
    Param,
)

#: Unknown keys refused, no type coercion, and no infinite or NaN floats anywhere (every float of a
#: scenario is a finite quantity; a bound alone would let NaN through where a field has none).
_STRICT = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

#: A name (scenario, region, group): see :data:`defection.model.address.NAME_PATTERN`.
Name = Annotated[str, Field(pattern=NAME_PATTERN, description=NAME_RULE)]

#: Keys of an event besides its kind's fields.
EVENT_COMMON = ("day", "kind", "note")


def _field_type(p: Param) -> Any:
    if p.type == "bool":
        return bool
    if p.type == "int":
        return int
    if p.type == "choice":
        return Literal[p.choices]  # type: ignore[valid-type]
    if p.type == "name":
        return Name
    return float


def _field(p: Param, default: Any, description: str | None = None) -> Any:
    kw: dict[str, Any] = {
        "description": description or f"{p.meaning} [{p.unit}] Source: {p.source}"
    }
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
    name: Name = Field(description=f"Short name (file stem), used in output paths; {NAME_RULE}.")
    title: str = Field("", description="Human title.")
    description: str = Field("", description="What the scenario represents.")
    extends: str | None = Field(None, description="Bundled name or relative path of a parent.")
    historical: bool = Field(False, description="Encodes a real case: every value needs a source.")


Group = create_model(
    "Group",
    __config__=_STRICT,
    __doc__="An identity group (``[[groups]]``).",
    name=(Name, Field(description="Group name (used in addresses).")),
    **{leaf: _field(p, p.default) for leaf, p in GROUP_FIELDS.items()},
)

Region = create_model(
    "Region",
    __config__=_STRICT,
    __doc__="A region (``[[regions]]``); per-region fields left out take the national value.",
    name=(Name, Field(description="Region name (used in addresses).")),
    **{leaf: _field(p, p.default) for leaf, p in REGION_OWN.items()},
    groups=(
        dict[str, Annotated[float, Field(ge=0, le=1)]] | None,
        Field(None, description="Identity mix {group = share}; default: national shares."),
    ),
    **{leaf: _field(p, None) for leaf, p in REGION_FIELDS.items()},
)


def _event_doc() -> str:
    lines = [
        "A scheduled event (``[[events]]``), applied at the start of ``day``. Fields by kind:",
        "",
    ]
    for kind, fields in EVENT_FIELDS.items():
        parts = [
            f"{leaf} ({p.meaning}" + ("" if p.default is None else f" Default {p.default}.") + ")"
            for leaf, p in fields.items()
        ]
        lines.append(f"{kind}: " + "; ".join(parts))
    return "\n".join(lines)


def _event_field_description(leaf: str) -> str:
    kinds = [k for k, fields in EVENT_FIELDS.items() if leaf in fields]
    p = EVENT_FIELD_UNION[leaf]
    return f"For {' and '.join(kinds)} events. [{p.unit}]".replace(" []", "")


Event = create_model(
    "Event",
    __config__=_STRICT,
    __doc__=_event_doc(),
    day=(int, Field(ge=0)),
    kind=(Literal[EVENT_KINDS], ...),  # type: ignore[valid-type]
    note=(str, ""),
    **{
        leaf: _field(p, None, _event_field_description(leaf))
        for leaf, p in EVENT_FIELD_UNION.items()
    },
)

_SECTION_MODELS = {s: _section_model(s) for s in SECTIONS}

ScenarioModel = create_model(
    "ScenarioFile",
    __config__=_STRICT,
    scenario=(Meta, ...),
    groups=(list[Group], Field(default_factory=list)),  # type: ignore[valid-type]
    regions=(list[Region], Field(default_factory=list)),  # type: ignore[valid-type]
    events=(list[Event], Field(default_factory=list)),  # type: ignore[valid-type]
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
# validation
# ------------------------------------------------------------------------------------------------


def validate(
    doc: dict[str, Any], origin: str, file_checks: bool = True, limits: Limits = DEFAULT
) -> Any:
    """Validate a TOML-shaped scenario document: the schema, then the rules across fields.

    Args:
        doc: The merged document.
        origin: Where it comes from (a file name), for the messages.
        file_checks: Add the rules about the file as written (events after its horizon, sources
            of a historical scenario); overrides applied to a loaded scenario skip them.
        limits: How many regions, groups and events it may list (checked first, so that a huge
            list is refused before the schema reads it; :mod:`.limits`).

    Returns:
        The parsed :data:`ScenarioModel`.

    Raises:
        ScenarioError: Every problem found, one line each.
    """
    if problems := document_problems(doc, origin, limits):
        raise ScenarioError(problems)
    try:
        parsed = ScenarioModel.model_validate(doc)
    except ValidationError as exc:
        raise ScenarioError(pydantic_problems(exc, doc, origin)) from None
    problems = _semantic_problems(doc, parsed, origin, file_checks)
    if problems:
        raise ScenarioError(problems)
    return parsed


def _loc_to_address(doc: dict[str, Any], loc: tuple[Any, ...]) -> str:
    """Turn a pydantic error location into our address form (regions and groups by name)."""
    parts: list[str] = []
    node: Any = doc
    for i, item in enumerate(loc):
        if isinstance(item, int) and isinstance(node, list):
            entry = node[item] if item < len(node) else None
            name = entry.get("name") if isinstance(entry, dict) else None
            by_name = is_name(name) and loc[i - 1] != "events"
            parts.append(str(name) if by_name else f"[{item}]")
            node = entry
        else:
            parts.append(str(item))
            node = node.get(item) if isinstance(node, dict) else None
    return ".".join(parts).replace(".[", "[")


def _registry_entry(loc: tuple[Any, ...]) -> Param | None:
    """The registry entry of the value at a pydantic error location, if any."""
    head, key = (loc[0], str(loc[-1])) if loc else (None, "")
    if head in SECTIONS and len(loc) == 2:
        return BY_NAME.get(f"{head}.{key}")
    if head in TABLE_FIELDS and len(loc) == 3:
        return TABLE_FIELDS[head].get(key)
    if head == "events" and len(loc) == 3:
        return EVENT_FIELD_UNION.get(key)
    return None


def pydantic_problems(exc: ValidationError, doc: dict[str, Any], origin: str) -> list[str]:
    """One line per pydantic error: the origin, the field (as an address) and the rule."""
    problems = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        address = _loc_to_address(doc, loc)
        typ = err["type"]
        if typ == "extra_forbidden":
            key = str(loc[-1])
            problems.append(
                f"{origin}: field `{address}`: unknown key `{quoted(key)}`"
                f"{closest(key, _valid_keys(loc[:-1]))}"
            )
            continue
        rule = err["msg"]
        if typ in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
            p = _registry_entry(loc)
            if p is not None and p.lo is not None and p.hi is not None:
                rule = bounds_rule(p)
        elif typ == "finite_number":
            p = _registry_entry(loc)
            rule = "must be a finite number" + (
                f" ({bounds_rule(p).removeprefix('must be ')})"
                if p is not None and p.lo is not None and p.hi is not None
                else ""
            )
        elif typ == "string_pattern_mismatch":
            rule = NAME_RULE
        if typ == "missing":
            problems.append(f"{origin}: field `{address}`: required but missing")
        else:
            problems.append(f"{origin}: field `{address}`: {rule} (got {shown(err.get('input'))})")
    return problems


def _valid_keys(parent_loc: tuple[Any, ...]) -> list[str]:
    if not parent_loc:
        return ["scenario", "groups", "regions", "events", "sources", *SECTIONS]
    models = {"regions": Region, "groups": Group, "events": Event, "scenario": Meta}
    head = parent_loc[0]
    if head in SECTIONS:
        return [p.leaf for p in PARAMS if p.section == head]
    return list(models[head].model_fields) if head in models else []


def _semantic_problems(
    doc: dict[str, Any], parsed: Any, origin: str, file_checks: bool
) -> list[str]:
    """Rules across fields that the per-field schema cannot express."""
    problems: list[str] = []
    groups = [g.model_dump() for g in parsed.groups]
    regions = [dict(r) for r in doc.get("regions", [])]
    events = [e.model_dump(exclude_none=True) for e in parsed.events]
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
                    f"{origin}: field `regions.{r['name']}.groups`: unknown group "
                    f"`{quoted(g)}`{closest(g, group_names)}"
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
                f"{origin}: field `sources`: `{quoted(key)}` is not a parameter, section, "
                f"region or group{closest(key, sorted(known))}"
            )
    for i, ev in enumerate(events):
        problems += _event_problems(ev, f"{origin}: field `events[{i}]", region_names)
    horizon = doc.get("run", {}).get("horizon", BY_NAME["run.horizon"].default)
    for i, ev in enumerate(events if file_checks else []):
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
    protest = doc.get("protest", {})
    floor = protest.get("signal_floor", BY_NAME["protest.signal_floor"].default)
    ceiling = protest.get("signal_ceiling", BY_NAME["protest.signal_ceiling"].default)
    if ceiling <= floor:
        problems.append(
            f"{origin}: field `protest.signal_ceiling`: must be above `protest.signal_floor` "
            f"(got {ceiling:g} and {floor:g}): the protest signal rises with log participation "
            f"from the floor to the ceiling"
        )
    return problems


def _event_problems(ev: dict[str, Any], where: str, region_names: list[str]) -> list[str]:
    """An event's fields against its kind's entries in the registry (``where`` lacks the ```)."""
    kind = ev["kind"]
    fields = EVENT_FIELDS[kind]
    problems = []
    for key, value in ev.items():
        if key in EVENT_COMMON:
            continue
        if key not in fields:
            takes = ", ".join(f"`{f}`" for f in fields) or "nothing"
            problems.append(f"{where}.{key}`: a `{kind}` event takes {takes}, not `{key}`")
            continue
        try:
            coerce(fields[key], value)
        except InvalidValue as exc:
            problems.append(f"{where}.{key}`: {exc.rule} (got {shown(value)})")
            continue
        if key == "region" and value not in region_names:
            problems.append(
                f"{where}.region`: unknown region `{value}`{closest(value, region_names)}"
            )
    need = EVENT_NEEDS_ONE_OF.get(kind, ())
    if need and not any(k in ev for k in need):
        problems.append(f"{where}`: a `{kind}` event needs " + " or ".join(f"`{k}`" for k in need))
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


__all__ = [
    "EVENT_COMMON",
    "Event",
    "Group",
    "Meta",
    "Name",
    "Region",
    "ScenarioModel",
    "json_schema",
    "pydantic_problems",
    "validate",
]
