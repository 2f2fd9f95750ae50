"""Unit tests of the pure decision rules in defection.model.rules: limits and directions.

Every monotonicity property is "all else equal": one input moves, the others are held fixed.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse

from defection.model import outputs, rules, soldier_rules
from defection.model.rules import DEFECTED, DESERTED, LOYAL

EPS = 1e-12
SETTINGS = settings(max_examples=100, deadline=None, database=None)

unit = st.floats(0.0, 1.0, allow_nan=False)
pos = st.floats(0.0, 5.0, allow_nan=False)
util = st.floats(-5.0, 5.0, allow_nan=False)


def ordered(strategy):
    """Two draws from ``strategy`` as (low, high)."""
    return st.tuples(strategy, strategy).map(sorted)


# ------------------------------------------------------------------------------------------------
# protesters
# ------------------------------------------------------------------------------------------------


def test_grievance_formula_and_limits():
    assert rules.grievance(1.0, 0.0) == 1.0
    assert rules.grievance(1.0, 1.0) == 0.0
    assert rules.grievance(0.0, 0.3) == 0.0
    assert rules.grievance(0.5, 0.2) == pytest.approx(0.4)
    out = rules.grievance(np.array([0.2, 0.8]), 0.5)
    np.testing.assert_allclose(out, [0.1, 0.4])


@SETTINGS
@given(h=ordered(unit), legit=ordered(unit))
def test_grievance_up_with_hardship_down_with_legitimacy(h, legit):
    lo_h, hi_h = h
    lo_l, hi_l = legit
    assert rules.grievance(hi_h, lo_l) >= rules.grievance(lo_h, lo_l) - EPS
    assert rules.grievance(hi_h, hi_l) <= rules.grievance(hi_h, lo_l) + EPS
    assert 0.0 <= rules.grievance(hi_h, lo_l) <= 1.0


@pytest.mark.parametrize(
    ("cops", "actives", "ratio"),
    [
        (1, 2, 0.0),  # 0.5 rounds half to even -> 0
        (3, 2, 2.0),  # 1.5 rounds half to even -> 2
        (5, 2, 2.0),  # 2.5 rounds half to even -> 2
        (7, 2, 4.0),  # 3.5 -> 4
        (2, 3, 1.0),  # 0.667 -> 1
        (1, 3, 0.0),  # 0.333 -> 0
        (0, 1, 0.0),
        (4, 1, 4.0),
    ],
)
def test_arrest_probability_rounds_half_to_even(cops, actives, ratio):
    k = 2.3
    p = rules.arrest_probability(cops, actives, k, rounding=True)
    assert p == pytest.approx(1.0 - math.exp(-k * ratio), abs=0, rel=1e-15)


def test_arrest_probability_rounding_examples_from_the_brief():
    k = 2.3
    assert rules.arrest_probability(1, 2, k, rounding=True) == 0.0
    assert rules.arrest_probability(3, 2, k, rounding=True) == pytest.approx(1 - math.exp(-2 * k))


@pytest.mark.parametrize(("cops", "actives"), [(1, 2), (3, 2), (2, 3), (0, 1), (5, 4)])
def test_arrest_probability_without_rounding_uses_plain_ratio(cops, actives):
    k = 2.3
    p = rules.arrest_probability(cops, actives, k, rounding=False)
    assert p == pytest.approx(1.0 - math.exp(-k * cops / actives))


def test_arrest_probability_vectorized_and_default_rounds():
    p = rules.arrest_probability(np.array([1, 3, 0]), np.array([2, 2, 5]), 2.3)
    np.testing.assert_allclose(p, [0.0, 1 - math.exp(-4.6), 0.0])


@SETTINGS
@given(
    cops=ordered(st.integers(0, 60)),
    actives=ordered(st.integers(1, 60)),
    k=st.floats(0.0, 20.0, allow_nan=False),
    rounding=st.booleans(),
)
def test_arrest_probability_bounds_and_directions(cops, actives, k, rounding):
    c_lo, c_hi = cops
    a_lo, a_hi = actives
    p = rules.arrest_probability
    for c in cops:
        for a in actives:
            assert 0.0 <= p(c, a, k, rounding) <= 1.0
    # more soldiers in vision never lower the estimate; more actives never raise it
    assert p(c_hi, a_lo, k, rounding) >= p(c_lo, a_lo, k, rounding) - EPS
    assert p(c_lo, a_hi, k, rounding) <= p(c_lo, a_lo, k, rounding) + EPS
    # no soldiers, no risk; k = 0, no risk
    assert p(0, a_lo, k, rounding) == 0.0
    assert p(c_hi, a_lo, 0.0, rounding) == 0.0


def test_activation_is_a_strict_inequality():
    # 0.75 - 0.5 * 0.5 == 0.5 exactly
    assert not rules.activation(0.75, 0.5, 0.5, 0.5)
    assert rules.activation(0.75, 0.5, 0.5, 0.4999)
    assert not rules.activation(0.75, 0.5, 0.5, 0.5001)
    # no risk aversion: G > T
    assert rules.activation(0.2, 0.0, 1.0, 0.1)
    assert not rules.activation(0.1, 0.0, 1.0, 0.1)
    out = rules.activation(np.array([0.75, 0.9]), np.array([0.5, 0.5]), np.array([0.5, 0.5]), 0.5)
    assert out.dtype == bool
    assert out.tolist() == [False, True]


@SETTINGS
@given(g=ordered(unit), r=ordered(unit), prob=ordered(unit), t=unit)
def test_activation_directions(g, r, prob, t):
    # more grievance never deactivates; more risk aversion or arrest probability never activates
    assert rules.activation(g[1], r[0], prob[0], t) >= rules.activation(g[0], r[0], prob[0], t)
    assert rules.activation(g[1], r[1], prob[0], t) <= rules.activation(g[1], r[0], prob[0], t)
    assert rules.activation(g[1], r[1], prob[1], t) <= rules.activation(g[1], r[1], prob[0], t)


def test_backfire_loss():
    assert rules.backfire_loss(0.1, 0.0, 0.5, 4.0) == 0.0
    assert rules.backfire_loss(0.0, 2.0, 0.5, 4.0) == 0.0
    assert rules.backfire_loss(0.1, 2.0, 0.0, 4.0) == pytest.approx(0.2)
    assert rules.backfire_loss(0.1, 2.0, 1.0, 4.0) == pytest.approx(1.0)  # times (1 + 4)


def test_backfire_lethality_factor_acts():
    # the factor k scales only the lethal part: (1 + k l)
    assert rules.backfire_loss(0.1, 2.0, 0.5, 0.0) == pytest.approx(0.2)  # k = 0: lethality inert
    assert rules.backfire_loss(0.1, 2.0, 0.5, 8.0) == pytest.approx(0.2 * 5.0)
    assert rules.backfire_loss(0.1, 2.0, 0.0, 8.0) == pytest.approx(0.2)  # no lethality: no effect
    # doubling k adds k l once more: loss(2k) - loss(k) = backfire * share * k * l
    lo, hi = rules.backfire_loss(0.1, 2.0, 0.5, 4.0), rules.backfire_loss(0.1, 2.0, 0.5, 8.0)
    assert hi - lo == pytest.approx(2.0 * 0.1 * 4.0 * 0.5)


def test_backfire_loss_default_factor_is_bit_identical_to_the_old_constant():
    share = np.linspace(0.0, 1.0, 11)
    for leth in (0.0, 0.3, 0.7, 1.0):
        old = 1.5 * share * (1.0 + 4.0 * leth)
        assert np.array_equal(rules.backfire_loss(share, 1.5, leth, 4.0), old)


@SETTINGS
@given(share=ordered(unit), backfire=ordered(pos), leth=ordered(unit), k=ordered(pos))
def test_backfire_loss_increases_in_each_input(share, backfire, leth, k):
    f = rules.backfire_loss
    base = f(share[0], backfire[0], leth[0], k[0])
    assert base >= 0.0
    assert f(share[1], backfire[0], leth[0], k[0]) >= base - EPS
    assert f(share[0], backfire[1], leth[0], k[0]) >= base - EPS
    assert f(share[0], backfire[0], leth[1], k[0]) >= base - EPS
    assert f(share[0], backfire[0], leth[0], k[1]) >= base - EPS


# ------------------------------------------------------------------------------------------------
# belief
# ------------------------------------------------------------------------------------------------


def test_logistic_bounds_and_values():
    assert rules.logistic(0.0) == 0.5
    x = np.array([-np.inf, -1e9, -800.0, -50.0, 0.0, 50.0, 800.0, 1e9, np.inf])
    with np.errstate(all="raise"):  # the clip must prevent any overflow
        y = rules.logistic(x)
    assert np.all(y >= 0.0)
    assert np.all(y <= 1.0)
    assert np.all(np.diff(y) >= 0.0)
    assert y[0] < 1e-20
    assert y[-1] > 1 - 1e-15
    assert rules.logistic(2.0) == pytest.approx(1 / (1 + math.exp(-2.0)))


@SETTINGS
@given(x=ordered(st.floats(-1e6, 1e6, allow_nan=False)))
def test_logistic_monotone_symmetric(x):
    lo, hi = x
    assert 0.0 <= rules.logistic(lo) <= rules.logistic(hi) <= 1.0
    assert rules.logistic(-lo) == pytest.approx(1.0 - rules.logistic(lo), abs=1e-12)


def test_public_signal():
    assert rules.public_signal(0.5, 0.2, 0.1, 8.0, 20.0, 6.0, 0.0) == pytest.approx(4.0 + 4.0 + 0.6)
    # full information control hides everything
    assert rules.public_signal(0.5, 0.2, 0.1, 8.0, 20.0, 6.0, 1.0) == 0.0
    assert rules.public_signal(0.0, 0.0, 0.0, 8.0, 20.0, 6.0, 0.0) == 0.0


def test_threat_participation_weights_armed_participants():
    assert rules.threat_participation(0.002, 0.5, 9.0) == pytest.approx(0.002 * 5.5)
    assert rules.threat_participation(0.002, 0.5, 0.0) == 0.002  # off: every participant alike
    assert rules.threat_participation(0.002, 0.0, 9.0) == 0.002  # an unarmed crowd
    assert rules.threat_participation(0.0, 1.0, 9.0) == 0.0


@SETTINGS
@given(p=ordered(unit), a=ordered(unit), w=ordered(st.floats(0, 50, allow_nan=False)))
def test_threat_participation_rises_with_size_arms_and_weight(p, a, w):
    f = rules.threat_participation
    base = f(p[0], a[0], w[0])
    assert base >= p[0] - EPS
    assert f(p[1], a[0], w[0]) >= base - EPS
    assert f(p[0], a[1], w[0]) >= base - EPS
    assert f(p[0], a[0], w[1]) >= base - EPS


@SETTINGS
@given(
    a=ordered(unit), d=ordered(unit), e=ordered(unit), i=ordered(unit), w=st.tuples(pos, pos, pos)
)
def test_public_signal_directions(a, d, e, i, w):
    f = rules.public_signal
    base = f(a[0], d[0], e[0], *w, i[0])
    assert base >= 0.0
    assert f(a[1], d[0], e[0], *w, i[0]) >= base - EPS
    assert f(a[0], d[1], e[0], *w, i[0]) >= base - EPS
    assert f(a[0], d[0], e[1], *w, i[0]) >= base - EPS
    assert f(a[0], d[0], e[0], *w, i[1]) <= base + EPS


@SETTINGS
@given(
    b0=util,
    msg=ordered(unit),
    wm=pos,
    signal=ordered(st.floats(0, 50, allow_nan=False)),
    n=ordered(unit),
    wn=pos,
)
def test_belief_survival_directions(b0, msg, wm, signal, n, wn):
    f = rules.belief_survival
    base = float(f(b0, msg[0], wm, signal[0], n[0], wn))
    assert 0.0 <= base <= 1.0
    assert float(f(b0, msg[1], wm, signal[0], n[0], wn)) >= base - EPS  # messaging reassures
    assert float(f(b0, msg[0], wm, signal[1], n[0], wn)) <= base + EPS  # public signal of weakness
    assert float(f(b0, msg[0], wm, signal[0], n[1], wn)) <= base + EPS  # neighbours who left


def test_belief_survival_intercept_only():
    assert float(rules.belief_survival(2.0, 0.0, 1.0, 0.0, 0.0, 3.0)) == pytest.approx(
        1 / (1 + math.exp(-2.0))
    )
    out = rules.belief_survival(0.0, 0.0, 0.0, 0.0, np.array([0.0, 1.0]), 3.0)
    assert out.shape == (2,)
    assert out[0] == 0.5
    assert out[1] < 0.5


# ------------------------------------------------------------------------------------------------
# soldiers
# ------------------------------------------------------------------------------------------------

MC = dict(
    base=1.0,
    crowd_density=0.3,
    crowd_scale=0.2,
    nonviolent_share=0.9,
    shared_identity=0.5,
    shared_weight=1.0,
    at_home=True,
    home_weight=0.5,
    lethality=0.0,
    lethality_weight=1.0,
)


def test_moral_cost_formula_and_zeros():
    m = soldier_rules.moral_cost(**MC)
    assert m == pytest.approx(1.0 * 0.3 / 0.5 * 0.9 * 1.5 * 1.5 * 1.0)
    assert soldier_rules.moral_cost(**{**MC, "crowd_density": 0.0}) == 0.0  # no crowd
    assert soldier_rules.moral_cost(**{**MC, "nonviolent_share": 0.0}) == 0.0  # all violent
    assert soldier_rules.moral_cost(**{**MC, "base": 0.0}) == 0.0
    # half the maximum at crowd_scale
    half = soldier_rules.moral_cost(**{**MC, "crowd_density": MC["crowd_scale"]})
    full = MC["base"] * 0.9 * 1.5 * 1.5
    assert half == pytest.approx(full / 2)


def test_moral_cost_nonviolence_weight_acts():
    full = float(soldier_rules.moral_cost(**MC))  # default 1: scaled by the nonviolent share 0.9
    assert soldier_rules.moral_cost(**{**MC, "nonviolence_weight": 1.0}) == full  # bit for bit
    flat = float(soldier_rules.moral_cost(**{**MC, "nonviolence_weight": 0.0}))
    assert flat == pytest.approx(full / 0.9)  # the method no longer matters
    armed = {**MC, "nonviolent_share": 0.0}
    assert soldier_rules.moral_cost(**{**armed, "nonviolence_weight": 0.0}) == pytest.approx(flat)
    assert soldier_rules.moral_cost(**{**armed, "nonviolence_weight": 0.25}) == pytest.approx(
        0.75 * flat
    )
    assert soldier_rules.moral_cost(**armed) == 0.0  # weight 1: an armed crowd costs nothing


def test_conscience_factor_is_one_at_spread_0_and_lognormal_with_mean_1():
    z = np.random.default_rng(5).standard_normal(200_000)
    assert np.array_equal(soldier_rules.conscience_factor(0.0, z), np.ones(z.size))  # exactly 1
    for sd in (0.5, 1.5):
        k = soldier_rules.conscience_factor(sd, z)
        assert k.min() > 0
        assert k.mean() == pytest.approx(1.0, abs=0.03 * math.exp(sd * sd / 2))  # mean 1
        assert np.median(k) == pytest.approx(math.exp(-sd * sd / 2), rel=0.02)
        assert np.log(k).std() == pytest.approx(sd, rel=0.01)
    # a wider spread puts more men far above the average cost
    tail = [np.mean(soldier_rules.conscience_factor(sd, z) > 5) for sd in (0.5, 1.0, 1.5)]
    assert tail[0] < tail[1] < tail[2]


def test_moral_cost_lethality_weight_acts():
    base = float(soldier_rules.moral_cost(**MC))  # lethality 0: the weight does nothing
    assert soldier_rules.moral_cost(**{**MC, "lethality_weight": 7.0}) == base
    lethal = {**MC, "lethality": 0.5}
    assert soldier_rules.moral_cost(**lethal) == pytest.approx(base * 1.5)  # (1 + 1 x 0.5)
    assert soldier_rules.moral_cost(**{**lethal, "lethality_weight": 2.0}) == pytest.approx(
        base * 2.0
    )
    assert soldier_rules.moral_cost(**{**lethal, "lethality_weight": 0.0}) == pytest.approx(base)
    # the default weight 1 gives exactly the old (1 + lethality)
    for leth in (0.1, 0.3, 0.7):
        args = {**MC, "lethality": leth}
        old = float(soldier_rules.moral_cost(**{**args, "lethality": 0.0})) * (1.0 + leth)
        assert float(soldier_rules.moral_cost(**args)) == pytest.approx(old)


@SETTINGS
@given(
    crowd=ordered(unit),
    scale=st.floats(0.001, 1.0),
    nonviolent=ordered(unit),
    shared=ordered(unit),
    ws=pos,
    home=st.tuples(st.just(False), st.just(True)),
    wh=pos,
    leth=ordered(unit),
    wl=ordered(pos),
    base=st.floats(0.0, 10.0),
)
def test_moral_cost_increases_with_crowd_nonviolence_identity(
    crowd, scale, nonviolent, shared, ws, home, wh, leth, wl, base
):
    def m(c=crowd[0], v=nonviolent[0], s=shared[0], h=home[0], lt=leth[0], w=1.0):
        return float(soldier_rules.moral_cost(base, c, scale, v, s, ws, h, wh, lt, w))

    ref = m()
    assert ref >= 0.0
    assert m(c=crowd[1]) >= ref - EPS  # denser crowd
    assert m(v=nonviolent[1]) >= ref - EPS  # more nonviolent
    assert m(s=shared[1]) >= ref - EPS  # more of one's own group
    assert m(h=home[1]) >= ref - EPS  # stationed at home
    assert m(lt=leth[1]) >= ref - EPS  # more lethal orders
    assert m(w=wl[1]) >= m(w=wl[0]) - EPS  # lethal orders weigh more
    # bounded by the saturated crowd
    assert m(c=1.0, v=1.0, s=1.0, h=True, lt=1.0) <= base * (1 + ws) * (1 + wh) * 2 + EPS


def test_follower_detection_scales_only_the_followers_chance():
    q = np.array([0.3, 0.3, 0.1])
    followed = np.array([True, False, True])
    assert soldier_rules.follower_detection(q, followed, 0.0) == pytest.approx([0.0, 0.3, 0.0])
    assert soldier_rules.follower_detection(q, followed, 0.5) == pytest.approx([0.15, 0.3, 0.05])
    assert soldier_rules.follower_detection(q, followed, 1.0) == pytest.approx(q)  # as before


def test_detection_probability_limits():
    assert soldier_rules.detection_probability(0.3, 0.8, 0.0) == pytest.approx(0.3)
    assert soldier_rules.detection_probability(0.3, 0.8, 1.0) == pytest.approx(0.3 * 0.2)
    assert soldier_rules.detection_probability(0.3, 0.0, 1.0) == pytest.approx(0.3)  # no safety
    assert soldier_rules.detection_probability(0.0, 0.8, 0.5) == 0.0
    assert soldier_rules.detection_probability(1.0, 1.0, 1.0) == 0.0


@SETTINGS
@given(s=ordered(unit), safety=ordered(unit), n=ordered(unit))
def test_detection_probability_directions(s, safety, n):
    q = soldier_rules.detection_probability
    base = float(q(s[0], safety[0], n[0]))
    assert 0.0 <= base <= 1.0
    assert float(q(s[1], safety[0], n[0])) >= base - EPS  # more surveillance, more detection
    assert float(q(s[0], safety[1], n[0])) <= base + EPS  # more safety in numbers, less
    assert float(q(s[0], safety[0], n[1])) <= base + EPS  # more neighbours left, less


SV = dict(
    pay_received=1.0,
    w_pay=1.0,
    bonus=0.5,
    stake=0.5,
    belief=0.8,
    loyalty=0.5,
    moral_cost=0.7,
    on_duty=True,
)


def test_stay_value_formula_and_duty():
    assert soldier_rules.stay_value(**SV) == pytest.approx(1.5 + 0.4 + 0.5 - 0.7)
    # off duty the moral cost does not count
    assert soldier_rules.stay_value(**{**SV, "on_duty": False}) == pytest.approx(1.5 + 0.4 + 0.5)
    # the stake is worth nothing if the regime is sure to fall
    assert soldier_rules.stay_value(**{**SV, "belief": 0.0, "on_duty": False}) == pytest.approx(2.0)


soldier_inputs = st.fixed_dictionaries(
    {
        "w_pay": pos,
        "bonus": st.floats(0, 3),
        "stake": st.floats(0, 3),
        "belief": unit,
        "loyalty": util,
        "moral_cost": st.floats(0, 10),
        "on_duty": st.booleans(),
        "reward": st.floats(0, 10),
        "punishment": st.floats(0, 10),
        "surveillance": unit,
        "safety": unit,
        "n": unit,
        "peer_weight": st.floats(0, 10),
        "exit_barrier": pos,
        "fight_risk": pos,
    }
)


def _gains(x, pay=1.0, surveillance=None, n=None, punishment=None, reward=None, fight=None):
    """Defect and desert gains from raw inputs, composing the rules as the model does."""
    s = x["surveillance"] if surveillance is None else surveillance
    n = x["n"] if n is None else n
    k = x["punishment"] if punishment is None else punishment
    r = x["reward"] if reward is None else reward
    f = x["fight_risk"] if fight is None else fight
    stay = soldier_rules.stay_value(
        pay,
        x["w_pay"],
        x["bonus"],
        x["stake"],
        x["belief"],
        x["loyalty"],
        x["moral_cost"],
        x["on_duty"],
    )
    q = soldier_rules.detection_probability(s, x["safety"], n)
    g_def = soldier_rules.defect_gain(stay, x["belief"], r, q, k, n, x["peer_weight"], fight_risk=f)
    g_des = soldier_rules.desert_gain(
        stay, x["belief"], q, k, 0.5, x["exit_barrier"], n, x["peer_weight"]
    )
    return float(g_def), float(g_des)


@SETTINGS
@given(x=soldier_inputs, pay=ordered(st.floats(0, 3)))
def test_more_pay_never_raises_gains(x, pay):
    lo = _gains(x, pay=pay[0])
    hi = _gains(x, pay=pay[1])
    assert hi[0] <= lo[0] + EPS
    assert hi[1] <= lo[1] + EPS


@SETTINGS
@given(x=soldier_inputs, s=ordered(unit))
def test_more_surveillance_never_raises_gains(x, s):
    lo = _gains(x, surveillance=s[0])
    hi = _gains(x, surveillance=s[1])
    assert hi[0] <= lo[0] + EPS
    assert hi[1] <= lo[1] + EPS


@SETTINGS
@given(x=soldier_inputs, n=ordered(unit))
def test_more_neighbours_left_never_lowers_gains_nor_raises_detection(x, n):
    lo = _gains(x, n=n[0])
    hi = _gains(x, n=n[1])
    assert hi[0] >= lo[0] - EPS
    assert hi[1] >= lo[1] - EPS
    q_lo = soldier_rules.detection_probability(x["surveillance"], x["safety"], n[0])
    q_hi = soldier_rules.detection_probability(x["surveillance"], x["safety"], n[1])
    assert q_hi <= q_lo + EPS


@SETTINGS
@given(x=soldier_inputs, k=ordered(st.floats(0, 10)), r=ordered(st.floats(0, 10)))
def test_punishment_deters_and_reward_attracts(x, k, r):
    assert _gains(x, punishment=k[1])[0] <= _gains(x, punishment=k[0])[0] + EPS
    assert _gains(x, punishment=k[1])[1] <= _gains(x, punishment=k[0])[1] + EPS
    assert _gains(x, reward=r[1])[0] >= _gains(x, reward=r[0])[0] - EPS
    # the reward comes only with the regime's fall; deserters get none
    assert _gains(x, reward=r[1])[1] == _gains(x, reward=r[0])[1]


@SETTINGS
@given(x=soldier_inputs, f=ordered(pos))
def test_fight_risk_never_raises_defect_gain(x, f):
    assert _gains(x, fight=f[1])[0] <= _gains(x, fight=f[0])[0] + EPS


@SETTINGS
@given(
    stay=util,
    belief=st.floats(0.001, 1.0),
    reward=pos,
    q=ordered(unit),
    k=st.floats(0.001, 5.0),
    n=unit,
    w=pos,
)
def test_defect_gain_falls_as_detection_rises_when_belief_positive(
    stay, belief, reward, q, k, n, w
):
    lo = float(soldier_rules.defect_gain(stay, belief, reward, q[0], k, n, w))
    hi = float(soldier_rules.defect_gain(stay, belief, reward, q[1], k, n, w))
    assert hi <= lo + EPS
    if q[1] - q[0] > 1e-6:
        assert hi < lo


def test_gains_formulas():
    assert soldier_rules.defect_gain(1.0, 0.5, 2.0, 0.4, 1.0, 0.5, 2.0) == pytest.approx(
        1.0 - 0.2 + 1.0 - 1.0
    )
    assert soldier_rules.defect_gain(
        1.0, 0.5, 2.0, 0.4, 1.0, 0.5, 2.0, fight_risk=1.0
    ) == pytest.approx(1.0 - 0.5 * (0.4 + 1.0) + 1.0 - 1.0)
    assert soldier_rules.desert_gain(1.0, 0.5, 0.4, 1.0, 0.5, 1.0, 0.5, 2.0) == pytest.approx(
        -1.0 - 0.1 + 1.0 - 1.0
    )
    # a sure fall: no punishment expected
    assert soldier_rules.defect_gain(0.0, 0.0, 2.0, 1.0, 5.0, 0.0, 0.0) == pytest.approx(2.0)


def test_desert_punishment_share_acts():
    # gain = -barrier - k_d b q K + w n - stay; b q K = 0.5 x 0.4 x 1.0 = 0.2
    half = soldier_rules.desert_gain(1.0, 0.5, 0.4, 1.0, 0.5, 1.0, 0.5, 2.0)
    full = soldier_rules.desert_gain(1.0, 0.5, 0.4, 1.0, 1.0, 1.0, 0.5, 2.0)
    none = soldier_rules.desert_gain(1.0, 0.5, 0.4, 1.0, 0.0, 1.0, 0.5, 2.0)
    # doubling the share lowers the gain by the expected punishment at the old share, k_d b q K
    assert half - full == pytest.approx(0.5 * 0.2)
    assert none - half == pytest.approx(0.5 * 0.2)
    # the share does not act when nothing is expected (sure fall or no detection)
    assert soldier_rules.desert_gain(
        1.0, 0.0, 0.4, 1.0, 0.9, 1.0, 0.5, 2.0
    ) == soldier_rules.desert_gain(1.0, 0.0, 0.4, 1.0, 0.1, 1.0, 0.5, 2.0)


def test_exit_share_moves_only_conscripts_toward_exit():
    conscript = np.array([True, False, True, False])
    # c = 0: everyone at k_L, conscripts as professionals
    assert np.array_equal(soldier_rules.exit_share(0.3, 0.0, conscript), np.full(4, 0.3))
    # k = k_L + c (1 - k_L) for a conscript: 0.2 + 0.5 x 0.8 = 0.6
    k = soldier_rules.exit_share(0.2, 0.5, conscript)
    assert k == pytest.approx([0.6, 0.2, 0.6, 0.2])
    # c = 1: a conscript's whole principled motive drives exit, whatever k_L
    assert soldier_rules.exit_share(0.0, 1.0, conscript) == pytest.approx([1.0, 0.0, 1.0, 0.0])


@SETTINGS
@given(k_l=unit, c=ordered(unit))
def test_exit_share_stays_a_share_and_grows_with_conscript_exit(k_l, c):
    lo = soldier_rules.exit_share(k_l, c[0], np.array([True, False]))
    hi = soldier_rules.exit_share(k_l, c[1], np.array([True, False]))
    assert np.all((lo >= k_l - 1e-12) & (hi <= 1.0 + 1e-12))
    assert hi[0] >= lo[0] - 1e-12 and hi[1] == lo[1] == k_l


def test_desert_punishment_default_is_bit_identical_to_the_old_constant():
    rng = np.random.default_rng(0)
    stay, b, q, k, n = rng.random((5, 50))
    old = -1.0 - 0.5 * b * q * k + 1.5 * n - stay
    assert np.array_equal(soldier_rules.desert_gain(stay, b, q, k, 0.5, 1.0, n, 1.5), old)


@SETTINGS
@given(x=soldier_inputs, share=ordered(unit))
def test_more_desert_punishment_never_raises_desert_gain(x, share):
    q = soldier_rules.detection_probability(x["surveillance"], x["safety"], x["n"])
    args = (0.0, x["belief"], q, x["punishment"])
    rest = (x["exit_barrier"], x["n"], x["peer_weight"])
    lo = soldier_rules.desert_gain(*args, share[0], *rest)
    hi = soldier_rules.desert_gain(*args, share[1], *rest)
    assert hi <= lo + EPS


def test_rank_bonus():
    rank = np.array([rules.CONSCRIPT, rules.NCO, rules.OFFICER])
    assert soldier_rules.rank_bonus(0.5, rank, 0.5).tolist() == [0.0, 0.25, 0.5]
    # the NCO share moves the NCO's bonus only
    assert soldier_rules.rank_bonus(0.5, rank, 1.0).tolist() == [0.0, 0.5, 0.5]
    assert soldier_rules.rank_bonus(0.5, rank, 0.0).tolist() == [0.0, 0.0, 0.5]
    # default share 0.5 gives exactly the old constant
    old = 0.7 * np.where(rank == rules.OFFICER, 1.0, np.where(rank == rules.NCO, 0.5, 0.0))
    assert np.array_equal(soldier_rules.rank_bonus(0.7, rank, 0.5), old)


def test_defection_reward():
    officer = np.array([False, True, False, True])
    core = np.array([False, False, True, True])
    r = soldier_rules.defection_reward(0.5, 2.0, officer, 2.0, core, 0.8)
    assert r == pytest.approx([2.5, 4.5, 2.5 * 0.2, 4.5 * 0.2])
    # the officer factor moves officers' reward only: doubling it adds v k_o once more
    r3 = soldier_rules.defection_reward(0.5, 2.0, officer, 4.0, core, 0.8)
    assert r3 - r == pytest.approx([0.0, 4.0, 0.0, 4.0 * 0.2])
    assert soldier_rules.defection_reward(0.5, 2.0, officer, 1.0, core, 0.0) == pytest.approx(
        [2.5] * 4
    )
    # default factor 2 gives exactly the old constant
    old = (0.5 + 2.0 * np.where(officer, 2.0, 1.0)) * (1.0 - 0.8 * core)
    assert np.array_equal(soldier_rules.defection_reward(0.5, 2.0, officer, 2.0, core, 0.8), old)


@SETTINGS
@given(x=soldier_inputs, barrier=ordered(pos))
def test_exit_barrier_never_raises_desert_gain(x, barrier):
    stay = soldier_rules.stay_value(
        1.0, x["w_pay"], x["bonus"], x["stake"], x["belief"], x["loyalty"], 0.0, False
    )
    q = soldier_rules.detection_probability(x["surveillance"], x["safety"], x["n"])
    args = (stay, x["belief"], q, x["punishment"], 0.5)
    lo = soldier_rules.desert_gain(*args, barrier[0], x["n"], x["peer_weight"])
    hi = soldier_rules.desert_gain(*args, barrier[1], x["n"], x["peer_weight"])
    assert hi <= lo + EPS


def test_soldier_choice_ties():
    choice = soldier_rules.soldier_choice
    # best gain equal to the threshold leaves (inclusive >=)
    assert choice(1.0, 0.0, 1.0) == DEFECTED
    assert choice(0.0, 1.0, 1.0) == DESERTED
    # just below stays
    assert choice(0.999, 0.5, 1.0) == LOYAL
    # defect wins ties against desert
    assert choice(2.0, 2.0, 1.0) == DEFECTED
    assert choice(1.0, 1.0, 1.0) == DEFECTED
    # Granovetter's threshold-0 agent riots alone
    assert choice(0.0, -1.0, 0.0) == DEFECTED
    out = choice(np.array([1.0, 0.0, 2.0, -1.0]), np.array([0.0, 1.0, 2.0, -2.0]), 1.0)
    assert out.dtype == np.int8
    assert out.tolist() == [DEFECTED, DESERTED, DEFECTED, LOYAL]


@SETTINGS
@given(d=util, e=util, t=util)
def test_soldier_choice_property(d, e, t):
    c = int(soldier_rules.soldier_choice(d, e, t))
    if max(d, e) < t:
        assert c == LOYAL
    elif d >= e:
        assert c == DEFECTED
    else:
        assert c == DESERTED


def test_choice_probabilities_logit_formula():
    """With noise tau the three options get the multinomial logit's shares, exactly."""
    d, e, t, tau = 1.0, 0.5, 2.0, 0.7
    p_def, p_des = soldier_rules.choice_probabilities(d, e, t, tau)
    w = np.exp(np.array([d, e, t]) / tau)
    assert p_def == pytest.approx(w[0] / w.sum())
    assert p_des == pytest.approx(w[1] / w.sum())
    # huge gains do not overflow (the largest option is subtracted first)
    p_def, p_des = soldier_rules.choice_probabilities(5000.0, 0.0, 0.0, 0.01)
    assert p_def == 1.0 and p_des == 0.0


