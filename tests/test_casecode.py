"""Coding a case from its features (calibration/casecode.py, docs/CASES.md)."""

from dataclasses import replace

import numpy as np
import pytest

from defection.calibration import casecode as cc
from defection.calibration import navco
from defection.model.regime import RegimeModel
from defection.model.scenario import from_dict


@pytest.fixture(scope="module")
def split():
    return navco.read_split()


def _fit_id(split, method: str) -> int:
    units = navco.fitting_units()
    ok = units[(units["method"] == method) & units["share"].notna()]
    return int(ok[navco.ID].iloc[0])


def test_navco_features_are_the_columns_and_the_force_is_unknown(split):
    f = cc.navco_features(169, split=split)  # People Power, forced into the fitting set
    assert f.method == "nonviolent" and f.participation == pytest.approx(0.0341, abs=1e-4)
    assert f.population == pytest.approx(2_000_000 / f.participation)
    assert f.regime_violence is True and f.state_support is False
    assert set(cc.unknown(f)) == {
        "force_share",
        "guard_share",
        "ethnic_stacking",
        "ruling_share",
        "pay",
        "arrears",
        "legitimacy",
        "crackdown_day",
        "police_share",
        "conscript_share",
        "aid_money",
        "softline_share",
    }


def test_test_set_campaigns_are_refused_unless_the_final_report_asks(split):
    test_id = int(split.loc[split["set"] == "test", navco.ID].iloc[0])
    with pytest.raises(cc.CaseError, match="test set"):
        cc.navco_features(test_id, split=split)
    with pytest.raises(cc.CaseError, match="not a regime-change campaign"):
        cc.navco_features(185, split=split)  # the Soviet case's row is coded OTHER


def test_draws_fill_only_the_unknowns_and_are_reproducible(split):
    f = cc.navco_features(_fit_id(split, "violent"), split=split)
    a = cc.draw_unknowns(f, np.random.default_rng(7))
    b = cc.draw_unknowns(f, np.random.default_rng(7))
    c = cc.draw_unknowns(f, np.random.default_rng(8))
    assert a == b and a != c
    assert not cc.unknown(a)
    for name in ("population", "participation", "method"):
        assert getattr(a, name) == getattr(f, name) == getattr(c, name)
    for name, prior in cc.PRIORS.items():
        value = getattr(a, name)
        if getattr(f, name) is None and prior.kind != "bernoulli":
            assert prior.lo <= value <= prior.hi, name
    # a feature the coder knows is never redrawn, and knowing it leaves the others' draws alone
    known = cc.draw_unknowns(replace(f, guard_share=0.25), np.random.default_rng(7))
    assert known.guard_share == 0.25 and known.pay == a.pay


def test_a_coded_campaign_is_a_valid_scenario_that_says_what_is_input(split):
    f = cc.navco_features(169, split=split)
    drawn = cc.draw_unknowns(f, np.random.default_rng(1))
    doc = cc.scenario_doc(drawn, coded=f)
    sc = from_dict(doc, "navco_169")
    assert sc.params["protest.peak_share"] == pytest.approx(f.participation)
    assert sum(r["population"] for r in sc.regions) == pytest.approx(f.population)
    assert sc.params["soldiers.force"] == pytest.approx(drawn.force_share * f.population)
    assert (
        sc.params["opposition.violent_share"] == cc.MAPPING["case.violent_share_nonviolent"].default
    )
    assert [e["kind"] for e in sc.events] == ["crackdown"]  # REGVIOL = 1
    assert sc.params["support.regime_money"] == drawn.aid_money  # REGAID = 1
    assert sc.params["support.opposition"] == 0.0  # STATESUP = 0
    assert sc.params["police.share"] == drawn.police_share
    src = doc["sources"]
    assert src["protest.peak_share"].startswith("NAVCO 1.2")
    assert src["soldiers.guard_share"].startswith("assumption: drawn from the prior")
    # the defection and the outcome are never written: they must emerge
    text = repr(doc)
    for forbidden in ("DEFECT", "SUCCESS", "elite_split", "coup"):
        assert forbidden not in text
    m = RegimeModel(sc, rng=1)
    m.run(steps=3)
    assert m.measure.denominator == pytest.approx(f.population)


def test_method_and_flank_map_through_the_coefficients(split):
    f = cc.navco_features(169, split=split)
    drawn = cc.draw_unknowns(f, np.random.default_rng(1))
    flank = replace(drawn, violent_flank=True)
    base = cc.scenario_doc(drawn)["opposition"]["violent_share"]
    more = cc.scenario_doc(flank, {"case.flank_violent_share": 0.3})["opposition"]["violent_share"]
    assert more == pytest.approx(base + 0.3)
    violent = cc.scenario_doc(replace(drawn, method="violent"))["opposition"]["violent_share"]
    assert violent == cc.MAPPING["case.violent_share_violent"].default
    with pytest.raises(cc.CaseError, match="must be in"):
        cc.coefficients({"case.flank_violent_share": 2.0})
    with pytest.raises(cc.CaseError, match="not a mapping coefficient"):
        cc.coefficients({"case.nonsense": 0.1})
    with pytest.raises(cc.CaseError, match="drawn first"):
        cc.scenario_doc(f)


def test_mapping_coefficients_are_behavioural_with_sources():
    for name, p in cc.MAPPING.items():
        assert name.startswith("case.") and p.role == "behavioural"
        assert p.lo <= p.default <= p.hi and p.source
    for prior in cc.PRIORS.values():
        assert prior.why


def test_a_campaigns_kth_coding_is_the_same_everywhere(split):
    cid = _fit_id(split, "nonviolent")
    a, fa = cc.coded_campaign(cid, 2, split=split)
    b, fb = cc.coded_campaign(cid, 2, split=split, overrides={"soldiers.peer_weight": 3.0})
    c, fc = cc.coded_campaign(cid, 3, split=split)
    assert fa == fb and fa != fc
    assert a.hash != b.hash and b.params["soldiers.peer_weight"] == 3.0
    assert a.params["soldiers.guard_share"] == fa.guard_share
