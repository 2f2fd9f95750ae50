"""scripts/wave_events.py: the case-event shares docs/CALIBRATION.md quotes for a wave."""

import importlib.util
from pathlib import Path

import pandas as pd
import pytest

from defection.calibration.spec import load_calibration

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("wave_events", ROOT / "scripts/wave_events.py")
wave_events = importlib.util.module_from_spec(spec)
spec.loader.exec_module(wave_events)


def test_wave6_3s_shares_are_the_ones_the_docs_quote():
    folder = ROOT / "calibration/wave6_3"
    runs = pd.read_parquet(folder / "runs.parquet")
    shares = wave_events.case_shares(runs, load_calibration(folder / "spec.toml"))
    # docs/CALIBRATION.md, "Wave wave6_3": Syria 17 %, Soviet fall after the coup 13 %, ...
    assert shares["syria_defected_365"] == pytest.approx(10 / 60)
    assert shares["soviet_fell_after_231"] == pytest.approx(8 / 60)
    assert shares["gdr_fell_60"] == pytest.approx(4 / 60)
    reading = wave_events.navco_reading(runs)
    assert reading["runs"] == 300 and reading["defect"] == pytest.approx(0.56)
    assert reading["gap"] == pytest.approx(reading["on_data_defect"] - reading["on_data_no_defect"])


def test_event_days_count_the_runs_inside_a_range_by_day():
    folder = ROOT / "calibration/wave6_3"
    runs = pd.read_parquet(folder / "runs.parquet")
    days = wave_events.event_days(runs, load_calibration(folder / "spec.toml"), late=36)
    gdr = runs[(runs["case"] == "gdr") & (runs["target:gdr_fell_60"] >= 0.7)]
    assert days.loc["gdr_fell_60", "inside"] == len(gdr) == 4
    assert days.loc["gdr_fell_60", "median_day"] == gdr["outcome_day"].astype(float).median()
    assert days.loc["gdr_fell_60", "day_36_or_later"] == (gdr["outcome_day"] >= 36).sum()


def test_the_script_splits_by_a_parameter_and_refuses_an_unknown_one(capsys):
    folder = str(ROOT / "calibration/wave6_3")
    assert wave_events.main([folder, "--by", "belief.w_protest"]) == 0
    assert "by quartile of belief.w_protest" in capsys.readouterr().out
    assert wave_events.main([folder, "--by", "no.such"]) == 2
    assert "not a parameter" in capsys.readouterr().err


def test_the_script_refuses_a_check_or_a_folder_without_runs(capsys, tmp_path):
    assert wave_events.main([str(ROOT / "calibration/refine16")]) == 2
    assert "a check, not a wave" in capsys.readouterr().err
    # a check whose sample this model version no longer reads: the reason, not a traceback
    assert wave_events.main([str(ROOT / "calibration/refine15")]) == 2
    assert "fitted to model version 7, this is model version 10" in capsys.readouterr().err
    assert wave_events.main([str(tmp_path)]) == 2
    assert "not a committed wave" in capsys.readouterr().err


def test_joint_shares_need_every_range_of_a_case_in_the_same_run():
    folder = ROOT / "calibration/wave10_2"
    runs = pd.read_parquet(folder / "runs.parquet")
    joint = wave_events.joint_shares(runs, load_calibration(folder / "spec.toml"))
    syria = runs[(runs["case"] == "syria") & (runs["status"] == "ok")]
    both = (
        syria["target:syria_defected_365"].between(0.01, 0.04)
        & (syria["target:syria_desertion_excess"] >= 0)
        & (syria["target:syria_elites"] <= 0.2)
    )
    assert joint["syria"] == pytest.approx(both.mean())
    shares = wave_events.case_shares(runs, load_calibration(folder / "spec.toml"))
    assert joint["syria"] < shares["syria_defected_365"]  # a joint share is the stricter one
    assert "gdr" not in joint.index  # one ranged target of its own: nothing to join


def test_fell_by_counts_collapses_and_transitions_on_or_before_the_day(capsys):
    folder = ROOT / "calibration/wave10_1"
    runs = pd.read_parquet(folder / "runs.parquet")
    fell = wave_events.fell_by(runs, 60)
    # docs/CALIBRATION.md, "Wave wave10_1": East German fall by day 60 in 29.3 % (44 of 150 runs)
    assert fell["gdr"] == pytest.approx(44 / 150)
    assert (
        fell["gdr"]
        > wave_events.case_shares(runs, load_calibration(folder / "spec.toml"))["gdr_fell_36_60"]
    )  # the window is the stricter clause
    assert not any(c.startswith("navco_") for c in fell.index)
    assert wave_events.main([str(folder), "--fell-by", "60"]) == 0
    assert "fell (collapse or transition) by day 60" in capsys.readouterr().out


def test_wave16_2s_campaign_runs_read_as_the_data_tables():
    runs = pd.read_parquet(ROOT / "calibration/wave16_2/runs.parquet")
    t = wave_events.navco_tables(runs)
    # docs/CALIBRATION.md, "The thirteenth calibration": gap +0.23 and +0.38 over its runs
    assert t.loc["gap"].round(2).tolist() == [0.23, 0.38]
    assert t.loc["defect"].round(2).tolist() == [0.32, 0.36]
    assert (t.loc["gap"] == t.loc["success with DEFECT"] - t.loc["success without"]).all()
    assert t.loc["data gap", "nonviolent"] == pytest.approx(0.3228, abs=1e-4)
    no_success = runs.drop(columns=["target:success_nonviolent"])
    assert wave_events.navco_tables(no_success).empty  # a wave without success cells


def test_a_split_by_parameter_gives_each_quartiles_success_gaps(capsys):
    """With success cells, each quartile's row block ends with both methods' success gaps, the
    gaps navco_tables reads from that quartile's runs alone."""
    folder = ROOT / "calibration/wave17_3"
    runs = pd.read_parquet(folder / "runs.parquet")
    by = "regime.concession_nonviolent"
    assert wave_events.main([str(folder), "--by", by]) == 0
    out = capsys.readouterr().out.split(f"by quartile of {by}:")[1]
    assert "success_gap_nonviolent" in out and "success_gap_violent" in out
    first = next(g for _, g in runs.groupby(pd.qcut(runs[by], 4), observed=True))
    gaps = wave_events.success_gaps(first)
    assert gaps["success_gap_nonviolent"] == pytest.approx(
        wave_events.navco_tables(first).loc["gap", "nonviolent"]
    )
    # a wave without success cells, or runs without a campaign: nothing to add
    assert wave_events.success_gaps(runs[runs["case"] == "syria"]).empty
    cells = [c for c in runs.columns if c.startswith("target:success")]
    assert wave_events.success_gaps(runs.drop(columns=cells)).empty
