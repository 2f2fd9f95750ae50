"""Promoting a wave's non-implausible sample to the calibrated sample (calibration/promote.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from defection.calibration.promote import PromoteError, main, promote
from defection.ensemble import load_sample
from defection.model.version import MODEL_VERSION


def _wave(folder: Path, rows: int = 3, kind: str = "wave") -> Path:
    folder.mkdir(parents=True)
    pd.DataFrame(
        {
            "soldiers.loyalty": [0.5 + i for i in range(rows)],
            "belief.intercept": [2.0] * rows,
            "implausibility": [1.0] * rows,
            "implausibility_max": [1.0] * rows,
        }
    ).to_parquet(folder / "nonimplausible.parquet", index=False)
    manifest = {
        "kind": kind,
        "name": "w",
        "calibration_id": "w-0123456789",
        "spec_hash": "ab" * 32,
        "model_version": MODEL_VERSION,
        "commit": "c" * 40,
        "data": {"sha256": "d" * 64},
        "split": {"sha256": "e" * 64},
        "wave": {"accepted": rows, "candidates": 100},
    }
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


def test_a_promoted_wave_is_a_sample_the_ensemble_reads(tmp_path: Path):
    wave = _wave(tmp_path / "w")
    dest = tmp_path / "calibrated" / "sample.parquet"
    m = promote(wave, "provisional", dest, note="first cut")
    written = json.loads((dest.parent / "manifest.json").read_text())
    assert written == json.loads(json.dumps(m, default=str))
    assert m["status"] == "provisional" and m["rows"] == 3 and m["note"] == "first cut"
    assert m["wave"]["calibration_id"] == "w-0123456789"
    assert m["data"] == {"sha256": "d" * 64} and m["split"] == {"sha256": "e" * 64}
    sample = load_sample(dest)
    # the implausibility columns are not parameters
    assert list(sample.vectors.columns) == ["soldiers.loyalty", "belief.intercept"]
    assert sample.vectors["soldiers.loyalty"].tolist() == [0.5, 1.5, 2.5]


@pytest.mark.parametrize(
    ("setup", "match"),
    [
        (lambda p: p.mkdir(), "not a wave's results folder"),
        (lambda p: _wave(p, kind="screen"), "not a wave"),
        (lambda p: _wave(p, rows=0), "kept no non-implausible point"),
    ],
)
def test_what_cannot_be_promoted_is_refused_by_name(tmp_path: Path, setup, match):
    folder = tmp_path / "w"
    setup(folder)
    with pytest.raises(PromoteError, match=match):
        promote(folder, "final", tmp_path / "out" / "sample.parquet")
    assert not (tmp_path / "out" / "sample.parquet").exists()


def test_the_command_exits_2_with_one_line(tmp_path: Path, capsys):
    assert main([str(tmp_path / "missing"), "--status", "final"]) == 2
    out = capsys.readouterr().out
    assert out.startswith("error: ") and "not a wave's results folder" in out


def test_the_medoid_is_the_member_nearest_the_others_in_the_scaled_box():
    from defection.calibration.promote import medoid

    # a cross: the centre (row 4) is nearest the arms' ends
    v = pd.DataFrame({"a": [-1.0, 1.0, 0.0, 0.0, 0.0], "b": [0.0, 0.0, -1.0, 1.0, 0.0]})
    assert medoid(v) == 4
    # scaling by the box: b's range is 1000 times a's, so b's gap of 90 hardly counts and the
    # middle of a's spread wins; in a box where a's range is b's, b's gap decides
    w = pd.DataFrame({"a": [0.0, 0.5, 1.0], "b": [0.0, 90.0, 0.0]})
    assert medoid(w, [["a", 0, 1], ["b", 0, 1000]]) == 1
    assert medoid(w, [["a", 0, 100], ["b", 0, 100]]) == 0


def test_the_manifest_names_the_medoid_and_the_registry_defaults_it_gives(tmp_path: Path):
    wave = _wave(tmp_path / "w")
    m = promote(wave, "final", tmp_path / "c" / "sample.parquet")
    assert m["medoid"]["row"] == 1
    assert m["medoid"]["values"] == {"soldiers.loyalty": 1.5, "belief.intercept": 2.0}
    assert m["medoid"]["defaults"] == {"soldiers.loyalty": 1.5, "belief.intercept": 2.0}


def _refinement(folder: Path, wave: Path, rows: list[int], sha: str | None = None) -> Path:
    import hashlib

    folder.mkdir(parents=True)
    real = hashlib.sha256((wave / "nonimplausible.parquet").read_bytes()).hexdigest()
    info = {
        "folder": "calibration/r",
        "check": {"name": "r", "calibration_id": "r-0123456789"},
        "sample": {"path": "x", "sha256": sha or real, "rows": 4},
        "rule": {"keep": 2, "z_max": 1.645},
        "passed_navco_cut": 3,
        "kept_rows": rows,
    }
    (folder / "refined.json").write_text(json.dumps(info), encoding="utf-8")
    return folder


def test_a_refined_sample_is_the_rows_the_refinement_kept(tmp_path: Path, capsys):
    wave = _wave(tmp_path / "w", rows=4)
    ref = _refinement(tmp_path / "r", wave, [3, 1])
    dest = tmp_path / "calibrated" / "sample.parquet"
    m = promote(wave, "final", dest, refined=ref)
    assert m["rows"] == 2 and m["refinement"]["kept_rows"] == [3, 1]
    assert m["refinement"]["check"]["calibration_id"] == "r-0123456789"
    assert load_sample(dest).vectors["soldiers.loyalty"].tolist() == [3.5, 1.5]
    assert m["medoid"]["values"]["soldiers.loyalty"] in (3.5, 1.5)
    assert promote(wave, "final", dest)["refinement"] is None  # without it: the whole wave


@pytest.mark.parametrize(
    ("rows", "sha", "match"),
    [([0], "0" * 64, "refines another sample"), ([7], None, "outside the wave's sample")],
)
def test_a_refinement_of_another_sample_is_refused(tmp_path: Path, rows, sha, match):
    wave = _wave(tmp_path / "w", rows=4)
    ref = _refinement(tmp_path / "r", wave, rows, sha)
    with pytest.raises(PromoteError, match=match):
        promote(wave, "final", tmp_path / "out" / "sample.parquet", refined=ref)
    assert not (tmp_path / "out" / "sample.parquet").exists()
    with pytest.raises(PromoteError, match="not a refinement's folder"):
        promote(wave, "final", tmp_path / "out" / "sample.parquet", refined=tmp_path)
