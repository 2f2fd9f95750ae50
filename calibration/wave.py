"""A history-matching wave's analysis: emulators, implausibility, the next sample, Sobol indices.

Writes, into the wave's results folder: ``emulators.json`` (hyper-parameters and diagnostics:
refit exactly from ``runs.parquet``), ``nonimplausible.parquet`` (the sample the next wave draws
its design from), ``sobol.parquet`` and ``wave.md`` (the report). The method is in
:mod:`defection.calibration.history`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from defection.calibration.history import (
    Constraint,
    diagnostics,
    fit_emulators,
    pooled_runs,
    sample_nonimplausible,
    sobol_indices,
    training_rows,
)
from defection.stats import wilson

__all__ = ["analyse_wave", "write_wave"]


def analyse_wave(calib: Any, runs: pd.DataFrame) -> dict[str, Any]:
    """Fit the emulators and sample the non-implausible space.

    Returns:
        ``emulators`` (by target), ``diagnostics`` (by target), ``constraint`` (this wave's),
        ``sample`` (kept non-implausible points), ``accepted`` and ``evaluated`` (candidates),
        ``sobol`` (long table).
    """
    assert calib.wave is not None
    w = calib.wave
    if w.pool:
        runs = pooled_runs(runs, calib.previous)
    ems = fit_emulators(calib, runs)
    diag = {
        t.name: diagnostics(ems[t.name], training_rows(runs, t), calib.param_names, t.column)
        for t in calib.targets
        if t.name in ems
    }
    own = Constraint(calib.name, ems, calib.targets, w.cutoff, w.rule)
    chain = [own] + (calib.previous.chain if calib.previous is not None else [])
    seed = int(np.random.SeedSequence(calib.meta.seed, spawn_key=(5,)).generate_state(1)[0])
    sample, accepted, evaluated = sample_nonimplausible(
        chain, calib.params, w.candidates, w.keep, seed
    )
    sob = [
        sobol_indices(ems[t.name], t, calib.params, w.sobol_samples, seed + 1 + i)
        for i, t in enumerate(calib.targets)
        if t.name in ems
    ]
    sobol = pd.concat(sob, ignore_index=True) if sob else pd.DataFrame()
    return {
        "emulators": ems,
        "diagnostics": diag,
        "constraint": own,
        "sample": sample,
        "accepted": accepted,
        "evaluated": evaluated,
        "sobol": sobol,
    }


def write_wave(calib: Any, runs: pd.DataFrame, folder: Path) -> dict[str, Any]:
    """Analyse a wave and write its files; returns the manifest's ``wave`` entry."""
    assert calib.wave is not None
    res = analyse_wave(calib, runs)
    records = {
        name: em.record() | {"diagnostics": res["diagnostics"][name]}
        for name, em in res["emulators"].items()
    }
    doc = {
        "training": (
            "runs.parquet rows (with `pool`, those of this wave and of every earlier wave of "
            "its chain) with status ok, a finite target:<name>, case in the target's "
            "cases, sorted by run_id; inputs: parameters scaled to [0, 1] over `params`, then "
            "`extra_inputs` as `case_inputs` gives them"
        ),
        "refit": (
            "GaussianProcessRegressor(make_kernel(n_inputs).clone_with_theta(theta), "
            "alpha=alpha, optimizer=None, normalize_y=True).fit(inputs, values) "
            "(defection.calibration.history.Emulator.from_record)"
        ),
        "emulators": records,
    }
    (folder / "emulators.json").write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    res["sample"].to_parquet(folder / "nonimplausible.parquet", index=False)
    res["sobol"].to_parquet(folder / "sobol.parquet", index=False)
    lo, hi = wilson(res["accepted"], res["evaluated"], 0.90)
    fraction = res["accepted"] / res["evaluated"]
    entry = {
        "cutoff": calib.wave.cutoff,
        "rule": calib.wave.rule,
        "candidates": res["evaluated"],
        "accepted": res["accepted"],
        "nonimplausible_fraction": fraction,
        "nonimplausible_fraction_90": [lo, hi],
        "kept": len(res["sample"]),
        "pool": bool(calib.wave.pool),
        "waves_applied": [
            c.name for c in ([res["constraint"]] + (calib.previous.chain if calib.previous else []))
        ],  # noqa: E501
    }
    (folder / "wave.md").write_text(_markdown(calib, res, entry), encoding="utf-8")
    return entry


def _markdown(calib: Any, res: dict[str, Any], entry: dict[str, Any]) -> str:
    w = calib.wave
    lo, hi = entry["nonimplausible_fraction_90"]
    out = [
        f"# History-matching wave `{calib.name}`",
        "",
        f"{len(calib.params)} parameters, {calib.n_points} design points x {calib.meta.seeds} "
        f"seed(s) = {calib.n_runs} runs over the cases "
        + ", ".join(f"`{c}` ({n})" for c, n in calib.case_runs().items())
        + (
            f"; design drawn from wave `{calib.previous.manifest['name']}`'s non-implausible "
            "sample."
            if calib.previous is not None
            else "; Latin hypercube design."
        )
        + (
            " Emulators pooled: trained on this wave's runs and every earlier wave's."
            if w.pool and calib.previous is not None
            else ""
        ),
        "",
        "## Emulators",
        "",
        "| target | training runs | R^2 (train) | within 3 sd | seed sd | length scales |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name, em in res["emulators"].items():
        d = res["diagnostics"][name]
        ls = em.gp.kernel_.k1.k2.length_scale
        scales = ", ".join(
            f"{n}: {v:.3g}" for n, v in zip(em.inputs, np.atleast_1d(ls), strict=True)
        )  # noqa: E501
        out.append(
            f"| `{name}` | {em.n_train} | {d['r2_train']:.3f} | {d['within_3sd']:.0%} | "
            f"{np.sqrt(em.noise_var):.3g} | {scales} |"
        )
    out += [
        "",
        f"## Implausibility (cut-off {w.cutoff:g}, rule `{w.rule}`)",
        "",
        "| target | observed | obs sd | discrepancy sd | compare |",
        "|---|---:|---:|---:|---|",
    ]
    for t in calib.targets:
        if t.history:
            obs = f"{t.observed:.4g}" if t.range is None else f"[{t.range[0]:g}, {t.range[1]:g}]"
            out.append(
                f"| `{t.name}` | {obs} | {t.obs_sd:.3g} | {t.discrepancy_sd:.3g} | {t.compare} |"
            )
    out += [
        "",
        f"Non-implausible for waves {', '.join(f'`{n}`' for n in entry['waves_applied'])}: "
        f"{entry['accepted']:,} of {entry['candidates']:,} Latin-hypercube candidates over the "
        f"box, a fraction of {entry['nonimplausible_fraction']:.4g} (90 % Wilson interval "
        f"{lo:.4g} to {hi:.4g}); {entry['kept']:,} kept for the next wave "
        "(`nonimplausible.parquet`).",
        "",
        "## Sobol indices of the emulators' means",
        "",
    ]
    if res["sobol"].empty:
        out.append("No emulator.")
    else:
        out += [
            "| target | parameter | S1 | S1 conf | ST | ST conf |",
            "|---|---|---:|---:|---:|---:|",
        ]  # noqa: E501
        for r in res["sobol"].itertuples():
            out.append(
                f"| `{r.target}` | `{r.parameter}` | {r.S1:.3f} | {r.S1_conf:.3f} | "
                f"{r.ST:.3f} | {r.ST_conf:.3f} |"
            )
    return "\n".join(out) + "\n"
