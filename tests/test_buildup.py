"""The crowd's build-up (protest.buildup_days): when the stated peak comes.

Without a build-up every protester agent may act from day 1, so a stated peak is reached on the
second or third day of a run, while in 1986 the largest crowds came to EDSA on days 16-19 and in
1989 the Leipzig Monday crowds grew for five weeks (docs/CALIBRATION.md, "The crowd's
build-up"). With ``protest.buildup_days = D`` each agent may act from a day drawn uniformly from
1 to D; at the registry's 0 nothing is drawn and no number changes (the golden baseline says so).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from defection.model import rules
from defection.model import scenario as scn
from defection.model.params import BY_NAME
from defection.model.regime import RegimeModel
from defection.model.rules import ACTIVE


def test_the_buildup_is_off_by_default_and_a_structural_fact():
    p = BY_NAME["protest.buildup_days"]
    assert p.default == 0 and (p.lo, p.hi) == (0, 365)
    assert p.role == "structure" and p.build_only and p.unit == "days"


def test_no_buildup_draws_nothing():
    rng = np.random.default_rng(3)
    state = rng.bit_generator.state
    assert not rules.join_days(0, 50, rng).any()
    assert rng.bit_generator.state == state


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 365), st.integers(1, 400), st.integers(0, 2**32 - 1))
def test_join_days_lie_in_the_buildup(days, n, seed):
    got = rules.join_days(days, n, np.random.default_rng(seed))
    assert got.shape == (n,) and got.min() >= 1 and got.max() <= days


def test_join_days_are_uniform_over_the_buildup():
    got = rules.join_days(10, 100_000, np.random.default_rng(1))
    counts = np.bincount(got, minlength=11)[1:]
    assert counts.min() > 9_500 and counts.max() < 10_500


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 365),
    st.integers(1, 400),
    st.floats(1.01, 10_000.0),
    st.integers(0, 2**32 - 1),
)
def test_exponential_join_days_lie_in_the_buildup(days, n, growth, seed):
    got = rules.join_days(days, n, np.random.default_rng(seed), growth)
    assert got.shape == (n,) and got.min() >= 1 and got.max() <= days


def test_exponential_join_days_follow_the_growth():
    """Share joinable by day t: K ** ((t - D) / (D - 1)), 1/K on day 1, all on day D."""
    got = rules.join_days(36, 200_000, np.random.default_rng(1), 70.0)
    cdf = np.cumsum(np.bincount(got, minlength=37)[1:]) / got.size
    t = np.arange(1, 37)
    np.testing.assert_allclose(cdf, 70.0 ** ((t - 36) / 35), atol=0.005)
    # half the pool joins in the last week, against a fifth under the linear ramp
    assert 0.45 < 1 - cdf[28] < 0.6


def test_growth_at_most_one_is_the_linear_ramp_bit_for_bit():
    linear = rules.join_days(20, 500, np.random.default_rng(7))
    for growth in (0.0, 0.5, 1.0):
        assert (rules.join_days(20, 500, np.random.default_rng(7), growth) == linear).all()


def test_an_exponential_buildup_holds_the_crowd_back_longer():
    """East Germany, 36 days: on day 10 fewer are out under a 70-fold growth than linearly."""

    def participation(growth):
        m = RegimeModel(
            scn.load(
                "east_germany_1989",
                {"protest.buildup_days": 36, "protest.buildup_growth": growth},
            ),
            rng=1,
            until_horizon=True,
        )
        m.run(steps=10)
        return m.stats["participation"]

    assert participation(70.0) < 0.5 * participation(0.0)


def test_nobody_acts_before_the_day_he_may_join():
    m = RegimeModel(
        scn.load("philippines_1986", {"protest.buildup_days": 17, "run.horizon": 25}),
        rng=2,
        until_horizon=True,
    )
    seen_late = False
    for _ in range(25):
        m.step()
        active = m.protesters.state == ACTIVE
        assert (m.protesters.join_day[active] <= m.day).all()
        seen_late |= bool(((m.protesters.join_day > m.day) & ~active).any())
    assert seen_late  # the build-up held someone back


@pytest.mark.parametrize("seed", [1, 2])
def test_the_stated_peak_comes_at_the_end_of_the_buildup(seed):
    """Philippines 1986, 3.4 % stated: on day 2 or 3 without a build-up, near day 17 with one."""

    def series(days):
        m = RegimeModel(
            scn.load(
                "philippines_1986", {"protest.buildup_days": days, "soldiers.can_defect": False}
            ),
            rng=seed,
            until_horizon=True,
        )
        m.run(steps=60)
        return m.datacollector.get_model_vars_dataframe()["participation"].to_numpy()

    now, later = series(0), series(17)
    assert int(now.argmax()) <= 3
    assert 12 <= int(later.argmax()) <= 20
    assert later[:6].max() < 0.3 * later.max()  # the first days are a fraction of the peak
    assert 0.034 / 2 <= later.max() <= 0.034 * 2  # the stated peak, as the pilot sized it


def test_a_run_shorter_than_its_build_up_sizes_its_pool_for_the_peak_day():
    """The pilot runs at least to the end of the build-up: a 30-day syria_2011 (peak on day 123)
    gets the pool of a run to day 123, and stops on the ramp, below its stated peak."""
    from defection.model import measurement

    short = scn.load("syria_2011", {"run.horizon": 30})
    assert measurement.pilot_scenario(short).params["run.horizon"] == 123
    assert "run.horizon" not in measurement.pilot_overrides(scn.load("syria_2011"))  # 365 >= 123
    to_peak = RegimeModel(scn.load("syria_2011", {"run.horizon": 123}), rng=1)
    m = RegimeModel(short, rng=1)
    assert m.pilot_share == to_peak.pilot_share  # the same pilot, the same pool
    m.run()
    assert max(m.datacollector.model_vars["participation"]) < 0.5 * 0.0048
