"""``defection policies``: the plan, the paired analysis, the report, resuming after kill -9."""

import random
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from cli_kit import assert_clean_input_error, invoke
from sweep_kit import kill_mid_way

from defection import policylab as lab
from defection.model.policy import load_policy
from defection.model.scenario import load
from defection.sweep.store import Store

#: Baseline cut to 6 days on a small grid, with a pay cut on day 3.
SCENARIO = """
[scenario]
name = "tiny"
extends = "baseline"

[run]
horizon = 6

[grid]
width = 16
height = 16

[[events]]
day = 3
kind = "pay_cut"
pay = 0.5
"""

POLICY = """
[policy]
name = "tiny_pol"
scenarios = ["SCENARIO"]

[[packages]]
name = "same"
side = "regime"
title = "Messaging at the scenario's own value"

[[packages.measures]]
lever = "regime.messaging"
value = 0.5

[[packages]]
name = "pay"
side = "regime"

[[packages.measures]]
lever = "soldiers.pay"
value = 2.0
day = 2

[[packages]]
name = "amnesty"
side = "opposition"

[[packages.measures]]
lever = "opposition.amnesty"
value = 3.0
"""


@pytest.fixture
def files(tmp_path):
    sc = tmp_path / "tiny.toml"
    sc.write_text(SCENARIO)
    pol = tmp_path / "tiny_pol.toml"
    pol.write_text(POLICY.replace("SCENARIO", str(sc)))
    return sc, pol


def test_the_plan_pairs_every_package_on_one_seed_per_draw_and_seed(files):
    sc, pol = files
    cmp = lab.make_comparison(load_policy(pol), [load(sc)], seeds_per_draw=3)
    assert [n for n, _ in cmp.packages] == ["none", "same", "pay", "amnesty"]
    assert cmp.n_runs == 4 * 3
    tasks = lab.tasks_for(cmp, set())
    assert len(tasks) == 12 and len({t.run_id for t in tasks}) == 12
    by_k: dict[int, set[int]] = {}
    for t in tasks:
        by_k.setdefault(t.replicate, set()).add(t.seed)
    assert all(len(s) == 1 for s in by_k.values())  # one seed per (draw, k), every package
    assert len({next(iter(s)) for s in by_k.values()}) == 3
    done = {tasks[0].run_id, tasks[5].run_id}
    assert len(lab.tasks_for(cmp, done)) == 10
    # the id names what sets the runs: another package list, another comparison
    other = lab.make_comparison(load_policy(pol), [load(sc)], ["pay"], seeds_per_draw=3)
    assert other.comparison_id != cmp.comparison_id
    again = lab.make_comparison(load_policy(pol), [load(sc)], seeds_per_draw=3)
    assert again.comparison_id == cmp.comparison_id


def test_paired_effects_are_the_mean_difference_with_a_bootstrap_interval():
    base = pd.DataFrame({"draw": [0, 0, 1, 1], "seed_k": [0, 1, 0, 1], "x": [0.1, 0.2, 0.3, 0.4]})
    treated = base.assign(x=base["x"] + [0.1, 0.1, 0.3, 0.3])
    eff = lab.paired_effects(base, treated, "x")
    assert eff["effect"] == pytest.approx(0.2)
    assert eff["pairs"] == 4
    assert 0.1 - 1e-12 <= eff["lo"] <= 0.2 <= eff["hi"] <= 0.3 + 1e-12
    same = lab.paired_effects(base, base, "x")
    assert (same["effect"], same["lo"], same["hi"]) == (0.0, 0.0, 0.0)
    none = lab.paired_effects(base, treated.assign(draw=[8, 8, 9, 9]), "x")
    assert none["pairs"] == 0 and np.isnan(none["effect"])


def test_analyse_counts_outcomes_with_wilson_intervals():
    rows = []
    for k in range(4):
        rows.append(
            {"scenario": "s", "package": "none", "draw": 0, "seed_k": k, "status": "ok",
             "outcome": "collapse" if k < 2 else "survival", "outcome_rule": None,
             "outcome_day": 10.0, "left_share": 0.2, "core_left_share": 0.0}
        )  # fmt: skip
        rows.append(
            {"scenario": "s", "package": "p", "draw": 0, "seed_k": k, "status": "ok",
             "outcome": "survival", "outcome_rule": "horizon_reached",
             "outcome_day": 30.0, "left_share": 0.05, "core_left_share": 0.0}
        )  # fmt: skip
    table, effects = lab.analyse(pd.DataFrame(rows), ["none", "p"])
    none = table[table["package"] == "none"].iloc[0]
    assert none["p_fell"] == 0.5 and none["p_survival"] == 0.5
    assert none["p_fell_lo"] < 0.5 < none["p_fell_hi"]
    assert none["outcome_day_median"] == 10.0
    p = table[table["package"] == "p"].iloc[0]
    assert p["p_survival"] == 1.0 and np.isnan(p["outcome_day_median"])
    left = effects[(effects["package"] == "p") & (effects["measure"] == "left_share")].iloc[0]
    assert left["effect"] == pytest.approx(-0.15)
    fell = effects[(effects["package"] == "p") & (effects["measure"] == "p_fell")].iloc[0]
    assert fell["effect"] == pytest.approx(-0.5)