@settings(max_examples=200, deadline=None)
@given(
    st.floats(-10, 10),
    st.floats(-10, 10),
    st.floats(-10, 10),
    st.floats(0.01, 5),
    st.floats(0.01, 3),
)
def test_choice_probabilities_properties(d, e, t, tau, step):
    """Shares lie in [0, 1] and sum to at most 1; a larger gain from defecting raises its share
    and lowers the others'; tau = 0 is the threshold rule."""
    p_def, p_des = soldier_rules.choice_probabilities(d, e, t, tau)
    assert 0 <= p_def <= 1 and 0 <= p_des <= 1 and p_def + p_des <= 1 + 1e-12
    q_def, q_des = soldier_rules.choice_probabilities(d + step, e, t, tau)
    assert q_def >= p_def - 1e-12 and q_des <= p_des + 1e-12
    z_def, z_des = soldier_rules.choice_probabilities(d, e, t, 0.0)
    c = soldier_rules.soldier_choice(d, e, t)
    assert (z_def, z_des) == (float(c == DEFECTED), float(c == DESERTED))


def test_choice_probabilities_approach_the_threshold_rule():
    """As tau shrinks the logit's choice converges to the argmax of soldier_choice."""
    d = np.array([1.0, 0.0, -1.0, 3.0])
    e = np.array([0.0, 1.0, -2.0, 2.5])
    t = np.array([0.5, 0.5, 0.0, 1.0])
    p_def, p_des = soldier_rules.choice_probabilities(d, e, t, 1e-3)
    c = soldier_rules.soldier_choice(d, e, t)
    np.testing.assert_allclose(p_def, c == DEFECTED, atol=1e-6)
    np.testing.assert_allclose(p_des, c == DESERTED, atol=1e-6)


