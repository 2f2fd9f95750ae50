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


def test_probe_runs_a_navco_fitting_campaign_and_sums_up_by_method(capsys):
    from defection.calibration import navcases

    fit = navcases.runnable_fit_ids()[0]
    assert probe.main([f"navco:{fit}", "--seeds", "1", "--set", "run.horizon=5"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[2].startswith(f"| navco:{fit} | 1 | ")
    units = navcases._units().set_index("NAVCO ID")
    method, data = units.loc[fit, "method"], int(units.loc[fit, "DEFECT"])
    line = next(x for x in out if x.startswith(f"{method}: model DEFECT "))
    assert line.endswith(f"data {data}/1 campaigns ({data:.2f})")
    assert out[-1].startswith("outcomes: ")


def test_navco_summary_counts_defect_in_the_window_by_method():
    from defection.calibration import navcases

    units = navcases._units().set_index("NAVCO ID")
    fit = navcases.runnable_fit_ids()
    nv = next(i for i in fit if units.loc[i, "method"] == "nonviolent")
    v = next(i for i in fit if units.loc[i, "method"] == "violent")
    rows = [
        {"case": f"navco:{nv}", "first_defect": 12, "outcome": "survival"},
        {"case": f"navco:{nv}", "first_defect": None, "outcome": "survival"},
        # after the 365-day window: no DEFECT
        {"case": f"navco:{v}", "first_defect": 400, "outcome": "collapse"},
        # not a campaign: not counted
        {"case": "syria_2011", "first_defect": 3, "outcome": "transition"},
    ]
    text = probe.navco_summary(rows).splitlines()
    assert text[0].startswith("nonviolent: model DEFECT 1/2 runs (0.50)")
    assert text[1].startswith("violent: model DEFECT 0/1 runs (0.00)")
    bins = {units.loc[nv, "bin"]: "1/2", units.loc[v, "bin"]: "0/1"}
    if units.loc[nv, "bin"] == units.loc[v, "bin"]:
        bins = {units.loc[nv, "bin"]: "1/3"}
    for b, count in bins.items():
        assert f"{b} {count}" in text[2]
    assert text[3] == "outcomes: collapse 1, survival 2"
    assert probe.navco_summary([{"case": "syria_2011", "first_defect": 3}]) == ""


def test_probe_refuses_a_test_set_campaign_and_a_bad_id(capsys):
    from defection.calibration import navcases

    split = navcases._split()
    test_id = int(split.loc[split["set"] == "test", "NAVCO ID"].iloc[0])
    assert probe.main([f"navco:{test_id}"]) == 2
    assert f"navco:{test_id}" in capsys.readouterr().out
    assert probe.main(["navco:abc"]) == 2
    assert "navco:ID" in capsys.readouterr().out


def test_navco_summary_splits_success_by_defect_and_states_the_resolution():
    from defection.calibration import navcases

    units = navcases._units().set_index("NAVCO ID")
    fit = navcases.runnable_fit_ids()
    done = units.loc[fit]
    done = done[done["finished"].astype(bool) & (done["method"] == "nonviolent")]
    nv = [int(i) for i in done.index]
    row = {"deserted": 0.0, "defected": 0.0, "detained": 0.0, "elites": 0.0}
    rows = [  # two runs with a DEFECT (one fell in the window), two without (one fell)
        {**row, "case": f"navco:{nv[0]}", "first_defect": 5, "outcome": "transition",
         "day": 9, "force_agents": 200},
        {**row, "case": f"navco:{nv[0]}", "first_defect": 40, "outcome": "survival",
         "defected": 0.01,
         "day": 365, "force_agents": 100},
        {**row, "case": f"navco:{nv[1]}", "first_defect": None, "outcome": "collapse",
         "day": 30, "force_agents": 400},
        # fell after the window: not a NAVCO success
        {**row, "case": f"navco:{nv[1]}", "first_defect": None, "outcome": "collapse",
         "day": 400, "force_agents": 400},
        {"case": f"navco:{nv[2]}", "seed": 1, "outcome": probe.NOT_BUILT, "error": "x"},
    ]  # fmt: skip
    text = probe.navco_summary(rows).splitlines()
    line = next(x for x in text if x.startswith("nonviolent SUCCESS: "))
    assert "model 1/2 (0.50) with DEFECT, 1/2 (0.50) without (gap +0.00)" in line
    two = done.loc[nv[:2]]
    d, s = two["DEFECT"] == 1, two["success"].astype(bool)
    assert f"data {int((s & d).sum())}/{int(d.sum())} " in line
    assert f"{int((s & ~d).sum())}/{int((~d).sum())} " in line
    res = next(x for x in text if x.startswith("resolution: "))
    # the median of 1/400, 1/400, 1/200 and 1/100 is (0.25 % + 0.5 %) / 2; 100 to 400 agents
    assert "is 0.38% of the initial force" in res and "100 to 400 soldier agents" in res
    assert "rule is 0.5%" in res
    assert "DEFECT 2/4 runs" in text[0]  # the run that was not built is left out
    # three falls (days 9, 30 and 400), one of them within two weeks
    assert "falls: 3 of 4 runs, 1 of them by day 14 (median day 30, latest 400)" in text
    assert "survivals: 1, 0 of them with no soldier gone" in text


def test_probe_expands_navco_fit_and_reports_a_model_it_cannot_build(capsys):
    from defection.calibration import navcases

    assert probe.expand_cases(["epstein_1", "navco:fit"]) == ["epstein_1"] + [
        f"navco:{i}" for i in navcases.runnable_fit_ids()
    ]
    # a stated peak at full legitimacy: no one would ever protest, so no pool can be sized
    fit = navcases.runnable_fit_ids()[0]
    over = ["--set", "run.horizon=3", "--set", "protest.peak_share=0.5"]
    over += ["--set", "protest.legitimacy=1"]
    assert probe.main([f"navco:{fit}", "--seeds", "1", *over]) == 0
    out = capsys.readouterr().out
    assert f"| navco:{fit} | 1 | not built | - |" in out
    assert f"navco:{fit} seed 1: not built: " in out and "protest.peak_share" in out
    assert "Traceback" not in out


def test_probe_sets_mapping_coefficients_of_coded_campaigns_only(capsys):
    from defection.calibration import casecode, navcases

    fit = navcases.runnable_fit_ids()[0]
    over = {"run.horizon": 5, "case.patronage_weight": 1.0}
    row = probe.probe_run(f"navco:{fit}", 1, over)
    assert row["outcome"] != probe.NOT_BUILT
    # the coefficient reached the coding: the campaign's own patronage is its client_follow
    sc = probe.case_scenario(f"navco:{fit}", {"case.patronage_weight": 1.0})
    _, drawn = casecode.coded_campaign(fit, 0)
    assert sc.params["elites.client_follow"] == drawn.patronage
    args = ["--seeds", "1", "--set", "run.horizon=5"]
    assert probe.main(["epstein_1", *args, "--set", "case.patronage_weight=1"]) == 2
    assert "act on navco:ID cases only" in capsys.readouterr().out
    assert probe.main([f"navco:{fit}", *args, "--set", "case.patronage_weight=2"]) == 2
    assert "case.patronage_weight" in capsys.readouterr().out
    assert probe.main([f"navco:{fit}", *args, "--set", "case.nonsense=0.1"]) == 2
    assert "not a mapping coefficient" in capsys.readouterr().out
