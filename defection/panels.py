"""The three time-series panels of a run, drawn by one set of classes for every picture.

The run's summary figure (``cascade.png``, :mod:`defection.plots`) and the browser UI's charts
(:class:`defection.viz.render.ChartPainter`) both show:

1. :class:`StatePanel`: the force by state, as stacked shares of the initial force;
2. :class:`ExitPanel`: per identity group (and rank, in the summary figure), the share of its
   soldiers who deserted or defected (solid) and, in the UI, who shirk (dotted);
3. :func:`protest_panel`: active protesters, elites defected and the public belief that the regime
   survives.

Each panel makes its artists once and :meth:`update` only changes their data, so the UI, which
redraws every day, keeps its speed; the summary figure makes the panels and updates them once.
The module reads names and colours from :mod:`defection.model.outputs` and never imports the
model: its inputs are arrays.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.patches import Patch
from numpy.typing import ArrayLike, NDArray

from defection.model.outputs import (
    RANKS,
    SERIES_COLOURS,
    SERIES_LABELS,
    SOLDIER_STATES,
    STATE_COLOURS,
    group_count_array,
)
from defection.model.rules import DEFECTED, DESERTED, SHIRKING

#: Line style of each rank in the exit panel, when it is drawn by rank.
RANK_STYLES = {"conscript": "-", "nco": "--", "officer": ":"}
#: The series of the protest panel.
PROTEST_SERIES = ("active_protesters", "elites_defected", "belief_survival")


def run_title(
    title: str,
    outcome: str | None,
    outcome_day: int | None,
    outcome_rule: str | None,
    day: int | None = None,
) -> str:
    """A run's title line: scenario title, the day (if given) and the outcome once decided."""
    text = title if day is None else f"{title}, day {day}"
    if outcome is None:
        return text if day is not None else f"{text}: running"
    return f"{text}: {outcome} on day {outcome_day} ({outcome_rule})"


def set_days(axes: Sequence[Axes], last_day: int) -> None:
    """Show days ``0`` to ``last_day`` (at least 10) on the panels' shared x axis."""
    for ax in axes:
        ax.set_xlim(0, max(10, last_day))


def mark_outcome(axes: Sequence[Axes], day: int, note: str | None = None) -> None:
    """A dashed line at the outcome day on every panel; ``note`` is written by the last one."""
    for ax in axes:
        ax.axvline(day, color="black", lw=1.2, ls="--")
    if note:
        axes[-1].annotate(note, (day, 0.95), fontsize=7, ha="right", va="top")


class StatePanel:
    """Panel 1: the force by state, stacked shares of the initial force."""

    def __init__(self, ax: Axes, fontsize: float = 7):
        self.ax = ax
        ax.set_ylim(0, 1)
        ax.set_ylabel("share of soldiers")
        ax.legend(
            handles=[Patch(color=STATE_COLOURS[s], label=s) for s in SOLDIER_STATES],
            loc="lower left",
            ncols=len(SOLDIER_STATES),
            fontsize=fontsize,
        )
        self._stack: list[Any] = []

    def update(self, day: ArrayLike, series: Mapping[str, ArrayLike]) -> None:
        """Redraw the stack from the ``soldiers_<state>`` series (a frame or dict of arrays)."""
        for art in self._stack:
            art.remove()
        self._stack = self.ax.stackplot(
            np.asarray(day),
            [np.asarray(series[f"soldiers_{s}"]) for s in SOLDIER_STATES],
            colors=[STATE_COLOURS[s] for s in SOLDIER_STATES],
        )


@dataclass(frozen=True)
class Line:
    """One line of a :class:`LinePanel`: its key in the data, legend label, style and colour."""

    key: Hashable
    label: str | None = None
    style: str = "-"
    colour: str | None = None
    colour_of: Hashable | None = None  # take the colour of the line with this key


