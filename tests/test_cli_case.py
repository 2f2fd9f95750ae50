"""`defection validate --navco ID`: the scenario a coded NAVCO campaign produces (docs/CASES.md)."""

import math
import tomllib
from dataclasses import fields

import pytest
from cli_kit import assert_clean_input_error, cli, invoke

from defection.calibration import casecode as cc
from defection.calibration import navco
from defection.calibration.spec import calibration_from_dict
from defection.model.scenario import load

#: Fitting-set campaigns (calibration/navco_split.csv): a nonviolent one with no crackdown and
#: outside aid (East Germany 1989), a violent one with a crackdown and state support (Djibouti).
NONVIOLENT, VIOLENT = 75, 2
NO_SUCH_ID = 1  # NAVCO 1.2 has no campaign 1
OUT_OF_DOMAIN = 185  # Russia 1990-91, REGCHANGE = 0
NO_PARTICIPATION = 276  # Anti-Somoza Strike, fitting set, participation 0


def _rows(stdout: str) -> dict[str, list[str]]:
    """Table rows by their first cell (continuation lines of wrapped cells are skipped)."""
    out = {}
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.strip().strip("│").split("│")]
        if len(cells) >= 2 and cells[0]:
            out.setdefault(cells[0], cells[1:])
    return out


def test_split_ids_used_here_are_what_the_tests_say():
    split = navco.read_split().groupby(navco.ID)["set"].first()
    assert split[NONVIOLENT] == "fit" and split[VIOLENT] == "fit"
    assert split[NO_PARTICIPATION] == "fit"
    assert NO_SUCH_ID not in split.index and OUT_OF_DOMAIN not in split.index


@pytest.mark.parametrize(
    ("cid", "draw", "facts"),
    [
        (NONVIOLENT, 0, ("pro-dem movement", "East Germany", "1989", "nonviolent", "0.1-1%")),
        (VIOLENT, 1, ("Afar insurgency", "Djibouti", "1991-1994", "violent", "0.1-1%")),
    ],
)
def test_a_fitting_campaign_prints_its_features_the_mapped_values_and_ok(
    cid, draw, facts, tmp_path
):
    args = ["validate", "--navco", str(cid)] + (["--draw", str(draw)] if draw else [])
    proc = cli(*args, cwd=tmp_path, columns=200)  # no table row wraps
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stderr == ""
    assert f"ok: navco:{cid} draw {draw} (navco_{cid}: 2 regions" in proc.stdout
    head, _, rest = proc.stdout.partition("\nfeatures")
    case = _rows(head)
    shown = " ".join(" ".join(case[k]) for k in ("campaign", "location", "years", "method"))
    assert all(fact in shown + case["participation"][0] for fact in facts)
    assert case["NAVCO ID"] == [str(cid)] and case["coding draw"][0].startswith(str(draw))
    rows = _rows(rest)

    # the scenario calibration builds for this (campaign, draw): the same values
    sc, drawn = cc.coded_campaign(cid, draw)
    for f in fields(cc.Features):
        if f.name not in ("name", "title", "cite"):
            assert f.name in rows, f.name
    assert rows["regime_violence"][1] == "input: NAVCO REGVIOL"
    assert rows["method"][:2] == [drawn.method, "input: NAVCO NONVIOL, VIOL"]
    assert rows["force_share"][1:] == ["drawn", "log-uniform 0.002-0.01"]
    assert rows["force_share"][0] == f"{drawn.force_share:.4g}"
    for key in ("soldiers.pay", "soldiers.guard_share", "protest.legitimacy", "police.share"):
        assert rows[key][0] == f"{sc.params[key]:.4g}", key
    assert rows["soldiers.force"][0] == f"{sc.params['soldiers.force']:,.0f}"
    violent = rows["opposition.violent_share"]
    if cid == VIOLENT:
        assert violent == ["0.8", "method violent: case.violent_share_violent = 0.8"]
        assert rows["events[0].repression"] == ["0.9", "case.repression_regviol = 0.9"]
        assert rows["events[0].lethality"] == ["0.5", "case.lethality_regviol = 0.5"]
        assert rows["events[0].day"][0] == str(sc.events[0]["day"])
        assert "not used (a violent campaign)" in rows["violent_flank"][1]
    else:
        assert violent[1].endswith("case.violent_share_nonviolent = 0.05")
        assert rows["events"][:2] == ["none", "regime_violence = 0: no crackdown"]
        assert "not used (regime_violence = 0)" in rows["crackdown_day"][1]