def test_noisy_choice_inverse_cdf():
    p_def = np.array([0.2, 0.2, 0.2, 0.0])
    p_des = np.array([0.3, 0.3, 0.3, 1.0])
    u = np.array([0.1, 0.4, 0.6, 0.99])
    out = soldier_rules.noisy_choice(p_def, p_des, u)
    assert out.dtype == np.int8
    assert out.tolist() == [DEFECTED, DESERTED, LOYAL, DESERTED]
    # over many draws the shares match the probabilities
    u = np.random.default_rng(3).random(200_000)
    got = soldier_rules.noisy_choice(np.full(u.size, 0.1), np.full(u.size, 0.25), u)
    assert np.mean(got == DEFECTED) == pytest.approx(0.1, abs=0.005)
    assert np.mean(got == DESERTED) == pytest.approx(0.25, abs=0.005)


@settings(max_examples=100, deadline=None)
@given(st.floats(0.01, 0.99), st.floats(0, 5), st.floats(0, 1), st.floats(0, 5), st.floats(0, 3))
def test_calm_loyalty_floor_is_the_elites_indifference_point(b, rents, purge, outside, amnesty):
    floor = rules.calm_loyalty_floor(b, rents, purge, outside, amnesty)
    gain = rules.elite_defect_gain
    assert gain(b, rents, purge, floor, outside, amnesty, 0.0, 3.0) == pytest.approx(0, abs=1e-9)
    assert gain(b, rents, purge, floor + 0.01, outside, amnesty, 0.0, 3.0) < 0
    assert gain(b, rents, purge, floor - 0.01, outside, amnesty, 0.0, 3.0) > 0


