"""Skill scores of the validation report (calibration/skill.py), checked against direct counts."""

import numpy as np
import pytest

from defection.calibration import skill


def test_brier_and_auc_of_known_cases():
    y = [1, 0, 1, 0]
    assert skill.brier(y, [1, 0, 1, 0]) == 0.0
    assert skill.brier(y, [0.5] * 4) == 0.25
    assert skill.auc(y, [0.9, 0.1, 0.8, 0.2]) == 1.0
    assert skill.auc(y, [0.1, 0.9, 0.2, 0.8]) == 0.0
    assert skill.auc(y, [0.5] * 4) == 0.5  # ties count half
    assert np.isnan(skill.auc([1, 1], [0.2, 0.3]))


def test_auc_is_the_mann_whitney_probability():
    rng = np.random.default_rng(1)
    y = rng.random(60) < 0.4
    p = np.clip(0.3 * y + rng.random(60) * 0.7, 0, 1)
    pos, neg = p[y], p[~y]
    brute = np.mean([(a > b) + 0.5 * (a == b) for a in pos for b in neg])
    assert skill.auc(y.astype(int), p) == pytest.approx(brute)


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="0 or 1"):
        skill.brier([2, 0], [0.1, 0.2])
    with pytest.raises(ValueError, match="probabilities"):
        skill.brier([1, 0], [1.2, 0.2])
    with pytest.raises(ValueError, match="one length"):
        skill.auc([1, 0, 1], [0.2, 0.3])


def test_paired_bootstrap_separates_a_better_predictor_and_not_an_equal_one():
    rng = np.random.default_rng(2)
    truth = rng.random(200)
    y = (rng.random(200) < truth).astype(int)
    good, vague = truth, np.full(200, y.mean())
    out = skill.paired_bootstrap(y, good, vague, skill.brier, n=500, seed=3)
    assert out["diff"] == pytest.approx(skill.brier(y, good) - skill.brier(y, vague))
    assert out["lo"] <= out["diff"] <= out["hi"] < 0  # the informed predictor wins
    same = skill.paired_bootstrap(y, good, good, skill.brier, n=200, seed=3)
    assert same["lo"] == same["hi"] == 0.0
    a = skill.paired_bootstrap(y, good, vague, skill.auc, n=300, seed=3)
    assert a["a"] > a["b"] == 0.5 and a["lo"] > 0


def test_reliability_bins_counts_and_rates():
    y = [0, 0, 1, 1, 1, 0]
    p = [0.05, 0.1, 0.15, 0.9, 0.95, 0.85]
    rows = skill.reliability(y, p, bins=2)
    assert [r["n"] for r in rows] == [3, 3]
    assert rows[0]["rate"] == pytest.approx(1 / 3) and rows[1]["rate"] == pytest.approx(2 / 3)
    assert rows[0]["mean_p"] == pytest.approx(0.1)
    for r in rows:
        assert r["rate_lo"] <= r["rate"] <= r["rate_hi"]
    assert skill.reliability([1], [1.0], bins=4)[0]["lo"] == 0.75  # p = 1 falls in the last bin
