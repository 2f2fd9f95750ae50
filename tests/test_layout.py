"""Packaging: one import namespace; no generic top-level `model` or `viz` module."""

import importlib.util
import subprocess
import sys


def test_no_stray_top_level_modules_are_importable():
    for name in ("model", "viz", "calibration", "scenarios"):
        assert importlib.util.find_spec(name) is None, f"`import {name}` must fail"


def test_installed_namespace_maps_the_top_level_folders(tmp_path):
    code = (
        "import defection.model.regime, defection.viz, defection.calibration.docking; "
        "from defection.model.scenario import bundled_names; print(bundled_names())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert "syria_2011" in out.stdout and "soviet_1991" in out.stdout