def test_truncated_normal_matches_scipy_and_respects_the_floor():
    from scipy import stats

    z = np.random.default_rng(5).standard_normal(2_000)
    for mean, sd, floor in [(0.7, 0.7, -0.6), (0.0, 1.0, 2.5), (1.0, 2.0, -10.0), (0.0, 1.0, 9.0)]:
        x = rules.truncated_normal(z, mean, sd, floor)
        assert np.all(x >= floor) and np.all(np.isfinite(x))
        order = np.argsort(z)
        assert np.all(np.diff(x[order]) >= 0)  # increasing in the draw
        want = stats.truncnorm.ppf(stats.norm.cdf(z), (floor - mean) / sd, np.inf, mean, sd)
        ok = np.isfinite(want)
        np.testing.assert_allclose(x[ok], want[ok], rtol=1e-6, atol=1e-6)
    # a floor far below the mean leaves the draws as they were
    np.testing.assert_allclose(rules.truncated_normal(z, 0.7, 0.7, -50.0), 0.7 + 0.7 * z)
    # no spread: the mean, or the floor when the mean lies below it
    assert rules.truncated_normal(z[:3], 0.7, 0.0, -1.0).tolist() == [0.7] * 3
    assert rules.truncated_normal(z[:3], 0.7, 0.0, 1.0).tolist() == [1.0] * 3


