"""Static figures of a run (matplotlib, no GUI backend needed)."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from defection.model.regime import RegimeModel
from defection.model.rules import SOLDIER_STATES

STATE_COLOURS = {
    "loyal": "#3b6fb6",
    "shirking": "#f2b134",
    "deserted": "#9e9e9e",
    "defected": "#d1495b",
    "detained": "#4a4a4a",
}


def cascade_figure(model: RegimeModel, ts: pd.DataFrame, groups: pd.DataFrame) -> Figure:
    """The cascade over time: soldiers by state, exits by identity group and rank, protest, belief.

    The outcome day, when there is one, is marked on every panel.
    """
    fig = Figure(figsize=(10, 8.5), layout="constrained")
    ax1, ax2, ax3 = fig.subplots(3, 1, sharex=True)
    day = ts["day"]
    ax1.stackplot(
        day,
        [ts[f"soldiers_{s}"] for s in SOLDIER_STATES],
        labels=SOLDIER_STATES,
        colors=[STATE_COLOURS[s] for s in SOLDIER_STATES],
    )
    ax1.set_ylabel("share of soldiers")
    ax1.set_ylim(0, 1)
    ax1.legend(loc="lower left", ncols=5, fontsize=8)
    title = f"{model.scenario_def.title}: {model.outcome or 'running'}"
    if model.outcome_day is not None:
        title += f" on day {model.outcome_day} ({model.outcome_rule})"
    ax1.set_title(title)
    # exits by identity group and rank
    g = groups.copy()
    g["left"] = g["deserted"] + g["defected"]
    g["total"] = g[list(SOLDIER_STATES)].sum(axis=1)
    agg = g.groupby(["day", "group", "rank"], observed=True)[["left", "total"]].sum()
    agg = agg[agg["total"] > 0]
    share = (agg["left"] / agg["total"]).unstack(["group", "rank"])
    styles = {"conscript": "-", "nco": "--", "officer": ":"}
    for (gname, rname), series in share.items():
        if series.max() > 0 or rname == "officer":
            ax2.plot(series.index, series.values, styles[rname], label=f"{gname} {rname}s")
    ax2.set_ylabel("share deserted or defected")
    ax2.legend(fontsize=7, ncols=3, loc="upper left")
    ax3.plot(day, ts["active_protesters"], color="#d1495b", label="active protesters (share)")
    ax3.plot(day, ts["elites_defected"], color="#6a4c93", label="elites defected (share)")
    ax3.plot(day, ts["belief_survival"], color="#3b6fb6", label="belief regime survives")
    ax3.set_ylim(0, 1)
    ax3.set_xlabel("day")
    ax3.legend(fontsize=8, loc="upper right")
    if model.outcome_day is not None:
        for ax in (ax1, ax2, ax3):
            ax.axvline(model.outcome_day, color="black", lw=1, ls="--")
    return fig
