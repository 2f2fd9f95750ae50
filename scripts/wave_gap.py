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

Usage::

    python scripts/wave_gap.py calibration/wave16_1
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

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
    from defection.calibration.history import PreviousWave
    from defection.calibration.spec import load_calibration

    calib = load_calibration(folder / "spec.toml")
    by_cell = {(t.navco["table"], t.navco["cell"]): t.name for t in calib.targets if t.navco}
    names = {}
    for method in navco.METHODS:
        for table in ("defect_by_method", "success_by_method", "success_and_defect"):
            if (table, method) not in by_cell:
                raise ValueError(f"{folder}: the wave has no {table} cell for {method}")
            names[(table, method)] = by_cell[(table, method)]
    constraint = PreviousWave.load(folder, calib.params, str(folder)).chain[0]  # its own
    targets = {t.name: t for t in constraint.targets}
    kept = pd.read_parquet(folder / "nonimplausible.parquet")
    x = kept[calib.param_names].to_numpy(dtype=float)
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


def main(argv: list[str] | None = None) -> int:
    """Print the percentiles; exit 2 with a message on a folder that cannot be read."""
    ap = argparse.ArgumentParser(prog="python scripts/wave_gap.py")
    ap.add_argument("folder", type=Path, help="a committed wave folder")
    args = ap.parse_args(argv)
    if not (args.folder / "nonimplausible.parquet").exists():
        print(f"{args.folder}: no nonimplausible.parquet there", file=sys.stderr)
        return 2
    try:
        table = cells(args.folder)
    except ValueError as exc:
        print(exc, file=sys.stderr)
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
