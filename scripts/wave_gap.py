"""The NAVCO success gap a wave's emulators imply at its kept (non-implausible) points.

A wave fits the success gap through its parts (docs/CALIBRATION.md, "NAVCO campaigns, case
coefficients and aggregate targets"): for each method, the emulated DEFECT rate ``D`` over the
method's finished campaigns (the DEFECT emulator averaged over the success cell's campaigns),
the success rate ``S`` and the joint ``J`` (the ``success_and_defect`` cell). The gap is then

    P(SUCCESS | DEFECT) - P(SUCCESS | no DEFECT) = J / D - (S - J) / (1 - D),

the identity ``navcases.model_rates`` uses on runs. The script refits the wave's committed
emulators (``PreviousWave.load``), predicts the three cells at every kept point of
``nonimplausible.parquet`` and prints the 10th, 50th and 90th percentiles of each and of the gap,
next to the data's values. Emulator means of a 0/1 rate can stray outside [0, 1]; the gap of
such a point is printed as it comes. A look at a wave, not a result: only runs say what a
parameter vector does.

``--cuts N`` asks which targets rule the gaps out: it draws N Latin-hypercube candidates over the
box (seed ``--seed``), predicts both methods' gaps with the wave's own emulators (the best
informed: a pooled wave's are trained on every wave's runs), and prints, for the candidates
whose gaps both come within ``--margin`` of the data's ("with the gaps") and for all
candidates, the share each wave of its chain keeps (by that wave's own emulators and rule) and,
per wave and target, the share over the cut-off. A wave that keeps far fewer of the candidates
with the gaps, or a target over its cut-off far more often with them, is what pulls the kept
space away from the gaps. ``--near TARGET`` selects by one target instead: the candidates whose
emulated value of it comes within ``--margin`` of its observed value (or range), to see which
targets a well-fitted one conflicts with.

Usage::

    python scripts/wave_gap.py calibration/wave16_1
    python scripts/wave_gap.py calibration/wave18_1 --cuts 20000
    python scripts/wave_gap.py calibration/wave18_2 --cuts 20000 --near success_violent
"""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from defection.calibration import navcases, navco


def implied_gap(d: np.ndarray, s: np.ndarray, j: np.ndarray) -> np.ndarray:
    """``J / D - (S - J) / (1 - D)``: the success gap from the three cell rates."""
    d, s, j = (np.asarray(v, dtype=float) for v in (d, s, j))
    with np.errstate(divide="ignore", invalid="ignore"):
        return j / d - (s - j) / (1.0 - d)


def cells(folder: Path) -> dict[str, dict[str, np.ndarray]]:
    """Per method, the emulated ``D``, ``S``, ``J`` and gap at the wave's kept points.

    Raises:
        ValueError: The wave has no ``success_and_defect`` cell for a method.
    """
    calib, chain = _chain(Path(folder))
    constraint = chain[0]  # its own
    kept = pd.read_parquet(folder / "nonimplausible.parquet")
    return cells_at(constraint, calib, kept[calib.param_names].to_numpy(dtype=float))


def cells_at(constraint: Any, calib: Any, x: np.ndarray) -> dict[str, dict[str, np.ndarray]]:
    """Per method, the emulated ``D``, ``S``, ``J`` and gap at the points ``x``.

    Raises:
        ValueError: The wave has no ``success_and_defect`` cell for a method.
    """
    by_cell = {(t.navco["table"], t.navco["cell"]): t.name for t in calib.targets if t.navco}
    names = {}
    for method in navco.METHODS:
        for table in ("defect_by_method", "success_by_method", "success_and_defect"):
            if (table, method) not in by_cell:
                raise ValueError(f"the wave has no {table} cell for {method}")
            names[(table, method)] = by_cell[(table, method)]
    targets = {t.name: t for t in constraint.targets}
    out = {}
    for method in navco.METHODS:
        s_t = targets[names[("success_by_method", method)]]
        j_t = targets[names[("success_and_defect", method)]]
        d_t = targets[names[("defect_by_method", method)]]
        ems = constraint.emulators
        d = ems[d_t.name].predict_average(x, s_t.cases)[0]  # over the finished campaigns
        s = ems[s_t.name].predict_average(x, s_t.cases)[0]
        j = ems[j_t.name].predict_average(x, j_t.cases)[0]
        out[method] = {"D": d, "S": s, "J": j, "gap": implied_gap(d, s, j)}
    return out


@functools.cache
def _chain(folder: Path) -> tuple[Any, list[Any]]:
    """A wave's spec and constraint chain, read once per folder (refitting is the slow part)."""
    from defection.calibration.history import PreviousWave
    from defection.calibration.spec import load_calibration

    calib = load_calibration(folder / "spec.toml")
    return calib, PreviousWave.load(folder, calib.params, str(folder)).chain


