"""Ensembles (issue #10 section 5): a scenario over draws from a calibrated sample x seeds.

A single run is one draw: one seed of one parameter vector. Its outcome says little on its own.
An ensemble runs ``N`` parameter vectors drawn from a calibrated sample (the non-implausible
parameter vectors a history-matching wave keeps, ``nonimplausible.parquet``), each with ``S``
seeds, and reports:

* the probability of each outcome (and of the regime falling), with a 90 % Wilson interval over
  the ``N x S`` runs;
* the median and the 90 % interval (5th to 95th percentile over runs) of the headline shares:
  soldiers left, defected, deserted and detained, elites defected, peak participation.

The sample's own manifest names the model version it was fitted to; a sample from another model
version is refused, unless :data:`defection.model.version.SAMPLE_COMPATIBLE` says why that
version gives the same numbers for a run that sets the sample's parameters. Parameters of the
sample that are not the scenario's (the ``case.*`` mapping coefficients, which act when a NAVCO
campaign is coded) are left out and listed. Draws of vectors and seeds come from one
``SeedSequence``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from defection import calibration as _calibration
from defection.stats import wilson

#: Where the calibrated sample of record is committed (issue #10 section 4).
SAMPLE_PATH = Path(_calibration.__file__).resolve().parent / "calibrated" / "sample.parquet"
LEVEL = 0.90
#: Headline shares an ensemble summarises, read from a run's summary.
SHARES: dict[str, Callable[[dict[str, Any]], float]] = {
    "soldiers_left": lambda s: s["soldiers"]["deserted"] + s["soldiers"]["defected"],
    "soldiers_defected": lambda s: s["soldiers"]["defected"],
    "soldiers_deserted": lambda s: s["soldiers"]["deserted"],
    "soldiers_detained": lambda s: s["soldiers"]["detained"],
    "elites_defected": lambda s: s["elites"]["defected"],
    "peak_participation": lambda s: s["participation"]["peak_share"],
}


class EnsembleError(ValueError):
    """The sample cannot be used (missing, empty, another model version, no parameter)."""


@dataclass(frozen=True)
class Sample:
    """A calibrated sample: parameter vectors by registry name, and where it came from."""

    path: Path
    vectors: pd.DataFrame
    manifest: dict[str, Any]


def load_sample(path: str | Path | None = None) -> Sample:
    """Read a sample (a wave's ``nonimplausible.parquet``) and check it fits this model.

    Args:
        path: The sample file; :data:`SAMPLE_PATH` by default.

    Raises:
        EnsembleError: No file, no rows, no parameter column, or another model version (one
            that :data:`~defection.model.version.SAMPLE_COMPATIBLE` does not name, or a sample of
            one that lacks a column :data:`~defection.model.version.SAMPLE_REQUIRES` asks for).
    """
    from defection.model.params import BY_NAME
    from defection.model.version import MODEL_VERSION, SAMPLE_COMPATIBLE, SAMPLE_REQUIRES

    p = Path(path) if path is not None else SAMPLE_PATH
    if not p.is_file():
        where = "--sample" if path is not None else "the calibrated sample"
        raise EnsembleError(
            f"{p}: {where} does not exist"
            + ("" if path is not None else " (no calibration has been committed yet)")
        )
    try:
        frame = pd.read_parquet(p)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is one message
        raise EnsembleError(f"{p}: not a readable Parquet file ({type(exc).__name__})") from None
    manifest_path = p.parent / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    version = manifest.get("model_version")
    if version is not None and str(version) not in (MODEL_VERSION, *SAMPLE_COMPATIBLE):
        raise EnsembleError(
            f"{p}: fitted to model version {version}, this is model version {MODEL_VERSION}"
        )
    missing = [c for c in SAMPLE_REQUIRES.get(str(version), ()) if c not in frame.columns]
    if missing:
        raise EnsembleError(
            f"{p}: a model-version-{version} sample without {', '.join(missing)}: fitted with "
            f"a mechanism off that model version {MODEL_VERSION} switches on; calibrate again"
        )
    # model parameters, and the case-coding coefficients (``case.*``, which a scenario leaves out)
    params = [c for c in frame.columns if c in BY_NAME or c.startswith("case.")]
    if not any(c in BY_NAME for c in params):
        raise EnsembleError(f"{p}: no column names a model parameter")
    if frame.empty:
        raise EnsembleError(f"{p}: the sample has no rows")
    return Sample(p, frame[params].reset_index(drop=True), manifest)


def plan(sample: Sample, draws: int, seeds: int, seed: int) -> list[tuple[int, int]]:
    """``(sample row, run seed)`` of each run, drawn from one SeedSequence.

    ``draws`` rows are drawn without replacement (with replacement when the sample is smaller),
    each with ``seeds`` seeds.
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, draws, seeds]))
    n = len(sample.vectors)
    rows = rng.choice(n, size=draws, replace=draws > n)
    run_seeds = rng.integers(0, 2**31 - 1, size=(draws, seeds))
    return [(int(r), int(s)) for r, ss in zip(rows, run_seeds, strict=True) for s in ss]


