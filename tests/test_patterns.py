"""Model-level patterns of the design card (docs/ODD.md section 1), on the baseline scenario.

Each compares a lever's two settings over the same seeds, all else equal. P4 and P5 run at an
operating point where the regime's survival is believed before any signal (``belief.intercept``
4, a belief of 0.98): with the uncalibrated weights of model version 3 the protest signal of
baseline's large protest (2.6 % of the population) otherwise swamps every belief, every run falls
within two weeks and no lever can show its direction (issue #10's calibration sets the weights).
"""

import numpy as np
import pytest

from defection.model.outputs import SUCCESS_OUTCOMES
from defection.model.regime import RegimeModel

pytestmark = pytest.mark.slow
SEEDS = range(1, 7)


def final_shares(overrides: dict) -> np.ndarray:
    """Mean over seeds of the final (deserted, defected) shares after 120 days."""
    out = []
    for seed in SEEDS:
        model = RegimeModel(
            "baseline",
            rng=seed,
            until_horizon=True,
            overrides={"run.horizon": 120, **overrides},
        )
        model.run()
        out.append((model.stats["soldiers_deserted"], model.stats["soldiers_defected"]))
    return np.array(out).mean(axis=0)


def test_p7_pay_arrears_drive_desertion():
    paid = final_shares({"soldiers.arrears": 0.0})
    unpaid = final_shares({"soldiers.arrears": 0.6})
    assert unpaid[0] > 2 * paid[0], (paid, unpaid)


#: Where a lever's direction can show (module docstring).
BELIEVED = {"belief.intercept": 4.0}


def test_p4_nonviolent_crowds_draw_more_defection_than_violent_ones():
    nonviolent = final_shares({"opposition.violent_share": 0.0, **BELIEVED}).sum()
    violent = final_shares({"opposition.violent_share": 0.9, **BELIEVED}).sum()
    assert nonviolent > 3 * violent, (nonviolent, violent)


def test_p5_security_force_defection_makes_collapse_much_more_likely():
    def collapses(can_defect: bool) -> int:
        n = 0
        for seed in SEEDS:
            overrides = {"soldiers.can_defect": can_defect, **BELIEVED}
            model = RegimeModel("baseline", rng=seed, overrides=overrides)
            model.run()
            n += model.outcome in SUCCESS_OUTCOMES  # the regime fell
        return n

    with_defection, without = collapses(True), collapses(False)
    assert with_defection >= without + 4, (with_defection, without)