def test_the_command_compares_writes_the_report_and_resumes(files, tmp_path):
    sc, pol = files
    args = ("policies", str(pol), "--seeds-per-draw", "2", "--workers", "1", "-q",
            "--db", "p.duckdb", "--out", "rep")  # fmt: skip
    proc = invoke(*args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "= 8 runs" in proc.stderr
    report = (tmp_path / "rep" / "report.md").read_text()
    assert "not advice" in report and "## tiny" in report
    assert f"`defection policies {pol} --seeds-per-draw 2`" in report
    assert (tmp_path / "rep" / "effects.png").stat().st_size > 1000
    table = pd.read_csv(tmp_path / "rep" / "comparison.csv")
    assert list(table["package"]) == ["none", "same", "pay", "amnesty"]
    assert (table["runs"] == 2).all() and (table["failed"] == 0).all()
    ranks = table[["left_conscript_median", "left_nco_median", "left_officer_median"]]
    assert ranks.notna().all().all() and ((ranks >= 0) & (ranks <= 1)).all().all()
    assert "conscripts / NCOs / officers left" in report
    effects = pd.read_csv(tmp_path / "rep" / "effects.csv")
    same = effects[effects["package"] == "same"]
    # a package that changes nothing: every paired difference is exactly 0
    assert (same[["effect", "lo", "hi"]].to_numpy() == 0).all()
    with Store(tmp_path / "p.duckdb", read_only=True) as store:
        runs = store.con.execute(
            "SELECT package, draw, replicate, seed FROM runs ORDER BY package, replicate"
        ).fetchdf()
    assert len(runs) == 8
    assert runs.groupby("replicate")["seed"].nunique().eq(1).all()
    again = invoke(*args, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "resuming: 8 of 8 runs already in" in again.stderr
    assert pd.read_csv(tmp_path / "rep" / "comparison.csv").equals(table)


def test_policies_input_errors_are_clean(files, tmp_path):
    sc, pol = files
    assert_clean_input_error(
        invoke("policies", str(pol), "--package", "pya", "--dry-run", cwd=tmp_path),
        "no package `pya`; did you mean `pay`?",
    )
    assert_clean_input_error(
        invoke("policies", str(pol), "--sample", "x.parquet", "--dry-run", cwd=tmp_path),
        "--sample: only with --ensemble",
    )
    assert_clean_input_error(
        invoke("policies", "nowhere", "--dry-run", cwd=tmp_path), "no bundled policy file"
    )
    short = tmp_path / "short.toml"
    short.write_text(SCENARIO.split("[[events]]")[0].replace("horizon = 6", "horizon = 1"))
    assert_clean_input_error(
        invoke("policies", str(pol), "--scenario", str(short), "--dry-run", cwd=tmp_path),
        "after `tiny`'s horizon",
    )


def test_the_bundled_comparison_plans_ten_packages_on_both_scenarios(tmp_path):
    """The done-when's size: six regime and three opposition packages, and none."""
    proc = invoke("policies", "syria_2011", "--scenario", "syria_2011", "--scenario",
                  "soviet_1991", "--dry-run", cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "10 packages (none and 9 of" in proc.stderr
    for name in ("syria_2011", "soviet_1991"):
        pf = load_policy(name)
        sides = [p.side for p in pf.packages.values()]
        assert sides.count("regime") >= 6 and sides.count("opposition") >= 3


@pytest.mark.slow
def test_kill_9_mid_comparison_then_resume_is_exactly_once(files, tmp_path):
    sc, pol = files
    base = [sys.executable, "-m", "defection", "policies", str(pol), "--seeds-per-draw", "6",
            "--workers", "2", "-q"]  # fmt: skip
    ref = subprocess.run(
        [*base, "--db", str(tmp_path / "ref.duckdb"), "--out", str(tmp_path / "ref")],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert ref.returncode == 0, ref.stderr
    rng = random.Random(2026)
    killed_at = None
    for attempt in range(4):
        db = tmp_path / f"killed-{attempt}.duckdb"
        args = [*base, "--db", str(db), "--out", str(tmp_path / f"out-{attempt}")]
        n = kill_mid_way(args, db, tmp_path / f"marks-{attempt}", 24, rng, min_marks=4, jitter=1.0)
        if 0 < n < 24:
            killed_at = n
            break
    assert killed_at is not None, "never caught the comparison mid-way"
    resumed = subprocess.run(
        [*base, "--db", str(db), "--out", str(tmp_path / "resumed")],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming: {killed_at} of 24 runs already in" in resumed.stderr
    cols = ["run_id", "seed", "outcome", "outcome_day", "left_share"]
    with Store(db, read_only=True) as store:
        got = store.con.execute(f"SELECT {', '.join(cols)} FROM runs ORDER BY run_id").fetchdf()
    with Store(tmp_path / "ref.duckdb", read_only=True) as store:
        want = store.con.execute(f"SELECT {', '.join(cols)} FROM runs ORDER BY run_id").fetchdf()
    assert len(got) == 24 and got["run_id"].is_unique
    pd.testing.assert_frame_equal(got, want)
    assert (tmp_path / "resumed" / "comparison.csv").read_text() == (
        tmp_path / "ref" / "comparison.csv"
    ).read_text()
