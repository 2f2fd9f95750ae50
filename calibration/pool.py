"""Analyse a committed wave again with pooled emulators, into a folder of its own.

A wave's emulators are trained on its own runs. In a third wave those are a few hundred, and for
a binary target (a campaign run's DEFECT) a Gaussian process trained on them learns the
design's average rate and little that carries to other vectors; trained on the runs of every
wave of the same box it does carry (docs/CALIBRATION.md, "Pooled emulators"). A new wave can
ask for that with ``pool = true`` in its ``[wave]`` table; this module applies it to a wave
that has run, without repeating a model run:

    python -m defection.calibration.pool calibration/wave9_3 --out calibration/wave9_3_pooled

It reads the wave's spec and runs from its folder, fits the emulators afresh on its runs and
every earlier wave's (:func:`~defection.calibration.history.pooled_runs`), screens the same
candidates as the wave did (the wave's own seed) against the new emulators and the earlier
waves' unchanged ones, and writes a complete wave folder next to it: the wave's ``spec.toml``,
``design.parquet`` and ``runs.parquet`` copied, new ``emulators.json``,
``nonimplausible.parquet``, ``sobol.parquet`` and ``wave.md``, and a manifest that keeps the
wave's identity (its spec hash names its runs) with ``wave.pool`` set, ``name`` the new
folder's, and ``pooled_from`` (the folder, the time, the commit). The wave's own folder is not
touched. The new folder must sit next to the old one, so that the chain's relative paths hold.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from defection.calibration.runs import _commit, wave_manifest
from defection.calibration.spec import load_calibration
from defection.calibration.wave import write_wave
from defection.model.scenario import ScenarioError

__all__ = ["main", "pool_wave"]

COPIED = ("spec.toml", "design.parquet", "runs.parquet")


def pool_wave(folder: str | Path, out: str | Path) -> dict[str, Any]:
    """Write ``out``: ``folder``'s wave analysed with emulators trained on every wave's runs.

    Returns:
        The new manifest's ``wave`` entry.

    Raises:
        ScenarioError: ``folder`` is not a wave's results folder, has no earlier wave to pool
            with, or ``out`` exists or is not next to it.
    """
    folder, out = Path(folder), Path(out)
    manifest = wave_manifest(folder)
    if not manifest.get("previous"):
        raise ScenarioError(
            [f"{folder}: a first wave has no earlier wave's runs to pool with; nothing to do"]
        )
    if manifest["wave"].get("pool"):
        raise ScenarioError([f"{folder}: its emulators are pooled already"])
    if out.exists():
        raise ScenarioError([f"{out}: exists; name a new folder"])
    if out.resolve().parent != folder.resolve().parent:
        raise ScenarioError(
            [f"{out}: must sit next to {folder} (the chain names earlier waves by relative path)"]
        )
    calib = load_calibration(folder / "spec.toml")
    assert calib.wave is not None
    calib.wave = calib.wave.model_copy(update={"pool": True})
    calib.name = out.name  # the new constraint's name in every later wave's chain
    runs = pd.read_parquet(folder / "runs.parquet")
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.resolve().parent))
    try:
        for name in COPIED:
            shutil.copy2(folder / name, tmp / name)
        entry = write_wave(calib, runs, tmp)
        note = (
            f"Pooled re-analysis of `{folder.name}` "
            f"(`python -m defection.calibration.pool {folder} --out {out}`): the same "
            "runs, emulators trained on them and on every earlier wave's runs.\n\n"
        )
        md = tmp / "wave.md"
        md.write_text(note + md.read_text(encoding="utf-8"), encoding="utf-8")
        manifest["name"] = out.name
        manifest["wave"] = entry
        manifest["pooled_from"] = {
            "folder": f"../{folder.name}",
            "when": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
            **_commit(),
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return entry


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m defection.calibration.pool WAVE --out FOLDER``."""
    ap = argparse.ArgumentParser(prog="python -m defection.calibration.pool")
    ap.add_argument("wave", help="a wave's results folder, e.g. calibration/wave9_3")
    ap.add_argument("--out", required=True, help="the new folder, next to the wave's")
    args = ap.parse_args(argv)
    try:
        e = pool_wave(args.wave, args.out)
    except ScenarioError as exc:
        for line in exc.problems:
            print(f"error: {line}")
        return 2
    print(
        f"{args.out}: {e['accepted']:,} of {e['candidates']:,} candidates non-implausible "
        f"({e['nonimplausible_fraction']:.4g}) for waves {', '.join(e['waves_applied'])}; "
        f"kept {e['kept']:,}"
    )
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