class LinePanel:
    """A panel of lines made once; :meth:`update` sets their data.

    Args:
        ax: The axes.
        lines: The lines, in drawing order.
        ylabel: Label of the y axis.
        ylim: Fixed y range; ``None`` fits the top to the data (at least 0.05, at most 1).
        title: Small title over the panel.
        legend: Keyword arguments of the legend (``None``: no legend).
    """

    def __init__(
        self,
        ax: Axes,
        lines: Sequence[Line],
        ylabel: str,
        ylim: tuple[float, float] | None = None,
        title: str | None = None,
        legend: dict[str, Any] | None = None,
    ):
        self.ax, self.ylim = ax, ylim
        self.lines = {}
        for ln in lines:
            colour = ln.colour
            if colour is None and ln.colour_of is not None:
                colour = self.lines[ln.colour_of].get_color()
            (self.lines[ln.key],) = ax.plot([], [], ln.style, color=colour, label=ln.label)
        ax.set_ylabel(ylabel)
        if ylim is not None:
            ax.set_ylim(*ylim)
        if title:
            ax.set_title(title, fontsize=8)
        if legend is not None and any(ln.label for ln in lines):
            ax.legend(**legend)

    def update(self, day: ArrayLike, values: Mapping[Hashable, ArrayLike]) -> None:
        """Set every line's data (``values[key]`` per line) and, without a fixed range, the top."""
        day = np.asarray(day)
        top = 0.05
        for key, line in self.lines.items():
            y = np.asarray(values[key], dtype=float)
            line.set_data(day, y)
            if y.size:
                top = max(top, float(np.nanmax(y)))
        if self.ylim is None:
            self.ax.set_ylim(0, min(1.0, top * 1.15))


def protest_panel(ax: Axes, fontsize: float = 7) -> LinePanel:
    """Panel 3: active protesters, elites defected and the belief that the regime survives."""
    lines = [Line(k, SERIES_LABELS[k], "-", SERIES_COLOURS[k]) for k in PROTEST_SERIES]
    ax.set_xlabel("day")
    return LinePanel(
        ax, lines, "share", ylim=(0, 1), legend={"fontsize": fontsize, "loc": "center left"}
    )


def group_state_shares(
    group_counts: ArrayLike, n_regions: int, n_groups: int, by_rank: bool = False
) -> NDArray[np.float64]:
    """Per day, the share of each identity group's soldiers (by rank if asked) in each state.

    Args:
        group_counts: The model's per-day group counts (``RegimeModel.group_counts``).
        n_regions: Regions in the model.
        n_groups: Identity groups in the model.
        by_rank: Keep the rank axis.

    Returns:
        ``(days, groups, states)``, or ``(days, groups, ranks, states)`` with ``by_rank``.
    """
    arr = group_count_array(group_counts, n_regions, n_groups, dtype=float)
    counts = arr.sum(axis=1) if by_rank else arr.sum(axis=(1, 3))
    return counts / np.maximum(counts.sum(axis=-1, keepdims=True), 1)


class ExitPanel:
    """Panel 2: per identity group, the share of its soldiers who deserted or defected.

    Args:
        ax: The axes.
        group_names: Names of the model's identity groups.
        keys: Which lines: ``group`` indices, or ``(group, rank)`` pairs to draw by rank (the
            style then tells the rank, :data:`RANK_STYLES`).
        shirking: Also draw, dotted in the group's colour, the share who shirk.
        fontsize: Legend font size.
    """

    def __init__(
        self,
        ax: Axes,
        group_names: Sequence[str],
        keys: Sequence[int | tuple[int, int]],
        shirking: bool = False,
        fontsize: float = 7,
    ):
        self.keys = list(keys)
        self.shirking = shirking
        lines = []
        for k in self.keys:
            if isinstance(k, tuple):
                g, r = k
                label = f"{group_names[g]} {RANKS[r]}s"
                lines.append(Line(("left", k), label, RANK_STYLES[RANKS[r]]))
            else:
                lines.append(Line(("left", k), group_names[k]))
            if shirking:
                lines.append(Line(("shirking", k), None, ":", colour_of=("left", k)))
        title = (
            "deserted or defected (solid), shirking (dotted), by identity group"
            if shirking
            else "deserted or defected, by identity group and rank"
        )
        self.panel = LinePanel(
            ax,
            lines,
            "share of group",
            title=title,
            legend={"fontsize": fontsize, "ncols": 3, "loc": "upper left"},
        )

    def update(self, day: ArrayLike, shares: NDArray[np.float64]) -> None:
        """Set the lines from :func:`group_state_shares` (by rank if the keys are pairs)."""
        values: dict[Hashable, NDArray[np.float64]] = {}
        for k in self.keys:
            s = shares[(slice(None), *k)] if isinstance(k, tuple) else shares[:, k]
            values[("left", k)] = s[:, DEFECTED] + s[:, DESERTED]
            if self.shirking:
                values[("shirking", k)] = s[:, SHIRKING]
        self.panel.update(day, values)