def test_another_draw_is_another_coding_of_the_same_campaign(tmp_path):
    a = _rows(invoke("validate", "--navco", str(NONVIOLENT), cwd=tmp_path).stdout)
    b = _rows(invoke("validate", "--navco", str(NONVIOLENT), "--draw", "3", cwd=tmp_path).stdout)
    assert a["participation"] == b["participation"] and a["regime_aid"] == b["regime_aid"]
    assert a["pay"] != b["pay"]
    assert b["pay"][0] == f"{cc.coded_campaign(NONVIOLENT, 3)[1].pay:.4g}"


def test_write_round_trip_validates_and_builds_the_same_scenario(tmp_path):
    out = tmp_path / "sub" / "case.toml"
    proc = invoke(
        "validate", "--navco", str(VIOLENT), "--draw", "2", "--write", str(out), cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"wrote {out}" in proc.stdout
    text = out.read_text()
    assert text.startswith("# NAVCO ID 2, coding draw 2")
    sc, _ = cc.coded_campaign(VIOLENT, 2)
    assert tomllib.loads(text) == sc.raw
    again = load(out)
    assert again.params == sc.params and again.hash == sc.hash
    assert (again.groups, again.regions, again.events) == (sc.groups, sc.regions, sc.events)
    assert again.sources == sc.sources
    # the case a calibration runs for (campaign 2, draw 2) at the coefficients' defaults
    spec = {
        "calibration": {"name": "c", "kind": "screen", "seed": 1},
        "budget": {"max_runs": 10, "max_minutes": 1},
        "parameters": {"names": ["soldiers.threshold"]},
        "cases": [{"name": "navco", "source": "navco", "campaigns": [VIOLENT], "draws": 3}],
        "targets": [{"name": "d", "measure": "navco_defect", "cases": ["navco"]}],
        "screen": {"trajectories": 2},
    }
    case = next(c for c in calibration_from_dict(spec, "c.toml").cases if c.name == "navco_2_d2")
    assert case.scenario.hash == again.hash
    checked = invoke("validate", str(out), cwd=tmp_path)
    assert checked.returncode == 0 and checked.stdout.startswith(f"ok: {out}"), checked.stderr
    ran = invoke("run", str(out), "--steps", "1", "--out", "run", "-q", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert (tmp_path / "run" / "summary.json").is_file()
    # a second write replaces the file whole
    out.write_text("old")
    assert (
        invoke(
            "validate", "--navco", "2", "--draw", "2", "--write", str(out), cwd=tmp_path
        ).returncode
        == 0
    )
    assert out.read_text() == text


def test_a_test_set_campaign_is_refused_in_one_line_and_never_shown(tmp_path):
    split = navco.read_split()
    test_id = int(split.loc[split["set"] == "test", navco.ID].iloc[0])
    name = str(split.loc[split[navco.ID] == test_id, "CAMPAIGN"].iloc[0])
    out = tmp_path / "t.toml"
    proc = invoke("validate", "--navco", str(test_id), "--write", str(out), cwd=tmp_path)
    assert_clean_input_error(proc, "--navco", f"NAVCO ID {test_id}", "test set")
    assert len(proc.stderr.splitlines()) == 1
    assert proc.stdout == "" and name not in proc.stderr and not out.exists()


@pytest.mark.parametrize(
    ("cid", "needle"),
    [
        (NO_SUCH_ID, "no such campaign in NAVCO 1.2"),
        (OUT_OF_DOMAIN, "not a regime-change campaign"),
        (NO_PARTICIPATION, "no participation figure"),
    ],
)
def test_a_campaign_that_cannot_be_coded_is_one_line(cid, needle, tmp_path):
    proc = invoke("validate", "--navco", str(cid), cwd=tmp_path)
    assert_clean_input_error(proc, "--navco", f"NAVCO ID {cid}", needle)
    assert len(proc.stderr.splitlines()) == 1 and proc.stdout == ""


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        ((), ("give a SCENARIO", "--navco ID")),
        (("baseline", "--navco", "75"), ("baseline and --navco 75", "not both")),
        (("baseline", "--draw", "1"), ("--draw", "only with --navco")),
        (("baseline", "--write", "x.toml"), ("--write", "only with --navco")),
        (("--navco", "75", "--allow-large"), ("--allow-large", "not with --navco")),
        (("--navco", "75", "--write", "."), ("--write", "is a folder")),
        (("--navco", "0"), ("--navco",)),
        (("--navco", "75", "--draw", "-1"), ("--draw",)),
    ],
)
def test_option_misuse_is_one_line_and_writes_nothing(args, needles, tmp_path):
    proc = invoke("validate", *args, cwd=tmp_path)
    assert_clean_input_error(proc, *needles)
    assert len(proc.stderr.splitlines()) == 1 and proc.stdout == ""
    assert list(tmp_path.iterdir()) == []