def test_shirks_only_on_duty_and_strict():
    assert soldier_rules.shirks(2.0, 0.5, 0.5, True)
    assert not soldier_rules.shirks(2.0, 0.5, 0.5, False)  # off duty never shirks
    assert not soldier_rules.shirks(1.0, 0.5, 0.5, True)  # equal: obeys
    out = soldier_rules.shirks(np.array([2.0, 2.0, 0.1]), 0.5, 0.5, np.array([True, False, True]))
    assert out.tolist() == [True, False, False]


@SETTINGS
@given(m=ordered(st.floats(0, 10)), loyalty=util, fear=pos, duty=st.booleans())
def test_shirks_directions(m, loyalty, fear, duty):
    lo = bool(soldier_rules.shirks(m[0], loyalty, fear, duty))
    hi = bool(soldier_rules.shirks(m[1], loyalty, fear, duty))
    assert hi >= lo  # a heavier moral cost never stops shirking
    if not duty:
        assert not hi


def test_peer_share():
    # path 0 - 1 - 2, node 3 isolated
    adj = sparse.csr_array(
        np.array(
            [[0, 1, 0, 0], [1, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 0]],
            dtype=float,
        )
    )
    deg = np.asarray(adj.sum(axis=1)).ravel()
    left = np.array([True, False, False, True])
    out = soldier_rules.peer_share(adj, left, deg)
    np.testing.assert_allclose(out, [0.0, 0.5, 0.0, 0.0])
    assert np.all((out >= 0) & (out <= 1))


