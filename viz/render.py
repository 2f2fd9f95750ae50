"""Pictures of a running model for the browser UI: pure functions from a model to PNG bytes.

Nothing here imports Solara, so the pictures can be made (and timed, and tested) without a
server. The unit network view (:class:`UnitNetworkPainter`) draws the force at company level on a
hierarchical layout computed once per unit structure (:func:`unit_layout`, cached); the map view
draws each region's grid as a small image straight from the model's arrays; the charts
(:class:`ChartPainter`) are the panels of the run's summary figure (:mod:`defection.panels`).
"""

from __future__ import annotations

import hashlib
import io
import math
from dataclasses import dataclass

import numpy as np
from matplotlib.collections import LineCollection, PatchCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, Patch, Wedge
from numpy.typing import NDArray
from PIL import Image
from scipy import sparse

from defection.model.outputs import (
    PROTESTER_COLOURS,
    SOLDIER_STATES,
    STATE_COLOURS,
)
from defection.model.regime import RegimeModel
from defection.model.rules import ACTIVE, JAILED, LOYAL, QUIET, SHIRKING
from defection.panels import (
    ExitPanel,
    StatePanel,
    group_state_shares,
    mark_outcome,
    protest_panel,
    run_title,
    set_days,
)

#: Colours of the map view (cell contents), also shown as the map's legend.
MAP_COLOURS: dict[str, str] = {
    "empty": "#ffffff",
    "quiet": PROTESTER_COLOURS["quiet"],
    "active": PROTESTER_COLOURS["active"],
    "jailed": PROTESTER_COLOURS["jailed"],
    "soldier on duty": "#1f3f7a",
    "soldier in barracks": "#8fb3e3",
    "soldier shirking": STATE_COLOURS["shirking"],
}
DPI = 80


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    h = hex_colour.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def png(fig: Figure) -> bytes:
    """Render a matplotlib figure to PNG bytes (Agg, no GUI backend)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


# ------------------------------------------------------------------------------------------------
# unit network view: the force as a network of companies
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnitLayout:
    """Positions of the company-level network (computed once per unit structure).

    Attributes:
        company_xy: ``(companies, 2)`` node centres.
        radius: Node radius per company (grows with company size).
        guard: Guard-unit flag per company.
        battalion_xy: ``(battalions, 2)`` battalion hub positions.
        hierarchy: ``(k, 2, 2)`` segments company-battalion.
        ties: ``(m, 2, 2)`` segments between companies with cross ties.
        tie_weight: Cross-tie count per segment in ``ties``.
        region_xy: ``(regions, 2)`` label positions.
        region_names: Region names, in model order.
        extent: ``(xmin, xmax, ymin, ymax)`` of the drawing.
    """

    company_xy: NDArray[np.float64]
    radius: NDArray[np.float64]
    guard: NDArray[np.bool_]
    battalion_xy: NDArray[np.float64]
    hierarchy: NDArray[np.float64]
    ties: NDArray[np.float64]
    tie_weight: NDArray[np.float64]
    region_xy: NDArray[np.float64]
    region_names: tuple[str, ...]
    extent: tuple[float, float, float, float]


_LAYOUTS: dict[str, UnitLayout] = {}
_MAX_LAYOUTS = 64


def _structure_key(model: RegimeModel) -> str:
    u = model.units
    h = hashlib.sha256()
    for a in (u.company_commander, u.battalion, u.battalion_region, u.battalion_guard):
        h.update(np.ascontiguousarray(a).tobytes())
        h.update(b"|")
    h.update("\x00".join(model.region_names).encode())
    return f"{model.scenario_def.name}:{h.hexdigest()}"


def unit_layout(model: RegimeModel) -> UnitLayout:
    """The company-level layout of a model's force, computed once per unit structure.

    Hierarchical and deterministic (no force-directed layout): regions sit on a grid of unit
    squares, a region's battalions on a ring inside its square (one battalion: at the centre), and
    each battalion's companies on a small ring around it. Layouts are cached by scenario and unit
    structure, so a reset with the same scenario and seed reuses the previous one.
    """
    key = _structure_key(model)
    cached = _LAYOUTS.get(key)
    if cached is not None:
        return cached
    u = model.units
    R = len(model.region_names)
    n_co = u.company_size.size
    n_bn = u.battalion_region.size
    co_bn = u.battalion[u.company_commander] if n_co else np.zeros(0, dtype=np.int64)
    cols = max(1, math.ceil(math.sqrt(R)))
    rows = max(1, math.ceil(R / cols))
    region_xy = np.array([[r % cols + 0.5, rows - 1 - r // cols + 0.5] for r in range(R)], float)
    bn_xy = np.zeros((n_bn, 2))
    co_xy = np.zeros((n_co, 2))
    radius = np.zeros(n_co)
    max_size = max(int(u.company_size.max()), 1) if n_co else 1
    for r in range(R):
        bns = np.flatnonzero(u.battalion_region == r)
        k = bns.size
        if k == 0:
            continue
        ring = 0.0 if k == 1 else 0.28
        ang = 2 * np.pi * np.arange(k) / k + np.pi / 2
        bn_xy[bns] = region_xy[r] + ring * np.c_[np.cos(ang), np.sin(ang)] - [0, 0.04]
        # companies on a ring around their battalion, small enough not to touch the neighbours
        gap = 0.3 if k == 1 else 2 * ring * math.sin(math.pi / k)
        for b in bns:
            cos = np.flatnonzero(co_bn == b)
            m = cos.size
            r_co = min(0.13, 0.42 * gap) if m > 1 else 0.0
            a = 2 * np.pi * np.arange(m) / max(m, 1) + np.pi / 2
            co_xy[cos] = bn_xy[b] + r_co * np.c_[np.cos(a), np.sin(a)]
            spacing = 2 * r_co * math.sin(math.pi / m) if m > 1 else 0.2
            r_node = min(0.055, 0.45 * spacing, 0.45 * gap)
            radius[cos] = r_node * np.sqrt(u.company_size[cos] / max_size).clip(0.5, 1)
    hierarchy = np.stack([co_xy, bn_xy[co_bn]], axis=1) if n_co else np.zeros((0, 2, 2))
    # cross ties aggregated to companies: W = C^T A C, off-diagonal
    if n_co:
        n = u.company.size
        C = sparse.csr_array((np.ones(n), (np.arange(n), u.company)), shape=(n, n_co))
        W = sparse.triu(C.T @ u.adjacency @ C, k=1).tocoo()
        ties = np.stack([co_xy[W.row], co_xy[W.col]], axis=1)
        weight = np.asarray(W.data, dtype=float)
    else:
        ties, weight = np.zeros((0, 2, 2)), np.zeros(0)
    guard = u.battalion_guard[co_bn] if n_co else np.zeros(0, dtype=bool)
    layout = UnitLayout(
        company_xy=co_xy,
        radius=radius,
        guard=guard,
        battalion_xy=bn_xy,
        hierarchy=hierarchy,
        ties=ties,
        tie_weight=weight,
        region_xy=region_xy,
        region_names=tuple(model.region_names),
        extent=(0.0, float(cols), 0.0, float(rows)),
    )
    if len(_LAYOUTS) >= _MAX_LAYOUTS:
        _LAYOUTS.pop(next(iter(_LAYOUTS)))  # forget the oldest
    _LAYOUTS[key] = layout
    return layout


def company_shares(model: RegimeModel) -> NDArray[np.float64]:
    """Per company, the share of its soldiers in each state (columns: ``SOLDIER_STATES``)."""
    u, s = model.units, model.soldiers
    n_co = u.company_size.size
    counts = np.bincount(u.company * 5 + s.state, minlength=n_co * 5).reshape(n_co, 5)
    return counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)


class UnitNetworkPainter:
    """Draws the force as a network of companies, each a pie of its soldiers' states.

    Guard companies have a thick black ring. Grey spokes join a company to its battalion; faint
    lines join companies whose soldiers have cross ties (thicker: more ties). Region names turn
    red once the region had a defection. The figure and its static parts (layout, edges, legend)
    are made once per model; :meth:`draw` only replaces the pies and recolours the labels.
    """

    def __init__(self, model: RegimeModel, layout: UnitLayout | None = None):
        self.layout = layout = layout or unit_layout(model)
        x0, x1, y0, y1 = layout.extent
        w = 7.0
        h = max(3.0, min(9.0, w * (y1 - y0) / max(x1 - x0, 1e-9) + 0.6))
        self.figure = fig = Figure(figsize=(w, h))
        self.ax = ax = fig.add_axes((0, 0, 1, 0.94))
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_aspect("equal")
        ax.axis("off")
        if layout.ties.size:
            wmax = layout.tie_weight.max()
            ax.add_collection(
                LineCollection(
                    layout.ties, colors="#b0b0b0", linewidths=0.3 + 1.2 * layout.tie_weight / wmax
                )
            )
        if layout.hierarchy.size:
            ax.add_collection(LineCollection(layout.hierarchy, colors="#707070", linewidths=0.8))
        ax.scatter(*layout.battalion_xy.T, s=6, c="#707070", zorder=2)
        g = layout.guard
        rings = [
            Circle(xy, r) for xy, r in zip(layout.company_xy[g], layout.radius[g], strict=True)
        ]
        if rings:
            ax.add_collection(
                PatchCollection(
                    rings, facecolors="none", edgecolors="black", linewidths=2, zorder=4
                )
            )
        self.labels = [
            ax.text(xy[0], xy[1] + 0.45, name, ha="center", va="center", fontsize=8)
            for name, xy in zip(layout.region_names, layout.region_xy, strict=True)
        ]
        handles: list = [Patch(color=STATE_COLOURS[s], label=s) for s in SOLDIER_STATES]
        handles.append(
            Line2D([], [], marker="o", ls="", mfc="white", mec="black", mew=2, label="guard unit")
        )
        fig.legend(handles=handles, loc="upper center", ncols=6, fontsize=7, frameon=False)
        self._pies: PatchCollection | None = None

    def draw(self, model: RegimeModel) -> Figure:
        """Update the pies and labels to the model's current state; return the figure."""
        lay = self.layout
        shares = company_shares(model)
        palette = [STATE_COLOURS[s] for s in SOLDIER_STATES]
        wedges, colours = [], []
        for c in range(shares.shape[0]):
            start = 90.0
            for st in np.flatnonzero(shares[c] > 0):
                sweep = 360.0 * shares[c, st]
                wedges.append(Wedge(lay.company_xy[c], lay.radius[c], start, start + sweep))
                colours.append(palette[st])
                start += sweep
        if self._pies is not None:
            self._pies.remove()
            self._pies = None
        if wedges:
            self._pies = PatchCollection(wedges, facecolors=colours, edgecolors="none", zorder=3)
            self.ax.add_collection(self._pies)
        had = model.region_had_defection()
        for label, h in zip(self.labels, had, strict=True):
            label.set_color("#d1495b" if h else "black")
            label.set_fontweight("bold" if h else "normal")
        return self.figure

    def png(self, model: RegimeModel) -> bytes:
        """PNG of the updated figure."""
        return png(self.draw(model))


