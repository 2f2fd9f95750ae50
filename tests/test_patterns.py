"""Model-level patterns of the design card (docs/ODD.md section 1), on the baseline scenario.

Each compares a lever's two settings over the same seeds, all else equal. P4, P5 and P7 test the
mechanisms' direction at a stated operating point, :data:`MECHANISM`: the uncalibrated weights
of model version 3 with the regime's survival believed before any signal (``belief.intercept``
4, a belief of 0.98), where rank-and-file soldiers decide for themselves. At the calibrated
defaults they do not show. Model version 4: soldiers' thresholds were so high (``soldiers.loyalty``
2.867, ``soldiers.threshold`` 5.73; model version 5: threshold 9.579, which a daily logit of
scale 0.651 does not cross) that the force left only with elites' clients in an elite
transition, so neither the crowd's method nor ``soldiers.can_defect`` moved the outcome. At model
version 6 (threshold 4.996, scale 0.79) soldiers did leave on their own, but few, and about as
many before a violent crowd as before a nonviolent one. At model version 8 (the twelfth
calibration: threshold 7.87, scale 0.273, the principled motive on) the baseline regime falls
by an elite transition within weeks (seed 1: every elite defected by day 20) with or without
soldiers' decisions, the crowd's method changes little of who leaves, and nobody deserts in
120 days, paid or not (arrears move defection instead). The strict expected failures below
say so, and say it again if calibration changes (docs/ODD.md section 9).
"""

import numpy as np
import pytest
from operating_point import V3_WEIGHTS

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


#: Where a lever's direction can show (module docstring): model version 3's defaults of the 12
#: calibrated parameters, with belief.intercept 4 instead of 2.
MECHANISM = {**V3_WEIGHTS, "belief.intercept": 4.0}


CALIBRATED_FAILS = pytest.mark.xfail(
    strict=True,
    reason="calibrated defaults (model versions 4 to 10): soldiers' own leaving is too small, "
    "or too little moved by the crowd's method, to show either pattern",
)


def p7(point: dict) -> None:
    paid = final_shares({"soldiers.arrears": 0.0, **point})
    unpaid = final_shares({"soldiers.arrears": 0.6, **point})
    assert unpaid[0] > 2 * paid[0], (paid, unpaid)


def test_p7_pay_arrears_drive_desertion():
    p7(MECHANISM)


@pytest.mark.xfail(
    strict=True,
    reason="calibrated defaults (model versions 8 to 10): nobody deserts on baseline in 120 "
    "days, paid or not",
)
def test_p7_at_the_calibrated_defaults():
    p7({})


def p4(point: dict) -> None:
    nonviolent = final_shares({"opposition.violent_share": 0.0, **point}).sum()
    violent = final_shares({"opposition.violent_share": 0.9, **point}).sum()
    assert nonviolent > 3 * violent, (nonviolent, violent)


def p5(point: dict) -> None:
    def falls(can_defect: bool) -> int:
        n = 0
        for seed in SEEDS:
            overrides = {"soldiers.can_defect": can_defect, **point}
            model = RegimeModel("baseline", rng=seed, overrides=overrides)
            model.run()
            n += model.outcome in SUCCESS_OUTCOMES  # the regime fell
        return n

    with_defection, without = falls(True), falls(False)
    assert with_defection >= without + 4, (with_defection, without)


def test_p4_nonviolent_crowds_draw_more_defection_than_violent_ones():
    p4(MECHANISM)


def test_p5_security_force_defection_makes_collapse_much_more_likely():
    p5(MECHANISM)


@CALIBRATED_FAILS
def test_p4_at_the_calibrated_defaults():
    p4({})


@CALIBRATED_FAILS
def test_p5_at_the_calibrated_defaults():
    p5({})