# ------------------------------------------------------------------------------------------------
# elites and outcomes
# ------------------------------------------------------------------------------------------------

elite_inputs = st.fixed_dictionaries(
    {
        "belief": unit,
        "rents": pos,
        "purge_risk": unit,
        "loyalty": util,
        "outside_option": pos,
        "amnesty": st.floats(0, 3),
        "defected_share": unit,
        "peer_weight": st.floats(0, 10),
    }
)


def _eg(x, **kw):
    return float(rules.elite_defect_gain(**{**x, **kw}))


def test_elite_defect_gain_formula():
    g = rules.elite_defect_gain(0.8, 1.0, 0.2, 0.5, 1.5, 0.0, 0.25, 2.0)
    assert g == pytest.approx(0.2 * 1.5 + 2.0 * 0.25 - (0.8 * 1.0 * 0.8 + 0.5))


@SETTINGS
@given(x=elite_inputs, rents=ordered(pos), purge=ordered(unit))
def test_elite_gain_down_with_rents_up_with_purge_risk(x, rents, purge):
    assert _eg(x, rents=rents[1]) <= _eg(x, rents=rents[0]) + EPS
    assert _eg(x, purge_risk=purge[1]) >= _eg(x, purge_risk=purge[0]) - EPS
    if x["belief"] > 0.01 and x["purge_risk"] < 0.99 and rents[1] - rents[0] > 1e-3:
        assert _eg(x, rents=rents[1]) < _eg(x, rents=rents[0])


@SETTINGS
@given(
    x=elite_inputs,
    out=ordered(pos),
    amnesty=ordered(st.floats(0, 3)),
    e=ordered(unit),
    loyalty=ordered(util),
    belief=ordered(unit),
)
def test_elite_gain_other_directions(x, out, amnesty, e, loyalty, belief):
    assert _eg(x, outside_option=out[1]) >= _eg(x, outside_option=out[0]) - EPS
    assert _eg(x, amnesty=amnesty[1]) >= _eg(x, amnesty=amnesty[0]) - EPS
    assert _eg(x, defected_share=e[1]) >= _eg(x, defected_share=e[0]) - EPS
    assert _eg(x, loyalty=loyalty[1]) <= _eg(x, loyalty=loyalty[0]) + EPS
    # a regime more likely to survive never makes defection more attractive
    assert _eg(x, belief=belief[1]) <= _eg(x, belief=belief[0]) + EPS


