"""Addresses of values in a scenario, and the one place where values and names are checked.

Grammar:
    ``section.name``
        a registry parameter (``soldiers.pay``, see :data:`~defection.model.params.PARAMS`);
    ``regions.<region>.<field>``
        a per-region override (``regions.latvia.legitimacy``) or one of a region's own fields
        (``capital``, ``population``);
    ``groups.<group>.<field>``
        a field of an identity group (``core``, ``share``, ``legitimacy_shift``).

Every value a user can give goes through :func:`coerce` (scenario files' cross-field checks,
``--set`` and ``Scenario.with_overrides``, sweep values, the UI's levers) and every change to a
running model through :func:`check_live`; bounds, types and units come from the registry in
:mod:`defection.model.params`. Names of scenarios, regions, groups and sweeps follow one rule,
:data:`NAME_PATTERN` (they end up in output paths, database tables and addresses).
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from typing import Any, Literal

from defection.model.params import BY_NAME, GROUP_FIELDS, REGION_FIELDS, REGION_OWN, SECTIONS, Param

#: The rule for names of scenarios, regions, groups and sweeps.
NAME_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
#: The same rule in words, for error messages.
NAME_RULE = (
    f"must be a name: a lower-case letter, then up to 63 lower-case letters, digits or _ "
    f"({NAME_PATTERN})"
)

AddressKind = Literal["param", "region", "group"]


class ScenarioError(Exception):
    """Bad scenario input. ``problems`` holds one human-readable line per problem."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


class InvalidValue(ScenarioError):
    """A value breaks its field's rule.

    Attributes:
        rule: The rule broken, e.g. ``must be between 0 and 3 x subsistence``.
        value: The value given.
    """

    def __init__(self, what: str, rule: str, value: Any):
        super().__init__([f"`{quoted(what)}`: {rule} (got {shown(value)})"])
        self.rule = rule
        self.value = value


def shown(value: Any, limit: int = 60) -> str:
    """``repr`` of a value for an error message: one line, at most about ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def quoted(text: str, limit: int = 100) -> str:
    """Text to show inside backticks in a message.

    As is if short and printable, else :func:`shown` (escaped, shortened), so a hostile string
    cannot break a message's one line.
    """
    return text if len(text) <= limit and text.isprintable() else shown(text, limit)


def closest(word: str, options: list[str]) -> str:
    """``; did you mean `x`?`` for the closest of ``options``, or an empty string."""
    hit = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f"; did you mean `{hit[0]}`?" if hit else ""


def is_name(value: Any) -> bool:
    """Whether ``value`` is a string that follows :data:`NAME_PATTERN`."""
    return isinstance(value, str) and re.fullmatch(NAME_PATTERN, value) is not None


def check_name(value: Any, what: str) -> str:
    """Return ``value`` if it is a valid name.

    Args:
        value: The name given.
        what: Where it comes from, for the message (``file: field `scenario.name```).

    Raises:
        InvalidValue: Not a string following :data:`NAME_PATTERN`.
    """
    if not is_name(value):
        raise InvalidValue(what, NAME_RULE, value)
    return value


# ------------------------------------------------------------------------------------------------
# addresses
# ------------------------------------------------------------------------------------------------

TABLE_FIELDS: dict[str, dict[str, Param]] = {
    "regions": {**REGION_OWN, **REGION_FIELDS},
    "groups": dict(GROUP_FIELDS),
}


@dataclass(frozen=True)
class Address:
    """A parsed address.

    Attributes:
        kind: ``param``, ``region`` or ``group``.
        owner: The section (``soldiers``) for a parameter, else the region's or group's name.
        field: The key: the parameter's leaf, or the region's or group's field.
    """

    kind: AddressKind
    owner: str
    field: str

    def __str__(self) -> str:
        if self.kind == "param":
            return f"{self.owner}.{self.field}"
        return f"{self.kind}s.{self.owner}.{self.field}"

    @property
    def param(self) -> Param | None:
        """The registry entry giving the value's type, bounds and unit (None: no such field)."""
        if self.kind == "param":
            return BY_NAME.get(str(self))
        return TABLE_FIELDS[f"{self.kind}s"].get(self.field)


def parse_address(address: str) -> Address:
    """Split an address into kind, owner and field (see the module docstring for the grammar).

    A region or group address parses whatever its names are; :func:`set_address` checks them
    against a scenario.

    Raises:
        ScenarioError: Not an address of any form, or an unknown parameter.
    """
    parts = address.split(".")
    if len(parts) == 2 and parts[0] in SECTIONS:
        if address not in BY_NAME:
            raise ScenarioError(
                [f"`{quoted(address)}`: unknown parameter{closest(address, list(BY_NAME))}"]
            )
        return Address("param", parts[0], parts[1])
    if len(parts) == 3 and parts[0] in TABLE_FIELDS:
        kind: AddressKind = "region" if parts[0] == "regions" else "group"
        return Address(kind, parts[1], parts[2])
    raise ScenarioError(
        [
            f"`{quoted(address)}`: unknown parameter{closest(address, list(BY_NAME))} "
            "(addresses are section.name, regions.<region>.<field> or groups.<group>.<field>)"
        ]
    )


def param_for(address: str) -> Param | None:
    """Registry entry behind an address, whatever the scenario (None: not a known field)."""
    try:
        return parse_address(address).param
    except ScenarioError:
        return None


