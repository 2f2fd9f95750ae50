"""python -m defection.calibration.probe: one line per (case, seed) run, and clear input errors."""

from defection.calibration import probe


def test_probe_prints_one_row_per_run_as_the_runs_did(capsys):
    over = {"run.horizon": 20, "elites.steady_start": True}
    assert (
        probe.main(
            [
                "epstein_1",
                "--seeds",
                "2",
                "--set",
                "run.horizon=20",
                "--set",
                "elites.steady_start=true",
            ]
        )
        == 0
    )
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "| " + " | ".join(probe.COLUMNS) + " |"
    rows = lines[2:]
    assert len(rows) == 2
    for seed, line in zip((1, 2), rows, strict=True):
        want = probe.probe_run("epstein_1", seed, over)
        assert line == probe._row_text(want)
        assert line.startswith(f"| epstein_1 | {seed} | ")


def test_probe_refuses_bad_input_before_running(capsys):
    assert probe.main(["epstein_1", "--set", "soldiers.choice_noise=9"]) == 2
    out = capsys.readouterr().out
    assert "soldiers.choice_noise" in out and "between 0 and 2" in out
    assert probe.main(["no_such_case"]) == 2
    assert "no_such_case" in capsys.readouterr().out
    assert probe.main(["epstein_1", "--seeds", "0"]) == 2
    assert probe.main(["epstein_1", "--seeds", "10000000000000"]) == 2
    assert "between 1 and 1000" in capsys.readouterr().out
    assert probe.main(["epstein_1", "--seed", "-3"]) == 2
    assert "--seed -3" in capsys.readouterr().out


def test_probe_runs_the_seeds_it_is_given(capsys):
    big = 10361417971559375  # a calibration run's seed is a large integer
    assert probe.main(["epstein_1", "--seed", str(big), "--set", "run.horizon=5"]) == 0
    rows = capsys.readouterr().out.strip().splitlines()[2:]
    assert rows == [probe._row_text(probe.probe_run("epstein_1", big, {"run.horizon": 5}))]
