"""The Morris screen: elementary effects of every parameter on every target, and the choice.

Design (:mod:`defection.calibration.spec`): ``trajectories`` Morris trajectories of D + 1 points
on a ``levels``-level grid (SALib; Morris 1991, Technometrics 33(2):161; Campolongo, Cariboni &
Saltelli 2007 for mu*), each dealt one case and one seed per replicate, so the runs along a
trajectory share their random numbers and an elementary effect is the parameter's, not the
seed's. Replicates are averaged point by point.

Analysis, per target: the trajectories of the target's cases whose every point has a value
(a failed run drops its trajectory) go to ``SALib.analyze.morris``: ``mu*`` (mean absolute
elementary effect, in the target's units per unit of the scaled range), its bootstrap confidence
half-width at 95 %, ``mu`` and ``sigma`` (spread of the effects: interaction or non-linearity).

**Choice** (at most ``max_chosen``, at most 12): each parameter's score is its largest
normalised ``mu*`` over the targets (``mu*`` divided by the largest ``mu*`` of that target, so
every target counts equally whatever its units); the parameters whose score reaches
``threshold`` are chosen, highest score first, up to ``max_chosen``. A target on which no
parameter has any effect (every ``mu*`` is 0) takes no part.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["analyse_screen", "choose", "write_screen"]


def analyse_screen(calib: Any, runs: pd.DataFrame) -> pd.DataFrame:
    """Morris indices per target and parameter (long table, ranked by ``mu_star`` per target).

    Args:
        calib: The screen's :class:`~defection.calibration.spec.Calibration`.
        runs: Its runs (one row per run: ``point``, ``case``, ``status``, target columns).

    Returns:
        Columns ``target``, ``rank``, ``parameter``, ``mu_star``, ``mu_star_conf``, ``mu``,
        ``sigma``, ``mu_star_norm``, ``trajectories``.
    """
    from SALib.analyze import morris

    assert calib.screen is not None
    names = calib.param_names
    per = len(names) + 1
    design = calib.design
    problem = {
        "num_vars": len(names),
        "names": names,
        "bounds": [[p.lo, p.hi] for p in calib.params],
    }
    rows = []
    for i, t in enumerate(calib.targets):
        ok = runs[runs["status"] == "ok"]
        y_point = ok.groupby("point")[t.column].mean()
        y = design["point"].map(y_point).to_numpy(dtype=float)
        use = []
        for g in range(len(design) // per):
            sl = slice(g * per, (g + 1) * per)
            if design["case"].iloc[sl.start] in t.cases and np.all(np.isfinite(y[sl])):
                use.append(g)
        if len(use) < 2:
            stats = {
                k: np.full(len(names), np.nan) for k in ("mu_star", "mu_star_conf", "mu", "sigma")
            }  # noqa: E501
        else:
            idx = np.concatenate([np.arange(g * per, (g + 1) * per) for g in use])
            x = design[names].to_numpy(dtype=float)[idx]
            seed = int(
                np.random.SeedSequence(calib.meta.seed, spawn_key=(4, i)).generate_state(1)[0]
            )  # noqa: E501
            res = morris.analyze(
                problem,
                x,
                y[idx],
                conf_level=0.95,
                num_resamples=1000,
                num_levels=calib.screen.levels,
                seed=seed,
            )
            stats = {
                k: np.asarray(res[k], dtype=float)
                for k in ("mu_star", "mu_star_conf", "mu", "sigma")
            }  # noqa: E501
        top = np.nanmax(stats["mu_star"]) if np.isfinite(stats["mu_star"]).any() else np.nan
        norm = (
            stats["mu_star"] / top if top and np.isfinite(top) and top > 0 else np.zeros(len(names))
        )  # noqa: E501
        df = pd.DataFrame(
            {
                "target": t.name,
                "parameter": names,
                **stats,
                "mu_star_norm": norm,
                "trajectories": len(use),
            }
        )
        df = df.sort_values(["mu_star", "parameter"], ascending=[False, True], na_position="last")
        df.insert(1, "rank", np.arange(1, len(df) + 1))
        rows.append(df)
    cols = ["target", "rank", "parameter", "mu_star", "mu_star_conf", "mu", "sigma"]
    return pd.concat(rows, ignore_index=True)[[*cols, "mu_star_norm", "trajectories"]]


def choose(table: pd.DataFrame, max_chosen: int, threshold: float) -> pd.DataFrame:
    """The chosen parameters by the rule of the module docstring, with their scores.

    Returns:
        Columns ``parameter``, ``score`` (largest normalised mu* over targets) and ``target``
        (where it is largest), chosen rows only, highest score first.
    """
    t = table.dropna(subset=["mu_star_norm"])
    t = t[t.groupby("target")["mu_star"].transform("max") > 0]
    if t.empty:
        return pd.DataFrame(columns=["parameter", "score", "target"])
    best = t.sort_values(["mu_star_norm", "target"], ascending=[False, True])
    best = best.drop_duplicates("parameter")[["parameter", "mu_star_norm", "target"]]
    best = best.rename(columns={"mu_star_norm": "score"})
    best = best.sort_values(["score", "parameter"], ascending=[False, True])
    return best[best["score"] >= threshold].head(max_chosen).reset_index(drop=True)


def markdown(table: pd.DataFrame, chosen: pd.DataFrame, calib: Any) -> str:
    """The ranked tables (one per target) and the chosen list, as Markdown."""
    assert calib.screen is not None
    out = [
        f"# Morris screen `{calib.name}`",
        "",
        f"{len(calib.params)} parameters, {calib.screen.trajectories} trajectories of "
        f"{len(calib.params) + 1} points on {calib.screen.levels} levels, {calib.meta.seeds} "
        f"seed(s) per point: {calib.n_runs} runs over the cases "
        + ", ".join(f"`{c}` ({n})" for c, n in calib.case_runs().items())
        + ". mu* is in the target's units per unit of the parameter's scaled range; conf is the "
        "95 % bootstrap half-width of mu*; norm is mu* over the target's largest mu*.",
        "",
    ]
    for target, df in table.groupby("target", sort=False):
        t = next(x for x in calib.targets if x.name == target)
        args = ", ".join(f"{k} = {v}" for k, v in t.args.items())
        out += [
            f"## `{target}`: {t.measure}({args}) on {', '.join(t.cases)}",
            "",
            f"Trajectories used: {int(df['trajectories'].iloc[0])}.",
            "",
            "| rank | parameter | mu* | conf | mu | sigma | norm |",
            "|---:|---|---:|---:|---:|---:|---:|",
        ]
        for r in df.itertuples():
            out.append(
                f"| {r.rank} | `{r.parameter}` | {r.mu_star:.4g} | {r.mu_star_conf:.3g} | "
                f"{r.mu:.4g} | {r.sigma:.4g} | {r.mu_star_norm:.3f} |"
            )
        out.append("")
    out += [
        f"## Chosen (at most {calib.screen.max_chosen}, normalised mu* >= "
        f"{calib.screen.threshold:g} on some target)",
        "",
    ]
    if chosen.empty:
        out.append("None: no parameter reached the threshold on any target.")
    else:
        out += ["| parameter | score | on target |", "|---|---:|---|"]
        out += [f"| `{r.parameter}` | {r.score:.3f} | `{r.target}` |" for r in chosen.itertuples()]
    return "\n".join(out) + "\n"


def plot(table: pd.DataFrame, path: Path, top: int = 15) -> None:
    """Bars of mu* with their confidence, and sigma as a dot, per target (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = list(table.groupby("target", sort=False))
    n = len(groups)
    rows = min(top, int(table.groupby("target").size().max()))
    fig, axes = plt.subplots(1, n, figsize=(4.2 * n, 0.32 * rows + 1.4), squeeze=False)
    for ax, (target, df) in zip(axes[0], groups, strict=True):
        d = df.head(top).iloc[::-1]
        ypos = np.arange(len(d))
        ax.barh(
            ypos,
            d["mu_star"],
            xerr=d["mu_star_conf"],
            color="#3b6fb6",
            alpha=0.85,
            error_kw={"elinewidth": 1, "capsize": 2},
            label="mu* (95 % conf)",
        )
        ax.plot(d["sigma"], ypos, "o", color="#d1495b", ms=4, label="sigma")
        ax.set_yticks(ypos, d["parameter"], fontsize=8)
        ax.set_title(str(target), fontsize=10)
        ax.set_xlabel("per unit of scaled range", fontsize=8)
        ax.tick_params(axis="x", labelsize=8)
    axes[0][0].legend(fontsize=7, loc="best", framealpha=0.9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_screen(calib: Any, runs: pd.DataFrame, folder: Path) -> dict[str, Any]:
    """Analyse a screen; write ``morris.parquet``, ``screen.md``, ``screen.png``, ``chosen.json``.

    Returns:
        The manifest's ``screen`` entry (chosen parameters and the rule).
    """
    assert calib.screen is not None
    table = analyse_screen(calib, runs)
    chosen = choose(table, calib.screen.max_chosen, calib.screen.threshold)
    table.to_parquet(folder / "morris.parquet", index=False)
    (folder / "screen.md").write_text(markdown(table, chosen, calib), encoding="utf-8")
    plot(table, folder / "screen.png")
    entry = {
        "rule": (
            f"largest normalised mu* over targets >= {calib.screen.threshold:g}, highest first, "
            f"at most {calib.screen.max_chosen}"
        ),
        "chosen": list(chosen["parameter"]),
        "scores": {r.parameter: float(r.score) for r in chosen.itertuples()},
    }
    (folder / "chosen.json").write_text(json.dumps(entry, indent=2) + "\n", encoding="utf-8")
    return entry