def test_elite_gain_vectorizes_over_loyalty():
    g = rules.elite_defect_gain(0.5, 1.0, 0.2, np.array([0.0, 1.0]), 1.5, 0.0, 0.0, 2.0)
    assert g.shape == (2,)
    assert g[0] - g[1] == pytest.approx(1.0)


def test_elite_gain_armed_threat_formula():
    # (1 - b)(O + a)(1 - k v) + w E - [b rents (1 - purge) + loyalty]
    g = rules.elite_defect_gain(0.8, 1.0, 0.2, 0.5, 1.5, 0.5, 0.25, 2.0, 0.6, 0.5)
    assert g == pytest.approx(0.2 * 2.0 * (1 - 0.5 * 0.6) + 2.0 * 0.25 - (0.8 * 0.8 + 0.5))
    # k = 0 or no armed participants: the rule before model version 10
    base = rules.elite_defect_gain(0.8, 1.0, 0.2, 0.5, 1.5, 0.5, 0.25, 2.0)
    assert rules.elite_defect_gain(0.8, 1.0, 0.2, 0.5, 1.5, 0.5, 0.25, 2.0, 0.6, 0.0) == base
    assert rules.elite_defect_gain(0.8, 1.0, 0.2, 0.5, 1.5, 0.5, 0.25, 2.0, 0.0, 1.0) == base


@SETTINGS
@given(x=elite_inputs, v=ordered(unit), k=ordered(unit))
def test_elite_gain_falls_with_armed_opposition(x, v, k):
    def g(vv, kk):
        return _eg(x, armed_share=vv, armed_threat=kk)

    assert g(v[1], k[0]) <= g(v[0], k[0]) + EPS
    assert g(v[0], k[1]) <= g(v[0], k[0]) + EPS
    assert 0.0 <= rules.armed_exit_factor(v[0], k[0]) <= 1.0


def test_concession_hazard_formula():
    # 1 - exp(-[(1 - v) r_n + v r_v] (p / 1 %)^beta)
    h = rules.concession_hazard(0.04, 0.25, 0.02, 0.004, 0.5)
    lam = (0.75 * 0.02 + 0.25 * 0.004) * (0.04 / 0.01) ** 0.5
    assert h == pytest.approx(1 - np.exp(-lam))
    assert rules.concession_hazard(0.0, 0.0, 0.05, 0.05, 0.5) == 0.0  # no one active
    assert rules.concession_hazard(0.01, 0.0, 0.0, 0.05, 1.0) == 0.0  # nonviolent, r_n = 0
    # at the reference size the rate is the rate, whatever the elasticity
    at_ref = rules.concession_hazard(0.01, 1.0, 0.0, 0.03, 1.7)
    assert at_ref == pytest.approx(1 - np.exp(-0.03))


def test_concession_hazard_defection_term():
    # lam = r (p / 1 %)^beta (1 + k d / 0.5 %): a NAVCO armed defection multiplies the rate by 1 + k
    assert rules.CONCESSION_DEFECTION_REFERENCE == outputs.DEFECT_SHARE
    base = rules.concession_hazard(0.02, 0.0, 0.01, 0.0, 1.0)
    lam = 0.01 * 2.0
    assert base == pytest.approx(1 - np.exp(-lam))
    at_d1 = rules.concession_hazard(
        0.02, 0.0, 0.01, 0.0, 1.0, defected_share=0.005, defection_gain=4
    )
    assert at_d1 == pytest.approx(1 - np.exp(-lam * 5))
    at_2pc = rules.concession_hazard(
        0.02, 0.0, 0.01, 0.0, 1.0, defected_share=0.02, defection_gain=4
    )
    assert at_2pc == pytest.approx(1 - np.exp(-lam * 17))
    # k = 0: the force does not matter, bit for bit; no defector: the old hazard
    assert rules.concession_hazard(0.02, 0.0, 0.01, 0.0, 1.0, defected_share=0.3) == base
    assert rules.concession_hazard(0.02, 0.0, 0.01, 0.0, 1.0, 0.01, 0.0, 9.0) == base
    # no one active, no pressure, whatever the force did; vectorized over days
    assert (
        rules.concession_hazard(0.0, 0.0, 0.05, 0.05, 0.5, defected_share=0.5, defection_gain=9)
        == 0.0
    )
    days = rules.concession_hazard(
        np.full(3, 0.02),
        np.zeros(3),
        0.01,
        0.0,
        1.0,
        defected_share=np.array([0.0, 0.005, 0.02]),
        defection_gain=4,
    )
    assert days == pytest.approx([base, at_d1, at_2pc])


@SETTINGS
@given(
    p=ordered(st.floats(1e-6, 1.0)),
    v=ordered(unit),
    rn=st.floats(0, 0.1),
    rv=st.floats(0, 0.1),
    beta=st.floats(0, 2),
)
def test_concession_hazard_is_a_chance_rising_with_size(p, v, rn, rv, beta):
    h = [rules.concession_hazard(pp, v[0], rn, rv, beta) for pp in p]
    assert 0.0 <= h[0] <= h[1] + EPS <= 1.0 + EPS
    # more armed participants move the hazard towards the armed campaign's rate
    lo, hi = sorted((rn, rv))
    for vv in v:
        lam = -np.log1p(-min(rules.concession_hazard(0.01, vv, rn, rv, beta), 1 - 1e-16))
        assert lo - EPS <= lam <= hi + EPS
    if rn > rv:
        assert rules.concession_hazard(p[0], v[1], rn, rv, beta) <= (
            rules.concession_hazard(p[0], v[0], rn, rv, beta) + EPS
        )


def test_outcome_rules():
    assert rules.loyal_force(10.0, 4.0, 1.5) == pytest.approx(16.0)
    assert rules.opposition_strength(100.0, 5.0, 0.1, 1.0) == pytest.approx(15.0)
    assert rules.coup_succeeds(11.0, 10.0)
    assert not rules.coup_succeeds(10.0, 10.0)  # strict: a tie fails
    assert not rules.coup_succeeds(0.0, 0.0)


@SETTINGS
@given(
    loyal=ordered(st.floats(0, 1e4)),
    guard=ordered(st.floats(0, 1e4)),
    w=pos,
    active=ordered(st.floats(0, 1e4)),
    defected=ordered(st.floats(0, 1e4)),
)
def test_force_directions(loyal, guard, w, active, defected):
    assert rules.loyal_force(loyal[1], guard[0], w) >= rules.loyal_force(loyal[0], guard[0], w)
    assert rules.loyal_force(loyal[0], guard[1], w) >= rules.loyal_force(loyal[0], guard[0], w)
    assert rules.opposition_strength(active[1], defected[0], 0.1, 1.0) >= (
        rules.opposition_strength(active[0], defected[0], 0.1, 1.0)
    )
    assert rules.opposition_strength(active[0], defected[1], 0.1, 1.0) >= (
        rules.opposition_strength(active[0], defected[0], 0.1, 1.0)
    )