def gap_cuts(
    folder: Path, n: int, seed: int, margin: float, near: str | None = None
) -> tuple[dict[str, pd.DataFrame], dict]:
    """Per wave of the chain and target, the share of candidates over the cut-off.

    Args:
        folder: A committed wave folder.
        n: Latin-hypercube candidates over the wave's box.
        seed: The hypercube's seed.
        margin: A candidate is selected when each method's emulated gap is at least the
            data's minus ``margin`` (or, with ``near``, when that target's emulated value is
            within ``margin`` of its observed value or range).
        near: A target of the wave to select by instead of the gaps.

    Returns:
        Per wave of the chain, one row per target (``selected``, ``all``: the share over its
        cut-off, by that wave's emulators), and a summary: candidates, how many are selected,
        and per wave of the chain (and all together) the share it keeps of the selected and of
        all.

    Raises:
        ValueError: ``near`` names no observed target of the wave.
    """
    from SALib.sample import latin

    from defection.calibration.history import (
        combine,
        implausibility,
        range_implausibility,
        target_prediction,
    )

    calib, chain = _chain(Path(folder))
    constraint = chain[0]
    problem = {
        "num_vars": len(calib.params),
        "names": calib.param_names,
        "bounds": [[p.lo, p.hi] for p in calib.params],
    }
    x = latin.sample(problem, n, seed=seed)
    if near is None:
        gaps = cells_at(constraint, calib, x)
        has = np.ones(len(x), dtype=bool)
        for method in navco.METHODS:
            data = navcases.data_cell("success_gap", method)["observed"]
            has &= np.nan_to_num(gaps[method]["gap"], nan=-np.inf) >= data - margin
    else:
        by_name = {t.name: t for t in constraint.observed()}
        if near not in by_name:
            raise ValueError(f"no observed target {near!r} (it has {', '.join(by_name)})")
        t = by_name[near]
        mean, _ = target_prediction(constraint.emulators[near], t, x)
        # the implausibility's numerator: its distance from the observed value or range
        if getattr(t, "range", None) is not None:
            dist = range_implausibility(t.range, mean, 0.0, 1.0, 0.0)
        else:
            dist = implausibility(t.observed, mean, 0.0, 1.0, 0.0)
        has = dist <= margin
    tables, waves = {}, {}
    for c in chain:
        imp = c.implausibility(x)
        over = imp > c.cutoff
        names = [t.name for t in c.observed()]
        tables[c.name] = pd.DataFrame(
            {
                "selected": over[has].mean(axis=0) if has.any() else np.full(len(names), np.nan),
                "all": over.mean(axis=0),
            },
            index=names,
        )
        waves[c.name] = combine(imp, c.rule, c.required()) <= c.cutoff
    waves["all waves"] = np.logical_and.reduce(list(waves.values()))
    summary = {
        "candidates": len(x),
        "selected": int(has.sum()),
        "kept": {
            name: (float(k[has].mean()) if has.any() else float("nan"), float(k.mean()))
            for name, k in waves.items()
        },
    }
    return tables, summary


def main(argv: list[str] | None = None) -> int:
    """Print the percentiles; exit 2 with a message on a folder that cannot be read."""
    ap = argparse.ArgumentParser(prog="python scripts/wave_gap.py")
    ap.add_argument("folder", type=Path, help="a committed wave folder")
    ap.add_argument("--cuts", type=int, metavar="N", help="which targets rule the gaps out")
    ap.add_argument("--seed", type=int, default=1, help="the candidates' seed (--cuts)")
    ap.add_argument("--margin", type=float, default=0.1, help="how near the data's (--cuts)")
    ap.add_argument("--near", metavar="TARGET", help="select by this target, not the gaps")
    args = ap.parse_args(argv)
    if not (args.folder / "nonimplausible.parquet").exists():
        print(f"{args.folder}: no nonimplausible.parquet there", file=sys.stderr)
        return 2
    if args.cuts:
        try:
            tables, summary = gap_cuts(
                args.folder, args.cuts, args.seed, args.margin, near=args.near
            )
        except ValueError as exc:
            print(f"{args.folder}: {exc}", file=sys.stderr)
            return 2
        what = (
            f"{args.near} within {args.margin:g} of the data's"
            if args.near
            else f"both gaps within {args.margin:g} of the data's"
        )
        label = f"with {args.near} near" if args.near else "with the gaps"
        print(
            f"{args.folder}: {summary['candidates']:,} candidates over the box (seed {args.seed}), "
            f"{summary['selected']:,} with {what} (by this wave's emulators)"
        )
        print(f"share kept: {label} / all candidates")
        for name, (selected, every) in summary["kept"].items():
            print(f"  {name:28s} {selected:6.1%} / {every:6.1%}")
        for wave, cut in tables.items():
            print(f"{wave}: share over the cut-off, per target: {label} / all candidates")
            for name, row in cut.sort_values("selected", ascending=False).iterrows():
                print(f"  {name:28s} {row['selected']:6.1%} / {row['all']:6.1%}")
        return 0
    try:
        table = cells(args.folder)
    except ValueError as exc:
        print(f"{args.folder}: {exc}", file=sys.stderr)
        return 2
    n = len(next(iter(table.values()))["gap"])
    print(f"{args.folder}: the emulators at its {n:,} kept points, 10th / 50th / 90th percentile")
    for method, vals in table.items():
        parts = []
        for key, v in vals.items():
            q = np.nanquantile(v, [0.1, 0.5, 0.9])
            parts.append(f"{key} {q[0]:.2f} / {q[1]:.2f} / {q[2]:.2f}")
        gap = navcases.data_cell("success_gap", method)["observed"]
        print(f"{method}: " + "; ".join(parts) + f" (data gap {gap:+.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
