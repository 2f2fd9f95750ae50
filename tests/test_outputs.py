"""Outputs defined once (defection.model.outputs): the names agree with the model, the pure
functions agree with the model's methods, and imports flow one way (light modules stay light)."""

import ast
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from operating_point import V4_DEFAULTS

from defection.model import outputs, version
from defection.model.regime import RegimeModel
from defection.model.rules import DEFECTED
from defection.model.scenario import load
from defection.runner import final_figures, simulate, summarize

ROOT = Path(__file__).resolve().parents[1]


def test_series_are_the_models():
    m = RegimeModel("granovetter", rng=1)
    m.run(steps=2)
    cols = tuple(m.datacollector.get_model_vars_dataframe().columns)
    assert cols == outputs.SERIES
    assert tuple(m.stats) == outputs.SERIES
    assert outputs.SWEEP_SERIES == tuple(c for c in cols if c != "day")


def test_outcomes_of_the_golden_runs_are_named_in_outputs():
    for path in (ROOT / "tests" / "baseline").glob("*.json"):
        s = json.loads(path.read_text())["summary"]
        assert s["outcome"] in outputs.OUTCOMES
        assert outputs.OUTCOME_RULES[s["outcome_rule"]] == s["outcome"]
    assert set(outputs.OUTCOME_RULES.values()) == set(outputs.OUTCOMES)
    assert set(outputs.OUTCOME_COLOURS) == set(outputs.OUTCOMES)


def test_every_state_has_a_colour():
    assert list(outputs.STATE_COLOURS) == list(outputs.SOLDIER_STATES)
    assert list(outputs.PROTESTER_COLOURS) == list(outputs.PROTESTER_STATES)
    assert list(outputs.ELITE_COLOURS) == list(outputs.ELITE_STATES)


@pytest.fixture(scope="module")
def model():
    """Syria 2011 after 40 days: defections in several regions, companies gone over (at model
    version 4's defaults: at version 5's nobody has left by then in this seed)."""
    m = RegimeModel("syria_2011", rng=1, overrides=V4_DEFAULTS)
    m.run(40)
    return m


def test_pure_functions_agree_with_the_model(model):
    m, s, u = model, model.soldiers, model.units
    share = outputs.region_left_share(s.state, s.region, m.garrison)
    assert np.array_equal(share, m.region_defected_share())
    gone = outputs.companies_gone_over(s.state, u.company, u.company_size)
    had = outputs.regions_with_defection(
        share,
        m.p["outcome.region_defection"],
        gone,
        outputs.company_regions(s.region, u.company_commander),
    )
    assert np.array_equal(had, m.region_had_defection()) and had.any()
    counts = outputs.group_counts(
        s.region, s.group, s.rank, s.state, len(m.region_names), m.n_groups
    )
    assert np.array_equal(counts, m.group_counts[-1])
    arr = outputs.group_count_array(m.group_counts, len(m.region_names), m.n_groups)
    assert arr.shape == (m.day + 1, *outputs.group_count_shape(len(m.region_names), m.n_groups))
    assert arr[-1].sum() == m.n_soldiers


def test_a_company_goes_over_only_when_every_soldier_defected():
    state = np.array([DEFECTED, DEFECTED, DEFECTED, 0, DEFECTED])
    company = np.array([0, 0, 1, 1, 2])
    gone = outputs.companies_gone_over(state, company, np.array([2, 2, 1]))
    assert gone.tolist() == [True, False, True]
    # a region had a defection through a company alone, below the share threshold
    had = outputs.regions_with_defection(
        np.array([0.0, 0.0]), 0.5, np.array([False, True]), np.array([0, 1])
    )
    assert had.tolist() == [False, True]


