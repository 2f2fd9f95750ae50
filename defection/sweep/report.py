"""``defection report``: plots and a Markdown summary of one sweep, read from the database.

* ``phase_diagram.png``: the share of runs ending in collapse (or ``--outcome``) over the first
  two varied parameters, with the tipping line (where that share crosses one half). Other varied
  parameters are averaged over. Grid designs are drawn cell by cell; sampled designs (lhs, sobol)
  are binned.
* ``outcome_shares.png``: collapse, split and survival shares per value of each parameter, with 95 %
  Wilson intervals (binned for sampled designs).
* ``sobol.png`` (Sobol designs): SALib's first- and total-order indices of the collapse share and of
  the share of soldiers who left, with their 95 % bootstrap intervals.
* ``report.md``: the same numbers as tables, and the SQL that reproduces them.

Failed runs are counted and listed but left out of every share.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from defection import stats
from defection.model.outputs import COLLAPSE, OUTCOME_COLOURS, OUTCOMES
from defection.sweep.errors import SweepError
from defection.sweep.store import Store, quote_ident, quote_literal

#: A sampled (lhs or sobol) axis is cut into this many equal-count bins.
BINS = 6
#: An axis with at most this many distinct values is shown value by value.
MAX_LEVELS = 12


def wilson(k: int, n: int) -> tuple[float, float]:
    """95 % Wilson interval of ``k / n`` (:func:`defection.stats.wilson`); (0, 1) when n is 0."""
    return (0.0, 1.0) if n <= 0 else stats.wilson(k, n, 0.95)


def levels(values: pd.Series) -> pd.Series:
    """Values to group by: themselves when few, else the midpoints of equal-count bins."""
    if values.nunique() <= MAX_LEVELS:
        return values
    bins = pd.qcut(values, q=BINS, duplicates="drop")
    mids = bins.map(lambda iv: (iv.left + iv.right) / 2)
    return mids.astype(float)


def outcome_table(ok: pd.DataFrame, param: str) -> pd.DataFrame:
    """Per level of ``param``: runs and each outcome's share with its Wilson interval."""
    rows = []
    for value, grp in ok.groupby(levels(ok[param]), observed=True, sort=True):
        n = len(grp)
        row: dict[str, Any] = {param: value, "runs": n}
        for oc in OUTCOMES:
            k = int((grp["outcome"] == oc).sum())
            lo, hi = wilson(k, n)
            row |= {oc: k / n, f"{oc}_lo": lo, f"{oc}_hi": hi}
        rows.append(row)
    return pd.DataFrame(rows)


def phase_table(ok: pd.DataFrame, x: str, y: str, outcome: str = COLLAPSE) -> pd.DataFrame:
    """Share of runs ending in ``outcome`` on the (x, y) plane, per cell, with its interval."""
    df = pd.DataFrame(
        {
            x: levels(ok[x]).to_numpy(),
            y: levels(ok[y]).to_numpy(),
            "c": (ok["outcome"] == outcome).to_numpy(),
        }
    )
    rows = []
    for (xv, yv), grp in df.groupby([x, y], sort=True):
        k, n = int(grp["c"].sum()), len(grp)
        lo, hi = wilson(k, n)
        rows.append({x: xv, y: yv, "runs": n, "share": k / n, "lo": lo, "hi": hi})
    return pd.DataFrame(rows)


def tipping_points(phase: pd.DataFrame, x: str, y: str) -> list[tuple[float, float | None]]:
    """For each ``y`` level, the ``x`` where the outcome's share first crosses 1/2 (linear).

    Returns ``(y, x_tip)`` pairs; ``x_tip`` is None where the share never crosses 1/2.
    """
    out: list[tuple[float, float | None]] = []
    for yv, grp in phase.groupby(y, sort=True):
        g = grp.sort_values(x)
        xs, ps = g[x].to_numpy(float), g["share"].to_numpy(float)
        tip = None
        for i in range(len(xs) - 1):
            a, b = ps[i] - 0.5, ps[i + 1] - 0.5
            if a == 0:
                tip = float(xs[i])
                break
            if a * b < 0:
                tip = float(xs[i] + (xs[i + 1] - xs[i]) * a / (a - b))
                break
        out.append((float(yv), tip))
    return out


