"""The refinement by runs (calibration/refine.py): per-vector scores, the rule, and the files.

Runs are made up here (no model run): the rule is a function of a check's committed runs.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from defection.calibration import navco, refine, validation
from defection.model.version import MODEL_VERSION

PARAMS = ["soldiers.threshold", "belief.memory"]


def _facts() -> pd.DataFrame:
    return validation.unit_facts(navco.fitting_units())


def _ids(facts, defect: int, n: int) -> list[int]:
    return [int(i) for i in facts.index[facts["DEFECT"] == defect][:n]]


def _good_case_values() -> dict[str, dict[str, float]]:
    """One run of each case that meets every clause of it."""
    return {
        "soviet": {"soviet_fell_after_231": 1, "soviet_left_230": 0.02, "cases_detained": 0.01},
        "syria": {
            "syria_fell_365": 0,
            "syria_defected_365": 0.02,
            "syria_desertion_excess": 0.01,
            "syria_elites": 0.0,
            "syria_core_left": 0.0,
            "cases_detained": 0.01,
        },
        "gdr": {"gdr_fell_60": 1, "cases_detained": 0.0},
        "philippines": {
            "philippines_first_defect": 15,
            "philippines_fall_after_defect": 3,
            "cases_detained": 0.02,
        },
        "myanmar": {"myanmar_fell_730": 0, "myanmar_defected_730": 0.03, "cases_detained": 0.02},
    }


def _runs(facts, draws: dict[int, dict]) -> pd.DataFrame:
    """Made-up check runs: per draw, 2 seeds of every case and a list of campaign outcomes.

    ``draws[d]`` has ``defect`` (campaign id -> 0/1), optional ``bad`` ({case: {target: value}}
    applied to the first seed) and ``params``.
    """
    recs = []
    for d, spec in draws.items():
        for case, values in _good_case_values().items():
            for seed in range(2):
                v = dict(values)
                if seed == 0:
                    v.update((spec.get("bad") or {}).get(case, {}))
                recs.append({"case": case, "navco_id": None, "draw": d, "status": "ok",
                             **{f"target:{k}": float(x) for k, x in v.items()}})  # fmt: skip
        won = spec.get("success", {})
        for cid, hit in spec["defect"].items():
            recs.append({"case": f"navco_{cid}_d0", "navco_id": cid, "draw": d, "status": "ok",
                         "target:navco_defect": float(hit),
                         "target:navco_success": float(won.get(cid, 0))})  # fmt: skip
    runs = pd.DataFrame(recs)
    runs["sample_row"] = runs["draw"]
    for i, p in enumerate(PARAMS):
        runs[p] = [draws[d]["params"][i] for d in runs["draw"]]
    runs["group"] = [
        c if nid is None else "navco" for c, nid in zip(runs["case"], runs["navco_id"], strict=True)
    ]
    return runs


def _defect(facts, hits_on_defect: int, hits_on_none: int, n: int = 10) -> dict[int, int]:
    """n campaigns with DEFECT 1 and n with 0; the model DEFECTs on the first ``hits_*``."""
    yes, no = _ids(facts, 1, n), _ids(facts, 0, n)
    return {**{c: int(i < hits_on_defect) for i, c in enumerate(yes)},
            **{c: int(i < hits_on_none) for i, c in enumerate(no)}}  # fmt: skip


def test_scores_count_missed_clauses_and_compare_defect_on_the_same_campaigns():
    facts = _facts()
    runs = _runs(
        facts,
        {
            0: {"defect": _defect(facts, 10, 0), "params": [1.0, 0.1]},  # p = q = 0.5
            # first seed: Syria falls and 10 % defect (2 clauses missed by half the runs), GDR
            # holds (1); the model DEFECTs everywhere: p = 1 against q = 0.5
            1: {
                "defect": _defect(facts, 10, 10),
                "bad": {
                    "syria": {"syria_fell_365": 1, "syria_defected_365": 0.10},
                    "gdr": {"gdr_fell_60": 0},
                },  # fmt: skip
                "params": [2.0, 0.2],
            },
        },
    )
    s = refine.vector_scores(runs, facts).set_index("draw")
    assert len(refine.case_checks()) == 17
    assert s.loc[0, "deficit"] == 0 and s.loc[0, "clauses_met"] == 17
    assert s.loc[1, "deficit"] == pytest.approx(1.5) and s.loc[1, "clauses_met"] == 14
    assert s.loc[0, "p_model"] == 0.5 and s.loc[0, "p_data"] == 0.5 and s.loc[0, "z"] == 0
    assert s.loc[1, "z"] == pytest.approx(0.5 / math.sqrt(0.25 / 20))
    assert s.loc[1, "soldiers.threshold"] == 2.0 and s.loc[0, "campaigns"] == 20


def test_a_case_without_finished_runs_misses_all_its_clauses():
    facts = _facts()
    runs = _runs(facts, {0: {"defect": _defect(facts, 10, 0), "params": [1.0, 0.1]}})
    runs.loc[runs["case"] == "gdr", "status"] = "failed"
    s = refine.vector_scores(runs, facts)
    assert s["deficit"].iloc[0] == 2  # the GDR's fall and its detained clause


def test_select_cuts_on_navco_first_then_ranks_by_deficit():
    scores = pd.DataFrame(
        {
            "sample_row": [0, 1, 2, 3, 4],
            "deficit": [0.0, 1.0, 1.0, 3.0, 0.5],
            "z": [2.5, -0.4, 0.2, 1.0, math.nan],
        }
    )
    out = refine.select(scores, keep=2, cut="overall")
    by_row = out.set_index("sample_row")
    assert list(by_row["navco_ok"].sort_index()) == [False, True, True, True, False]
    # rows 1 and 2 tie on deficit: the smaller |z| (row 2) ranks first
    assert list(out["sample_row"][:3]) == [2, 1, 3]
    assert set(out.loc[out["kept"], "sample_row"]) == {1, 2}
    assert by_row.loc[0, "kept"] == False  # the best deficit, but |z| 2.5: cut  # noqa: E712
    assert len(refine.select(scores, keep=10, cut="overall").query("kept")) == 3  # all that pass


def test_scores_compare_each_method_and_measure_discrimination():
    facts = _facts()
    defect = _defect(facts, 10, 0)  # the model DEFECTs exactly where the data does
    runs = _runs(facts, {0: {"defect": defect, "params": [1.0, 0.1]}})
    s = refine.vector_scores(runs, facts).iloc[0]
    assert s["hit"] == 1.0 and s["false_alarm"] == 0.0 and s["gap"] == 1.0
    for m in refine.METHODS:
        mine = [c for c in defect if str(facts.loc[c, "method"]) == m]
        q = float(facts.loc[mine, "DEFECT"].mean())
        assert s[f"p_{m}"] == pytest.approx(q) and s[f"p_data_{m}"] == pytest.approx(q)
        z = s[f"z_{m}"]
        assert z == 0 if 0 < q < 1 else math.isnan(z)
    inverted = _runs(
        facts, {0: {"defect": {c: 1 - v for c, v in defect.items()}, "params": [1, 0]}}
    )
    assert refine.vector_scores(inverted, facts)["gap"].iloc[0] == -1.0


def test_by_method_rule_needs_both_methods_and_a_positive_gap_and_fills_up():
    scores = pd.DataFrame(
        {
            "sample_row": [0, 1, 2, 3, 4, 5],
            "deficit": [0.0, 1.0, 2.0, 0.5, 3.0, 0.1],
            "z": [0.0] * 6,
            "z_nonviolent": [0.1, 0.2, -1.0, 2.0, 2.0, 0.0],
            "z_violent": [0.1, -0.3, 1.0, 0.0, 2.0, 0.0],
            "gap": [0.2, 0.1, 0.3, 0.2, 0.1, 0.0],  # row 5: no discrimination
        }
    )
    out = refine.select(scores, keep=30, min_keep=4).set_index("sample_row").sort_index()
    assert list(out["fails"]) == [0, 0, 0, 1, 2, 1]
    # rows 0-2 pass; filled up to 4 with the best of those failing one cut (row 5, deficit 0.1)
    assert list(out.index[out["kept"]]) == [0, 1, 2, 5]
    assert out.loc[5, "rank"] == 4 and not out.loc[5, "navco_ok"]
    assert list(refine.select(scores, min_keep=2).query("kept")["sample_row"]) == [0, 1, 2]
    with pytest.raises(ValueError, match="not one of"):
        refine.select(scores, cut="both")


def test_scores_compare_each_methods_success_on_finished_campaigns_and_report_its_gap():
    facts = _facts()
    defect = _defect(facts, 10, 0)
    # the model succeeds exactly where the data does, and only where it defects
    success = {c: int(facts.loc[c, "success"] == 1 and defect[c] == 1) for c in defect}
    runs = _runs(facts, {0: {"defect": defect, "success": success, "params": [1.0, 0.1]}})
    s = refine.vector_scores(runs, facts).iloc[0]
    for m in refine.METHODS:
        mine = [c for c in defect if str(facts.loc[c, "method"]) == m and facts.loc[c, "finished"]]
        r = float(facts.loc[mine, "success"].astype(float).mean())
        model = float(np.mean([success[c] for c in mine]))
        assert s[f"s_data_{m}"] == pytest.approx(r) and s[f"s_{m}"] == pytest.approx(model)
        if 0 < r < 1:
            sd = math.sqrt(r * (1 - r) / len(mine))
            assert s[f"zs_{m}"] == pytest.approx((model - r) / sd)
        hit = [success[c] for c in mine if defect[c]]
        miss = [success[c] for c in mine if not defect[c]]
        if hit and miss:
            assert s[f"sgap_{m}"] == pytest.approx(np.mean(hit) - 0.0)
        else:
            assert math.isnan(s[f"sgap_{m}"])


def test_by_method_success_rule_adds_each_methods_success_and_fills_by_fewest_failed():
    scores = pd.DataFrame(
        {
            "sample_row": [0, 1, 2, 3, 4],
            "deficit": [0.0, 1.0, 2.0, 0.5, 0.1],
            "z": [0.0] * 5,
            "z_nonviolent": [0.1, 0.2, -1.0, 2.0, 2.0],
            "z_violent": [0.1, -0.3, 1.0, 0.0, 2.0],
            "gap": [0.2, 0.1, 0.3, 0.2, 0.1],
            "zs_nonviolent": [0.0, -3.0, 0.5, -2.0, math.nan],  # NaN fails
            "zs_violent": [0.0, 0.0, 0.5, 0.0, 0.0],
        }
    )
    out = refine.select(scores, cut="by_method_success", min_keep=3)
    by_row = out.set_index("sample_row").sort_index()
    assert list(by_row["fails"]) == [0, 1, 0, 2, 3]
    # rows 0 and 2 pass; one fill-in, the vector failing fewest cuts (row 1), not the best
    # deficit among those failing some (row 4, three cuts)
    assert list(out.loc[out["kept"], "sample_row"]) == [0, 2, 1]
    # the DEFECT rule alone ignores the success columns
    plain = refine.select(scores, min_keep=1).set_index("sample_row").sort_index()
    assert list(plain["fails"]) == [0, 0, 0, 1, 2]


def _folder(tmp_path: Path, runs: pd.DataFrame, rows: int) -> Path:
    root = tmp_path / "calibration"
    folder = root / "refine"
    folder.mkdir(parents=True)
    sample = root / "sample.parquet"
    pd.DataFrame(
        {PARAMS[0]: np.linspace(1, 2, rows), PARAMS[1]: np.linspace(0.1, 0.2, rows), "x": 0.0}
    ).to_parquet(sample)
    runs = runs.copy()
    runs["point"] = np.arange(len(runs))
    runs["run_id"] = [f"r/p{i:06d}/r00000" for i in range(len(runs))]
    design = runs[["point", "draw", "sample_row"]]
    runs = runs.drop(columns=["draw", "sample_row", "group", "navco_id"])
    runs.to_parquet(folder / "runs.parquet")
    design.to_parquet(folder / "design.parquet")
    cases = {c: {"navco_id": None} for c in _good_case_values()}
    cases.update(
        {
            c: {"navco_id": int(c.split("_")[1]), "table": "navco"}
            for c in runs["case"]
            if c.startswith("navco_")
        }  # fmt: skip
    )
    manifest = {
        "kind": "check",
        "name": "refine",
        "calibration_id": "refine-0123456789",
        "model_version": MODEL_VERSION,
        "commit": "d" * 40,
        "cases": cases,
        "check": {"sample": {"path": str(sample), "sha256": "e" * 64, "vectors": rows}},
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def test_refine_writes_the_kept_vectors_and_its_report(tmp_path, capsys):
    facts = _facts()
    draws = {
        0: {"defect": _defect(facts, 10, 0), "params": [1.0, 0.1]},
        1: {"defect": _defect(facts, 10, 10), "params": [1.5, 0.15]},  # fails the NAVCO cut
        2: {
            "defect": _defect(facts, 9, 1),
            "bad": {"myanmar": {"myanmar_defected_730": 0.0}},
            "params": [2.0, 0.2],
        },
    }
    folder = _folder(tmp_path, _runs(facts, draws), rows=3)
    assert refine.main([str(folder), "--keep", "5", "--cut", "overall"]) == 0
    assert "kept 2 of 3 vectors run (sample: 3; 2 passed the NAVCO cut)" in capsys.readouterr().out
    kept = pd.read_parquet(folder / refine.SAMPLE_FILE)
    assert list(kept["sample_row"]) == [0, 2]
    assert list(kept.columns) == ["sample_row", *PARAMS]  # only the columns the runs vary
    assert kept[PARAMS[0]].tolist() == [1.0, 2.0]  # the sample's values, by row
    info = json.loads((folder / refine.MANIFEST_FILE).read_text())
    assert info["kept_rows"] == [0, 2] and info["rule"]["keep"] == 5
    text = (folder / refine.REPORT_FILE).read_text()
    assert "refine-0123456789" in text and "passed the NAVCO cut: 2 of 3; kept: 2" in text
    line = next(ln for ln in text.splitlines() if "army and police defected" in ln)
    assert line.endswith("| 83% | 75% |")  # 5 of 6 runs meet it; of the kept, 3 of 4
    assert "P(SUCCESS)" not in text  # the DEFECT rules' tables are as before
    # the success rule: no campaign run succeeds, so every vector fails the success cuts and
    # the kept set is the fill-up, by fewest cuts failed
    assert refine.main([str(folder), "--cut", "by_method_success"]) == 0
    assert "kept 3 of 3 vectors run (sample: 3; 0 passed the NAVCO cuts)" in capsys.readouterr().out
    text = (folder / refine.REPORT_FILE).read_text()
    assert refine.SUCCESS_HEAD in text and "fill-ins failing some cuts" in text
    assert f"refine {folder} --cut by_method_success`" in text  # the command that wrote it
    info = json.loads((folder / refine.MANIFEST_FILE).read_text())
    assert info["rule"]["min_keep"] == refine.MIN_KEEP and "zs =" in info["rule"]["statistics"]


def test_refine_takes_a_random_subset_of_the_sample_and_says_so(tmp_path, capsys):
    facts = _facts()
    runs = _runs(facts, {0: {"defect": _defect(facts, 10, 0), "params": [1, 0.1]}})
    runs["sample_row"] = 3
    folder = _folder(tmp_path, runs, 4)
    assert refine.main([str(folder)]) == 0
    out = capsys.readouterr().out
    assert "kept 1 of 1 vectors run (sample: 4; 1 passed the NAVCO cuts)" in out
    info = json.loads((folder / refine.MANIFEST_FILE).read_text())
    assert info["sample"]["drawn"] == 1 and info["kept_rows"] == [3]
    assert info["rule"]["cut"] == "by_method" and info["rule"]["min_keep"] == refine.MIN_KEEP
    text = (folder / refine.REPORT_FILE).read_text()
    assert "vectors run: 1 (a random subset" in text and "rule `by_method`" in text


def test_refine_refuses_rows_outside_its_sample(tmp_path, capsys):
    facts = _facts()
    runs = _runs(facts, {0: {"defect": _defect(facts, 10, 0), "params": [1, 0.1]}})
    runs["sample_row"] = 7
    folder = _folder(tmp_path, runs, 4)
    assert refine.main([str(folder)]) == 2
    out = capsys.readouterr().out
    assert out.startswith("error: ") and "not rows of its sample" in out


def test_refine_says_when_no_vector_passes_the_cut(tmp_path, capsys):
    facts = _facts()
    folder = _folder(
        tmp_path, _runs(facts, {0: {"defect": _defect(facts, 10, 10), "params": [1, 0.1]}}), 1
    )
    assert refine.main([str(folder)]) == 2
    assert "no vector passes the NAVCO cut" in capsys.readouterr().out
