"""An elite soft-line faction coded per case (elites.softline_share, elites.softline_gap).

Issue #10 section 2 lists the elite split among the features a case codes. The faction is the
first ``round(share x count)`` elites; their loyalty is drawn ``softline_gap`` lower from the
same random numbers. At the registry's gap of 0 a coded faction changes no number, so version
6's calibrated sample still stands until a calibration varies the gap.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from defection.calibration import casecode as cc
from defection.model import elites, rules
from defection.model import scenario as scn
from defection.model.params import BY_NAME
from defection.model.regime import RegimeModel

SMALL = {"grid.width": 16, "grid.height": 16, "run.horizon": 20}


def _model(**overrides):
    return RegimeModel(scn.load("baseline", {**SMALL, **overrides}), rng=5, until_horizon=True)


def test_the_faction_is_the_first_share_of_the_elites():
    assert rules.softline_faction(20, 0.0).sum() == 0
    assert list(np.flatnonzero(rules.softline_faction(20, 0.25))) == [0, 1, 2, 3, 4]
    assert rules.softline_faction(21, 0.25).sum() == 5  # round(5.25)
    assert rules.softline_faction(20, 1.0).all()
    assert rules.softline_faction(0, 0.5).size == 0


def test_a_faction_with_no_gap_changes_no_number():
    no_gap = {"elites.softline_gap": 0.0}  # the default is 2 since model version 8
    a, b = _model(**no_gap), _model(**no_gap, **{"elites.softline_share": 0.5})
    a.run()
    b.run()
    assert b.elites.softline.sum() == 10 and not a.elites.softline.any()
    np.testing.assert_array_equal(a.elites.loyalty, b.elites.loyalty)
    assert a.datacollector.get_model_vars_dataframe().equals(
        b.datacollector.get_model_vars_dataframe()
    )


@settings(max_examples=25, deadline=None)
@given(
    share=st.floats(0.0, 1.0),
    gap=st.floats(0.0, 5.0),
    steady=st.booleans(),
)
def test_the_faction_draws_lower_from_the_same_numbers(share, gap, steady):
    common = {"elites.steady_start": steady}
    base = _model(**common)
    m = _model(**common, **{"elites.softline_share": share, "elites.softline_gap": gap})
    soft = m.elites.softline
    assert soft.sum() == round(share * soft.size)
    # the rest are untouched; the faction is lower by at most the gap, never higher
    np.testing.assert_array_equal(m.elites.loyalty[~soft], base.elites.loyalty[~soft])
    assert (m.elites.loyalty[soft] <= base.elites.loyalty[soft]).all()
    assert (m.elites.loyalty[soft] >= base.elites.loyalty[soft] - gap - 1e-9).all()
    if steady:  # still above the calm-time indifference point: none leaves before a crisis
        assert (m.elites.loyalty > elites.calm_floor(m)).all()


def test_a_wide_gap_makes_the_faction_break_first():
    """In a crisis with deterministic elite choices, only faction members can be first to go."""
    crisis = {"belief.intercept": 1.0, "elites.choice_noise": 0.0, "run.horizon": 30}
    crisis["elites.loyalty_sd"] = 0.5  # a spread well inside the gap (version 9's is 1.79)
    m = _model(**crisis, **{"elites.softline_share": 0.3, "elites.softline_gap": 3.0})
    gone_first = None
    for _ in range(30):
        m.step()
        gone = m.elites.state != rules.ELITE_LOYAL
        if gone.any():
            gone_first = gone
            break
    assert gone_first is not None, "no elite left: the crisis is too mild for this test"
    assert m.elites.softline[gone_first].all()


def test_the_faction_is_structure_and_its_gap_is_calibrated():
    share, gap = BY_NAME["elites.softline_share"], BY_NAME["elites.softline_gap"]
    assert share.role == "structure" and share.default == 0.0
    # fixed at the middle of its range in the twelfth calibration, the default since version 8
    assert gap.role == "behavioural" and gap.default == 2.0 and (gap.lo, gap.hi) == (0, 5)
    assert "O'Donnell & Schmitter" in share.source


@pytest.mark.parametrize(
    "case", ["east_germany_1989", "philippines_1986", "soviet_1991", "syria_2011", "myanmar_2021"]
)
def test_each_case_codes_its_faction_with_a_source(case):
    sc = scn.load(case)
    assert "softline_share" in (sc.raw.get("elites") or {}), f"{case} codes no faction"
    assert sc.sources.get("elites.softline_share"), f"{case}: the faction has no source"


def test_navco_faction_is_drawn_after_the_older_features_and_changes_nothing_at_no_gap():
    units = cc.navco.fitting_units()
    cid = int(units.loc[units["share"].notna(), cc.navco.ID].iloc[0])
    sc, drawn = cc.coded_campaign(cid, 0)
    prior = cc.PRIORS["softline_share"]
    # drawn after the features of version 6 (only `patronage` comes later), so theirs are unchanged
    assert list(cc.PRIORS)[-2] == "softline_share"
    assert prior.lo <= drawn.softline_share <= prior.hi
    assert sc.params["elites.softline_share"] == drawn.softline_share
    assert sc.sources["elites.softline_share"].startswith("assumption: drawn from the prior")
    no_gap = {"run.horizon": 15, "elites.softline_gap": 0.0}
    a = RegimeModel(sc.with_overrides(no_gap), rng=3, until_horizon=True)
    b = RegimeModel(
        sc.with_overrides({**no_gap, "elites.softline_share": 0.0}),
        rng=3,
        until_horizon=True,
    )
    a.run()
    b.run()
    assert a.datacollector.get_model_vars_dataframe().equals(
        b.datacollector.get_model_vars_dataframe()
    )