def summarise(summaries: list[dict[str, Any]], level: float = LEVEL) -> dict[str, Any]:
    """Outcome probabilities with Wilson intervals and share quantiles over the runs.

    Returns:
        ``runs``, ``outcomes`` (``{name: {p, lo, hi, k}}`` for each outcome and ``fell``), and
        ``shares`` (``{name: {median, lo, hi}}``, the interval the central ``level`` of runs).
    """
    from defection.model.outputs import OUTCOMES, SUCCESS_OUTCOMES

    n = len(summaries)
    out: dict[str, Any] = {"runs": n, "level": level, "outcomes": {}, "shares": {}}
    names = [s["outcome"] for s in summaries]
    counts = {o: sum(x == o for x in names) for o in OUTCOMES}
    counts["fell"] = sum(x in SUCCESS_OUTCOMES for x in names)
    for name, k in counts.items():
        lo, hi = wilson(k, n, level)
        out["outcomes"][name] = {"k": k, "p": k / n if n else float("nan"), "lo": lo, "hi": hi}
    q = [(1 - level) / 2, 0.5, (1 + level) / 2]
    for name, read in SHARES.items():
        values = np.array([read(s) for s in summaries], dtype=float)
        lo, med, hi = np.quantile(values, q) if n else (np.nan,) * 3
        out["shares"][name] = {"median": float(med), "lo": float(lo), "hi": float(hi)}
    return out


def run_ensemble(
    scenario: Any,
    sample: Sample,
    draws: int,
    seeds: int,
    seed: int = 1,
    until_horizon: bool = False,
    on_run: Callable[[int], None] | None = None,
    policy: Any = None,
) -> dict[str, Any]:
    """Run the ensemble of a scenario and summarise it (serially, one run after another).

    Args:
        scenario: A resolved :class:`~defection.model.scenario.Scenario`.
        sample: From :func:`load_sample`.
        draws: Parameter vectors drawn from the sample (``N``).
        seeds: Seeds per vector (``S``).
        seed: Seed of the draws.
        until_horizon: Keep each run going after its outcome.
        on_run: Called with the number of runs done after each run (progress bars).
        policy: A :class:`~defection.model.policy.Package` applied in every run, or None.

    Returns:
        The ensemble summary: :func:`summarise`'s result plus the scenario, the sample's path and
        manifest, the plan, and the parameters that were left out.
    """
    from defection.runner import simulate, summarize

    own = set(scenario.params)
    used = [c for c in sample.vectors.columns if c in own]
    left_out = [c for c in sample.vectors.columns if c not in own]
    runs = plan(sample, draws, seeds, seed)
    summaries = []
    for i, (row, run_seed) in enumerate(runs, 1):
        vector = {c: sample.vectors.at[row, c] for c in used}
        model = simulate(scenario.with_overrides(vector), run_seed, until_horizon, policy=policy)
        summaries.append(summarize(model, run_seed))
        if on_run is not None:
            on_run(i)
    result = summarise(summaries)
    result.update(
        {
            "scenario": scenario.name,
            "policy": summaries[0]["policy"] if summaries else None,
            "draws": draws,
            "seeds_per_draw": seeds,
            "seed": seed,
            "sample": str(sample.path),
            "sample_manifest": sample.manifest,
            "parameters_drawn": used,
            "parameters_left_out": left_out,
            "runs_plan": [{"sample_row": r, "seed": s} for r, s in runs],
            "run_outcomes": [
                {"outcome": s["outcome"], "outcome_day": s["outcome_day"]} for s in summaries
            ],
        }
    )
    return result
