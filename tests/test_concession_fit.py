"""The concession fit's exact expectations (calibration/concession.py), on hand-made recordings."""

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from defection.calibration import concession
from defection.calibration.navcases import model_rates


def _rec(rows):
    base = {"status": "ok", "draw": 0, "navco_id": 1}
    return pd.DataFrame([{**base, **r} for r in rows])


SURVIVED = {  # ten days at 1 % participating, unarmed, no DEFECT, reached the horizon
    "participation": [0.01] * 10,
    "armed_share": [0.0] * 10,
    "outcome_rule": "horizon_reached",
    "outcome_day": 10,
    "defect_day": None,
    "navco_defect": 0,
    "navco_success": 0,
}
FELL = {  # five days, DEFECT on day 3, the elites' majority decided day 5
    "participation": [0.04] * 5,
    "armed_share": [0.5] * 5,
    "outcome_rule": "elite_majority",
    "outcome_day": 5,
    "defect_day": 3,
    "navco_defect": 1,
    "navco_success": 1,
}


def test_a_run_that_survived_concedes_with_the_chance_of_its_ten_days():
    e = concession.expected_outcomes(_rec([SURVIVED]), 0.1, 0.0, 0.7).iloc[0]
    assert e["navco_success"] == pytest.approx(1 - math.exp(-0.1 * 10))  # (p / 1 %)^beta = 1
    assert e["navco_defect"] == 0.0 and e["navco_success_defect"] == 0.0


def test_a_concession_before_the_first_defect_removes_it_and_the_deciding_day_is_not_a_chance():
    rn, rv, beta = 0.02, 0.01, 0.5
    lam = (0.5 * rn + 0.5 * rv) * (0.04 / 0.01) ** beta
    e = concession.expected_outcomes(_rec([FELL]), rn, rv, beta).iloc[0]
    # the ruler can concede on days 1-4 (day 5 the elites decided first); before day 3 the run
    # has no DEFECT yet, so DEFECT keeps only the chance of no concession on days 1-2
    assert e["navco_defect"] == pytest.approx(math.exp(-2 * lam))
    assert e["navco_success"] == pytest.approx(1.0)
    assert e["navco_success_defect"] == pytest.approx(math.exp(-2 * lam))


def test_no_rates_give_the_recorded_runs_and_their_cells():
    rec = _rec([SURVIVED, {**FELL, "navco_id": 2}])
    e = concession.expected_outcomes(rec, 0.0, 0.0, 0.3)
    assert list(e["navco_defect"]) == [0.0, 1.0]
    assert list(e["navco_success"]) == [0.0, 1.0]
    facts = pd.DataFrame(
        {"bin": ["0.1-1%"] * 2, "method": ["nonviolent"] * 2, "finished": [True, True]},
        index=pd.Index([1, 2], name="navco_id"),
    )
    raw = model_rates(
        rec.assign(navco_success_defect=None).drop(columns="navco_success_defect"), facts
    )
    got = model_rates(e, facts)
    for table in ("defect_by_method", "success_by_method", "success_gap"):
        pd.testing.assert_frame_equal(raw[table], got[table])


def test_expected_success_rises_with_each_rate():
    rec = _rec(
        [SURVIVED, {**FELL, "navco_id": 2, "navco_success": 0, "outcome_rule": "armed_split"}]
    )
    low = concession.expected_outcomes(rec, 0.001, 0.001, 0.3)["navco_success"].to_numpy()
    high = concession.expected_outcomes(rec, 0.01, 0.001, 0.3)["navco_success"].to_numpy()
    armed = concession.expected_outcomes(rec, 0.001, 0.01, 0.3)["navco_success"].to_numpy()
    assert np.all(high >= low) and high[0] > low[0]
    assert armed[1] > low[1] and armed[0] == pytest.approx(low[0])  # run 1 is unarmed


def _case(case, days, rule, fell_day=None, **targets):
    outcome = "transition" if fell_day is not None else "survival"
    return {
        "run_id": case,
        "case": case,
        "status": "ok",
        "outcome": outcome,
        "outcome_rule": rule,
        "outcome_day": fell_day if fell_day is not None else days,
        "participation": [0.01] * days,
        "armed_share": [0.0] * days,
        **{f"target:{k}": v for k, v in targets.items()},
    }


