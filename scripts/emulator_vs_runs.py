"""How well a wave's NAVCO emulators foresaw what a refinement's runs of its sample did.

A refinement by runs (``calibration/refineN``) runs vectors drawn from a wave's non-implausible
sample on a fixed set of fitting campaigns. This script asks the wave's own emulators what
P(DEFECT) they expected at those vectors, and sets that next to the rates the
vectors' runs gave (``scores.parquet``):

    python scripts/emulator_vs_runs.py calibration/wave8_3 calibration/refine8
    python scripts/emulator_vs_runs.py calibration/wave8_3 calibration/refine8 --pooled
    python scripts/emulator_vs_runs.py calibration/wave8_3 calibration/refine8 --pooled --refit

For each method it prints the emulators' mean prediction over the vectors, their mean standard
deviation, the runs' mean rate and the correlation across vectors between prediction and runs.
A correlation near 0 says the emulator did not tell the vectors apart where the sample lies.
The pooled emulator's maximum-likelihood hyper-parameters take minutes to find (1,447 runs, three
starts); ``--refit`` finds them and writes them to the wave folder's ``pooled_theta.json``, which
``--pooled`` then reuses (with given hyper-parameters the comparison takes under a minute).
It then asks whether any regression could have: the vectors' run rates are regressed on their
parameters with cross-validation (``predictability``).
The emulators average over all of the wave's fitting campaigns, the refinement's runs over its
own campaigns: the data's rates on the two sets are printed too, and the rate of the wave's own
design runs on the refinement's campaigns (both methods together).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from defection.calibration.history import (
    Emulator,
    PreviousWave,
    fit_emulators,
    log_marginal_likelihood,
    target_prediction,
)
from defection.calibration.spec import load_calibration

METHODS = ("nonviolent", "violent")

#: The pooled DEFECT emulator's hyper-parameters, in the wave's folder (written by ``--refit``).
POOLED_THETA = "pooled_theta.json"


def pooled_emulators(wave: Path, refit: bool = False) -> dict[str, Emulator]:
    """The DEFECT emulators fitted on the runs of the wave and of every earlier wave of its chain.

    As ``pool = true`` would have fitted them (``calibration/pool.py``): the wave's kernel,
    restarts and seed. With ``refit`` (or when ``POOLED_THETA`` is missing) the hyper-parameters
    are found by maximum likelihood and written to ``wave / POOLED_THETA``; otherwise they are
    read from it and only the Gaussian processes are fitted.
    """
    cal = load_calibration(wave / "spec.toml")
    prev = PreviousWave.load(wave, cal.params, str(wave))
    wanted = {f"defect_{m}" for m in METHODS}
    cal.targets = [t for t in cal.targets if t.name in wanted]
    path = wave / POOLED_THETA
    thetas = None
    if not refit and path.is_file():
        thetas = {
            k: np.asarray(v, dtype=float) for k, v in json.loads(path.read_text())["theta"].items()
        }
    emulators = fit_emulators(cal, prev.runs, thetas)  # this wave's runs and every earlier wave's
    if thetas is None:
        fitted = {name: em for name, em in emulators.items() if em.target == name}
        record = {
            "command": f"python scripts/emulator_vs_runs.py {wave} REFINE --pooled --refit",
            "runs": len(prev.runs),
            "theta": {k: em.gp.kernel_.theta.tolist() for k, em in fitted.items()},
            "log_marginal_likelihood": {
                k: float(em.gp.log_marginal_likelihood_value_) for k, em in fitted.items()
            },
        }
        path.write_text(json.dumps(record, indent=1) + "\n")
    return emulators


def likelihood_gain(emulator: Emulator, maxiter: int = 50) -> float:
    """How much one L-BFGS-B run from an emulator's hyper-parameters raises its likelihood.

    About 0 when the hyper-parameters are a maximum of this emulator's training data's log
    marginal likelihood (within the kernel's bounds), as ``--refit`` leaves them.
    """
    from scipy.optimize import minimize

    gp = emulator.gp
    x, y = gp.X_train_, gp.y_train_  # y normalised, as the fit saw it
    theta = np.asarray(gp.kernel_.theta, dtype=float)
    bounds = np.asarray(gp.kernel_.bounds, dtype=float)

    def objective(t: np.ndarray) -> tuple[float, np.ndarray]:
        lml, grad = log_marginal_likelihood(t, x, y)
        return -lml, -grad

    start = objective(theta)[0]
    res = minimize(
        objective, theta, method="L-BFGS-B", jac=True, bounds=bounds, options={"maxiter": maxiter}
    )
    return float(start - res.fun)


def compare(wave: Path, refine: Path, pooled: bool = False, refit: bool = False) -> pd.DataFrame:
    """One row per method: the wave's emulator against the refinement's runs.

    Args:
        wave: A history-matching wave's results folder (its ``spec.toml`` and emulators).
        refine: A refinement by runs of that wave's sample (its ``scores.parquet``).
        pooled: Instead of the wave's own emulators, fit the DEFECT emulator afresh (the
            wave's kernel, restarts and seed) on the runs of the wave and of every earlier
            wave of its chain, as ``pool = true`` would have (``calibration/pool.py``), with
            the hyper-parameters of ``POOLED_THETA`` (:func:`pooled_emulators`).
        refit: With ``pooled``, find the hyper-parameters again and rewrite ``POOLED_THETA``.

    Returns:
        Columns ``emulator_mean``, ``emulator_sd``, ``wave_data``, ``runs_mean``,
        ``refine_data``, ``correlation``, and ``wave_runs`` with ``wave_n``: the wave's own
        design runs on the refinement's campaigns (their rate and count, both methods together),
        indexed by method.
    """
    cal = load_calibration(wave / "spec.toml")
    prev = PreviousWave.load(wave, cal.params, str(wave))
    own = prev.chain[0]
    scores = pd.read_parquet(refine / "scores.parquet")
    x = scores[[p.name for p in cal.params]].to_numpy(dtype=float)
    targets = {t.name: t for t in own.observed()}
    emulators = own.emulators
    if pooled:
        emulators = pooled_emulators(wave, refit)
    # A design run's DEFECT is in every defect_* column; the method is an emulator input.
    wave_defect = _wave_campaign_runs(wave, refine)["target:defect_nonviolent"].dropna()
    rows = {}
    for method in METHODS:
        t = targets[f"defect_{method}"]
        mean, var = target_prediction(emulators[t.name], t, x)
        runs = scores[f"p_{method}"].to_numpy(dtype=float)
        rows[method] = {
            "emulator_mean": float(mean.mean()),
            "emulator_sd": float(np.sqrt(var).mean()),
            "wave_data": float(t.observed),
            "runs_mean": float(runs.mean()),
            "refine_data": float(scores[f"p_data_{method}"].mean()),
            "correlation": float(np.corrcoef(mean, runs)[0, 1]),
            "wave_runs": float(wave_defect.mean()),
            "wave_n": len(wave_defect),
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def predictability(refine: Path, folds: int = 8) -> pd.DataFrame:
    """Can the vectors' own DEFECT rates be told from their parameters? Cross-validated.

    The refinement's per-vector rate over its campaigns (``p_model``) is regressed on the
    vector's parameters (scaled to the vectors' range) by a ridge regression, a random forest
    and a Gaussian process like the waves' (an RBF kernel with one length scale per parameter
    and a white-noise term), each scored by its ``folds``-fold cross-validated R^2 and the
    correlation of its out-of-fold predictions with the rates. Seeds are fixed.

    Returns:
        Columns ``cv_r2`` and ``correlation``, indexed by ``ridge``, ``forest``, ``gp``.
    """
    import warnings

    from sklearn.ensemble import RandomForestRegressor
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel
    from sklearn.linear_model import RidgeCV
    from sklearn.model_selection import KFold, cross_val_predict

    scores = pd.read_parquet(refine / "scores.parquet")
    params = [c for c in scores.columns if "." in c]
    x = scores[params].to_numpy(dtype=float)
    x = (x - x.min(axis=0)) / np.where(np.ptp(x, axis=0) > 0, np.ptp(x, axis=0), 1.0)
    y = scores["p_model"].to_numpy(dtype=float)
    kernel = ConstantKernel(0.1) * RBF(np.ones(len(params)), (1e-2, 1e2)) + WhiteKernel(
        0.01, (1e-3, 1.0)
    )
    models = {
        "ridge": RidgeCV(alphas=np.logspace(-3, 3, 13)),
        "forest": RandomForestRegressor(500, min_samples_leaf=3, random_state=0),
        "gp": GaussianProcessRegressor(
            kernel, normalize_y=True, n_restarts_optimizer=3, random_state=0
        ),
    }
    cv = KFold(folds, shuffle=True, random_state=0)
    rows = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for name, model in models.items():
            pred = cross_val_predict(model, x, y, cv=cv)
            r2 = 1.0 - float(((y - pred) ** 2).sum() / ((y - y.mean()) ** 2).sum())
            rows[name] = {"cv_r2": r2, "correlation": float(np.corrcoef(pred, y)[0, 1])}
    return pd.DataFrame.from_dict(rows, orient="index")


def _wave_campaign_runs(wave: Path, refine: Path) -> pd.DataFrame:
    """The wave's own finished runs on the campaigns the refinement ran."""
    runs = pd.read_parquet(wave / "runs.parquet")
    runs = runs[(runs["status"] == "ok") & runs["case"].str.startswith("navco_")]
    theirs = pd.read_parquet(refine / "runs.parquet", columns=["case"])["case"]
    ids = {c.rsplit("_", 1)[0] for c in theirs if c.startswith("navco_")}
    return runs[runs["case"].str.rsplit("_", n=1).str[0].isin(ids)]