# ------------------------------------------------------------------------------------------------
# map view: each region's grid
# ------------------------------------------------------------------------------------------------


def region_images(model: RegimeModel, scale: int = 4) -> list[NDArray[np.uint8]]:
    """One RGB image per region: protesters by state and soldiers standing on the grid.

    Soldiers who deserted, defected or were detained have left the grid; loyal soldiers are drawn
    dark on crowd duty and light in barracks, shirkers in the shirking colour.
    """
    R, H, W = model.grid.R, model.grid.H, model.grid.W
    cells = R * H * W
    code = np.zeros(cells, dtype=np.int8)  # index into palette below
    pr, s = model.protesters, model.soldiers
    on = pr.pos >= 0
    code[pr.pos[on & (pr.state == QUIET)]] = 1
    code[pr.pos[on & (pr.state == ACTIVE)]] = 2
    code[pr.pos[on & (pr.state == JAILED)]] = 3
    placed = s.pos >= 0
    loyal = placed & (s.state == LOYAL)
    code[s.pos[loyal & s.on_duty]] = 4
    code[s.pos[loyal & ~s.on_duty]] = 5
    code[s.pos[placed & (s.state == SHIRKING)]] = 6
    palette = np.array([_rgb(c) for c in MAP_COLOURS.values()], dtype=np.uint8)
    img = palette[code].reshape(R, H, W, 3)
    if scale > 1:
        img = img.repeat(scale, axis=1).repeat(scale, axis=2)
    return list(img)


