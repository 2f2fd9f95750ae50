"""The navco case source, case.* coefficients per run, aggregate NAVCO targets, a small run."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from defection.calibration import navcases, navco
from defection.calibration.spec import calibration_from_dict
from defection.model.scenario import ScenarioError

FIT = [2, 75, 169]


def _test_id() -> int:
    split = navco.read_split()
    return int(split.loc[split["set"] == "test", navco.ID].iloc[0])


def _doc(campaigns, kind="screen", **extra):
    doc = {
        "calibration": {"name": "nc", "kind": kind, "seed": 3},
        "budget": {"max_runs": 200, "max_minutes": 5},
        "parameters": {"names": ["soldiers.threshold", "case.violent_share_nonviolent"]},
        "cases": [
            {
                "name": "navco",
                "source": "navco",
                "campaigns": campaigns,
                "draws": 1,
                "set": {"grid.width": 16, "grid.height": 16, "run.horizon": 60},
            },
            {
                "name": "gdr",
                "scenario": "east_germany_1989",
                "set": {"run.horizon": 20, "grid.width": 16, "grid.height": 16},
            },
        ],
        "targets": [
            {"name": "defect", "measure": "navco_defect", "cases": ["navco"]},
            {"name": "gdr_det", "measure": "detained_max", "cases": ["gdr"]},
        ],
        "screen": {"trajectories": 4},
    }
    doc.update(extra)
    return doc


def test_the_source_builds_fitting_campaigns_only():
    cal = calibration_from_dict(_doc(FIT), "t.toml")
    navco_cases = [c for c in cal.cases if c.source == "navco"]
    assert sorted(c.navco_id for c in navco_cases) == FIT
    fit = set(navco.read_split().query("set == 'fit'")[navco.ID])
    assert all(c.navco_id in fit for c in navco_cases)
    assert set(navco_cases[0].features) == set(navcases.FEATURES)
    # the default list is the runnable fitting set and nothing else
    ids = navcases.runnable_fit_ids()
    assert set(ids) <= fit and len(ids) > 100


def test_a_test_set_id_is_an_error_naming_it():
    tid = _test_id()
    with pytest.raises(ScenarioError) as err:
        calibration_from_dict(_doc([75, tid]), "t.toml")
    assert any(f"NAVCO ID {tid}" in line and "test set" in line for line in err.value.problems)


def test_a_test_set_id_exits_2_from_the_command(tmp_path: Path):
    spec = tmp_path / "bad.toml"
    spec.write_text(
        f"""[calibration]\nname = "bad"\nkind = "screen"\n[budget]\nmax_runs = 50\nmax_minutes = 1
