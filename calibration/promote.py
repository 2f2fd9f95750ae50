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

The manifest also names the sample's **medoid** (:func:`medoid`): the one vector of the sample
closest, in summed distance over the wave's box scaled to the unit cube, to all the others. It is
a member of the sample (non-implausible itself, which a coordinate-wise median need not be), and
the registry's defaults of the calibrated parameters are its values rounded to
:data:`DEFAULT_DECIMALS` decimals (``model/params.py``, source ``calibrated: <this file>``; a test
holds the two together).

A wave's sample refined by runs (``calibration/refine.py``: a check that ran every vector of
the sample, and the rule that kept some of them) is promoted with ``--refined FOLDER``: the
sample is then the wave's rows the refinement kept, the medoid is taken among them, and the
manifest names the refinement (its check, rule and kept rows) next to the wave.

Usage::

    python -m defection.calibration.promote calibration/wave1 --status provisional
    python -m defection.calibration.promote calibration/wave5_3 --status final \
        --refined calibration/refine5
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

__all__ = ["DEFAULT_DECIMALS", "PromoteError", "STATUSES", "medoid", "promote", "main"]

#: What a promoted sample may be.
STATUSES = ("provisional", "final")
#: Decimals of the registry defaults taken from the medoid (well inside the emulators' length
#: scales, the smallest of which is about 0.03 of a parameter's range).
DEFAULT_DECIMALS = 3


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


def medoid(vectors: pd.DataFrame, box: Sequence[Sequence[Any]] | None = None) -> int:
    """The row of the sample's medoid: the vector with the least summed distance to the others.

    ``d(i, j) = || (x_i - x_j) / (hi - lo) ||_2`` over the parameters, each scaled by its range in
    the wave's box (``[name, lo, hi]`` triples; without one, the sample's own span), so that no
    parameter weighs more for its unit. Ties go to the lower row.

    Args:
        vectors: The sample's parameter columns, one row per vector.
        box: The wave's ``parameters`` (``[name, lo, hi]``), from its manifest.

    Returns:
        The medoid's row position in ``vectors``.
    """
    import numpy as np

    x = vectors.to_numpy(dtype=float)
    spans = dict((str(b[0]), float(b[2]) - float(b[1])) for b in box or ())
    scale = np.array(
        [spans.get(str(c)) or float(np.ptp(vectors[c].to_numpy())) or 1.0 for c in vectors]
    )
    z = x / scale
    d = np.sqrt(((z[:, None, :] - z[None, :, :]) ** 2).sum(axis=-1)).sum(axis=1)
    return int(np.argmin(d))


def _refinement(folder: Path, spath: Path, frame: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """The wave's rows a refinement kept, and what the manifest records of it."""
    from defection.calibration.navco import sha256

    info_path = folder / "refined.json"
    if not info_path.is_file():
        raise PromoteError(f"{folder}: not a refinement's folder (needs refined.json)")
    info = json.loads(info_path.read_text(encoding="utf-8"))
    sha = sha256(spath)
    if (info.get("sample") or {}).get("sha256") != sha:
        raise PromoteError(
            f"{info_path}: refines another sample (sha256 "
            f"{str((info.get('sample') or {}).get('sha256'))[:12]}), not {spath} ({sha[:12]})"
        )
    rows = [int(r) for r in info.get("kept_rows") or ()]
    if not rows or max(rows) >= len(frame) or min(rows) < 0:
        raise PromoteError(f"{info_path}: kept_rows is empty or outside the wave's sample")
    record = {
        "folder": info.get("folder", str(folder)),
        "check": info.get("check"),
        "rule": info.get("rule"),
        "passed_navco_cut": info.get("passed_navco_cut"),
        "kept_rows": rows,
    }
    return frame.iloc[rows].reset_index(drop=True), record


def promote(
    wave: str | Path,
    status: str,
    dest: str | Path | None = None,
    note: str = "",
    refined: str | Path | None = None,
) -> dict[str, Any]:
    """Copy ``wave``'s non-implausible sample to ``dest`` and write its manifest.

    Args:
        wave: A wave's results folder (``calibration/<name>/``).
        status: One of :data:`STATUSES`.
        dest: The sample file (default :data:`defection.ensemble.SAMPLE_PATH`).
        note: A sentence kept in the manifest (why this wave, what is left).
        refined: A refinement's folder (``calibration/refine.py`` wrote its ``refined.json``
            from the runs of every vector of this wave's sample): only the rows it kept.

    Returns:
        The manifest written.

    Raises:
        PromoteError: Not a wave folder, an empty sample, an unknown status, or a refinement
            of another sample.
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
    frame = pd.read_parquet(spath)
    if len(frame) == 0:
        raise PromoteError(f"{spath}: the wave kept no non-implausible point")
    refinement = None
    if refined is not None:
        frame, refinement = _refinement(Path(refined), spath, frame)
    rows = len(frame)
    target = Path(dest) if dest is not None else ensemble.SAMPLE_PATH
    target.parent.mkdir(parents=True, exist_ok=True)
    if refinement is None:
        shutil.copyfile(spath, target)
    else:
        frame.to_parquet(target, index=False)
    root = Path(__file__).resolve().parents[1]
    try:
        shown = str(folder.resolve().relative_to(root))
    except ValueError:
        shown = str(folder)
    params = [str(b[0]) for b in wave_manifest.get("parameters") or ()]
    params = [c for c in params if c in frame.columns] or [
        c for c in frame.columns if not str(c).startswith("implausibility")
    ]
    row = medoid(frame[params], wave_manifest.get("parameters"))
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
        "refinement": refinement,
        "data": wave_manifest.get("data"),
        "split": wave_manifest.get("split"),
        "parameters": wave_manifest.get("parameters"),
        "medoid": {
            "rule": "the vector with the least summed distance to the others, each parameter "
            "scaled by its range in the wave's box (calibration/promote.py, medoid)",
            # the row in the promoted sample (a refined sample's rows are renumbered from 0)
            "row": row,
            "values": {c: float(frame[c].iloc[row]) for c in params},
            "defaults": {c: round(float(frame[c].iloc[row]), DEFAULT_DECIMALS) for c in params},
        },
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
    ap.add_argument(
        "--refined", default=None, help="a refinement's folder: promote only the rows it kept"
    )
    args = ap.parse_args(argv)
    try:
        m = promote(args.wave, args.status, note=args.note, refined=args.refined)
    except PromoteError as exc:
        print(f"error: {exc}")
        return 2
    refined = f", refined by {m['refinement']['folder']}" if m["refinement"] else ""
    print(
        f"calibrated sample: {m['rows']} vectors from {m['wave']['folder']}{refined} "
        f"({m['status']}), "
        f"model version {m['model_version']} -> {ensemble.SAMPLE_PATH}"
    )
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
