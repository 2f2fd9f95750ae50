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
        "patronage",
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


def test_patronage_is_drawn_last_and_leaves_the_other_draws_alone(split, monkeypatch):
    cid = _fit_id(split, "violent")
    full = {"case.patronage_weight": 1.0}
    sc, drawn = cc.coded_campaign(cid, 0, full, split=split)
    prior = cc.PRIORS["patronage"]
    assert list(cc.PRIORS)[-2:] == ["softline_share", "patronage"]
    assert (prior.kind, prior.lo, prior.hi) == ("loguniform", 0.01, 0.5)
    assert prior.lo <= drawn.patronage <= prior.hi
    assert sc.params["elites.client_follow"] == drawn.patronage
    assert sc.sources["elites.client_follow"].startswith(
        "assumption: drawn from the prior of `patronage`"
    )
    # without the patronage prior the same stream gives every other feature the same value
    f = cc.navco_features(cid, split=split)
    before = {k: v for k, v in cc.PRIORS.items() if k != "patronage"}
    monkeypatch.setattr(cc, "PRIORS", before)
    old = cc.draw_unknowns(replace(f, patronage=0.3), np.random.default_rng(5))
    monkeypatch.undo()
    new = cc.draw_unknowns(f, np.random.default_rng(5))
    assert replace(new, patronage=0.3) == old and new.patronage != 0.3


def test_at_weight_0_a_coding_is_the_one_every_calibration_was_fitted_with(split):
    """The default weight writes no client_follow: the scenario (and its hash) is version 8's."""
    from defection.model.params import BY_NAME

    cid = _fit_id(split, "nonviolent")
    sc, drawn = cc.coded_campaign(cid, 1, split=split)
    assert cc.MAPPING["case.patronage_weight"].default == 0.0
    assert "client_follow" not in (sc.raw.get("elites") or {})
    assert "elites.client_follow" not in sc.sources
    assert sc.params["elites.client_follow"] == BY_NAME["elites.client_follow"].default
    rows = {r[0]: r for r in cc.describe(cc.navco_features(cid, split=split), drawn)}
    assert "not used (case.patronage_weight = 0)" in rows["patronage"][2]
    half, _ = cc.coded_campaign(cid, 1, {"case.patronage_weight": 0.5}, split=split)
    want = 0.5 * BY_NAME["elites.client_follow"].default + 0.5 * drawn.patronage
    assert half.params["elites.client_follow"] == pytest.approx(want)
    assert half.hash != sc.hash
    with pytest.raises(cc.CaseError, match="must be a number"):
        cc.coefficients({"case.patronage_weight": "high"})


def test_a_coded_patronage_is_an_input_with_the_cases_citation(split):
    f = replace(cc.navco_features(169, split=split), patronage=0.2)
    drawn = cc.draw_unknowns(f, np.random.default_rng(1))
    doc = cc.scenario_doc(drawn, {"case.patronage_weight": 1.0}, coded=f)
    assert doc["elites"]["client_follow"] == 0.2
    assert doc["sources"]["elites.client_follow"].startswith(f"{f.cite} (feature `patronage`)")
    sc = from_dict(doc, "navco_169")
    rows = {r[0]: r for r in cc.mapped_values(sc, drawn, {"case.patronage_weight": 1.0})}
    assert rows["elites.client_follow"][1] == "0.2"


@pytest.mark.parametrize("follow", [0.0, 1.0])
def test_patronage_decides_whether_an_insiders_break_carries_troops(split, follow):
    from defection.model import elites
    from defection.model.rules import DEFECTED, LOYAL

    f = replace(cc.navco_features(169, split=split), patronage=follow)
    drawn = cc.draw_unknowns(f, np.random.default_rng(4))
    m = RegimeModel(from_dict(cc.scenario_doc(drawn, {"case.patronage_weight": 1.0})), rng=2)
    clients = np.unique(m.elites.clients[m.elites.clients >= 0])
    assert clients.size and (m.soldiers.state[clients] == LOYAL).all()
    elites.defect(m, np.arange(m.elites.state.size), np.random.default_rng(0))
    went = np.flatnonzero(m.soldiers.state == DEFECTED)
    # every client commander goes over at patronage 1, none at 0, and nobody else at once
    assert went.tolist() == (clients.tolist() if follow else [])
