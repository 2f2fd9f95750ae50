"""How far two waves of the same box agree: each one's kept sample screened by the other's test.

Two first waves over the same box with different targets (``wave11_1`` and ``wave12_1``) keep
different regions. This script reads both folders' emulators from git (``PreviousWave.load``),
screens each wave's kept points (``nonimplausible.parquet``) with the other wave's own
constraint (its cut-off and rule, its earlier waves left out) and prints the share that passes:

    python scripts/wave_overlap.py calibration/wave11_1 calibration/wave12_1

No model run; a few minutes for waves with NAVCO emulators (they are refitted from their
records).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from defection.calibration.history import PreviousWave
from defection.calibration.spec import load_calibration


def overlap(a: Path, b: Path) -> dict[str, float]:
    """Share of ``a``'s kept points that ``b``'s constraint passes, and the reverse."""
    params = load_calibration(a / "spec.toml").params
    names = [p.name for p in params]
    ca = PreviousWave.load(a, params, str(a)).chain[0]
    cb = PreviousWave.load(b, params, str(b)).chain[0]
    sa = pd.read_parquet(a / "nonimplausible.parquet")[names].to_numpy()
    sb = pd.read_parquet(b / "nonimplausible.parquet")[names].to_numpy()
    return {
        f"{a.name} kept, {b.name} passes": float((cb.combined(sa) <= cb.cutoff).mean()),
        f"{b.name} kept, {a.name} passes": float((ca.combined(sb) <= ca.cutoff).mean()),
    }


def main(argv: list[str] | None = None) -> int:
    """``python scripts/wave_overlap.py WAVE_A WAVE_B``."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("a", type=Path, help="a wave's results folder")
    ap.add_argument("b", type=Path, help="another wave's results folder, same parameters")
    args = ap.parse_args(argv)
    for folder in (args.a, args.b):
        if not (folder / "nonimplausible.parquet").is_file():
            print(
                f"{folder}: no nonimplausible.parquet there (not a wave's folder)", file=sys.stderr
            )
            return 2
    for label, share in overlap(args.a, args.b).items():
        print(f"{label}: {share:.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