def sobol_indices(runs: pd.DataFrame, sweep: dict[str, Any], output: str) -> pd.DataFrame | None:
    """SALib Sobol indices (first and total order, 95 % intervals) of an output's point means.

    ``output`` is an outcome (the share of a point's replicates ending in it) or a numeric column
    of ``runs``. Returns None unless every design point has at least one successful run.
    """
    from SALib.analyze import sobol

    ok = runs[runs["status"] == "ok"]
    if output in OUTCOMES:
        y = (ok["outcome"] == output).astype(float)
    else:
        y = ok[output].astype(float)
    means = y.groupby(ok["point"]).mean()
    if len(means) < int(sweep["points"]):
        return None
    names = list(sweep["parameters"])
    bounds = []
    for name in names:
        col = runs[name].astype(float)
        bounds.append([float(col.min()), float(col.max())])
    problem = {"num_vars": len(names), "names": names, "bounds": bounds}
    yv = means.sort_index().to_numpy(float)
    if np.allclose(yv, yv[0]):  # no variance to apportion: the indices are undefined (0 / 0)
        return pd.DataFrame(
            {"parameter": names, "S1": np.nan, "S1_conf": np.nan, "ST": np.nan, "ST_conf": np.nan}
        )
    res = sobol.analyze(
        problem, yv, calc_second_order=False, conf_level=0.95, print_to_console=False, seed=1
    )
    return pd.DataFrame(
        {
            "parameter": names,
            "S1": res["S1"],
            "S1_conf": res["S1_conf"],
            "ST": res["ST"],
            "ST_conf": res["ST_conf"],
        }
    )


# ------------------------------------------------------------------------------------------------
# the report
# ------------------------------------------------------------------------------------------------