def image_png(rgb: NDArray[np.uint8]) -> bytes:
    """Encode an RGB array as PNG bytes."""
    buf = io.BytesIO()
    Image.fromarray(rgb, "RGB").save(buf, format="png", compress_level=1)
    return buf.getvalue()


def region_pngs(model: RegimeModel) -> list[bytes]:
    """PNG bytes of :func:`region_images`, one per region."""
    return [image_png(img) for img in region_images(model)]


def region_summaries(model: RegimeModel) -> list[dict[str, float | str | bool]]:
    """Per region: name and shares shown under its map panel."""
    pr = model.protesters
    R = len(model.region_names)
    n_p = np.maximum(np.bincount(pr.region, minlength=R), 1)
    act = np.bincount(pr.region, weights=pr.state == ACTIVE, minlength=R) / n_p
    jail = np.bincount(pr.region, weights=pr.state == JAILED, minlength=R) / n_p
    left = model.region_defected_share()
    had = model.region_had_defection()
    return [
        {
            "name": model.region_names[r],
            "active": float(act[r]),
            "jailed": float(jail[r]),
            "left": float(left[r]),
            "legitimacy": float(model.legitimacy[r]),
            "had_defection": bool(had[r]),
        }
        for r in range(R)
    ]


# ------------------------------------------------------------------------------------------------
# charts
# ------------------------------------------------------------------------------------------------


