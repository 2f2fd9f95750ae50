"""Draw a committed wave's non-implausible sample again, with more candidates.

A wave keeps the first ``keep`` non-implausible points of ``candidates`` Latin-hypercube
candidates. When the non-implausible space is a small fraction of the box (wave 1 kept 51 of
100,000), the next wave cannot draw a design of the size it needs from that sample. This module
redraws it from the committed wave alone: the emulators are refit exactly from
``emulators.json`` and ``runs.parquet`` (:class:`~defection.calibration.history.PreviousWave`),
every earlier wave's constraint applies as before, and no model run is repeated. It rewrites
``nonimplausible.parquet``, records the redraw in ``manifest.json`` (``wave.resampled``: the
candidates, the accepted count and fraction with its 90 % Wilson interval, the points kept, the
seed) and appends a paragraph to ``wave.md``. The wave's spec and runs are unchanged.

Usage::

    python -m defection.calibration.resample calibration/wave1 --candidates 1000000 --keep 1000
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import tomllib
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from defection.calibration.history import PreviousWave, sample_nonimplausible
from defection.calibration.runs import wave_manifest
from defection.model.scenario import ScenarioError
from defection.stats import wilson

__all__ = ["resample_wave", "main"]


def resample_wave(folder: str | Path, candidates: int, keep: int) -> dict[str, Any]:
    """Redraw ``folder``'s non-implausible sample from ``candidates`` candidates; keep ``keep``.

    The candidates' seed comes from the wave's own seed (``SeedSequence(seed, spawn_key=(6,
    candidates))``), so the same command gives the same sample.

    Returns:
        The ``wave.resampled`` entry written to the manifest.

    Raises:
        ScenarioError: Not a wave's results folder, or a count out of range.
    """
    folder = Path(folder)
    if candidates < 100 or keep < 1:
        raise ScenarioError([f"{folder}: --candidates must be >= 100 and --keep >= 1"])
    manifest = wave_manifest(folder)
    try:
        spec = tomllib.loads((folder / "spec.toml").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ScenarioError([f"{folder}: not a wave's results folder ({exc})"]) from None
    params = [
        SimpleNamespace(name=n, lo=float(lo), hi=float(hi)) for n, lo, hi in manifest["parameters"]
    ]
    prev = PreviousWave.load(folder, params, str(folder))
    base = int(spec["calibration"].get("seed", 0))
    seed = int(np.random.SeedSequence(base, spawn_key=(6, candidates)).generate_state(1)[0])
    sample, accepted, evaluated = sample_nonimplausible(prev.chain, params, candidates, keep, seed)
    lo, hi = wilson(accepted, evaluated, 0.90)
    entry = {
        "candidates": evaluated,
        "accepted": accepted,
        "nonimplausible_fraction": accepted / evaluated,
        "nonimplausible_fraction_90": [lo, hi],
        "kept": len(sample),
        "seed": seed,
        "waves_applied": [c.name for c in prev.chain],
        "when": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
    }
    sample.to_parquet(folder / "nonimplausible.parquet", index=False)
    manifest["wave"]["resampled"] = entry
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    md = folder / "wave.md"
    text = md.read_text(encoding="utf-8") if md.is_file() else ""
    text += (
        "\n## Sample redrawn\n\n"
        f"`python -m defection.calibration.resample {folder.name} --candidates {candidates} "
        f"--keep {keep}`: {accepted:,} of {evaluated:,} Latin-hypercube candidates "
        f"non-implausible for waves {', '.join(f'`{n}`' for n in entry['waves_applied'])} (a "
        f"fraction of {accepted / evaluated:.4g}, 90 % Wilson interval {lo:.4g} to {hi:.4g}); "
        f"{len(sample):,} kept in `nonimplausible.parquet`, which replaces the sample above. "
        "The emulators and runs are unchanged.\n"
    )
    md.write_text(text, encoding="utf-8")
    return entry


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m defection.calibration.resample WAVE --candidates N --keep K``."""
    ap = argparse.ArgumentParser(prog="python -m defection.calibration.resample")
    ap.add_argument("wave", help="a wave's results folder, e.g. calibration/wave1")
    ap.add_argument("--candidates", type=int, required=True)
    ap.add_argument("--keep", type=int, required=True)
    args = ap.parse_args(argv)
    try:
        e = resample_wave(args.wave, args.candidates, args.keep)
    except ScenarioError as exc:
        for line in exc.problems:
            print(f"error: {line}")
        return 2
    print(
        f"{args.wave}: {e['accepted']:,} of {e['candidates']:,} candidates non-implausible "
        f"({e['nonimplausible_fraction']:.4g}); kept {e['kept']:,}"
    )
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
