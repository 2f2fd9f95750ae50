"""History matching: Gaussian-process emulators, implausibility and the non-implausible space.

One emulator per target (:class:`Emulator`): a scikit-learn ``GaussianProcessRegressor`` of the
target's value in one run, as a function of the calibrated parameters (scaled to [0, 1] over the
spec's ranges) and of the case: its coded features (scaled to [0, 1] over the cases), or, when the
cases code none and the target reads several, one indicator column per case. Kernel:
``C * RBF(one length scale per input) + White``; the white-noise term estimates the seed-to-seed
variance of a run, so the GP's latent mean emulates the expected value over seeds (Andrianakis et
al. 2015, PLoS Comput Biol 11(1):e1003968, for stochastic simulators). Outputs are normalised
(``normalize_y``); hyper-parameters are fitted by maximum likelihood with restarts drawn from the
spec's seed (:func:`fit_theta`: scikit-learn's procedure with the likelihood's gradient in closed
form; the committed waves up to ``wave9_3_pooled`` were fitted by scikit-learn's own optimiser,
and their records refit exactly either way).

**Implausibility** of a parameter vector x for target t (Craig et al. 1997; Vernon, Goldstein &
Bower 2010, Bayesian Analysis 5(4):619)::

    I_t(x) = |z_t - E[f_t(x)]| / sqrt(Var_em,t(x) + Var_obs,t + Var_md,t)

``z_t`` is the observed value, ``Var_obs = obs_sd**2``, ``Var_md = discrepancy_sd**2``, and
``E[f_t(x)]`` the emulator's mean averaged over the target's cases. ``Var_em`` is the emulator's
posterior variance of that average (the latent function's, exact for this kernel and computed
without a prediction per case: :meth:`Emulator.predict_average`), plus, when the target compares
one run with history (``compare = "run"``: history is one draw), the seed variance divided by the
number of cases. (Until 2026-12-02 it was the square of the cases' mean latent sd, an upper bound
that cost one prediction per case: a NAVCO cell of 100 codings made a wave's analysis take hours.)
x is **non-implausible** when ``max_t I_t(x) <= cutoff`` (rule ``max``), or when the second
largest is (rule ``second_max``, which tolerates one target whose emulator or discrepancy is off;
with a single observed target it is the max). A target marked ``required`` is never the one let
miss: the combined value is then ``max(max over the required, second largest over all)``. The
usual cut-off is 3 (Pukelsheim's three-sigma rule: at least 95 % of any unimodal distribution
lies within 3 sd).

A wave's non-implausible sample is drawn by rejection from a Latin hypercube over the whole box,
keeping points that are non-implausible for this wave and every earlier one; the accepted share
estimates the non-implausible fraction of the box. Sobol indices (first and total order, Saltelli
scheme with SALib) are computed on the emulators' mean predictions.

Committed so that a wave can be refit exactly: the training rows are the wave's ``runs.parquet``
(status ``ok``, a finite target value, the target's cases, sorted by run id), and
``emulators.json`` holds each kernel's fitted hyper-parameters (``theta``, log scale), which a
refit sets with the optimizer off (:meth:`Emulator.from_record`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from defection.model.scenario import ScenarioError

__all__ = [
    "Emulator",
    "Constraint",
    "PreviousWave",
    "combine",
    "fit_emulators",
    "fit_theta",
    "implausibility",
    "log_marginal_likelihood",
    "make_kernel",
    "maximin_subset",
    "pooled_runs",
    "sample_nonimplausible",
    "sobol_indices",
    "target_prediction",
]

#: Chunk of candidate points evaluated at once (bounds memory: chunk x training runs doubles).
CHUNK = 2000


def make_kernel(n_inputs: int):
    """The emulators' kernel: ``C * RBF(ARD) + White``, bounds wide enough for scaled inputs."""
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

    return ConstantKernel(1.0, (1e-3, 1e3)) * RBF(
        length_scale=np.full(n_inputs, 0.5), length_scale_bounds=(1e-2, 1e2)
    ) + WhiteKernel(noise_level=0.1, noise_level_bounds=(1e-8, 1e1))


#: Jitter added to the kernel's diagonal (scikit-learn's ``alpha``) for numerical stability.
ALPHA = 1e-8