def write_report(
    sweep_id: str, db: str | Path, out: str | Path | None = None, outcome: str = COLLAPSE
) -> list[Path]:
    """Write the plots and ``report.md`` of one sweep; returns the files written.

    Args:
        sweep_id: The sweep id or a unique prefix of one.
        db: The results database.
        out: Output folder (default ``results/reports/<sweep id>``).
        outcome: The outcome whose share the phase diagram and the Sobol indices show.

    Raises:
        SweepError: No database, no such sweep, or no successful run yet.
    """
    with Store(db, read_only=True) as store:
        sweep = store.sweep(sweep_id)
        runs = store.runs(sweep["sweep_id"])
    sid = sweep["sweep_id"]
    params = list(sweep["parameters"])
    ok = runs[runs["status"] == "ok"].copy()
    # switches and choices are plotted at positions 0, 1, ... with their values as tick labels
    ticks: dict[str, list[str]] = {}
    for p in params:
        if ok[p].dtype == bool or not pd.api.types.is_numeric_dtype(ok[p]):
            cats = sorted(ok[p].dropna().unique(), key=str)
            ticks[p] = [str(c) for c in cats]
            ok[p] = ok[p].map({c: i for i, c in enumerate(cats)}).astype(float)
    if ok.empty:
        raise SweepError(f"sweep {sid} has no successful run yet ({len(runs)} failed)")
    folder = Path(out) if out is not None else Path("results") / "reports" / sid
    folder.mkdir(parents=True, exist_ok=True)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files: list[Path] = []
    md: list[str] = [f"# Sweep report: {sweep['title']}", ""]
    md += [
        f"- sweep id: `{sid}`",
        f"- scenario: `{sweep['scenario']}` (hash `{sweep['scenario_hash'][:12]}`)",
        f"- design: {sweep['design']}, {sweep['points']} points x {sweep['replicates']} "
        f"replicates = {sweep['runs']} runs",
        f"- runs in the database: {len(runs)} of {sweep['runs']}"
        + ("" if len(runs) == sweep["runs"] else " (incomplete: shares use the runs so far)"),
        f"- failed runs: {int((runs['status'] == 'failed').sum())} (left out of every share)",
        "- varied: " + ", ".join(f"`{p}` {_span(ok[p], ticks.get(p))}" for p in params),
        f"- package version: {sweep['version']}; model version: "
        f"{sweep.get('model_version') or 'not recorded'}",
        "",
        "## Outcomes over all runs",
        "",
        "| outcome | runs | share | 95% interval (Wilson) |",
        "|---|---|---|---|",
    ]
    n_ok = len(ok)
    for oc in OUTCOMES:
        k = int((ok["outcome"] == oc).sum())
        lo, hi = wilson(k, n_ok)
        md.append(f"| {oc} | {k} | {k / n_ok:.1%} | {lo:.1%} to {hi:.1%} |")
    md.append("")

    # phase diagram
    if len(params) >= 2:
        x, y = params[0], params[1]
        phase = phase_table(ok, x, y, outcome)
        tips = tipping_points(phase, x, y)
        fig = _phase_figure(plt, phase, tips, x, y, sweep, params[2:], outcome)
        ax = fig.axes[0]
        if x in ticks:
            ax.set_xticks(range(len(ticks[x])), ticks[x])
        if y in ticks:
            ax.set_yticks(range(len(ticks[y])), ticks[y])
        files.append(_save(plt, fig, folder / "phase_diagram.png"))
        md += [
            "## Phase diagram",
            "",
            "![phase diagram](phase_diagram.png)",
            "",
            f"Share of runs ending in {outcome} over `{x}` and `{y}`"
            + (f", averaged over {', '.join(f'`{p}`' for p in params[2:])}" if params[2:] else "")
            + ". The tipping line is where the share crosses 1/2, by linear interpolation along "
            f"`{x}`:",
            "",
            f"| `{y}` | `{x}` at the tipping point |",
            "|---|---|",
        ]
        for yv, xt in tips:
            md.append(
                f"| {_fmt(yv, ticks.get(y))} | {'no crossing' if xt is None else f'{xt:.3g}'} |"
            )
        md.append("")

    # outcome shares per parameter
    fig, axes = plt.subplots(1, len(params), figsize=(4.6 * len(params), 3.6), squeeze=False)
    md += ["## Outcome shares per parameter value", ""]
    for ax, p in zip(axes[0], params, strict=True):
        tab = outcome_table(ok, p)
        for oc in OUTCOMES:
            err = np.vstack([tab[oc] - tab[f"{oc}_lo"], tab[f"{oc}_hi"] - tab[oc]])
            ax.errorbar(
                tab[p],
                tab[oc],
                yerr=err,
                marker="o",
                ms=4,
                capsize=3,
                label=oc,
                color=OUTCOME_COLOURS[oc],
            )
        ax.set_xlabel(_label(p))
        if p in ticks:
            ax.set_xticks(range(len(ticks[p])), ticks[p])
        ax.set_ylim(-0.02, 1.02)
        ax.set_ylabel("share of runs")
        ax.grid(alpha=0.3)
        md += [
            f"### `{p}`"
            + ("" if runs[p].nunique() <= MAX_LEVELS else f" ({BINS} equal-count bins)"),
            "",
            "| value | runs | " + " | ".join(OUTCOMES) + " |",
            "|---|---|" + "---|" * len(OUTCOMES),
        ]
        for _, r in tab.iterrows():
            cells = " | ".join(
                f"{r[oc]:.0%} [{r[f'{oc}_lo']:.0%}, {r[f'{oc}_hi']:.0%}]" for oc in OUTCOMES
            )
            md.append(f"| {_fmt(r[p], ticks.get(p))} | {int(r['runs'])} | {cells} |")
        md.append("")
    axes[0][0].legend(loc="best", fontsize=8)
    fig.suptitle(f"{sweep['title']}: outcome shares with 95% Wilson intervals", fontsize=10)
    files.append(_save(plt, fig, folder / "outcome_shares.png"))

    # Sobol indices
    if sweep["design"] == "sobol":
        md += ["## Sobol indices", ""]
        tables = {o: sobol_indices(runs, sweep, o) for o in (outcome, "soldiers_left")}
        if any(t is None for t in tables.values()):
            md += [
                "Not computed: Sobol indices need a successful run at every design point; "
                "finish the sweep first.",
                "",
            ]
        else:
            fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), squeeze=False)
            for ax, (o, tab) in zip(axes[0], tables.items(), strict=True):
                assert tab is not None
                pos = np.arange(len(tab))
                ax.bar(pos - 0.2, tab["S1"], 0.4, yerr=tab["S1_conf"], capsize=3, label="first")
                ax.bar(pos + 0.2, tab["ST"], 0.4, yerr=tab["ST_conf"], capsize=3, label="total")
                ax.set_xticks(pos, [_label(p) for p in tab["parameter"]], rotation=20, fontsize=8)
                ax.set_title(f"output: {o.replace('_', ' ')} (point mean)", fontsize=9)
                ax.axhline(0, color="k", lw=0.6)
                ax.grid(alpha=0.3, axis="y")
                ax.legend(fontsize=8)
                if tab["S1"].isna().all():
                    ax.set_title(f"output: {o.replace('_', ' ')} does not vary", fontsize=9)
                    md += [f"Output `{o}` does not vary over the design: no indices.", ""]
                    continue
                md += [
                    f"Output `{o}` (mean over each point's replicates); 95% bootstrap intervals:",
                    "",
                    "| parameter | first order | total order |",
                    "|---|---|---|",
                ]
                for _, r in tab.iterrows():
                    md.append(
                        f"| `{r['parameter']}` | {r['S1']:.3f} +/- {r['S1_conf']:.3f} "
                        f"| {r['ST']:.3f} +/- {r['ST_conf']:.3f} |"
                    )
                md.append("")
            fig.suptitle(f"{sweep['title']}: Sobol indices (SALib)", fontsize=10)
            files.append(_save(plt, fig, folder / "sobol.png"))
            md += ["![Sobol indices](sobol.png)", ""]

    md += [
        "## Reproduce",
        "",
        "```sql",
        f"-- duckdb {db}",
        "SELECT " + ", ".join(quote_ident(p) for p in params) + ",",
        "       count(*) AS runs,",
        f"       avg((outcome = {quote_literal(outcome)})::INT) AS "
        f"{quote_ident(outcome + '_share')}",
        f"FROM runs WHERE sweep_id = {quote_literal(sid)} AND status = 'ok'",
        "GROUP BY ALL ORDER BY ALL;",
        "```",
        "",
    ]
    path = folder / "report.md"
    path.write_text("\n".join(md))
    files.append(path)
    return files