def set_address(doc: dict[str, Any], address: str, value: Any, origin: str) -> list[str]:
    """Check and coerce ``value`` for ``address`` and set it in a TOML-shaped scenario document.

    A per-region parameter set by its national address (``protest.legitimacy``) applies in every
    region: the scenario's per-region values of it (``regions.<r>.legitimacy``) are dropped, so
    that an override never silently does nothing. To keep a region apart, set its address after
    the national one (overrides apply in order).

    Args:
        doc: The scenario document (changed in place).
        address: Where to set it.
        value: The value given.
        origin: Where the value comes from, for the messages (``--set``, a sweep file).

    Returns:
        Problems, one line each naming the origin, the address and the rule (empty when fine).
    """
    try:
        addr = parse_address(address)
    except ScenarioError as exc:
        return [f"{origin}: {line}" for line in exc.problems]
    if addr.kind == "param":
        target = doc.setdefault(addr.owner, {})
    else:
        table = f"{addr.kind}s"
        entries = [e for e in doc.get(table, []) if isinstance(e, dict)]
        match = [e for e in entries if e.get("name") == addr.owner]
        if not match:
            names = [str(e.get("name")) for e in entries]
            return [
                f"{origin}: `{quoted(address)}`: no {addr.kind} named `{quoted(addr.owner)}`"
                f"{closest(addr.owner, names)}"
            ]
        target = match[0]
    p = addr.param
    if p is None:
        options = list(TABLE_FIELDS[f"{addr.kind}s"])
        return [
            f"{origin}: field `{quoted(address)}`: unknown key `{quoted(addr.field)}`"
            f"{closest(addr.field, options)}"
        ]
    try:
        target[addr.field] = coerce(p, value)
    except InvalidValue as exc:
        return [f"{origin}: field `{quoted(address)}`: {exc.rule} (got {shown(value)})"]
    if addr.kind == "param" and p.per_region:
        # a national value given here applies everywhere: per-region values of the scenario
        # would otherwise shadow it and the override would silently do nothing there
        for region in doc.get("regions", []):
            if isinstance(region, dict):
                region.pop(p.leaf, None)
    return []


# ------------------------------------------------------------------------------------------------
# values
# ------------------------------------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def coerce(target: str | Param, value: Any, *, lenient: bool = False) -> Any:
    """Check a value against its registry entry and return it in the entry's type.

    The one check of values: scenario overrides (``--set``, ``with_overrides``, a sweep's
    ``[set]``), sweep values, event fields and the UI's levers all call it.

    Args:
        target: An address (``soldiers.pay``, ``regions.north.legitimacy``) or a registry entry.
        value: The value given.
        lenient: Accept any number for an int field and round it (a slider's value); by default
            an int field takes only integers, as in a TOML file. A float field takes integers in
            both modes (TOML writes ``1`` for ``1.0``); bools and strings are never numbers.

    Returns:
        The value as ``float``, ``int``, ``bool`` or ``str``, by the entry's type.

    Raises:
        InvalidValue: Wrong type, out of bounds, or not one of the choices (``rule`` says which).
        ScenarioError: ``target`` is not a known address.
    """
    if isinstance(target, str):
        p = parse_address(target).param
        if p is None:
            raise ScenarioError([f"`{quoted(target)}`: unknown field"])
        what = target
    else:
        p, what = target, target.name
    if p.type == "bool":
        if not isinstance(value, bool):
            raise InvalidValue(what, "must be true or false", value)
        return value
    if p.type == "choice":
        if not isinstance(value, str) or value not in p.choices:
            raise InvalidValue(what, f"must be one of {', '.join(p.choices)}", value)
        return value
    if p.type == "name":
        return check_name(value, what)
    if p.type == "int":
        if lenient and _is_number(value) and math.isfinite(value):
            value = int(round(value))
        elif not (isinstance(value, int) and not isinstance(value, bool)):
            raise InvalidValue(what, "must be an integer", value)
    elif not _is_number(value):
        raise InvalidValue(what, "must be a number", value)
    lo = -math.inf if p.lo is None else p.lo
    hi = math.inf if p.hi is None else p.hi
    if not lo <= value <= hi:  # also refuses NaN
        raise InvalidValue(what, bounds_rule(p), value)
    return float(value) if p.type == "float" else value


def bounds_rule(p: Param) -> str:
    """``must be between <lo> and <hi> <unit>`` for a numeric registry entry."""
    return f"must be between {p.lo:g} and {p.hi:g} {p.unit}".rstrip()


def check_live(name: str, value: Any) -> Any:
    """Check a change to a running model's parameter and return the value to store.

    Args:
        name: Dotted parameter name (``soldiers.pay``).
        value: The new value; numbers are converted to the parameter's type (as :func:`coerce`
            with ``lenient=True``).

    Returns:
        The value in the parameter's type.

    Raises:
        ScenarioError: Unknown parameter, a build-only parameter (it needs a rebuild), or a value
            of the wrong type or out of bounds.
    """
    p = BY_NAME.get(name)
    if p is None:
        raise ScenarioError(
            [f"set_param: `{quoted(name)}`: unknown parameter{closest(name, list(BY_NAME))}"]
        )
    if p.build_only:
        raise ScenarioError([f"set_param: `{name}`: fixed when the model is built; reset"])
    try:
        return coerce(p, value, lenient=True)
    except InvalidValue as exc:
        raise ScenarioError([f"set_param: `{name}`: {exc.rule} (got {shown(value)})"]) from None


__all__ = [
    "NAME_PATTERN",
    "NAME_RULE",
    "TABLE_FIELDS",
    "Address",
    "InvalidValue",
    "ScenarioError",
    "check_live",
    "check_name",
    "closest",
    "coerce",
    "is_name",
    "param_for",
    "quoted",
    "parse_address",
    "set_address",
    "shown",
]
