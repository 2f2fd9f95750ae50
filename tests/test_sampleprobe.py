"""python -m defection.calibration.sampleprobe: sample vectors on cases, one parameter varied."""

from __future__ import annotations

import pandas as pd
import pytest

from defection.calibration import probe, sampleprobe


@pytest.fixture
def sample(tmp_path):
    path = tmp_path / "sample.parquet"
    pd.DataFrame(
        {
            "run.horizon": [20.0, 20.0, 20.0],
            "elites.loyalty": [0.0, 1.0, 2.0],
            "belief.intercept": [1.0, 2.0, 3.0],
            "implausibility": [0.5, 1.0, 2.0],  # not a parameter: left out
        }
    ).to_parquet(path)
    return path


def test_windows_cover_every_day_once():
    assert sampleprobe.windows_of([30, 231], 365) == [(1, 30), (31, 231), (232, 365)]
    assert sampleprobe.windows_of([400], 365) == [(1, 365)]
    assert sampleprobe.windows_of([], 20) == [(1, 20)]


def test_vectors_are_rows_of_the_sample_without_replacement(sample):
    vecs = sampleprobe.sample_vectors(sample, 3, seed=4)
    assert sorted(v["elites.loyalty"] for v in vecs) == [0.0, 1.0, 2.0]
    assert all("implausibility" not in v for v in vecs)
    assert vecs == sampleprobe.sample_vectors(sample, 3, seed=4)


def test_a_checks_folder_gives_each_vector_it_ran_once(tmp_path):
    runs = pd.DataFrame(
        {
            "case": ["a", "b", "a", "b"],
            "elites.loyalty": [0.0, 0.0, 1.0, 1.0],
            "belief.intercept": [2.0, 2.0, 3.0, 3.0],
            "target:x": [0.1, 0.2, 0.3, 0.4],  # not a parameter: left out
        }
    )
    runs.to_parquet(tmp_path / "runs.parquet")
    vecs = sampleprobe.sample_vectors(tmp_path, 2, seed=1)
    assert sorted(v["elites.loyalty"] for v in vecs) == [0.0, 1.0]
    assert all(set(v) == {"elites.loyalty", "belief.intercept"} for v in vecs)
    with pytest.raises(ValueError):
        sampleprobe.sample_vectors(tmp_path, 3, seed=1)  # only two vectors


def test_each_row_summarises_the_runs_it_names(sample, capsys):
    argv = [str(sample), "baseline", "--vary", "elites.steady_margin", "--values", "0,0.3"]
    argv += ["--draws", "2", "--seeds", "2", "--windows", "5", "--seed", "7"]
    assert sampleprobe.main(argv) == 0
    out = capsys.readouterr().out
    lines = [x for x in out.splitlines() if x.startswith("| ")]
    assert lines[0].startswith("| elites.steady_margin | runs | fell 1-5 | fell 6-20 |")
    for value, line in zip((0.0, 0.3), lines[1:], strict=True):
        runs = [
            probe.probe_run("baseline", s, {**vec, "elites.steady_margin": value})
            for vec in sampleprobe.sample_vectors(sample, 2, seed=7)
            for s in (1, 2)
        ]
        want = sampleprobe.summarise(runs, [(1, 5), (6, 20)])
        assert want["runs"] == 4
        cells = line.strip("| ").split(" | ")
        assert float(cells[0]) == value and cells[1] == "4"
        assert float(cells[2]) == pytest.approx(want["fell 1-5"], abs=5e-3)
        assert float(cells[6]) == pytest.approx(want["force defected"], rel=1e-2, abs=1e-3)


def test_bad_input_is_refused_before_anything_runs(sample, tmp_path, capsys):
    base = ["--vary", "elites.steady_margin", "--values", "0"]
    assert sampleprobe.main([str(tmp_path / "none.parquet"), "baseline", *base]) == 2
    assert "no such sample file" in capsys.readouterr().out
    assert sampleprobe.main([str(sample), "baseline", "--vary", "no.such", "--values", "0"]) == 2
    assert "not a registry parameter" in capsys.readouterr().out
    assert sampleprobe.main([str(sample), "baseline", *base, "--draws", "9"]) == 2
    assert "the sample has 3 rows" in capsys.readouterr().out
    assert (
        sampleprobe.main(
            [str(sample), "baseline", "--vary", "elites.steady_margin", "--values", "0.9"]
        )
        == 2
    )
    assert "elites.steady_margin" in capsys.readouterr().out


def test_fixed_values_and_integer_parameters(sample, capsys):
    argv = [str(sample), "baseline", "--vary", "protest.buildup_days", "--values", "0,5"]
    argv += ["--draws", "1", "--seeds", "1", "--set", "elites.steady_margin=0.2"]
    assert sampleprobe.main(argv) == 0
    out = capsys.readouterr().out
    assert "elites.steady_margin = 0.2" in out
    lines = [x for x in out.splitlines() if x.startswith("| ")]
    assert lines[0].startswith("| protest.buildup_days | runs |")
    assert [x.split(" | ")[0] for x in lines[1:]] == ["| 0", "| 5"]