def main(argv: list[str] | None = None) -> int:
    """Print the comparison for a wave folder and a refinement folder."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("wave", type=Path, help="the wave's results folder, e.g. calibration/wave8_3")
    ap.add_argument("refine", type=Path, help="the refinement's folder, e.g. calibration/refine8")
    ap.add_argument(
        "--pooled",
        action="store_true",
        help="fit the DEFECT emulator on every wave's runs of the chain instead",
    )
    ap.add_argument(
        "--refit",
        action="store_true",
        help=f"with --pooled, find its hyper-parameters again (minutes) and write {POOLED_THETA}",
    )
    args = ap.parse_args(argv)
    for folder, name in ((args.wave, "spec.toml"), (args.refine, "scores.parquet")):
        if not (folder / name).is_file():
            print(f"error: {folder}: no {name} there", file=sys.stderr)
            return 2
    table = compare(args.wave, args.refine, pooled=args.pooled, refit=args.refit)
    which = "pooled emulator (every wave's runs)" if args.pooled else "emulators"
    print(f"P(DEFECT) at {args.refine.name}'s vectors: {args.wave.name}'s {which} vs the runs")
    print(table.round(2).to_string())
    print(f"\nthe vectors' own DEFECT rates from their parameters ({args.refine.name}, 8-fold CV)")
    print(predictability(args.refine).round(2).to_string())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
