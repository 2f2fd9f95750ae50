"""Reading TOML files within the resource limits: size, nesting depth, ``extends`` chains.

Scenario files and sweep files are read here, so that a hostile or careless file is refused in
one line before anything is built: a file larger than :attr:`~.limits.Limits.file_bytes`, tables
nested more deeply than :attr:`~.limits.Limits.depth` (checked without recursion, and also when
Python's own TOML reader runs out of stack), an ``extends`` chain longer than
:attr:`~.limits.Limits.extends`. The limits themselves are in :mod:`defection.model.limits`.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from defection.model.address import ScenarioError
from defection.model.limits import DEFAULT, Limits, raise_hint


def nesting_depth(value: Any) -> int:
    """How deeply tables and arrays nest in ``value`` (a scalar is 0, ``{a = 1}`` is 1).

    Iterative, so that a hostile document cannot exhaust Python's stack here.
    """
    deepest = 0
    stack = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list | tuple):
            children = node
        else:
            deepest = max(deepest, depth)
            continue
        deepest = max(deepest, depth + 1)
        stack.extend((child, depth + 1) for child in children)
    return deepest


def depth_problem(doc: Any, origin: str, limits: Limits) -> str | None:
    """A one-line problem if ``doc`` nests more deeply than ``limits.depth`` allows."""
    depth = nesting_depth(doc)
    if depth <= limits.depth:
        return None
    return (
        f"{origin}: tables and arrays nest {depth} levels deep, more than the limit of "
        f"{limits.depth}{raise_hint(limits, 'depth')}"
    )


def parse_toml(text: str, origin: str, limits: Limits = DEFAULT) -> dict[str, Any]:
    """Parse TOML text, refusing documents nested more deeply than ``limits.depth``.

    Raises:
        ScenarioError: Not TOML, or nested too deeply (also when Python's TOML reader itself
            runs out of stack, which it does at a few hundred levels).
    """
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError([f"{origin}: not valid TOML: {exc}"]) from None
    except RecursionError:
        raise ScenarioError(
            [
                f"{origin}: tables and arrays nest too deeply to read (hundreds of levels), "
                f"more than the limit of {limits.depth}"
            ]
        ) from None
    problem = depth_problem(doc, origin, limits)
    if problem:
        raise ScenarioError([problem])
    return doc


def read_toml(path: Path, limits: Limits = DEFAULT, what: str = "file") -> dict[str, Any]:
    """Read and parse a TOML file within ``limits`` (size, then nesting depth).

    Args:
        path: The file.
        limits: The caps.
        what: What the file is, for the message when it cannot be read (``file``,
            ``sweep file``).

    Raises:
        ScenarioError: Unreadable, too large, not UTF-8, not TOML or nested too deeply.
    """
    try:
        with open(path, "rb") as fh:
            data = fh.read(limits.file_bytes + 1)
    except OSError as exc:
        raise ScenarioError([f"{path}: cannot read {what} ({exc.strerror or exc})"]) from None
    if len(data) > limits.file_bytes:
        raise ScenarioError(
            [
                f"{path}: larger than the limit of {limits.file_bytes:,} bytes for a {what}"
                f"{raise_hint(limits, 'file_bytes')}"
            ]
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ScenarioError([f"{path}: not UTF-8 text"]) from None
    return parse_toml(text, str(path), limits)


def extends_problem(chain: list[Path], origin: str, limits: Limits) -> str | None:
    """A one-line problem if an ``extends`` chain (child first) holds more files than allowed."""
    if len(chain) <= limits.extends:
        return None
    return (
        f"{origin}: field `scenario.extends`: the chain of extends holds more than "
        f"{limits.extends} files ({chain[0].name} -> {chain[1].name} -> ... -> "
        f"{chain[-1].name}){raise_hint(limits, 'extends')}"
    )