# ------------------------------------------------------------------------------------------------
# mechanisms of issue #10: principled defection, outside support, police, conscripts
# ------------------------------------------------------------------------------------------------


def test_principled_gain_formula_and_directions():
    assert soldier_rules.principled_gain(0.0, 0.2) == 0.0
    assert soldier_rules.principled_gain(2.0, 0.25) == pytest.approx(1.5)
    assert soldier_rules.principled_gain(2.0, 1.0) == 0.0
    out = soldier_rules.principled_gain(1.0, np.array([0.1, 0.5, 0.9]))
    assert np.all(np.diff(out) < 0)  # less legitimacy, more principled gain


@SETTINGS
@given(x=soldier_inputs, p=ordered(st.floats(0, 5)))
def test_principled_term_adds_to_defect_gain_and_zero_is_bit_identical(x, p):
    stay, b, r, n = 0.3, x["belief"], x["reward"], x["n"]
    args = (stay, b, r, 0.2, x["punishment"], n, x["peer_weight"], x["fight_risk"])
    plain = soldier_rules.defect_gain(*args)
    assert soldier_rules.defect_gain(*args, 0.0) == plain  # exactly, not approximately
    assert soldier_rules.defect_gain(*args, p[1]) >= soldier_rules.defect_gain(*args, p[0])
    assert soldier_rules.defect_gain(*args, p[1]) == pytest.approx(plain + p[1])
    dargs = (stay, b, 0.2, x["punishment"], 0.5, x["exit_barrier"], n, x["peer_weight"])
    assert soldier_rules.desert_gain(*dargs, 0.0) == soldier_rules.desert_gain(*dargs)
    assert soldier_rules.desert_gain(*dargs, p[1]) >= soldier_rules.desert_gain(*dargs, p[0])


def test_pay_received_patron_and_conscript_pay():
    # no patron, factor 1: exactly today's pay net of arrears, the old expression
    for pay, arrears in ((1.0, 0.0), (0.7, 0.3), (2.0, 0.6)):
        assert soldier_rules.pay_received(pay, arrears, 1.0, 0.0) == pay * (1.0 - arrears)
    # the patron covers a share of the shortfall, from arrears or from a cut
    assert soldier_rules.pay_received(1.0, 0.6, 1.0, 0.5) == pytest.approx(0.7)
    assert soldier_rules.pay_received(0.2, 0.0, 1.0, 0.5) == pytest.approx(0.6)
    assert soldier_rules.pay_received(0.5, 0.5, 1.0, 1.0) == pytest.approx(1.0)
    # pay above the scenario's is the regime's own: nothing to cover
    assert soldier_rules.pay_received(1.5, 0.0, 1.0, 1.0) == pytest.approx(1.5)
    # conscripts get their share of it all
    out = soldier_rules.pay_received(1.0, 0.6, 1.0, 0.5, np.array([1.0, 0.25]))
    np.testing.assert_allclose(out, [0.7, 0.175])


@SETTINGS
@given(pay=st.floats(0, 3), arrears=unit, s=ordered(unit), f=unit)
def test_pay_received_directions(pay, arrears, s, f):
    lo = soldier_rules.pay_received(pay, arrears, 1.0, s[0], f)
    hi = soldier_rules.pay_received(pay, arrears, 1.0, s[1], f)
    assert hi >= lo - EPS
    assert lo >= pay * (1.0 - arrears) * f - EPS  # a patron never takes pay away
    assert (
        soldier_rules.pay_received(pay, arrears, 1.0, 1.0, f)
        >= min(pay * (1 - arrears), 1.0) * f - EPS
    )


def test_opposition_backing_and_reward():
    assert soldier_rules.opposition_backing(0.0, 1.0) == 0.0
    assert soldier_rules.opposition_backing(2.0, 0.5) == pytest.approx(1.0)
    officer = np.array([False, True])
    core = np.array([False, True])
    plain = soldier_rules.defection_reward(0.5, 2.0, officer, 2.0, core, 0.8)
    assert np.array_equal(
        soldier_rules.defection_reward(0.5, 2.0, officer, 2.0, core, 0.8, 0.0), plain
    )
    backed = soldier_rules.defection_reward(0.5, 2.0, officer, 2.0, core, 0.8, 1.0)
    # the backing is part of what the core group cannot claim in full
    np.testing.assert_allclose(backed - plain, [1.0, 0.2])


def test_patron_confidence():
    assert soldier_rules.patron_confidence(0.0, 1.0, 1.0) == 0.0
    assert soldier_rules.patron_confidence(2.0, 0.0, 0.0) == 0.0
    assert soldier_rules.patron_confidence(2.0, 0.3, 0.1) == pytest.approx(0.6)
    assert soldier_rules.patron_confidence(2.0, 0.3, 0.8) == pytest.approx(1.6)
    assert soldier_rules.patron_confidence(2.0, 0.0, 1.7) == pytest.approx(2.0)  # troops cap at 1


def test_duty_chance():
    trusted = np.array([True, False, False, True])
    police = np.array([False, False, True, True])
    # no police priority: the old rule, bit for bit
    old = 0.8 * np.where(trusted, 1.0, 1.0 - 0.5)
    assert np.array_equal(soldier_rules.duty_chance(0.8, trusted, 0.5, police, 0.0, 1.0), old)
    assert np.array_equal(soldier_rules.duty_chance(0.8, trusted, 0.5, police, 1.0, 0.0), old)
    # full priority with every policeman serving: only police go out
    out = soldier_rules.duty_chance(0.8, trusted, 0.0, police, 1.0, 1.0)
    np.testing.assert_allclose(out, [0.0, 0.0, 0.8, 0.8])
    half = soldier_rules.duty_chance(0.8, trusted, 0.0, police, 1.0, 0.5)
    np.testing.assert_allclose(half, [0.4, 0.4, 0.8, 0.8])


def test_pick_companies():
    size = np.array([10, 10, 10, 10, 5])
    eligible = np.array([True, True, True, False, True])
    keys = np.array([0.3, 0.1, 0.2, 0.0, 0.9])
    assert not soldier_rules.pick_companies(size, eligible, 0.0, keys).any()
    got = soldier_rules.pick_companies(size, eligible, 20.0, keys)
    assert got.tolist() == [False, True, True, False, False]  # by key, closest to 20
    got = soldier_rules.pick_companies(size, eligible, 100.0, keys)
    assert got.tolist() == [True, True, True, False, True]  # every eligible, never the others
    got = soldier_rules.pick_companies(size, eligible, 14.0, keys)
    assert got.tolist() == [False, True, False, False, False]  # 10 is closer to 14 than 20
    assert not soldier_rules.pick_companies(size, np.zeros(5, dtype=bool), 20.0, keys).any()


def test_loyal_force_counts_foreign_troops():
    assert rules.loyal_force(10.0, 4.0, 1.5, 0.0) == rules.loyal_force(10.0, 4.0, 1.5)
    assert rules.loyal_force(10.0, 4.0, 1.5, 5.0) == pytest.approx(21.0)
