"""The check kind of calibration spec: a calibrated sample's vectors crossed with every case.

A screen and a wave draw their parameter vectors from a box. A **check** (``kind = "check"``)
draws none: it takes ``draws`` vectors from a calibrated sample (a wave's
``nonimplausible.parquet``; by default ``calibration/calibrated/sample.parquet``, read with
:func:`defection.ensemble.load_sample`, which refuses a sample fitted to another model version)
and runs **every case** of the spec with each of them, ``seeds`` times::

    [calibration]
    name = "validation"
    kind = "check"
    seed = 20261212
    seeds = 3                       # seeds per (vector, case) unless its group says otherwise

    [budget]
    max_runs = 1700
    max_minutes = 60

    [check]
    sample = "../calibrated/sample.parquet"   # relative to this file (this is the default)
    draws = 20                                # vectors, drawn without replacement
    test_set = false                          # true: the NAVCO test set may be run (below)
    groups = { navco = { draws = 10, seeds = 1 } }   # fewer draws or seeds for a case group

The parameters are the sample's columns (registry parameters of role ``behavioural`` and the
``case.*`` mapping coefficients); a check has no ``[parameters]`` table. A group (a case, or the
cases of one ``[[cases]]`` table such as a ``navco`` table's campaigns) may take fewer ``draws``
(the first ones of the spec's draw, so its vectors are among every other group's) or other
``seeds``. The design has one row per (vector, case): ``point``, ``group`` (the point: each gets
seeds of its own), ``case``, ``draw`` (the vector's index in the draw), ``sample_row`` (its row in
the sample file), ``seeds`` (runs of the point), then the parameters. The runs go through the
same machinery as a screen's or a wave's (:func:`defection.calibration.runs.run_calibration`);
a check has no analysis of its own: its results folder holds the spec, the design, the runs and
the manifest, and the validation report (:mod:`defection.calibration.validation`) reads them.

**The test set.** ``test_set = true`` lets the spec's cases stand for test-set campaigns
(``campaigns = "test"`` in a ``navco`` table). Only ``defection validation --test-set`` runs such
a spec, and it records every touch of the test set (:mod:`defection.calibration.validation`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "CheckGroup",
    "CheckTable",
    "check_design",
    "draw_rows",
    "file_sha256",
    "group_plan",
    "sample_params",
    "sample_path",
    "sample_record",
    "shown_path",
    "vector_problems",
]

_LOOSE = ConfigDict(extra="forbid", strict=False)


class CheckGroup(BaseModel):
    """One entry of ``check.groups``: fewer draws or other seeds for a group of cases."""

    model_config = _LOOSE
    draws: Annotated[int, Field(ge=1, le=100_000, strict=True)] | None = None
    seeds: Annotated[int, Field(ge=1, le=1000, strict=True)] | None = None


class CheckTable(BaseModel):
    """The ``[check]`` table (kind ``check``)."""

    model_config = _LOOSE
    sample: str | None = None
    draws: Annotated[int, Field(ge=1, le=100_000, strict=True)]
    test_set: Annotated[bool, Field(strict=True)] = False
    groups: dict[str, CheckGroup] = Field(default_factory=dict)


def sample_path(check: Any, base_dir: Path | None) -> Path:
    """The sample file: ``check.sample`` relative to the spec's folder, else the calibrated one.

    Args:
        check: The ``[check]`` table, or any table with a ``sample`` (a levers spec's).
        base_dir: The spec's folder.
    """
    from defection.ensemble import SAMPLE_PATH

    if check.sample is None:
        return SAMPLE_PATH
    p = Path(check.sample)
    if not p.is_absolute() and base_dir is not None:
        p = base_dir / p
    return p


def sample_params(sample: Any, where: str, table: str = "check") -> tuple[list[Any], list[str]]:
    """The check's parameters: the sample's columns, with their registry ranges.

    A column must be a behavioural registry parameter or a ``case.*`` mapping coefficient (what
    a calibration fits), and every value of it finite and inside the registry's range.

    Args:
        sample: A :class:`defection.ensemble.Sample`.
        where: ``"<file>: field"``, the start of every problem.
        table: The spec's table that names the sample (``check``, or ``levers``).

    Returns:
        ``(parameters as ParamRange, problems)``.
    """
    from defection.calibration.casecode import MAPPING
    from defection.calibration.spec import ParamRange
    from defection.model.params import BEHAVIOURAL, BY_NAME

    fits = {p.name: p for p in BEHAVIOURAL} | MAPPING
    out, problems = [], []
    at = f"{where} `{table}.sample`: {sample.path}"
    for name in sample.vectors.columns:
        p = fits.get(name)
        if p is None:
            role = getattr(BY_NAME.get(name), "role", "unknown")
            problems.append(
                f"{at}: column `{name}` has role {role}; a calibrated sample holds behavioural "
                "parameters and case.* coefficients only"
            )
            continue
        values = sample.vectors[name].to_numpy(dtype=float)
        bad = ~np.isfinite(values) | (values < float(p.lo)) | (values > float(p.hi))
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            value = float(values[row])
            problems.append(
                f"{at}: column `{name}`, row {row}: {value!r} is not in the registry's range "
                f"[{float(p.lo):g}, {float(p.hi):g}]"
            )
            continue
        out.append(ParamRange(name, float(p.lo), float(p.hi), float(p.default)))
    return out, problems


def draw_rows(seed: int, n_sample: int, draws: int) -> np.ndarray:
    """The sample rows of the check's vectors, drawn without replacement.

    From the spec's SeedSequence (``spawn_key=(2,)``, the design's generator), so the same spec
    and sample always draw the same rows.

    Args:
        seed: The spec's ``calibration.seed``.
        n_sample: Rows in the sample.
        draws: How many (at most ``n_sample``).
    """
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(2,)))
    return rng.choice(n_sample, size=draws, replace=False).astype(np.int64)


def group_plan(
    check: CheckTable, seeds: int, cases: Sequence[Any], where: str
) -> tuple[dict[str, tuple[int, int]], list[str]]:
    """``{case name: (draws, seeds)}`` from ``check.draws``, ``seeds`` and ``check.groups``.

    Args:
        check: The ``[check]`` table.
        seeds: The spec's ``calibration.seeds`` (the default).
        cases: The spec's cases (each has a ``group``: its table's name).
        where: ``"<file>: field"``.

    Returns:
        The plan by case, and the problems (an unknown group, more draws than ``check.draws``).
    """
    from defection.model.address import closest

    groups = list(dict.fromkeys(c.group for c in cases))
    problems = []
    for name, g in check.groups.items():
        if name not in groups:
            problems.append(
                f"{where} `check.groups.{name}`: no case or case table `{name}`"
                f"{closest(name, groups)} (groups: {', '.join(groups)})"
            )
        if g.draws is not None and g.draws > check.draws:
            problems.append(
                f"{where} `check.groups.{name}.draws`: {g.draws} is more than `check.draws` "
                f"({check.draws}); a group takes the first of the spec's draws"
            )
    plan = {}
    for c in cases:
        g = check.groups.get(c.group)
        d = g.draws if g is not None and g.draws is not None else check.draws
        s = g.seeds if g is not None and g.seeds is not None else seeds
        plan[c.name] = (min(d, check.draws), s)
    return plan, problems


def check_design(
    params: Sequence[Any],
    cases: Sequence[Any],
    vectors: pd.DataFrame,
    rows: np.ndarray,
    plan: dict[str, tuple[int, int]],
) -> pd.DataFrame:
    """One row per (vector, case): draw by draw, the cases in spec order within each.

    Args:
        params: The parameters (the sample's columns).
        cases: The spec's cases.
        vectors: The sample's vectors (one row each).
        rows: The drawn sample rows, in draw order.
        plan: ``{case: (draws, seeds)}`` from :func:`group_plan`.

    Returns:
        Columns ``point``, ``group``, ``case``, ``draw``, ``sample_row``, ``seeds``, then one per
        parameter.
    """
    names = [p.name for p in params]
    recs = []
    for d, row in enumerate(rows):
        for c in cases:
            draws, seeds = plan[c.name]
            if d < draws:
                recs.append((c.name, d, int(row), seeds))
    df = pd.DataFrame(recs, columns=["case", "draw", "sample_row", "seeds"])
    values = vectors[names].to_numpy(dtype=float)[df["sample_row"].to_numpy(dtype=np.int64)]
    df = pd.concat([df, pd.DataFrame(values.reshape(len(df), len(names)), columns=names)], axis=1)
    df = df.astype({"draw": np.int64, "sample_row": np.int64, "seeds": np.int64})
    df.insert(0, "group", np.arange(len(df), dtype=np.int64))
    df.insert(0, "point", np.arange(len(df), dtype=np.int64))
    return df


def vector_problems(
    params: Sequence[Any], cases: Sequence[Any], design: pd.DataFrame, where: str
) -> list[str]:
    """Each case's scenario must accept every vector it will run with (before anything runs).

    As a screen or a wave builds each case at both ends of its box, a check builds each case
    with each of its drawn vectors (:func:`defection.model.building.build_problems`).
    """
    from defection.model.building import build_problems
    from defection.model.scenario import ScenarioError

    names = [p.name for p in params]
    by_name = {c.name: c for c in cases}
    problems: list[str] = []
    for case_name, rows in design.groupby("case", sort=False):
        runner = by_name[str(case_name)].runner()
        for _, r in rows.drop_duplicates("sample_row").iterrows():
            values = {n: float(r[n]) for n in names}
            at = f"{where} `cases.{case_name}` (sample row {int(r['sample_row'])})"
            try:
                sc = runner.with_overrides(values, origin=at)
            except ScenarioError as exc:
                problems += exc.problems
                continue
            problems += build_problems(sc, at)
        if len(problems) > 50:  # one bad column fails every case: enough to tell
            break
    return list(dict.fromkeys(problems))


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def sample_record(sample: Any, sha256: str, rows: np.ndarray) -> dict[str, Any]:
    """What the manifest and the spec's identity record of the sample a check drew from.

    ``manifest`` keeps the sample manifest's name, kind, calibration id, spec hash, commit,
    model version and creation time (those it has).
    """
    keep = ("name", "kind", "calibration_id", "spec_hash", "commit", "dirty", "model_version")
    man = {k: sample.manifest[k] for k in keep if k in sample.manifest}
    if "created" in sample.manifest:
        man["created"] = sample.manifest["created"]
    return {
        "path": shown_path(sample.path),
        "sha256": sha256,
        "vectors": len(sample.vectors),
        "rows": [int(r) for r in rows],
        "manifest": man,
    }


def shown_path(path: Path) -> str:
    """``path`` relative to the source checkout when inside it, else absolute.

    A committed manifest names no machine's folders.
    """
    root = Path(__file__).resolve().parent.parent
    full = Path(path).resolve()
    try:
        return full.relative_to(root).as_posix()
    except ValueError:
        return str(full)
