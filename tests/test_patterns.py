"""Model-level patterns of the design card (docs/ODD.md section 1), on the baseline scenario.

Each compares a lever's two settings over the same seeds, all else equal.
"""

import numpy as np
import pytest

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


def test_p4_nonviolent_crowds_draw_more_defection_than_violent_ones():
    nonviolent = final_shares({"opposition.violent_share": 0.0}).sum()
    violent = final_shares({"opposition.violent_share": 0.9}).sum()
    assert nonviolent > 3 * violent, (nonviolent, violent)


def test_p5_security_force_defection_makes_collapse_much_more_likely():
    def collapses(can_defect: bool) -> int:
        n = 0
        for seed in SEEDS:
            model = RegimeModel("baseline", rng=seed, overrides={"soldiers.can_defect": can_defect})
            model.run()
            n += model.outcome == "collapse"
        return n

    with_defection, without = collapses(True), collapses(False)
    assert with_defection >= without + 4, (with_defection, without)