def test_case_clauses_under_a_concession():
    rate = 0.001
    rec = pd.DataFrame(
        [
            _case("syria", 365, "horizon_reached", syria_fell_365=0.0, syria_defected_365=0.02),
            _case("gdr", 80, "elite_majority", 80, gdr_fell_60=0.0),
            _case(
                "philippines",
                20,
                "elite_majority",
                20,
                philippines_first_defect=15.0,
                philippines_fall_after_defect=5.0,
            ),
        ]
    )
    shares = concession.case_clause_shares(rec, rate, 0.0, 0.3)
    keep = math.exp(-rate)  # a day without a concession at 1 % participating
    # Syria: no fall in the year unless the ruler concedes on one of its 365 days
    assert shares["syria_fell_365"] == pytest.approx(keep**365)
    assert shares["syria_defected_365"] == pytest.approx(keep**365)  # a lower bound
    # East Germany fell on day 80: only a concession by day 60 meets the clause
    assert shares["gdr_fell_60"] == pytest.approx(1 - keep**60)
    # the Philippines: no concession before day 15 keeps its first defection; after it, a
    # concession on days 15-19 or the fall on day 20 are both within 7 days
    assert shares["philippines_first_defect"] == pytest.approx(keep**14)
    assert shares["philippines_fall_after_defect"] == pytest.approx(keep**14)
    off = concession.case_clause_shares(rec, 0.0, 0.0, 0.3)
    assert off["syria_fell_365"] == 1.0 and off["gdr_fell_60"] == 0.0
    assert concession.case_clauses_passing(off) == concession.case_clauses_passing(
        {**off, "gdr_fell_60": 0.0}
    )


ROOT = Path(__file__).resolve().parents[1]
RECORDING = ROOT / "calibration/concession/threat0.parquet"


def test_the_committed_recording_with_no_concession_gives_the_runs_it_recorded():
    """The recorder's runs are the validation's own (their DEFECT and SUCCESS as that folder
    committed them, stored beside): with both rates 0 the fit's cells are those runs' cells."""
    from defection.calibration import navco, validation

    got = concession.score_setting((str(RECORDING), None, 0.0, 0.0, 0.0))
    rec = pd.read_parquet(
        RECORDING, columns=["navco_id", "draw", "status", "folder_defect", "folder_success"]
    )
    assert len(rec) >= 1300
    runs = rec.rename(columns={"folder_defect": "navco_defect", "folder_success": "navco_success"})
    units = navco.fitting_units(split=navco.read_split())
    cells = validation.navco_rows(runs, validation.unit_facts(units), navco.targets(units))
    for r in cells.itertuples(index=False):
        have = got["cells"][f"{r.table}:{r.cell}"]
        assert (math.isnan(have) and math.isnan(r.model_p)) or have == round(r.model_p, 4)
    assert got["done_when_inside"] == int(cells[cells["done_when"]]["inside"].fillna(False).sum())


def test_a_setting_holds_success_only_if_no_method_moves_away_from_the_data():
    data = {"nonviolent": 0.56, "violent": 0.24}
    sd = {"nonviolent": 0.05, "violent": 0.04}
    ref = {"nonviolent": 0.33, "violent": 0.35}
    assert concession.holds_success(ref, ref, data, sd)
    # nonviolent success rises towards the data, and past it no farther than the reference was
    assert concession.holds_success({"nonviolent": 0.78, "violent": 0.35}, ref, data, sd)
    assert not concession.holds_success({"nonviolent": 0.80, "violent": 0.35}, ref, data, sd)
    # violent success inflated: a gap cannot come inside that way
    assert not concession.holds_success({"nonviolent": 0.52, "violent": 0.59}, ref, data, sd)
    # below the data, within one sd, holds even though the reference was on the other side
    assert concession.holds_success({"nonviolent": 0.56, "violent": 0.20}, ref, data, sd)
    assert not concession.holds_success({"nonviolent": 0.56, "violent": 0.12}, ref, data, sd)


def test_choose_takes_the_most_passes_across_fits_then_the_lowest_score():
    common = {"reference_success": {"v": 0.35}, "data_success": {"v": 0.24}}
    common["data_success_sd"] = {"v": 0.05}

    def fit_of(threat, best):
        return {**common, "set": {"elites.armed_threat": threat}, "best": best}

    a = fit_of(0.5, {"passes": 17, "score": 24.3})
    b = fit_of(1.0, {"passes": 17, "score": 20.0})
    c = fit_of(1.0, {"passes": 16, "score": 5.0})
    assert concession.choose([a, b])["set"] == {"elites.armed_threat": 1.0}
    assert concession.choose([a, c])["index"] == 0  # passes first: a low score does not win
    assert concession.choose([fit_of(1.0, None), a])["index"] == 1
    assert concession.choose([fit_of(1.0, None)]) is None
    with pytest.raises(ValueError, match="reference_success"):
        concession.choose([a, {**b, "reference_success": {"v": 0.30}}])