def _save(plt: Any, fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path


def _fmt(value: float, labels: list[str] | None) -> str:
    return labels[int(value)] if labels else f"{value:.3g}"


def _span(values: pd.Series, labels: list[str] | None) -> str:
    if labels:
        return "{" + ", ".join(labels) + "}"
    return f"[{values.min():g}, {values.max():g}]"


def _label(address: str) -> str:
    from defection.model.address import param_for

    p = param_for(address)
    return f"{address} ({p.unit})" if p is not None and p.unit else address


def _phase_figure(plt, phase, tips, x, y, sweep, others, outcome):
    xs = np.sort(phase[x].unique())
    ys = np.sort(phase[y].unique())
    grid = np.full((len(ys), len(xs)), np.nan)
    runs = np.zeros((len(ys), len(xs)), dtype=int)
    xi = {v: i for i, v in enumerate(xs)}
    yi = {v: i for i, v in enumerate(ys)}
    for _, r in phase.iterrows():
        grid[yi[r[y]], xi[r[x]]] = r["share"]
        runs[yi[r[y]], xi[r[x]]] = r["runs"]
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    edges_x = _edges(xs)
    edges_y = _edges(ys)
    mesh = ax.pcolormesh(edges_x, edges_y, grid, cmap="RdBu_r", vmin=0, vmax=1, shading="flat")
    fig.colorbar(mesh, ax=ax, label=f"share of runs ending in {outcome}")
    if len(xs) * len(ys) <= 100:
        for j, yv in enumerate(ys):
            for i, xv in enumerate(xs):
                if not np.isnan(grid[j, i]):
                    ax.text(
                        xv,
                        yv,
                        f"{grid[j, i]:.0%}",
                        ha="center",
                        va="center",
                        fontsize=7,
                        color="white" if abs(grid[j, i] - 0.5) > 0.3 else "black",
                    )
    if len(xs) >= 2 and len(ys) >= 2 and np.nanmin(grid) < 0.5 < np.nanmax(grid):
        cs = ax.contour(
            xs,
            ys,
            np.ma.masked_invalid(grid),
            levels=[0.5],
            colors="k",
            linewidths=2,
            linestyles="--",
        )
        ax.plot([], [], "k--", lw=2, label="tipping line (share = 1/2)")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), fontsize=8, frameon=False)
        del cs
    ax.set_xlabel(_label(x))
    ax.set_ylabel(_label(y))
    n = int(runs.sum())
    avg = f"; averaged over {', '.join(others)}" if others else ""
    ax.set_title(f"{sweep['title']}\n{outcome} share, {n} runs{avg}", fontsize=10)
    fig.tight_layout()
    return fig


def _edges(centres: np.ndarray) -> np.ndarray:
    c = np.asarray(centres, dtype=float)
    if len(c) == 1:
        return np.array([c[0] - 0.5, c[0] + 0.5])
    mid = (c[:-1] + c[1:]) / 2
    return np.concatenate([[c[0] - (mid[0] - c[0])], mid, [c[-1] + (c[-1] - mid[-1])]])