def test_build_problems_are_reported_after_the_case_and_nothing_is_written(tmp_path, monkeypatch):
    import defection.model.building as building

    problem = "navco:75: protest.peak_share: out of reach (test)"
    monkeypatch.setattr(building, "build_problems", lambda sc, origin: [problem])
    out = tmp_path / "case.toml"
    proc = invoke("validate", "--navco", str(NONVIOLENT), "--write", str(out), cwd=tmp_path)
    assert_clean_input_error(proc, problem)
    assert "not written" in proc.stderr and not out.exists()
    assert "features" in proc.stdout and "ok:" not in proc.stdout


@pytest.mark.parametrize(
    "text",
    [
        "plain",
        'quote " and \\ backslash',
        "new\nline\ttab\rcr",
        "ctrl \x01\x1f del \x7f",
        "Besançon 北京 😀",
    ],
)
def test_scenario_toml_reads_back_the_same_document(text):
    doc = {
        "events": [],
        "scenario": {"name": "x", "title": text, "historical": True},
        "soldiers": {"pay": 0.1 + 0.2, "force": 1e-300, "big": 1.5e300, "count": 7},
        "odd": {"nan": math.inf, "neg": -math.inf, "list": [1, 2.5, "a"], "t": {"a.b": 1}},
        "regions": [{"name": "a", "capital": True}, {"name": "b", "population": 10.0}],
        "sources": {"soldiers.pay": text, text: "key with odd characters"},
    }
    back = tomllib.loads(cc.scenario_toml(doc, "a header\nof two lines"))
    assert back == doc


def test_priors_and_unused_features_are_described():
    assert cc.PRIORS["regime_violence"].label() == "Bernoulli(0.5)"
    assert cc.PRIORS["force_share"].label() == "log-uniform 0.002-0.01"
    assert cc.PRIORS["guard_share"].label() == "uniform 0-0.3"
    coded = cc.navco_features(VIOLENT)
    _, drawn = cc.coded_campaign(VIOLENT, 0)
    rows = {r[0]: r for r in cc.describe(coded, drawn)}
    assert rows["state_support"][1:] == ("1", "input: NAVCO STATESUP", "")
    assert rows["aid_money"][2] == "drawn; not used (regime_aid = 0)"
    assert set(rows) == {f.name for f in fields(cc.Features)} - {"name", "title", "cite"}
