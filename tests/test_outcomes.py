"""Outcome labels of the historical scenarios over seeds 1 to 10 (issue #2, section 3).

soviet_1991 must end in collapse with defections in at least 10 of the 15 republics in at least
7 of 10 seeds; syria_2011 must end in a split in at least 7 of 10 seeds, with defection among
Sunni conscripts at least three times the rate among Alawite officers.
"""

from concurrent.futures import ProcessPoolExecutor

import pytest

from defection.model.regime import RegimeModel
from defection.runner import defection_rates

#: These labels of issue #2 were tuned by hand at model version 2 and stopped holding at the
#: measurement model (version 3). At the calibrated defaults (version 4) they still do not hold
#: (seed 1: soviet_1991 an armed split on day 42, syria_2011 an elite transition on day 111; the
#: golden baseline); at version 8's, seed 1's Soviet centre falls to a transition on day 236 and
#: Syria survives. They are superseded by issue #10's case targets, checked over the calibrated
#: sample by `defection validation` (docs/VALIDATION.md); strict, so that the suite says when they
#: hold again.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.xfail(
        strict=True,
        reason="calibrated defaults, model versions 4-10 (issue #10): labels of issue #2 not met",
    ),
]
SEEDS = range(1, 11)


def soviet(seed: int) -> tuple[str, int]:
    model = RegimeModel("soviet_1991", rng=seed)
    model.run()
    return model.outcome, int(model.region_had_defection().sum())


def syria(seed: int) -> tuple[str, float, float]:
    model = RegimeModel("syria_2011", rng=seed)
    model.run()
    rates = {(r["group"], r["rank"]): r["defected_share"] for r in defection_rates(model)}
    return model.outcome, rates[("sunni", "conscript")], rates.get(("alawite", "officer"), 0.0)


def test_soviet_1991_collapses_with_defections_in_most_republics():
    with ProcessPoolExecutor(2) as pool:
        runs = list(pool.map(soviet, SEEDS))
    print(runs)
    good = [outcome == "collapse" and regions >= 10 for outcome, regions in runs]
    assert sum(good) >= 7, runs


def test_syria_2011_splits_with_sunni_conscripts_defecting_far_more_than_alawite_officers():
    with ProcessPoolExecutor(2) as pool:
        runs = list(pool.map(syria, SEEDS))
    print(runs)
    good = [outcome == "split" and sunni >= 3 * alawite for outcome, sunni, alawite in runs]
    assert sum(good) >= 7, runs
    # and not trivially: Sunni conscripts do defect
    assert all(sunni > 0 for _, sunni, _ in runs)