[parameters]\nnames = ["soldiers.threshold"]
[[cases]]\nname = "navco"\nsource = "navco"\ncampaigns = [{_test_id()}]
[[targets]]\nname = "d"\nmeasure = "navco_defect"\n[screen]\ntrajectories = 2\n""",
        encoding="utf-8",
    )
    out = subprocess.run(
        [sys.executable, "-m", "defection", "calibrate", str(spec), "--dry-run"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 2
    assert f"NAVCO ID {_test_id()}" in out.stderr and "Traceback" not in out.stderr


def test_case_coefficients_are_written_into_the_run_scenario():
    cal = calibration_from_dict(_doc(FIT), "t.toml")
    case = next(c for c in cal.cases if c.navco_id == 75)  # nonviolent, no violent flank
    runner = case.runner()
    sc = runner.with_overrides({"case.violent_share_nonviolent": 0.21, "soldiers.threshold": 2.0})
    assert sc.params["opposition.violent_share"] == pytest.approx(0.21)
    assert sc.params["soldiers.threshold"] == 2.0
    default = runner.with_overrides({"soldiers.threshold": 2.0})
    assert default.params["opposition.violent_share"] == pytest.approx(0.05)
    # a fixed scenario has no mapping: the coefficient does not act on it
    gdr = next(c for c in cal.cases if c.name == "gdr").runner()
    assert gdr.with_overrides({"case.violent_share_nonviolent": 0.21}).hash == gdr.hash


def test_east_germany_has_no_lethal_order():
    from defection.model.scenario import load

    sc = load("east_germany_1989")
    assert sc.params["regime.lethality"] == 0.0
    assert all(e.get("lethality", 0.0) == 0.0 for e in sc.events)


def test_model_rates_on_a_synthetic_table():
    facts = pd.DataFrame(
        {
            "bin": ["0.1-1%", "0.1-1%", "1-3.5%", "1-3.5%"],
            "method": ["nonviolent", "nonviolent", "nonviolent", "violent"],
            "finished": [True, True, True, False],
        },
        index=pd.Index([1, 2, 3, 4], name=navco.ID),
    )
    runs = pd.DataFrame(
        {
            "navco_id": [1, 1, 2, 3, 3, 3, 4, 9],
            "status": ["ok"] * 7 + ["ok"],
            "navco_defect": [1, 0, 1, 0, 0, 1, 1, 1],
            "navco_success": [1, 0, 0, 1, 0, 0, 1, 1],
        },
    )
    r = navcases.model_rates(runs, facts)
    b = r["defect_by_bin"].set_index("bin")["p"]
    # campaign means: 1 -> 0.5, 2 -> 1, 3 -> 1/3, 4 -> 1 (9 is not a fitting campaign)
    assert b["0.1-1%"] == pytest.approx(0.75)
    assert b["1-3.5%"] == pytest.approx((1 / 3 + 1) / 2)
    assert math.isnan(b["<0.01%"])
    m = r["defect_by_method"].set_index("method")["p"]
    assert m["nonviolent"] == pytest.approx((0.5 + 1 + 1 / 3) / 3)
    g = r["success_gap"].set_index("method").loc["nonviolent"]
    # finished nonviolent: d = .5 + 1 + 1/3; s*d = .5 + 0 + 0; s = .5 + 0 + 1/3
    d, sd, s = 0.5 + 1 + 1 / 3, 0.5, 0.5 + 1 / 3
    assert g["p_defect"] == pytest.approx(sd / d)
    assert g["p_no_defect"] == pytest.approx((s - sd) / (3 - d))
    sm = r["success_by_method"].set_index("method").loc["nonviolent"]
    assert sm["p"] == pytest.approx(s / 3)  # finished nonviolent campaigns' mean success
    assert sm["campaigns"] == 3
    joint = r["success_and_defect"].set_index("method").loc["nonviolent"]
    assert joint["p"] == pytest.approx(sd / 3) and joint["campaigns"] == 3
    # the three cells fix the gap: P(S | D) - P(S | no D) = J/D - (S - J)/(1 - D), campaign means
    jm, dm, sm_ = joint["p"], d / 3, s / 3
    assert g["gap"] == pytest.approx(jm / dm - (sm_ - jm) / (1 - dm))


def _cell_target(table: str, cell: str, wrong: str, right: str):
    """A target of ``table``'s ``cell``: refused with measure ``wrong``, built with ``right``."""
    doc = _doc(FIT)
    target = {"name": "c", "measure": wrong, "cases": ["navco"], "compare": "mean"}
    target["navco"] = {"table": table, "cell": cell}
    doc["targets"].append(target)
    with pytest.raises(ScenarioError, match=f"reads `{right}`"):
        calibration_from_dict(doc, "t.toml")
    target["measure"] = right
    cal = calibration_from_dict(doc, "t.toml")
    return next(t for t in cal.targets if t.name == "c")


def test_a_joint_cell_is_the_share_of_finished_campaigns_with_success_and_defect():
    t = _cell_target("success_and_defect", "nonviolent", "navco_success", "navco_success_defect")
    units = navco.fitting_units()
    done = units[units["finished"].astype(bool) & (units["method"] == "nonviolent")]
    both = (done["success"].astype(int) * done["DEFECT"].astype(int)).sum()
    assert t.observed == pytest.approx(both / len(done))
    lo, hi = navco.wilson_interval(int(both), len(done))
    assert t.obs_sd == pytest.approx((hi - lo) / 2 / navcases.Z90)
    ids = units.set_index(navco.ID)
    assert set(t.cases) == {
        f"navco_{i}_d0"
        for i in FIT
        if ids.loc[i, "method"] == "nonviolent" and bool(ids.loc[i, "finished"])
    }
    # the measure is the product of the run's two 0/1 values
    from defection.calibration import targets as tg

    class Run:
        row = {"navco_success": 1.0, "navco_defect": 0.0}

    assert tg.MEASURES["navco_success_defect"].fn(Run()) == 0.0
    Run.row = {"navco_success": 1.0, "navco_defect": 1.0}
    assert tg.MEASURES["navco_success_defect"].fn(Run()) == 1.0


