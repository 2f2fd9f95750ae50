"""The calibration's parts on small problems, without running the model: spec validation, the
design, the target measures, the emulator, implausibility and the non-implausible sample."""

import math
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from defection.calibration import cases as cases_mod
from defection.calibration.history import (
    Constraint,
    Emulator,
    combine,
    fit_emulators,
    fit_theta,
    implausibility,
    log_marginal_likelihood,
    make_kernel,
    maximin_subset,
    sample_nonimplausible,
    target_prediction,
)
from defection.calibration.spec import Target, balanced_cases, calibration_from_dict
from defection.calibration.targets import MEASURES, RunView, TargetMeasures
from defection.model.params import BEHAVIOURAL
from defection.model.scenario import ScenarioError

SPECS = Path(__file__).parent.parent / "calibration" / "specs"


def _doc(name="ci_screen.toml"):
    return tomllib.loads((SPECS / name).read_text())


def _problems(doc):
    with pytest.raises(ScenarioError) as exc:
        calibration_from_dict(doc, "spec.toml")
    return exc.value.problems


# ------------------------------------------------------------------------------------------------
# spec validation
# ------------------------------------------------------------------------------------------------


def test_the_ci_specs_validate_and_draw_about_40_runs_over_2_cases():
    for name in ("ci_screen.toml", "ci_wave.toml"):
        cal = calibration_from_dict(_doc(name), name)
        assert len(cal.params) == 3 and len(cal.cases) == 2
        assert 30 <= cal.n_runs <= 60
        assert cal.case_runs() == {"base": cal.n_runs // 2, "syria": cal.n_runs // 2}
        # every value inside the spec's range; the narrowed range is respected
        for p in cal.params:
            assert cal.design[p.name].between(p.lo, p.hi).all()
        assert cal.design["soldiers.threshold"].between(-2, 4).all()


def test_the_same_spec_draws_the_same_design_and_id_and_another_seed_changes_them():
    a = calibration_from_dict(_doc(), "a")
    b = calibration_from_dict(_doc(), "b")
    pd.testing.assert_frame_equal(a.design, b.design)
    assert a.calib_id == b.calib_id
    doc = _doc()
    doc["calibration"]["seed"] += 1
    c = calibration_from_dict(doc, "c")
    assert c.calib_id != a.calib_id
    assert not np.allclose(c.design[a.param_names], a.design[a.param_names])


def test_required_joins_a_wave_s_identity_only_when_set():
    doc = _doc("ci_wave.toml")
    plain = calibration_from_dict(doc, "w")
    ranged = [t for t in doc["targets"] if "range" in t or "observed" in t]
    ranged[0]["required"] = False
    assert calibration_from_dict(doc, "w").calib_id == plain.calib_id
    ranged[0]["required"] = True
    req = calibration_from_dict(doc, "w")
    assert req.calib_id != plain.calib_id
    assert [t.required for t in req.targets].count(True) == 1


def test_morris_trajectories_each_have_one_case_and_share_their_seed():
    cal = calibration_from_dict(_doc(), "s")
    per = len(cal.params) + 1
    for _, rows in cal.design.groupby("group"):
        assert len(rows) == per and rows["case"].nunique() == 1
        # consecutive points of a trajectory differ in exactly one parameter
        x = rows[cal.param_names].to_numpy()
        assert (np.count_nonzero(np.diff(x, axis=0), axis=1) == 1).all()
    seeds = {g: cal.seed(g, 0) for g in cal.design["group"].unique()}
    assert len(set(seeds.values())) == len(seeds)  # one seed per trajectory
    assert cal.seed(0, 0) != cal.seed(0, 1)  # replicates get their own


def test_a_wave_deals_each_case_its_weighted_share():
    doc = _doc("ci_wave.toml")
    doc["cases"][0]["weight"] = 3.0
    cal = calibration_from_dict(doc, "w")
    assert cal.case_runs() == {"base": 30, "syria": 10}


def test_balanced_cases_follow_weights_by_largest_remainders():
    class C:
        def __init__(self, name, weight):
            self.name, self.weight = name, weight

    dealt = balanced_cases(10, [C("a", 1), C("b", 1), C("c", 1)], np.random.default_rng(1))
    counts = pd.Series(dealt).value_counts().to_dict()
    assert sorted(counts.values()) == [3, 3, 4] and set(counts) == {"a", "b", "c"}


@pytest.mark.parametrize(
    "edit, needle",
    [
        (lambda d: d["calibration"].update(colour="red"), "`calibration.colour`: unknown key"),
        (lambda d: d.update(extra={}), "field `extra`: unknown key"),
        (lambda d: d["parameters"].update(names=["soldiers.pay"]), "has role"),
        (lambda d: d["parameters"].update(names=["soldiers.moral_cots"]), "did you mean"),
        (
            lambda d: d["parameters"].update(ranges={"soldiers.threshold": [-9.0, 4.0]}),
            "may only be narrowed",
        ),
        (
            lambda d: d["parameters"].update(ranges={"belief.memory": [0.1, 0.5]}),
            "not one of the calibrated",
        ),
        (lambda d: d["targets"][0].update(measure="left"), "unknown measure `left`"),
        (lambda d: d["targets"][0].update(args={"days": 3}), "unknown argument `days`"),
        (lambda d: d["targets"][0].update(args={"day": -1}), "must be a whole number"),
        (lambda d: d["targets"][0].update(cases=["nowhere"]), "no case `nowhere`"),
        (lambda d: d["targets"][0].update(observed=0.1), "needs its uncertainty"),
        (lambda d: d["cases"][0].update(colour=1), "unknown key `colour`"),
        (lambda d: d["cases"][0].update(scenario="atlantis"), "cases.base`.scenario"),
        (lambda d: d["cases"][0].update(set={"run.horizon": 0}), "run.horizon"),
        (lambda d: d["cases"][1].update(name="base"), "names a case twice"),
        (lambda d: d["cases"][0].update(features={"x": 1.0}), "same features"),
        (lambda d: d["cases"][0].update(source="nope"), "unknown case source"),
        (lambda d: d["cases"][0].update(navco_id=999999), "not in the fitting set"),
        (lambda d: d.update(wave={"points": 10}), "[wave] is for kind"),
        (lambda d: d.pop("screen"), "needs a [screen] table"),
        (lambda d: d["budget"].update(max_runs=10), "needs 40 runs"),
        (lambda d: d["screen"].update(max_chosen=13), "screen.max_chosen"),
        (lambda d: d["targets"][0].update(required=True), "only a wave's target"),
    ],
)
def test_a_bad_spec_is_one_line_naming_the_field(edit, needle):
    doc = _doc()
    edit(doc)
    problems = _problems(doc)
    assert any(needle in p for p in problems), problems
    assert all(p.startswith("spec.toml") and "\n" not in p for p in problems)


def test_a_wave_needs_an_observed_target():
    doc = _doc("ci_wave.toml")
    for t in doc["targets"]:
        t.pop("observed", None)
    assert any("at least one target with `observed`" in p for p in _problems(doc))


def test_a_case_may_stand_for_a_fitting_set_campaign_only():
    # ID 75 (East Germany 1989) is forced into the fitting set by the split's rule
    doc = _doc()
    doc["cases"][0]["navco_id"] = 75
    assert calibration_from_dict(doc, "ok").cases[0].navco_id == 75
    fit = cases_mod.fit_campaign_ids()
    assert 75 in fit and 999999 not in fit


def test_all_behavioural_parameters_can_be_named_at_once():
    doc = _doc()
    doc["parameters"] = {"names": "behavioural"}
    doc["budget"]["max_runs"] = 10_000
    # syria_2011 states its peak participation: at protest.threshold = 1 no one could protest,
    # which its build refuses; the spec says so before anything runs
    problems = _problems(doc)
    assert any("cases.syria` (parameters at hi)" in p and "threshold" in p for p in problems)
    doc["parameters"]["ranges"] = {"protest.threshold": [0.0, 0.15]}
    cal = calibration_from_dict(doc, "all")
    assert cal.param_names == [p.name for p in BEHAVIOURAL]
    assert cal.n_runs == 10 * (len(BEHAVIOURAL) + 1)


# ------------------------------------------------------------------------------------------------
# target measures
# ------------------------------------------------------------------------------------------------


def _run(outcome="collapse", outcome_day=3):
    series = pd.DataFrame(
        {
            "day": [0, 1, 2, 3],
            "soldiers_defected": [0.0, 0.1, 0.2, 0.3],
            "soldiers_deserted": [0.0, 0.0, 0.05, 0.05],
            "soldiers_detained": [0.0, 0.0, 0.0, 0.01],
            "elites_defected": [0.0, 0.0, 0.5, 0.5],
            "participation": [0.0, 0.01, 0.03, 0.02],
        }
    )
    row = {"outcome": outcome, "outcome_day": outcome_day, "navco_defect": 1, "navco_success": 0}
    return RunView(row, series)


def test_measures_read_the_day_asked_and_carry_the_last_day_forward():
    run = _run()
    assert MEASURES["defected_share"].fn(run, day=2) == 0.2
    assert MEASURES["defected_share"].fn(run, day=365) == 0.3  # the run ended on day 3
    assert MEASURES["defected_share"].fn(run) == 0.3
    assert MEASURES["left_share"].fn(run, day=2) == pytest.approx(0.25)
    assert MEASURES["peak_participation"].fn(run, day=1) == 0.01
    assert MEASURES["peak_participation"].fn(run) == 0.03
    assert MEASURES["fell_before"].fn(run, day=4) == 1.0
    assert MEASURES["fell_before"].fn(run, day=3) == 0.0  # before day 3, not on it
    assert MEASURES["collapse_before"].fn(_run("transition"), day=10) == 0.0
    assert MEASURES["fell_before"].fn(_run("transition"), day=10) == 1.0
    assert MEASURES["fell_before"].fn(_run("split", None), day=10) == 0.0
    assert MEASURES["fall_day"].fn(run, day=365) == 3.0
    assert MEASURES["fall_day"].fn(_run("survival", None), day=365) == 366.0
    assert MEASURES["navco_defect"].fn(run) == 1.0


def test_target_measures_name_their_columns_and_pickle():
    import pickle

    tm = TargetMeasures((("a", "defected_share", (("day", 2),)), ("b", "navco_defect", ())))
    again = pickle.loads(pickle.dumps(tm))
    run = _run()
    assert again(run.row, run.series) == {"target:a": 0.2, "target:b": 1.0}


# ------------------------------------------------------------------------------------------------
# implausibility and the emulator
# ------------------------------------------------------------------------------------------------


def test_implausibility_is_the_standardised_distance():
    imp = implausibility(1.0, np.array([1.0, 0.0, 4.0]), np.array([0.0, 0.03, 5.0]), 0.01, 0.0)
    assert imp[0] == 0.0
    assert imp[1] == pytest.approx(1.0 / math.sqrt(0.04))
    assert imp[2] == pytest.approx(3.0 / math.sqrt(5.01))
    assert implausibility(1.0, np.array([2.0]), np.array([0.0]), 0.0, 0.0)[0] == math.inf


def test_combine_takes_the_max_or_the_second_max():
    imp = np.array([[1.0, 5.0, 2.0], [0.5, 0.2, 0.1]])
    assert combine(imp, "max").tolist() == [5.0, 0.5]
    assert combine(imp, "second_max").tolist() == [2.0, 0.2]
    assert combine(imp[:, :1], "second_max").tolist() == [1.0, 0.5]  # one target: the max


def test_a_required_target_is_never_the_one_second_max_lets_miss():
    imp = np.array([[1.0, 5.0, 2.0], [0.5, 0.2, 0.1], [4.0, 3.0, 0.0]])
    # the second target required: row 1's largest is it, so nothing is let miss
    assert combine(imp, "second_max", [False, True, False]).tolist() == [5.0, 0.2, 3.0]
    # the first required: row 0 may still let the second miss; row 2 may not let the first
    assert combine(imp, "second_max", [True, False, False]).tolist() == [2.0, 0.5, 4.0]
    # nothing required is the plain rule; max ignores the flags
    assert combine(imp, "second_max", [False] * 3).tolist() == [2.0, 0.2, 3.0]
    assert combine(imp, "max", [True, False, False]).tolist() == [5.0, 0.5, 4.0]


class _P:
    def __init__(self, name, lo, hi):
        self.name, self.lo, self.hi = name, lo, hi


def _toy(n=30, noise=0.0, seed=0):
    """A toy 'wave': f(x) = x1 + 0.5 sin(3 x2) on [0, 1]^2, one case."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(size=(n, 2))
    y = x[:, 0] + 0.5 * np.sin(3 * x[:, 1]) + noise * rng.normal(size=n)
    runs = pd.DataFrame(
        {
            "run_id": [f"r{i:03d}" for i in range(n)],
            "status": "ok",
            "case": "only",
            "a": x[:, 0],
            "b": x[:, 1],
            "target:f": y,
        }
    )
    target = Target("f", "left_share", {}, ("only",), 0.5, 0.05, 0.0, "mean")

    class Cal:
        params = [_P("a", 0.0, 1.0), _P("b", 0.0, 1.0)]
        param_names = ["a", "b"]
        targets = [target]
        cases = [cases_mod.Case("only", scenario=None)]

        class meta:
            seed = 7

        class wave:
            restarts = 2

    return Cal, runs, target


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # an unused input
def test_the_closed_form_likelihood_gradient_is_scikit_learns_and_the_fit_finds_its_optimum():
    from sklearn.gaussian_process import GaussianProcessRegressor

    rng = np.random.default_rng(11)
    x = rng.uniform(size=(60, 3))
    y = np.sin(4 * x[:, 0]) + x[:, 1] ** 2 + 0.2 * rng.standard_normal(60)
    yn = (y - y.mean()) / y.std()
    kernel = make_kernel(3)
    ref = GaussianProcessRegressor(kernel, alpha=1e-8, normalize_y=True, optimizer=None).fit(x, y)
    for theta in (kernel.theta, rng.uniform(-3, 2, size=kernel.theta.shape)):
        want, want_grad = ref.log_marginal_likelihood(theta, eval_gradient=True)
        got, grad = log_marginal_likelihood(theta, x, yn)
        assert got == pytest.approx(want, rel=1e-10)
        np.testing.assert_allclose(grad, want_grad, rtol=1e-7, atol=1e-8)
    # a non-positive-definite kernel gives -inf, as in scikit-learn (not an exception)
    twin = np.vstack([x, x])
    bad = np.r_[0.0, np.zeros(3), np.log(1e-300)]
    assert log_marginal_likelihood(bad, twin, np.r_[yn, yn], alpha=0.0)[0] == -np.inf
    # the same optimisation as scikit-learn's fit (its restarts drawn otherwise): the same optimum
    sk = GaussianProcessRegressor(
        kernel, alpha=1e-8, normalize_y=True, n_restarts_optimizer=2, random_state=7
    ).fit(x, y)
    theta = fit_theta(x, y, kernel, 2, 7)
    ours = GaussianProcessRegressor(
        kernel.clone_with_theta(theta), alpha=1e-8, normalize_y=True, optimizer=None
    ).fit(x, y)
    assert ours.log_marginal_likelihood_value_ >= sk.log_marginal_likelihood_value_ - 1e-6
    np.testing.assert_allclose(theta, sk.kernel_.theta, atol=1e-3)


def test_an_emulator_reproduces_its_training_points_and_refits_exactly_from_its_record():
    cal, runs, target = _toy()
    em = fit_emulators(cal, runs)["f"]
    x = runs[["a", "b"]].to_numpy()
    mean, var = em.predict(x, "only")
    assert np.abs(mean - runs["target:f"]).max() < 1e-3  # a smooth function: interpolated
    rec = em.record()
    again = Emulator.from_record(rec, x, ["only"] * len(x), runs["target:f"].to_numpy())
    probe = np.random.default_rng(3).uniform(size=(50, 2))
    m1, v1 = em.predict(probe, "only")
    m2, v2 = again.predict(probe, "only")
    np.testing.assert_array_equal(m1, m2)
    np.testing.assert_array_equal(v1, v2)
    # and it predicts the function away from its training points
    truth = probe[:, 0] + 0.5 * np.sin(3 * probe[:, 1])
    assert np.abs(m1 - truth).max() < 0.05


def test_the_average_over_cases_is_the_exact_posterior_of_the_mean():
    # an emulator with two parameters and one case feature, fitted on noisy runs of three cases
    from sklearn.gaussian_process import GaussianProcessRegressor

    from defection.calibration.history import ALPHA, make_kernel

    rng = np.random.default_rng(4)
    feats = {"c0": [0.0], "c1": [0.4], "c2": [1.0]}
    cases = rng.choice(list(feats), size=60)
    x = rng.uniform(size=(60, 2))
    f = np.array([feats[c][0] for c in cases])
    y = x[:, 0] * (1 + f) + 0.3 * np.sin(4 * x[:, 1]) + 0.05 * rng.normal(size=60)
    em = Emulator("t", [("a", 0.0, 1.0), ("b", 0.0, 1.0)], ["f"], feats, None, 60)
    inputs = np.vstack([em.encode(x[i], c) for i, c in enumerate(cases)])
    em.gp = GaussianProcessRegressor(make_kernel(3), alpha=ALPHA, normalize_y=True).fit(inputs, y)
    probe = rng.uniform(size=(7, 2))
    names = ["c0", "c1", "c2"]
    mean, var = em.predict_average(probe, names)
    # one case: exactly predict()'s mean and latent variance
    m1, v1 = em.predict_average(probe, ["c1"])
    p1, pv1 = em.predict(probe, "c1")
    np.testing.assert_allclose(m1, p1, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(v1, pv1, rtol=1e-6, atol=1e-10)
    # several: the brute force over the joint posterior of the cases' values at each point
    for i, point in enumerate(probe):
        joint = np.vstack([em.encode(point, c) for c in names])
        m, cov = em.gp.predict(joint, return_cov=True)
        latent = cov - np.eye(len(names)) * em.noise_var  # the white noise sits on the diagonal
        assert mean[i] == pytest.approx(m.mean(), abs=1e-9)
        assert var[i] == pytest.approx(latent.mean(), rel=1e-6, abs=1e-10)


def test_the_white_noise_term_estimates_the_seed_variance():
    cal, runs, target = _toy(n=80, noise=0.1, seed=1)
    em = fit_emulators(cal, runs)["f"]
    assert 0.05 < math.sqrt(em.noise_var) < 0.2
    mean, var = em.predict(runs[["a", "b"]].to_numpy(), "only")
    # the latent variance leaves the noise out; compare="run" puts it back
    assert np.all(var < em.noise_var)
    t_run = Target("f", "left_share", {}, ("only",), 0.5, 0.05, 0.0, "run")
    _, v_run = target_prediction(em, t_run, runs[["a", "b"]].to_numpy()[:5])
    np.testing.assert_allclose(v_run, var[:5] + em.noise_var)


def test_the_non_implausible_share_of_a_known_problem_is_found():
    # f(x) = x1 (+ 0.5 sin 3 x2) observed at 0.5 +/- 0.05: the non-implausible set is a band
    # whose area can be computed on a fine grid of the true function
    cal, runs, target = _toy(n=40)
    em = fit_emulators(cal, runs)["f"]
    con = Constraint("toy", {"f": em}, [target], 3.0, "max")
    sample, accepted, evaluated = sample_nonimplausible([con], cal.params, 20_000, 500, seed=5)
    g = np.linspace(0, 1, 401)
    a, b = np.meshgrid(g, g)
    truth = np.mean(np.abs(a + 0.5 * np.sin(3 * b) - 0.5) <= 3 * 0.05)
    assert evaluated == 20_000 and len(sample) == 500
    assert abs(accepted / evaluated - truth) < 0.03
    f = sample["a"] + 0.5 * np.sin(3 * sample["b"])
    assert (np.abs(f - 0.5) <= 3 * 0.05 + 0.02).all()
    assert (sample["implausibility"] <= 3.0).all()


@pytest.mark.parametrize(
    ("rule", "required"), [("max", -1), ("second_max", -1), ("second_max", 0), ("second_max", 3)]
)
def test_the_lazy_screen_gives_the_full_evaluation_s_verdict(rule, required):
    cal, runs, _ = _toy(n=40)
    em = fit_emulators(cal, runs)["f"]
    # four targets on one emulator, observed at different values: points fail 0 to 4 of them;
    # ``required`` marks one of them (-1: none)
    targets = [
        Target(f"f{i}", "left_share", {}, ("only",), obs, 0.05, 0.0, "mean", required=i == required)
        for i, obs in enumerate((0.42, 0.5, 0.58, 0.66))
    ]
    con = Constraint("toy", {t.name: em for t in targets}, targets, 3.0, rule)
    x = np.random.default_rng(9).uniform(size=(3000, 2))
    full = con.combined(x)
    ok, value = con.screen(x)
    np.testing.assert_array_equal(ok, full <= 3.0)
    assert 0 < ok.sum() < len(x)  # both verdicts occur
    np.testing.assert_allclose(value[ok], full[ok])
    assert np.isnan(value[~ok]).all()


def test_maximin_subset_spreads_the_points():
    x = np.random.default_rng(2).uniform(size=(500, 2))
    idx = maximin_subset(x, 20)
    assert len(set(idx.tolist())) == 20

    def min_dist(p):
        d = np.sqrt(((p[:, None] - p[None]) ** 2).sum(-1))
        return d[np.triu_indices(len(p), 1)].min()

    assert min_dist(x[idx]) > 2 * min_dist(x[:20])
    np.testing.assert_array_equal(idx, maximin_subset(x, 20))  # deterministic


def test_docs_list_the_measures_as_the_registry_has_them():
    import re

    from defection.calibration.targets import measures_markdown

    doc = (Path(__file__).parent.parent / "docs" / "CALIBRATION.md").read_text()
    found = re.search(r"<!-- measures:begin -->\n(.*?)<!-- measures:end -->", doc, re.S)
    assert found, "docs/CALIBRATION.md lacks the measures markers"
    assert found.group(1) == measures_markdown() + "\n"


def test_core_left_reads_the_worker_s_core_share_and_is_nan_without_one():
    run = _run()
    assert math.isnan(MEASURES["core_left"].fn(run))  # a stored row, or no core group
    run.row["core_left_share"] = 0.04
    assert MEASURES["core_left"].fn(run) == 0.04


def test_the_core_group_share_that_left_counts_only_core_soldiers():
    from defection.model.regime import RegimeModel
    from defection.model.rules import DEFECTED, DESERTED
    from defection.runner import core_left_share

    m = RegimeModel("syria_2011", rng=1, overrides={"run.horizon": 1})
    core = m.soldiers.group == m.core_group
    assert m.core_group >= 0 and core.any() and (~core).any()
    assert core_left_share(m) == 0.0
    m.soldiers.state[np.flatnonzero(~core)] = DEFECTED  # every other soldier leaves
    assert core_left_share(m) == 0.0
    idx = np.flatnonzero(core)
    m.soldiers.state[idx[: len(idx) // 2]] = DESERTED
    assert core_left_share(m) == pytest.approx((len(idx) // 2) / len(idx))
    m.core_group = -1  # no core group
    assert core_left_share(m) is None
