"""Scenario files: TOML, validated against a schema generated from the parameter registry.

A scenario file has these tables (all optional but ``[scenario]``)::

    [scenario]            name, title, description, extends, historical
    [run] [grid] [protest] [opposition] [soldiers] [police] [belief] [regime] [support]
    [elites] [outcome]
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
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from defection.model import limits as lim
from defection.model import schema, tomlfile
from defection.model.address import ScenarioError, quoted, set_address, shown
from defection.model.limits import DEFAULT, Limits
from defection.model.params import EVENT_KINDS, PARAMS, REGION_FIELDS, SECTIONS
from defection.model.schema import json_schema

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
        limits: The size limits it was checked against (:mod:`.limits`); overrides are checked
            against the same ones.
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
    limits: Limits = DEFAULT

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
            problems += set_address(doc, address, value, origin)
        if problems:
            raise ScenarioError(problems)
        # The file was checked when loaded; an override may shorten the run past scheduled events
        # (they never fire) and needs no citation even in a historical scenario.
        return _resolve(doc, self.path, origin, file_checks=False, limits=self.limits)


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
    return find_file(name_or_path, bundled_dir(), "scenario")


def find_file(name_or_path: str | Path, folder: Path, what: str) -> Path:
    """An existing path, or ``<folder>/<name>.toml`` for a bare bundled name.

    Args:
        name_or_path: A path, or a name (with or without ``.toml``).
        folder: The folder of the bundled files.
        what: What they are, for the message (``scenario``, ``policy file``).

    Raises:
        ScenarioError: Nothing found; names the closest bundled file and lists them all.
    """
    path = Path(name_or_path)
    try:
        if path.is_file():
            return path
        stem = path.name.removesuffix(".toml")
        candidate = folder / f"{stem}.toml"
        if path.parent == Path(".") and candidate.is_file():
            return candidate
    except OSError as exc:  # a name longer than the file system allows, say
        raise ScenarioError(
            [f"{shown(str(name_or_path))}: not a usable path ({exc.strerror or exc})"]
        ) from None
    names = sorted(p.stem for p in folder.glob("*.toml"))
    hint = difflib.get_close_matches(stem, names, n=1)
    more = f"; did you mean `{hint[0]}`?" if hint else ""
    raise ScenarioError(
        [
            f"{quoted(str(name_or_path))}: no such file and no bundled {what} of that name"
            f"{more} (bundled: {', '.join(names)})"
        ]
    )


def load(
    name_or_path: str | Path,
    overrides: dict[str, Any] | None = None,
    *,
    limits: Limits = DEFAULT,
) -> Scenario:
    """Load, merge (``extends``) and validate a scenario.

    Args:
        name_or_path: A path to a TOML file or the name of a bundled scenario.
        overrides: Optional ``{address: value}`` applied after loading (like ``--set``).
        limits: Size limits of the files and of the run (:mod:`.limits`; ``LARGE`` is the
            command line's ``--allow-large``).

    Returns:
        The resolved scenario.

    Raises:
        ScenarioError: Every problem found, one per line.
    """
    path = find(name_or_path)
    doc = _read_merged(path, limits)
    scenario = _resolve(doc, path, str(path), limits=limits)
    if overrides:
        scenario = scenario.with_overrides(overrides)
    return scenario


def from_dict(doc: dict[str, Any], origin: str = "<dict>", *, limits: Limits = DEFAULT) -> Scenario:
    """Validate a scenario given as a dict shaped like the TOML file (no ``extends``)."""
    if problem := tomlfile.depth_problem(doc, origin, limits):
        raise ScenarioError([problem])
    return _resolve(copy.deepcopy(doc), None, origin, limits=limits)


# ------------------------------------------------------------------------------------------------
# internals
# ------------------------------------------------------------------------------------------------


def _read_merged(path: Path, limits: Limits) -> dict[str, Any]:
    """Read a scenario file and the chain of files it ``extends``, and merge them (parent first).

    A loop, not a recursion: a long chain is refused by its length (``limits.extends``), never
    by Python's stack.
    """
    chain: list[Path] = []  # resolved paths, the file first
    docs: list[dict[str, Any]] = []
    current = path
    while True:
        resolved = current.resolve()
        if resolved in chain:
            cycle = " -> ".join(str(p) for p in (*chain, resolved))
            raise ScenarioError(
                [f"{current}: field `scenario.extends`: circular extends ({cycle})"]
            )
        chain.append(resolved)
        if problem := tomlfile.extends_problem(chain, str(path), limits):
            raise ScenarioError([problem])
        doc = tomlfile.read_toml(current, limits)
        docs.append(doc)
        meta = doc.get("scenario")
        parent_ref = meta.get("extends") if isinstance(meta, dict) else None
        if not parent_ref:
            break
        if not isinstance(parent_ref, str):
            raise ScenarioError([f"{current}: field `scenario.extends`: must be a string"])
        current = _parent_path(current, parent_ref)
    merged = docs.pop()
    while docs:
        merged = _merge(merged, docs.pop())
        merged["scenario"].pop("extends", None)
    return merged


def _parent_path(path: Path, parent_ref: str) -> Path:
    """The file ``extends = parent_ref`` names: relative to ``path``, else a bundled scenario."""
    rel = path.parent / parent_ref
    if not rel.suffix:
        rel = rel.with_suffix(".toml")
    try:
        return rel if rel.is_file() else find(parent_ref)
    except ScenarioError as exc:
        raise ScenarioError(
            [f"{path}: field `scenario.extends`: {p}" for p in exc.problems]
        ) from None
    except (OSError, ValueError) as exc:  # a name too long for the file system, a NUL byte
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ScenarioError(
            [f"{path}: field `scenario.extends`: {shown(parent_ref)} is not a usable path ({why})"]
        ) from None


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


def _resolve(
    doc: dict[str, Any],
    path: Path | None,
    origin: str,
    file_checks: bool = True,
    limits: Limits = DEFAULT,
) -> Scenario:
    parsed = schema.validate(doc, origin, file_checks, limits)
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
    raw_regions = parsed.regions or [schema.Region(name="country", capital=True)]
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
    scenario = Scenario(
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
        limits=limits,
    )
    if problems := lim.size_problems(scenario, origin, limits):
        raise ScenarioError(problems)
    return scenario


__all__ = [
    "EVENT_KINDS",
    "Scenario",
    "ScenarioError",
    "bundled_dir",
    "bundled_names",
    "find",
    "find_file",
    "from_dict",
    "json_schema",
    "load",
]