def test_a_switch_is_varied_by_true_and_false(sample, capsys):
    argv = [str(sample), "baseline", "--vary", "elites.plots", "--values", "false,true"]
    assert sampleprobe.main([*argv, "--draws", "1", "--seeds", "1"]) == 0
    lines = [x for x in capsys.readouterr().out.splitlines() if x.startswith("| ")]
    assert [x.split(" | ")[0] for x in lines[1:]] == ["| False", "| True"]
    argv[-1] = "off,on"
    assert sampleprobe.main([*argv, "--draws", "1", "--seeds", "1"]) == 2
    assert "is not true or false" in capsys.readouterr().out


def test_the_first_defect_day_is_the_median_over_runs_that_had_one():
    rows = [
        {"outcome": "survival", "day": 20, "defected": 0.0, "elites": 0.0, "first_defect": d}
        for d in (None, 4, 10, 12)
    ]
    got = sampleprobe.summarise(rows, [(1, 20)])
    assert got["median first DEFECT"] == 10 and got["median fall day"] is None


def test_a_band_counts_runs_with_no_defector_and_inside_the_range():
    rows = [
        {"outcome": "survival", "day": 20, "defected": d, "deserted": e, "elites": 0.0}
        | {"first_defect": None}
        for d, e in ((0.0, 0.0), (0.0, 0.01), (0.02, 0.03), (0.04, 0.01), (0.3, 0.3))
    ]
    got = sampleprobe.summarise(rows, [(1, 20)], band=(0.01, 0.04))
    assert got["none defected"] == pytest.approx(0.4)
    assert got["defected 0.01-0.04"] == pytest.approx(0.4)
    assert got["deserted >= defected"] == pytest.approx(0.8)  # all but (0.04, 0.01)
    assert got["both"] == pytest.approx(0.2)  # only (0.02, 0.03)
    assert "none defected" not in sampleprobe.summarise(rows, [(1, 20)])


def test_a_bad_band_is_refused(sample, capsys):
    base = [str(sample), "baseline", "--vary", "elites.steady_margin", "--values", "0"]
    assert sampleprobe.main([*base, "--band", "0.04"]) == 2
    assert "--band 0.04: two shares" in capsys.readouterr().out
    assert sampleprobe.main([*base, "--band", "0.05,0.01"]) == 2
    assert "needs 0 <= LO <= HI <= 1" in capsys.readouterr().out


def test_runs_that_could_not_be_built_are_left_out_of_the_shares():
    from defection.calibration.probe import NOT_BUILT

    built = {"outcome": "collapse", "day": 5, "defected": 0.02, "deserted": 0.0, "elites": 0.5}
    lost = {**dict.fromkeys(built), "outcome": NOT_BUILT, "error": "no pool"}
    got = sampleprobe.summarise([built | {"first_defect": 3}, lost], [(1, 20)], band=(0.01, 0.04))
    assert got["runs"] == 1 and got["fell 1-20"] == 1.0 and got["force defected"] == 0.02
    assert got["defected 0.01-0.04"] == 1.0
    none = sampleprobe.summarise([lost], [(1, 20)], band=(0.01, 0.04))
    assert none["runs"] == 0 and list(none) == list(got)  # the same columns, empty
    assert all(v is None for k, v in none.items() if k != "runs")


def test_campaigns_are_summed_up_per_value_as_the_probe_sums_them(sample, capsys):
    """NAVCO campaigns get one summary per value (DEFECT, SUCCESS with and without, the gap),
    not a table each; a mapping coefficient (case.*) codes the campaign, not the model."""
    argv = [str(sample), "navco:92,navco:5", "--vary", "regime.concession_defection"]
    argv += ["--values", "0,4", "--draws", "1", "--seeds", "1", "--seed", "3"]
    argv += ["--set", "case.patronage_weight=1"]
    assert sampleprobe.main(argv) == 0
    out = capsys.readouterr().out
    assert not [x for x in out.splitlines() if x.startswith("| ")]
    blocks = out.split("2 NAVCO campaigns, regime.concession_defection = ")[1:]
    assert [b.split(" ")[0] for b in blocks] == ["0.0", "4.0"]
    vec = sampleprobe.sample_vectors(sample, 1, seed=3)[0]
    for value, block in zip((0.0, 4.0), blocks, strict=True):
        runs = [
            probe.probe_run(
                c, 1, {**vec, "case.patronage_weight": 1, "regime.concession_defection": value}
            )
            for c in ("navco:92", "navco:5")
        ]
        assert probe.navco_summary(runs) in block
        assert "SUCCESS: model" in block
