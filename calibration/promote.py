"""Make a wave's non-implausible sample the calibrated sample (issue #10, section 4).

``defection run --ensemble``, ``defection validation`` and the check kind draw from
``calibration/calibrated/sample.parquet`` (:data:`defection.ensemble.SAMPLE_PATH`). This module
copies a wave's ``nonimplausible.parquet`` there and writes ``manifest.json`` beside it with what
the issue asks the result to carry: the wave (name, calibration id, spec hash, folder), the data
version (the NAVCO file's sha256), the split (its file's sha256), the commit the wave ran at and
the commit it was promoted at, the model version, the row count and a status:

* ``provisional``: the sample of a wave that is not the last (more waves are planned); reports
  built on it say so;
* ``final``: the last wave's.

Usage::

    python -m defection.calibration.promote calibration/wave1 --status provisional
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from defection import ensemble

__all__ = ["PromoteError", "STATUSES", "promote", "main"]

#: What a promoted sample may be.
STATUSES = ("provisional", "final")


class PromoteError(ValueError):
    """The wave folder cannot be promoted (names the file and the rule)."""


def _head(root: Path) -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip() or None


def promote(
    wave: str | Path, status: str, dest: str | Path | None = None, note: str = ""
) -> dict[str, Any]:
    """Copy ``wave``'s non-implausible sample to ``dest`` and write its manifest.

    Args:
        wave: A wave's results folder (``calibration/<name>/``).
        status: One of :data:`STATUSES`.
        dest: The sample file (default :data:`defection.ensemble.SAMPLE_PATH`).
        note: A sentence kept in the manifest (why this wave, what is left).

    Returns:
        The manifest written.

    Raises:
        PromoteError: Not a wave folder, an empty sample, or an unknown status.
    """
    folder = Path(wave)
    if status not in STATUSES:
        raise PromoteError(f"--status: {status!r} is not one of {', '.join(STATUSES)}")
    mpath = folder / "manifest.json"
    spath = folder / "nonimplausible.parquet"
    if not mpath.is_file() or not spath.is_file():
        raise PromoteError(
            f"{folder}: not a wave's results folder (needs manifest.json and "
            "nonimplausible.parquet)"
        )
    wave_manifest = json.loads(mpath.read_text(encoding="utf-8"))
    if wave_manifest.get("kind") != "wave":
        raise PromoteError(f"{mpath}: kind is {wave_manifest.get('kind')!r}, not a wave")
    rows = len(pd.read_parquet(spath))
    if rows == 0:
        raise PromoteError(f"{spath}: the wave kept no non-implausible point")
    target = Path(dest) if dest is not None else ensemble.SAMPLE_PATH
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(spath, target)
    root = Path(__file__).resolve().parents[1]
    try:
        shown = str(folder.resolve().relative_to(root))
    except ValueError:
        shown = str(folder)
    manifest = {
        "status": status,
        "note": note,
        "rows": rows,
        "model_version": wave_manifest.get("model_version"),
        "wave": {
            "name": wave_manifest.get("name"),
            "calibration_id": wave_manifest.get("calibration_id"),
            "spec_hash": wave_manifest.get("spec_hash"),
            "folder": shown,
            "commit": wave_manifest.get("commit"),
            "dirty": wave_manifest.get("dirty"),
            "nonimplausible": wave_manifest.get("wave"),
            "previous": wave_manifest.get("previous"),
        },
        "data": wave_manifest.get("data"),
        "split": wave_manifest.get("split"),
        "parameters": wave_manifest.get("parameters"),
        "promoted_at_commit": _head(root),
        "promoted": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
    }
    (target.parent / "manifest.json").write_text(
        json.dumps(manifest, indent=2, default=str) + "\n", encoding="utf-8"
    )
    return manifest


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m defection.calibration.promote WAVE --status S [--note TEXT]``."""
    ap = argparse.ArgumentParser(prog="python -m defection.calibration.promote")
    ap.add_argument("wave", help="a wave's results folder, e.g. calibration/wave1")
    ap.add_argument("--status", required=True, choices=STATUSES)
    ap.add_argument("--note", default="")
    args = ap.parse_args(argv)
    try:
        m = promote(args.wave, args.status, note=args.note)
    except PromoteError as exc:
        print(f"error: {exc}")
        return 2
    print(
        f"calibrated sample: {m['rows']} vectors from {m['wave']['folder']} ({m['status']}), "
        f"model version {m['model_version']} -> {ensemble.SAMPLE_PATH}"
    )
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