def test_a_wave_refuses_the_gap_cell_and_takes_its_parts():
    wave = {"points": 10, "cutoff": 3.0, "candidates": 100, "keep": 10, "sobol_samples": 8}
    doc = _doc(FIT, kind="wave", wave=wave)
    doc.pop("screen")
    cell = {"name": "gap", "measure": "navco_success", "cases": ["navco"], "compare": "mean"}
    doc["targets"] = [{**cell, "navco": {"table": "success_gap", "cell": "violent"}}]
    with pytest.raises(ScenarioError, match="success_and_defect cell with success_by_method"):
        calibration_from_dict(doc, "t.toml")
    doc["targets"] = [
        {**cell, "name": "s", "navco": {"table": "success_by_method", "cell": "violent"}},
        {
            **cell,
            "name": "j",
            "measure": "navco_success_defect",
            "navco": {"table": "success_and_defect", "cell": "violent"},
        },
    ]
    cal = calibration_from_dict(doc, "t.toml")
    assert [t.name for t in cal.targets] == ["s", "j"]


def test_a_success_cell_reads_navco_success_over_finished_campaigns():
    t = _cell_target("success_by_method", "violent", "navco_defect", "navco_success")
    units = navco.fitting_units()
    done = units[units["finished"].astype(bool) & (units["method"] == "violent")]
    assert t.observed == pytest.approx(done["success"].mean())
    ids = units.set_index(navco.ID)
    assert set(t.cases) == {
        f"navco_{i}_d0"
        for i in FIT
        if ids.loc[i, "method"] == "violent" and bool(ids.loc[i, "finished"])
    }


def test_a_navco_cell_takes_the_data_and_its_campaigns():
    doc = _doc(FIT)
    doc["targets"].append(
        {
            "name": "nv",
            "measure": "navco_defect",
            "cases": ["navco"],
            "compare": "mean",
            "navco": {"table": "defect_by_method", "cell": "nonviolent"},
        }
    )
    cal = calibration_from_dict(doc, "t.toml")
    t = next(t for t in cal.targets if t.name == "nv")
    data = navco.targets(navco.fitting_units())["defect_by_method"].set_index("method")
    assert t.observed == pytest.approx(data.loc["nonviolent", "p"])
    half = (data.loc["nonviolent", "hi"] - data.loc["nonviolent", "lo"]) / 2
    assert t.obs_sd == pytest.approx(half / navcases.Z90)
    units = navco.fitting_units().set_index(navco.ID)
    assert {cal_case for cal_case in t.cases} == {
        f"navco_{i}_d0" for i in FIT if units.loc[i, "method"] == "nonviolent"
    }
    assert set(t.train_cases) == {f"navco_{i}_d0" for i in FIT}


def test_a_small_calibrate_run_end_to_end(tmp_path: Path):
    from defection.calibration.runs import run_calibration, runs_frame, write_results
    from defection.sweep.store import Store

    cal = calibration_from_dict(_doc(FIT), "t.toml")
    with Store(tmp_path / "c.duckdb") as store:
        run_calibration(cal, store, workers=1)
        runs = runs_frame(cal, store)
    assert (runs["status"] == "ok").all(), runs["error"].tolist()
    assert set(runs["case"]) <= {c.name for c in cal.cases}
    assert runs["target:defect"].dropna().isin([0.0, 1.0]).all()
    files = write_results(cal, runs, tmp_path / "out")
    assert any(f.name == "chosen.json" for f in files)


def test_a_case_table_fixes_the_patronage_weight_and_then_patronage_is_an_input():
    from defection.calibration import casecode

    doc = _doc(FIT[:2])
    doc["cases"][0]["set"] = {**doc["cases"][0]["set"], "case.patronage_weight": 1.0}
    cal = calibration_from_dict(doc, "t.toml")
    plain = calibration_from_dict(_doc(FIT[:2]), "t.toml")
    for case, before in zip(
        (c for c in cal.cases if c.source == "navco"),
        (c for c in plain.cases if c.source == "navco"),
        strict=True,
    ):
        _, drawn = casecode.coded_campaign(case.navco_id, 0)
        sc = case.runner().with_overrides({"soldiers.threshold": 2.0})
        assert sc.params["elites.client_follow"] == drawn.patronage
        # a run's own coefficients rebuild the scenario; the table's fixed weight still holds
        run = case.runner().with_overrides({"case.violent_share_nonviolent": 0.1})
        assert run.params["elites.client_follow"] == drawn.patronage
        assert case.features["patronage"] == drawn.patronage
        assert set(case.features) == {*navcases.FEATURES, "patronage"}
        assert "patronage" not in before.features  # unused: no input
        assert before.scenario.params["elites.client_follow"] == 0.496
    bad = _doc(FIT[:1])
    bad["cases"][0]["set"] = {"case.patronage_weight": 3.0}
    with pytest.raises(ScenarioError, match="case.patronage_weight"):
        calibration_from_dict(bad, "t.toml")