def group_state_series(model: RegimeModel) -> NDArray[np.float64]:
    """``(days + 1, groups, 5)``: share of each identity group's soldiers in each state by day."""
    return group_state_shares(model.group_counts, len(model.region_names), model.n_groups)


class ChartPainter:
    """Draws the time series: soldiers by state, exits by identity group, protest and belief.

    The panels are those of the run's summary figure (:mod:`defection.panels`): (1) the force by
    state (stacked shares); (2) per identity group (the largest ``max_groups``), the share of its
    soldiers who deserted or defected (solid) and who shirk (dotted); (3) active protesters,
    elites defected and the public belief that the regime survives. Once the outcome is decided a
    dashed line marks its day on every panel. The figure and the panels' artists are made once per
    model; :meth:`draw` updates their data.
    """

    def __init__(self, model: RegimeModel, max_groups: int = 6):
        self.figure = fig = Figure(figsize=(7, 6.2))
        fig.subplots_adjust(left=0.09, right=0.98, top=0.95, bottom=0.08, hspace=0.3)
        self.axes = ax1, ax2, ax3 = fig.subplots(3, 1, sharex=True)
        self.states = StatePanel(ax1)
        self.title = ax1.set_title("", fontsize=10)
        sizes = np.bincount(model.soldiers.group, minlength=model.n_groups)
        order = np.argsort(-sizes, kind="stable")[:max_groups]
        self.groups = [int(g) for g in order if sizes[g] > 0]
        self.exits = ExitPanel(ax2, model.group_names, self.groups, shirking=True)
        self.protest = protest_panel(ax3)
        self._marked = False

    def draw(self, model: RegimeModel) -> Figure:
        """Update every panel to the model's history so far; return the figure."""
        df = model.datacollector.get_model_vars_dataframe()
        day = df["day"].to_numpy()
        self.states.update(day, df)
        self.title.set_text(
            run_title(
                model.scenario_def.title,
                model.outcome,
                model.outcome_day,
                model.outcome_rule,
                day=model.day,
            )
        )
        self.exits.update(day, group_state_series(model))
        self.protest.update(day, df)
        set_days(self.axes, model.day)
        if model.outcome_day is not None and not self._marked:
            mark_outcome(self.axes, model.outcome_day, f"{model.outcome}, day {model.outcome_day}")
            self._marked = True
        return self.figure

    def png(self, model: RegimeModel) -> bytes:
        """PNG of the updated figure."""
        return png(self.draw(model))
