r"""Which targets rule out the points where one target's emulator is sure it is met.

A required target that the waves cannot steer toward (East Germany's fall day in the ninth
calibration) may conflict with the others: the parameters that meet it may miss them. This
script reads a wave's constraint from git (its own emulators, not its earlier waves'), takes
the wave's kept points and ``--random`` points drawn uniformly over the box, keeps those where
the target's emulator mean lies in ``[lo, hi]`` with a latent sd below ``--sd-max``, and prints
how many of those pass every other target (implausibility at most the cut-off), how many miss
at most one (what ``second_max`` allows), and the share each other target rules out:

    python scripts/target_conflicts.py calibration/wave12_2 gdr_fall_day --case gdr \\
        --range 30 60 --sd-max 10

No model run; about a minute.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from defection.calibration.history import PreviousWave
from defection.calibration.spec import load_calibration


def conflicts(
    wave: Path,
    target: str,
    case: str,
    lo: float,
    hi: float,
    sd_max: float,
    n_random: int = 20_000,
    seed: int = 1,
) -> tuple[dict[str, int], pd.Series]:
    """Counts (points, sure, pass all others, miss at most one) and each other target's share."""
    params = load_calibration(wave / "spec.toml").params
    names = [p.name for p in params]
    prev = PreviousWave.load(wave, params, str(wave))
    con = prev.chain[0]
    low = np.array([p.lo for p in params])
    high = np.array([p.hi for p in params])
    rng = np.random.default_rng(seed)
    x = np.vstack(
        [prev.sample[names].to_numpy(), low + (high - low) * rng.random((n_random, len(names)))]
    )
    observed = [t.name for t in con.observed()]
    if target not in con.emulators:
        raise KeyError(target)
    imp = pd.DataFrame(con.implausibility(x), columns=observed)
    mean, var = con.emulators[target].predict(x, case)
    sure = (mean >= lo) & (mean <= hi) & (np.sqrt(var) < sd_max)
    others = [n for n in observed if n != target]
    sub = imp.loc[sure, others] > con.cutoff
    counts = {
        "points": len(x),
        "sure": int(sure.sum()),
        "pass_all_others": int((~sub.any(axis=1)).sum()),
        "miss_at_most_one": int((sub.sum(axis=1) <= 1).sum()),
    }
    return counts, sub.mean().sort_values(ascending=False)


def main(argv: list[str] | None = None) -> int:
    """``python scripts/target_conflicts.py WAVE TARGET --case C --range LO HI``."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("wave", type=Path, help="a wave's results folder")
    ap.add_argument("target", help="the target whose emulator must be sure")
    ap.add_argument("--case", required=True, help="the case the target's emulator predicts")
    ap.add_argument("--range", nargs=2, type=float, required=True, metavar=("LO", "HI"))
    ap.add_argument("--sd-max", type=float, default=float("inf"), help="largest latent sd")
    ap.add_argument("--random", type=int, default=20_000, help="uniform points over the box")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    if not (args.wave / "emulators.json").is_file():
        print(f"{args.wave}: no emulators.json there (not a wave's folder)", file=sys.stderr)
        return 2
    try:
        counts, shares = conflicts(
            args.wave, args.target, args.case, *args.range, args.sd_max, args.random, args.seed
        )
    except KeyError:
        print(f"{args.wave}: no emulator of target {args.target!r}", file=sys.stderr)
        return 2
    print(
        f"{counts['points']:,} points (the wave's kept sample and {args.random:,} uniform); "
        f"{args.target} sure in [{args.range[0]:g}, {args.range[1]:g}]: {counts['sure']:,}; "
        f"of those, every other target passes: {counts['pass_all_others']:,}; "
        f"at most one misses: {counts['miss_at_most_one']:,}"
    )
    print("share of the sure points each other target rules out:")
    print(shares.round(3).to_string())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
