"""python -m defection.calibration.bydraw: a check's NAVCO runs split by draw."""

from pathlib import Path

import pandas as pd
import pytest

from defection.calibration import bydraw

ROOT = Path(__file__).resolve().parents[1]
VALIDATION = ROOT / "calibration" / "validation"


def test_by_draw_rates_are_the_runs_rates():
    df = bydraw.campaign_runs(VALIDATION)
    assert set(df["model"].unique()) <= {0.0, 1.0}
    table = bydraw.by_draw(df).set_index("draw")
    draws = sorted(df["draw"].unique())
    assert [d for d in table.index if d not in ("all", "data")] == draws
    for d in draws:  # each draw's cell is the mean over that draw's runs, recomputed by hand
        g = df[df["draw"] == d]
        assert table.loc[d, "runs"] == len(g)
        assert table.loc[d, "violent"] == pytest.approx(g[g["method"] == "violent"]["model"].mean())
        assert table.loc[d, "0.1-1%"] == pytest.approx(g[g["bin"] == "0.1-1%"]["model"].mean())
    assert table.loc["all", "defect"] == pytest.approx(df["model"].mean())
    # the data row counts each campaign once, whatever the number of runs
    camp = df.drop_duplicates("navco_id")
    assert table.loc["data", "runs"] == len(camp)
    assert table.loc["data", "nonviolent"] == pytest.approx(
        camp[camp["method"] == "nonviolent"]["data"].mean()
    )


def test_corr_is_nan_for_a_draw_that_never_defects():
    df = pd.DataFrame(
        {
            "draw": [0, 0, 1, 1],
            "sample_row": [3, 3, 4, 4],
            "navco_id": [1, 2, 1, 2],
            "method": ["violent", "nonviolent"] * 2,
            "bin": ["0.1-1%"] * 4,
            "model": [0.0, 0.0, 1.0, 0.0],
            "data": [1, 0, 1, 0],
        }
    )
    table = bydraw.by_draw(df).set_index("draw")
    assert pd.isna(table.loc[0, "corr"])
    assert table.loc[1, "corr"] == pytest.approx(1.0)
    text = bydraw.markdown(bydraw.by_draw(df))
    assert "| 0 | 3 | 2 | 0.00 | 0.00 | 0.00 | - | - | 0.00 | - | - | - |" in text


def test_bydraw_refuses_a_folder_without_check_results(tmp_path, capsys):
    assert bydraw.main([str(tmp_path)]) == 2
    assert "runs.parquet: not found" in capsys.readouterr().out
    assert bydraw.main([str(VALIDATION)]) == 0
    assert capsys.readouterr().out.startswith("| draw | sample_row | runs |")


def test_bydraw_refuses_the_test_sets_runs(capsys):
    assert bydraw.main([str(ROOT / "calibration" / "validation_test")]) == 2
    assert "test-set campaigns" in capsys.readouterr().out


def test_params_show_each_draws_values_and_a_bad_name_is_refused(capsys):
    df = bydraw.campaign_runs(VALIDATION, ["soldiers.threshold"])
    table = bydraw.by_draw(df, ["soldiers.threshold"]).set_index("draw")
    for d, g in df.groupby("draw"):
        assert g["soldiers.threshold"].nunique() == 1  # one vector per draw
        assert table.loc[d, "soldiers.threshold"] == g["soldiers.threshold"].iloc[0]
    assert bydraw.main([str(VALIDATION), "--params", "soldiers.threshold"]) == 0
    assert capsys.readouterr().out.splitlines()[0].endswith("| corr | soldiers.threshold |")
    assert bydraw.main([str(VALIDATION), "--params", "no.such"]) == 2
    assert "--params no.such" in capsys.readouterr().out