def test_choose_on_the_command_line_names_the_winner_and_rejects_unlike_fits(tmp_path, capsys):
    import copy

    real = json.loads((ROOT / "calibration/concession/fit_threat05.json").read_text())
    other = copy.deepcopy(real)
    other["set"] = {"elites.armed_threat": 1.0}
    other["best"]["score"] = real["best"]["score"] + 1
    paths = [tmp_path / "a.json", tmp_path / "b.json"]
    for path, content in zip(paths, (other, real), strict=True):
        path.write_text(json.dumps(content))
    assert concession.main(["choose", *map(str, paths)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{paths[1]} (set {{'elites.armed_threat': 0.5}})")
    other["data_success"] = {"nonviolent": 0.5, "violent": 0.2}
    paths[0].write_text(json.dumps(other))
    assert concession.main(["choose", *map(str, paths)]) == 2
    assert "differ in 'data_success'" in capsys.readouterr().err
    assert concession.main(["choose", str(paths[1]), str(tmp_path / "none.json")]) == 2
    assert f"{tmp_path / 'none.json'}: not a readable fit file" in capsys.readouterr().err
    paths[0].write_text(json.dumps({"best": None}))
    assert concession.main(["choose", *map(str, paths)]) == 2
    assert f"{paths[0]}: no set, reference_success: not written by 'fit'" in capsys.readouterr().err


@pytest.mark.parametrize("threat", ["threat05", "threat1"])
def test_the_armed_threat_fits_winners_are_what_their_recordings_give(threat):
    """calibration/concession/fit_<threat>.json's winner (docs/CALIBRATION.md, "The armed
    threat"), scored again from the committed recordings: the same cells, clauses and rates, and
    it holds both methods' success rates against model version 9's."""
    fitted = json.loads((ROOT / f"calibration/concession/fit_{threat}.json").read_text())
    best = fitted["best"]
    setting = tuple(
        best[k]
        for k in (
            "regime.concession_nonviolent",
            "regime.concession_violent",
            "regime.concession_elasticity",
        )
    )
    got = concession.score_setting(
        (
            str(ROOT / f"calibration/concession/{threat}.parquet"),
            str(ROOT / f"calibration/concession/{threat}_cases.parquet"),
            *setting,
        )
    )
    for key in ("passes", "done_when_inside", "case_clauses_passing", "success", "case_clauses"):
        assert got[key] == best[key], key
    assert got["score"] == pytest.approx(best["score"], rel=1e-9)
    v9 = json.loads((ROOT / "calibration/concession/fit.json").read_text())["off"]
    assert fitted["reference_success"] == v9["success"]
    assert concession.holds_success(
        got["success"], v9["success"], fitted["data_success"], fitted["data_success_sd"]
    )


def test_the_armed_threat_at_one_half_wins_across_both_recordings():
    """docs/CALIBRATION.md, "The armed threat at 1": by the rule, 0.5's winner (17 passes)
    beats 1's (16, version 9's count), and only 0.5's beats version 9."""
    fits = [
        json.loads((ROOT / f"calibration/concession/fit_{t}.json").read_text())
        for t in ("threat05", "threat1")
    ]
    won = concession.choose(fits)
    assert won["set"] == {"elites.armed_threat": 0.5}
    v9 = json.loads((ROOT / "calibration/concession/fit.json").read_text())["off"]
    assert won["best"]["passes"] == 17 > v9["passes"] == fits[1]["best"]["passes"] == 16


def test_the_recorder_runs_version_9s_values_whatever_the_defaults():
    """``record`` re-runs version 9's validation (calibration/validation_v9) on
    ``concession.RECORD_BASE``: two campaign runs that failed at version 9 and won by a
    concession in version 10's validation (calibration/validation) come out as version 9's."""
    v9, v10 = (ROOT / "calibration" / f for f in ("validation_v9", "validation"))
    later = pd.read_parquet(v10 / "runs.parquet")
    conceded = later[(later["outcome_rule"] == "concession") & (later["target:navco_success"] == 1)]
    conceded_at = set(zip(conceded["case"], conceded["seed"], strict=True))
    jobs = [
        j
        for j in concession._campaign_jobs(v9, {})
        if (f"navco_{j['navco_id']}_d{j['coding']}", j["seed"]) in conceded_at and j["success"] == 0
    ]
    earlier = pd.read_parquet(v9 / "runs.parquet").set_index("run_id")["days"]
    jobs = sorted(jobs, key=lambda j: int(earlier[j["run_id"]]))[:2]
    assert len(jobs) == 2
    for job in jobs:
        row = concession.record_run(job)
        assert row["outcome_rule"] != "concession", job["run_id"]
        assert (row["navco_defect"], row["navco_success"]) == (job["defect"], job["success"])