def test_summary_names_its_model_version_and_its_figures():
    sc = load("baseline", {"run.horizon": 5, "grid.width": 20, "grid.height": 20})
    m = simulate(sc, 1)
    s = summarize(m, 1)
    assert s["model_version"] == version.MODEL_VERSION
    fig = final_figures(m)
    assert set(fig) == {"soldiers", *outputs.FINAL_FIGURES}
    assert all(type(fig[k]) is t for k, t in outputs.FINAL_FIGURES.items())
    assert list(fig["soldiers"]) == list(outputs.SOLDIER_STATES)


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys; print(' '.join(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return set(out.stdout.split())


def test_outputs_and_the_sweep_report_do_not_import_the_model():
    light = _modules_after("import defection.model.outputs, defection.model.version")
    assert "defection.model.regime" not in light and "pandas" not in light
    report = _modules_after("import defection.sweep.report")
    assert "defection.model.regime" not in report and "mesa" not in report


def test_listing_sweeps_does_not_import_the_model(tmp_path):
    mods = _modules_after(
        "from typer.testing import CliRunner\n"
        "from defection.cli import app\n"
        f"r = CliRunner().invoke(app, ['sweeps', '--db', {str(tmp_path / 'none.duckdb')!r}])\n"
        "assert r.exit_code == 1, r.output"
    )
    assert "defection.sweep.store" in mods and "defection.model.regime" not in mods


def test_the_ui_pictures_do_not_import_the_run_figures():
    assert "defection.plots" not in _modules_after("import defection.viz.render")


def test_the_cli_does_not_import_the_ui_session():
    tree = ast.parse((ROOT / "defection" / "cli.py").read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not any(m and m.startswith("defection.viz.session") for m in imported)


def test_the_model_imports_nothing_above_it():
    """model/ never imports the CLI, the runner, sweeps, plots or the UI (one-way flow)."""
    bad = []
    for path in sorted((ROOT / "model").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                if name.startswith("defection") and not name.startswith("defection.model"):
                    if name != "defection":
                        bad.append(f"{path.name}:{node.lineno}: {name}")
                if name.split(".")[0] in ("solara", "pandas", "matplotlib", "duckdb"):
                    bad.append(f"{path.name}:{node.lineno}: {name}")
    assert not bad, bad


def test_navco_defect_rules_read_the_window():
    defected = np.zeros(400)
    shirking = np.zeros(400)
    assert not outputs.defect_occurred(outputs.navco_defect(defected, shirking, None))
    defected[50:] = outputs.DEFECT_SHARE  # the threshold itself counts
    got = outputs.navco_defect(defected, shirking, None)
    assert got == {"armed_defection": 50, "unit_went_over": None, "mass_refusal": None}
    assert outputs.defect_occurred(got)
    defected[:] = 0.0
    defected[370:] = 0.5  # after the window: not read
    shirking[10] = outputs.REFUSAL_SHARE - 1e-9
    assert not outputs.defect_occurred(outputs.navco_defect(defected, shirking, 366))
    shirking[0] = 0.5  # day 0 is the initial state, not a day of the campaign
    assert not outputs.defect_occurred(outputs.navco_defect(defected, shirking, None))
    got = outputs.navco_defect(defected, shirking, 12)
    assert got["unit_went_over"] == 12 and outputs.defect_occurred(got)


def test_navco_success_is_the_regime_falling_in_the_window():
    assert outputs.navco_success(outputs.COLLAPSE, 30)
    assert not outputs.navco_success(outputs.COLLAPSE, 400)
    assert not outputs.navco_success(outputs.SPLIT, 30)
    assert not outputs.navco_success(outputs.SURVIVAL, 365)
    assert not outputs.navco_success(None, None)


def test_the_summary_reads_a_run_as_navco_data():
    m = simulate(load("syria_2011"), 1, until_horizon=True)
    s = summarize(m, 1)["navco"]
    assert s["window_days"] == 365
    assert set(s["defect_rules_first_day"]) == set(outputs.DEFECT_RULES)
    assert s["defect"] == outputs.defect_occurred(s["defect_rules_first_day"])
    # the first day a company went over is tracked by the model, and matches the pure rule
    if m.first_unit_over is not None:
        u = m.units
        assert outputs.companies_gone_over(m.soldiers.state, u.company, u.company_size).any()
    ts = m.datacollector.get_model_vars_dataframe()
    day = s["defect_rules_first_day"]["armed_defection"]
    if day is not None:
        assert ts["soldiers_defected"].iloc[day] >= outputs.DEFECT_SHARE
        assert (ts["soldiers_defected"].iloc[1:day] < outputs.DEFECT_SHARE).all()
    assert s["success"] == (m.outcome in outputs.SUCCESS_OUTCOMES and m.outcome_day <= 365)