@dataclass
class Emulator:
    """A fitted emulator of one target.

    Attributes:
        target: Target name.
        params: ``(name, lo, hi)`` of each calibrated parameter (input scaling).
        extra: Names of the case inputs (features, or ``case=<name>`` indicators).
        case_inputs: Per case, its encoded extra inputs.
        gp: The fitted ``GaussianProcessRegressor``.
        n_train: Training runs.
    """

    target: str
    params: list[tuple[str, float, float]]
    extra: list[str]
    case_inputs: dict[str, list[float]]
    gp: Any
    n_train: int

    @property
    def inputs(self) -> list[str]:
        """Every input's name, in order."""
        return [p[0] for p in self.params] + self.extra

    def encode(self, x: np.ndarray, case: str | Sequence[str]) -> np.ndarray:
        """Inputs of the GP: scaled parameters (rows of ``x``) and the case's encoded inputs."""
        x = np.atleast_2d(np.asarray(x, dtype=float))
        lo = np.array([p[1] for p in self.params])
        hi = np.array([p[2] for p in self.params])
        z = (x - lo) / (hi - lo)
        if not self.extra:
            return z
        if isinstance(case, str):
            extra = np.tile(self.case_inputs[case], (len(z), 1))
        else:
            extra = np.array([self.case_inputs[c] for c in case], dtype=float)
        return np.hstack([z, extra])

    @property
    def noise_var(self) -> float:
        """The fitted white-noise variance in the target's units (a run's seed variance)."""
        noise = self.gp.kernel_.k2.noise_level
        return float(noise * np.square(self.gp._y_train_std))

    def predict(self, x: np.ndarray, case: str) -> tuple[np.ndarray, np.ndarray]:
        """Mean and latent variance (without the seed noise) of the target at ``x`` for ``case``."""
        mean, sd = self.gp.predict(self.encode(x, case), return_std=True)
        var = np.maximum(np.square(sd) - self.noise_var, 0.0)
        return np.asarray(mean, dtype=float), var

    def predict_average(self, x: np.ndarray, cases: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Mean and latent variance of the average of the target over ``cases`` at ``x``.

        Exact for this kernel, and without a prediction per case: the RBF factorises over the
        inputs, and the case inputs of every case are the same for every x, so the
        cross-covariance of the average ``g(x) = mean_c f(x, c)`` with training run j is
        ``s^2 k_x(x, x_j) mean_c k_c(c, c_j)``, and its prior variance
        ``s^2 mean_{c,c'} k_c(c, c')`` does not depend on x. Then (Rasmussen & Williams 2006,
        eq. 2.25-2.26) ``E[g] = k_g^T alpha`` and ``Var[g] = Var_0[g] - k_g^T K^-1 k_g``, in the
        normalised units scikit-learn fits in (``normalize_y``), rescaled after. One case gives
        :meth:`predict`'s values.
        """
        from scipy.linalg import solve_triangular

        gp = self.gp
        k = gp.kernel_
        amp = float(k.k1.k1.constant_value)
        scale = np.atleast_1d(np.asarray(k.k1.k2.length_scale, dtype=float))
        n_par = len(self.params)
        xt = np.asarray(gp.X_train_, dtype=float)
        scale = np.broadcast_to(scale, (xt.shape[1],)) if scale.size == 1 else scale
        x = np.atleast_2d(np.asarray(x, dtype=float))
        lo = np.array([p[1] for p in self.params])
        hi = np.array([p[2] for p in self.params])
        z = (x - lo) / (hi - lo)  # the scaled parameters, as encode() gives them

        def rbf(a: np.ndarray, b: np.ndarray, ls: np.ndarray) -> np.ndarray:
            if a.shape[1] == 0:
                return np.ones((len(a), len(b)))
            d = (a[:, None, :] - b[None, :, :]) / ls
            return np.exp(-0.5 * np.einsum("ijk,ijk->ij", d, d))

        if self.extra:
            ci = np.array([self.case_inputs[c] for c in cases], dtype=float)
            kc_train = rbf(ci, xt[:, n_par:], scale[n_par:]).mean(axis=0)  # (n_train,)
            prior = amp * float(rbf(ci, ci, scale[n_par:]).mean())
        else:
            kc_train = np.ones(len(xt))
            prior = amp
        std = float(np.atleast_1d(gp._y_train_std)[0])
        mu = float(np.atleast_1d(gp._y_train_mean)[0])
        means, variances = [], []
        for start in range(0, len(z), CHUNK):
            zc = z[start : start + CHUNK]
            kx = rbf(zc, xt[:, :n_par], scale[:n_par])  # (m, n_train)
            kg = amp * kx * kc_train[None, :]
            mean = kg @ np.asarray(gp.alpha_, dtype=float).reshape(-1)
            v = solve_triangular(gp.L_, kg.T, lower=True, check_finite=False)
            var = prior - np.einsum("ij,ij->j", v, v)
            means.append(mean * std + mu)
            variances.append(np.maximum(var, 0.0) * std**2)
        return np.concatenate(means), np.concatenate(variances)

    def record(self) -> dict[str, Any]:
        """What refits this emulator exactly (``emulators.json``), with diagnostics."""
        import sklearn

        k = self.gp.kernel_
        return {
            "target": self.target,
            "params": [list(p) for p in self.params],
            "extra_inputs": self.extra,
            "case_inputs": self.case_inputs,
            "kernel": str(k),
            "theta": [float(v) for v in k.theta],
            "length_scales": [float(v) for v in np.atleast_1d(k.k1.k2.length_scale)],
            "signal_variance": float(k.k1.k1.constant_value),
            "noise_level": float(k.k2.noise_level),
            "noise_var": self.noise_var,
            "alpha": ALPHA,
            "normalize_y": True,
            "n_train": self.n_train,
            "log_marginal_likelihood": float(self.gp.log_marginal_likelihood_value_),
            "fitted_by": "defection.calibration.history.fit_theta",
            "scikit_learn": sklearn.__version__,
        }

    @classmethod
    def from_record(cls, rec: dict[str, Any], x: np.ndarray, cases: Sequence[str], y: np.ndarray):
        """Refit from a record and its training rows, hyper-parameters fixed (no optimisation)."""
        from sklearn.gaussian_process import GaussianProcessRegressor

        params = [(str(p[0]), float(p[1]), float(p[2])) for p in rec["params"]]
        em = cls(rec["target"], params, list(rec["extra_inputs"]), rec["case_inputs"], None, len(y))
        kernel = make_kernel(len(em.inputs)).clone_with_theta(np.array(rec["theta"]))
        gp = GaussianProcessRegressor(kernel, alpha=rec["alpha"], optimizer=None, normalize_y=True)
        em.gp = gp.fit(em.encode(x, list(cases)), y)
        return em


def training_rows(runs: pd.DataFrame, target: Any) -> pd.DataFrame:
    """The runs an emulator of ``target`` trains on: ok, finite value, its cases, by run id."""
    col = target.column
    cases = getattr(target, "training", None) or target.cases
    ok = (runs["status"] == "ok") & runs["case"].isin(list(cases))
    ok &= np.isfinite(pd.to_numeric(runs[col], errors="coerce").to_numpy(dtype=float))
    return runs[ok].sort_values("run_id", kind="stable")


def case_encoding(cases: Sequence[Any], target_cases: Sequence[str]) -> tuple[list[str], dict]:
    """Names and per-case values of the emulator's case inputs for a target.

    Features scaled to [0, 1] over the calibration's cases when the cases code features;
    otherwise one indicator per case when the target reads several cases; otherwise none.
    """
    features = sorted(cases[0].features) if cases and cases[0].features else []
    if features:
        vals = np.array([[c.features[f] for f in features] for c in cases], dtype=float)
        lo, hi = vals.min(axis=0), vals.max(axis=0)
        span = np.where(hi > lo, hi - lo, 1.0)
        scaled = (vals - lo) / span
        return features, {
            c.name: [float(v) for v in row] for c, row in zip(cases, scaled, strict=True)
        }  # noqa: E501
    if len(target_cases) > 1:
        names = [f"case={c}" for c in target_cases]
        return names, {c: [1.0 if c == d else 0.0 for d in target_cases] for c in target_cases}
    return [], {c: [] for c in target_cases}


def log_marginal_likelihood(
    theta: np.ndarray, x: np.ndarray, y: np.ndarray, alpha: float = ALPHA
) -> tuple[float, np.ndarray]:
    """Log marginal likelihood of :func:`make_kernel`'s GP and its gradient in ``theta``.

    The same function scikit-learn's ``GaussianProcessRegressor.log_marginal_likelihood``
    computes for this kernel (``y`` already normalised), with the gradient in closed form:
    for ``K = s^2 R + (noise + alpha) I``, ``R_ij = exp(-1/2 sum_d (x_id - x_jd)^2 / l_d^2)``,
    ``a = K^-1 y`` and ``W = a a^T - K^-1`` (Rasmussen & Williams 2006, eq. 5.8 and 5.9)::

        LML = -1/2 y^T a - sum_i log L_ii - n/2 log(2 pi)
        dLML/dlog s^2   = 1/2 sum_ij M_ij,              M = W * s^2 R (elementwise)
        dLML/dlog l_d   = r^T z_d^2 - z_d^T M z_d,      z_d = x_d / l_d, r = M 1
        dLML/dlog noise = 1/2 noise tr(W)

    The length-scale gradient costs one matrix product ``M z`` instead of scikit-learn's
    n x n x (inputs + 2) gradient tensor (half a gigabyte at 1,450 runs and 30 inputs).

    Args:
        theta: Log hyper-parameters in the kernel's order: ``[log s^2, log l_1..l_d, log noise]``.
        x: Training inputs (n x d).
        y: Normalised training outputs (n,).
        alpha: Jitter on the diagonal (:data:`ALPHA`).

    Returns:
        The log marginal likelihood and its gradient; ``(-inf, zeros)`` when ``K`` is not
        positive definite (as scikit-learn does).
    """
    from scipy.linalg import cho_solve, cholesky

    theta = np.asarray(theta, dtype=float)
    amp, ls, noise = np.exp(theta[0]), np.exp(theta[1:-1]), np.exp(theta[-1])
    z = x / ls
    sq = np.einsum("ij,ij->i", z, z)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * (z @ z.T), 0.0)
    s = amp * np.exp(-0.5 * d2)
    k = s.copy()
    k[np.diag_indices_from(k)] += noise + alpha
    try:
        chol = cholesky(k, lower=True, check_finite=False)
    except np.linalg.LinAlgError:
        return -np.inf, np.zeros_like(theta)
    a = cho_solve((chol, True), y, check_finite=False)
    n = len(y)
    lml = -0.5 * float(y @ a) - float(np.log(np.diag(chol)).sum()) - 0.5 * n * np.log(2 * np.pi)
    kinv = cho_solve((chol, True), np.eye(n), check_finite=False)
    w = np.outer(a, a) - kinv
    m = w * s
    r = m.sum(axis=1)
    grad = np.empty_like(theta)
    grad[0] = 0.5 * float(r.sum())
    grad[1:-1] = r @ np.square(z) - np.einsum("id,id->d", z, m @ z)
    grad[-1] = 0.5 * noise * float(np.trace(w))
    return lml, grad


def fit_theta(x: np.ndarray, y: np.ndarray, kernel: Any, restarts: int, seed: int) -> np.ndarray:
    """Maximum-likelihood hyper-parameters of ``kernel`` (:func:`make_kernel`) for ``(x, y)``.

    scikit-learn's procedure (``GaussianProcessRegressor.fit`` with ``normalize_y`` and
    ``n_restarts_optimizer``): L-BFGS-B on the negative log marginal likelihood within the
    kernel's log bounds, from the kernel's initial ``theta`` and from ``restarts`` further
    starts drawn uniformly in the bounds, keeping the best; the gradient is computed faster
    (:func:`log_marginal_likelihood`), and the starts come from the project's numpy
    ``Generator`` seeded by ``seed`` (scikit-learn draws them from a legacy ``RandomState``).
    """
    from scipy.optimize import minimize

    y = np.asarray(y, dtype=float)
    std = float(np.std(y))
    yn = (y - y.mean()) / (std if std > 0 else 1.0)
    bounds = np.asarray(kernel.bounds, dtype=float)

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        lml, grad = log_marginal_likelihood(theta, x, yn)
        return -lml, -grad

    rng = np.random.default_rng(np.random.SeedSequence(seed))
    starts = [np.asarray(kernel.theta, dtype=float)]
    starts += [rng.uniform(bounds[:, 0], bounds[:, 1]) for _ in range(restarts)]
    best, best_val = starts[0], np.inf
    for start in starts:
        res = minimize(objective, start, method="L-BFGS-B", jac=True, bounds=bounds)
        if np.isfinite(res.fun) and res.fun < best_val:
            best, best_val = np.asarray(res.x, dtype=float), float(res.fun)
    return best


def fit_emulators(
    calib: Any, runs: pd.DataFrame, thetas: dict[str, np.ndarray] | None = None
) -> dict[str, Emulator]:
    """Fit one emulator per target on a wave's runs (targets without runs are skipped).

    Args:
        calib: The :class:`~defection.calibration.spec.Calibration`.
        runs: Its runs (``runs.parquet``'s frame).
        thetas: Hyper-parameters (log scale, the kernel's ``theta``) to use instead of
            maximising the likelihood, by target name; targets not named are fitted.
    """
    from sklearn.gaussian_process import GaussianProcessRegressor

    assert calib.wave is not None
    names = calib.param_names
    params = [(p.name, p.lo, p.hi) for p in calib.params]
    by_name = {c.name: c for c in calib.cases}
    out = {}
    shared: dict[tuple, Emulator] = {}
    for i, t in enumerate(calib.targets):
        rows = training_rows(runs, t)
        if len(rows) < 3:
            continue
        # targets that read the same measure on the same training runs (the cells of an
        # aggregate NAVCO table) share one emulator; each averages it over its own cases
        key = (t.measure, tuple(sorted(t.args.items())), t.training)
        if key in shared:
            out[t.name] = shared[key]
            continue
        trained = [by_name[c] for c in t.training]
        extra, case_inputs = case_encoding(trained, list(t.training))
        em = Emulator(t.name, params, extra, case_inputs, None, len(rows))
        x = em.encode(rows[names].to_numpy(dtype=float), list(rows["case"]))
        y = rows[t.column].to_numpy(dtype=float)
        seed = np.random.SeedSequence(calib.meta.seed, spawn_key=(3, i))
        kernel = make_kernel(x.shape[1])
        if thetas is not None and t.name in thetas:
            theta = np.asarray(thetas[t.name], dtype=float)
        else:
            theta = fit_theta(
                x, y, kernel, calib.wave.restarts, int(seed.generate_state(1, dtype=np.uint32)[0])
            )
        gp = GaussianProcessRegressor(
            kernel.clone_with_theta(theta), alpha=ALPHA, optimizer=None, normalize_y=True
        )
        em.gp = gp.fit(x, y)
        out[t.name] = shared[key] = em
    return out


def refit_emulators(
    records: dict[str, dict[str, Any]], targets: Sequence[Any], runs: pd.DataFrame, names: list[str]
) -> dict[str, Emulator]:
    """Refit committed emulators from their records and the wave's ``runs.parquet``."""
    out = {}
    for t in targets:
        if t.name not in records:
            continue
        rows = training_rows(runs, t)
        out[t.name] = Emulator.from_record(
            records[t.name],
            rows[names].to_numpy(dtype=float),
            list(rows["case"]),
            rows[t.column].to_numpy(dtype=float),
        )
    return out


def diagnostics(
    em: Emulator, rows: pd.DataFrame, names: list[str], column: str
) -> dict[str, float]:
    """How well an emulator reproduces its training runs: R^2 of the mean, coverage of 3 sd."""
    x = em.encode(rows[names].to_numpy(dtype=float), list(rows["case"]))
    y = rows[column].to_numpy(dtype=float)
    mean, sd = em.gp.predict(x, return_std=True)
    ss = float(np.sum(np.square(y - y.mean())))
    r2 = 1.0 - float(np.sum(np.square(y - mean))) / ss if ss > 0 else math.nan
    within = float(np.mean(np.abs(y - mean) <= 3 * np.maximum(sd, 1e-12)))
    return {"r2_train": r2, "within_3sd": within}


# ------------------------------------------------------------------------------------------------
# implausibility
# ------------------------------------------------------------------------------------------------


def implausibility(
    observed: float, mean: np.ndarray, var_em: np.ndarray, var_obs: float, var_md: float
) -> np.ndarray:
    """``|z - E[f]| / sqrt(Var_em + Var_obs + Var_md)`` (Vernon et al. 2010, eq. 3).

    Args:
        observed: The observed value z.
        mean: Emulator mean E[f(x)] per point.
        var_em: Emulator variance per point.
        var_obs: Observation variance.
        var_md: Model-discrepancy variance.
    """
    denom = np.sqrt(np.asarray(var_em, dtype=float) + var_obs + var_md)
    diff = np.abs(observed - np.asarray(mean, dtype=float))
    return np.divide(diff, denom, out=np.where(diff > 0, np.inf, 0.0), where=denom > 0)


def range_implausibility(
    bounds: Sequence[float], mean: np.ndarray, var_em: np.ndarray, var_obs: float, var_md: float
) -> np.ndarray:
    """Implausibility against a range: the distance outside ``[lo, hi]`` over the same sd.

    ``I(x) = max(lo - E[f], E[f] - hi, 0) / sqrt(Var_em + Var_obs + Var_md)``: 0 inside the range
    (history says only that the value lies in it), and the equality form of :func:`implausibility`
    measured from the nearer end outside it.
    """
    lo, hi = float(bounds[0]), float(bounds[1])
    m = np.asarray(mean, dtype=float)
    diff = np.maximum(np.maximum(lo - m, m - hi), 0.0)
    denom = np.sqrt(np.asarray(var_em, dtype=float) + var_obs + var_md)
    return np.divide(diff, denom, out=np.where(diff > 0, np.inf, 0.0), where=denom > 0)


def _says(t: Any) -> bool:
    return t.observed is not None or getattr(t, "range", None) is not None


def combine(imp: np.ndarray, rule: str, required: Sequence[bool] | None = None) -> np.ndarray:
    """Combine per-target implausibilities (points x targets) by ``max`` or ``second_max``.

    ``required`` (one flag per target column) marks targets that ``second_max`` may not let
    miss: the combined value is then ``max(max over the required, second largest over all)``,
    which is the largest when a required target is the largest and the second largest otherwise.
    """
    imp = np.atleast_2d(imp)
    if imp.shape[1] == 0:
        return np.zeros(imp.shape[0])
    if rule == "second_max" and imp.shape[1] >= 2:
        out = np.sort(imp, axis=1)[:, -2]
        req = np.zeros(imp.shape[1], bool) if required is None else np.asarray(required, bool)
        if req.any():
            out = np.maximum(out, imp[:, req].max(axis=1))
        return out
    return imp.max(axis=1)


def target_prediction(em: Emulator, target: Any, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and emulator variance of a target at ``x``, over its cases (module docstring)."""
    n = len(target.cases)
    mean, var = em.predict_average(x, target.cases)
    if target.compare == "run":
        var = var + em.noise_var / n
    return mean, var


@dataclass
class Constraint:
    """One wave's rule on the parameter space: its emulators, observed targets, cut-off, rule."""

    name: str
    emulators: dict[str, Emulator]
    targets: list[Any]
    cutoff: float
    rule: str

    def observed(self) -> list[Any]:
        """The targets with an observed value and an emulator."""
        return [t for t in self.targets if _says(t) and t.name in self.emulators]

    def implausibility(self, x: np.ndarray) -> np.ndarray:
        """Per point and observed target (points x targets)."""
        cols = []
        for t in self.observed():
            mean, var = target_prediction(self.emulators[t.name], t, x)
            if getattr(t, "range", None) is not None:
                cols.append(
                    range_implausibility(t.range, mean, var, t.obs_sd**2, t.discrepancy_sd**2)
                )
            else:
                cols.append(implausibility(t.observed, mean, var, t.obs_sd**2, t.discrepancy_sd**2))
        return np.column_stack(cols) if cols else np.zeros((len(x), 0))

    def combined(self, x: np.ndarray) -> np.ndarray:
        """The combined implausibility per point (by this wave's rule)."""
        return combine(self.implausibility(x), self.rule, self.required())

    def required(self) -> list[bool]:
        """Per observed target, whether ``second_max`` may never let it be the one that misses."""
        return [bool(getattr(t, "required", False)) for t in self.observed()]

    def screen(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Which points pass (combined implausibility <= cut-off), and their combined value.

        The same verdict as ``combined(x) <= cutoff``, found with less work: targets are read
        cheapest emulator first (fewest training runs), and a point is dropped as soon as it
        fails more targets than the rule allows (one for ``max``, two for ``second_max``), so
        the costly NAVCO-cell emulators see only the points the cheap ones let through.

        Returns:
            ``ok`` per point, and the combined implausibility (NaN where ``ok`` is false).
        """
        x = np.atleast_2d(np.asarray(x, dtype=float))
        targets = self.observed()
        if not targets:
            return np.ones(len(x), dtype=bool), np.zeros(len(x))
        order = sorted(range(len(targets)), key=lambda j: self.emulators[targets[j].name].n_train)
        allowed = 1 if self.rule == "second_max" and len(targets) >= 2 else 0
        required = self.required()
        imp = np.full((len(x), len(targets)), np.nan)
        fails = np.zeros(len(x), dtype=int)
        alive = np.ones(len(x), dtype=bool)
        for j in order:
            idx = np.flatnonzero(alive)
            if idx.size == 0:
                break
            t = targets[j]
            mean, var = target_prediction(self.emulators[t.name], t, x[idx])
            if getattr(t, "range", None) is not None:
                col = range_implausibility(t.range, mean, var, t.obs_sd**2, t.discrepancy_sd**2)
            else:
                col = implausibility(t.observed, mean, var, t.obs_sd**2, t.discrepancy_sd**2)
            imp[idx, j] = col
            # a required target's miss uses up more than the rule tolerates
            fails[idx] += (col > self.cutoff) * (allowed + 1 if required[j] else 1)
            alive[idx] = fails[idx] <= allowed
        value = np.full(len(x), np.nan)
        if alive.any():
            value[alive] = combine(imp[alive], self.rule, required)
        return alive, value


def sample_nonimplausible(
    constraints: Sequence[Constraint],
    params: Sequence[Any],
    candidates: int,
    keep: int,
    seed: int,
) -> tuple[pd.DataFrame, int, int]:
    """Reject from a Latin hypercube of the box: points non-implausible for every constraint.

    Args:
        constraints: This wave's and every earlier wave's (all must pass).
        params: The calibrated parameters (``name``, ``lo``, ``hi``).
        candidates: Points of the hypercube evaluated (all of them: the accepted share estimates
            the non-implausible fraction of the box).
        keep: Accepted points kept (the first ones, in the hypercube's random order).
        seed: Seed of the hypercube.

    Returns:
        The kept points (one column per parameter, then ``implausibility``: this wave's combined
        value, then ``implausibility_max``: the largest over waves), the accepted count and the
        candidates evaluated.
    """
    from SALib.sample import latin

    names = [p.name for p in params]
    problem = {"num_vars": len(names), "names": names, "bounds": [[p.lo, p.hi] for p in params]}
    x = latin.sample(problem, candidates, seed=seed)
    kept: list[np.ndarray] = []
    imps: list[np.ndarray] = []
    worst: list[np.ndarray] = []
    accepted = 0
    for start in range(0, len(x), CHUNK):
        chunk = x[start : start + CHUNK]
        ok = np.ones(len(chunk), dtype=bool)
        values = np.full((len(chunk), len(constraints)), np.nan)
        for i, c in enumerate(constraints):  # a point another wave rules out is not read again
            idx = np.flatnonzero(ok)
            if idx.size == 0:
                break
            passed, value = c.screen(chunk[idx])
            values[idx, i] = value
            ok[idx] = passed
        accepted += int(ok.sum())
        if sum(len(k) for k in kept) < keep and ok.any():
            kept.append(chunk[ok])
            imps.append(values[ok, 0])
            worst.append(np.max(values[ok], axis=1))
    if kept:
        pts = np.vstack(kept)[:keep]
        df = pd.DataFrame(pts, columns=names)
        df["implausibility"] = np.concatenate(imps)[:keep]
        df["implausibility_max"] = np.concatenate(worst)[:keep]
    else:
        df = pd.DataFrame(columns=[*names, "implausibility", "implausibility_max"], dtype=float)
    return df, accepted, len(x)


def maximin_subset(x: np.ndarray, n: int) -> np.ndarray:
    """Indices of ``n`` rows of ``x`` chosen greedily far apart (farthest-point traversal).

    Starts from the row nearest the sample's centroid; each next row is the one farthest from
    those chosen. Deterministic (ties: the lowest index).
    """
    x = np.asarray(x, dtype=float)
    if n >= len(x):
        return np.arange(len(x))
    first = int(np.argmin(np.sum(np.square(x - x.mean(axis=0)), axis=1)))
    chosen = [first]
    dist = np.sum(np.square(x - x[first]), axis=1)
    for _ in range(n - 1):
        nxt = int(np.argmax(dist))
        chosen.append(nxt)
        dist = np.minimum(dist, np.sum(np.square(x - x[nxt]), axis=1))
    return np.array(chosen)


def sobol_indices(
    em: Emulator, target: Any, params: Sequence[Any], n: int, seed: int
) -> pd.DataFrame:
    """First and total Sobol indices of the emulator's mean over the box (SALib, Saltelli).

    ``n`` is rounded up to a power of 2 (N x (D + 2) emulator evaluations).
    """
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import sobol as sobol_sample

    n = 1 << max(int(math.ceil(math.log2(n))), 1)
    names = [p.name for p in params]
    problem = {"num_vars": len(names), "names": names, "bounds": [[p.lo, p.hi] for p in params]}
    x = sobol_sample.sample(problem, n, calc_second_order=False, seed=seed)
    y = np.concatenate(
        [target_prediction(em, target, x[i : i + CHUNK])[0] for i in range(0, len(x), CHUNK)]
    )
    if np.ptp(y) == 0:
        zeros = np.zeros(len(names))
        res = {"S1": zeros, "S1_conf": zeros, "ST": zeros, "ST_conf": zeros}
    else:
        res = sobol_analyze.analyze(problem, y, calc_second_order=False, seed=seed)
    return pd.DataFrame(
        {
            "target": target.name,
            "parameter": names,
            "S1": res["S1"],
            "S1_conf": res["S1_conf"],
            "ST": res["ST"],
            "ST_conf": res["ST_conf"],
        }
    )


def pooled_runs(runs: pd.DataFrame, previous: Any) -> pd.DataFrame:
    """A wave's runs and those of every earlier wave of its chain, one frame.

    What a wave with ``pool = true`` trains its emulators on. Each wave's emulator of a binary
    target (a campaign run's DEFECT) sees only a few hundred runs of its own; a Gaussian process
    fitted on those learns the design's average rate and little that carries to other vectors,
    and the runs of the earlier waves of the same box are information about the same function
    (docs/CALIBRATION.md, "Pooled emulators"). The earlier waves' own constraints are unchanged.

    Args:
        runs: This wave's runs (``runs.parquet``'s frame).
        previous: The :class:`PreviousWave` this wave continues, or None.
    """
    if previous is None:
        return runs
    return pd.concat([runs, previous.runs], ignore_index=True, sort=False)


# ------------------------------------------------------------------------------------------------
# a previous wave, from its committed folder
# ------------------------------------------------------------------------------------------------


@dataclass
class PreviousWave:
    """A finished wave read back from git: its constraint chain and non-implausible sample.

    ``runs`` holds the runs of this wave and of every earlier wave of its chain (a pooled wave
    trains on them: :func:`pooled_runs`).
    """

    folder: Path
    manifest: dict[str, Any]
    chain: list[Constraint]
    sample: pd.DataFrame
    runs: pd.DataFrame

    @property
    def spec_hash(self) -> str:
        """The previous wave's spec hash (part of this wave's identity)."""
        return str(self.manifest["spec_hash"])

    @classmethod
    def load(cls, folder: Path, params: Sequence[Any], where: str) -> PreviousWave:
        """Read a wave's results folder and every earlier wave it names.

        A wave whose manifest says ``pool`` refits its emulators on its own runs and the
        earlier waves' runs, as it was fitted.

        Raises:
            ScenarioError: The folder is missing or not a wave's, or its parameters or ranges
                differ from this spec's.
        """
        from defection.calibration.spec import Target

        folder = Path(folder)
        try:
            manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        except OSError as exc:
            raise ScenarioError(
                [f"{where}: {folder}: no wave results there ({exc.strerror}: manifest.json)"]
            ) from None
        except json.JSONDecodeError as exc:
            raise ScenarioError([f"{where}: {folder}/manifest.json: not JSON ({exc})"]) from None
        if manifest.get("kind") != "wave":
            raise ScenarioError(
                [f"{where}: {folder} holds a {manifest.get('kind')!r}, not a wave's results"]
            )
        theirs = [tuple(p) for p in manifest["parameters"]]
        ours = [(p.name, p.lo, p.hi) for p in params]
        if [(n, float(lo), float(hi)) for n, lo, hi in theirs] != ours:
            raise ScenarioError(
                [
                    f"{where}: the previous wave calibrated other parameters or ranges "
                    f"({', '.join(f'{n} [{lo:g}, {hi:g}]' for n, lo, hi in theirs)}); a wave "
                    "continues one with the same parameters and ranges"
                ]
            )
        earlier = None
        if manifest.get("previous"):
            earlier = cls.load(folder / manifest["previous"]["folder"], params, where)
        runs = pd.read_parquet(folder / "runs.parquet")
        records = json.loads((folder / "emulators.json").read_text(encoding="utf-8"))
        targets = [
            Target(
                **{
                    **t,
                    "cases": tuple(t["cases"]),
                    "train_cases": tuple(t.get("train_cases") or ()),
                    "range": tuple(t["range"]) if t.get("range") is not None else None,
                }
            )
            for t in manifest["targets"]
        ]
        wave = manifest["wave"]
        every = pooled_runs(runs, earlier)
        trained_on = every if wave.get("pool") else runs
        emulators = refit_emulators(records["emulators"], targets, trained_on, [p[0] for p in ours])
        own = Constraint(manifest["name"], emulators, targets, wave["cutoff"], wave["rule"])
        chain = [own] + (earlier.chain if earlier is not None else [])
        sample = pd.read_parquet(folder / "nonimplausible.parquet")
        return cls(folder, manifest, chain, sample, every)

    def design_points(self, n: int, params: Sequence[Any], where: str) -> np.ndarray:
        """``n`` points of the non-implausible sample, spread by greedy maximin (scaled box)."""
        names = [p.name for p in params]
        if len(self.sample) < n:
            raise ScenarioError(
                [
                    f"{where}: the previous wave kept {len(self.sample)} non-implausible points; "
                    f"ask for at most that many `wave.points` (or rerun it with a larger "
                    "`keep` or more `candidates`)"
                ]
            )
        x = self.sample[names].to_numpy(dtype=float)
        lo = np.array([p.lo for p in params])
        hi = np.array([p.hi for p in params])
        idx = maximin_subset((x - lo) / (hi - lo), n)
        return x[idx]
