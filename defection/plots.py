"""Static figures of a run (matplotlib, no GUI backend needed)."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from defection.model.outputs import RANKS, group_count_array
from defection.model.regime import RegimeModel
from defection.model.rules import DEFECTED, DESERTED
from defection.panels import (
    ExitPanel,
    StatePanel,
    group_state_shares,
    mark_outcome,
    protest_panel,
    run_title,
    set_days,
)


def summary_figure(model: RegimeModel, ts: pd.DataFrame) -> Figure:
    """The run's summary figure (``cascade.png``): its time series in three panels.

    Soldiers by state; the share of each identity group and rank who deserted or defected (ranks
    drawn only where some left, officers always); active protesters, elites defected and the
    public belief that the regime survives. The panels are those of the UI's charts
    (:mod:`defection.panels`). The outcome day, when there is one, is marked on every panel.

    Args:
        model: The model after its last day.
        ts: Its DataCollector frame.
    """
    fig = Figure(figsize=(10, 8.5), layout="constrained")
    axes = ax1, ax2, ax3 = fig.subplots(3, 1, sharex=True)
    day = ts["day"].to_numpy()
    StatePanel(ax1, fontsize=8).update(day, ts)
    ax1.set_title(
        run_title(model.scenario_def.title, model.outcome, model.outcome_day, model.outcome_rule)
    )
    R, G = len(model.region_names), model.n_groups
    shares = group_state_shares(model.group_counts, R, G, by_rank=True)
    sizes = group_count_array(model.group_counts[:1], R, G).sum(axis=(0, 1, 4))  # (G, ranks)
    some_left = (shares[..., DEFECTED] + shares[..., DESERTED]).max(axis=0) > 0  # (G, ranks)
    some_left[:, RANKS.index("officer")] = True
    keys = [(g, r) for g in range(G) for r in range(len(RANKS)) if sizes[g, r] and some_left[g, r]]
    ExitPanel(ax2, model.group_names, keys).update(day, shares)
    protest_panel(ax3, fontsize=8).update(day, ts)
    set_days(axes, int(day[-1]) if day.size else 0)
    if model.outcome_day is not None:
        mark_outcome(axes, model.outcome_day)
    return fig
