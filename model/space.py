"""Vectorized grid operations on a stack of torus grids, one per region.

Cells are addressed by a flat index ``r * H * W + y * W + x``. Neighbourhood counts use FFT
convolution with a von Neumann (diamond) kernel on each torus; movement and arrests are
vectorized with random priorities instead of Mesa's one-agent-at-a-time loop.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.typing import NDArray
from scipy import fft as sfft


@lru_cache(maxsize=32)
def diamond_offsets(radius: int) -> NDArray[np.int64]:
    """Offsets ``(dy, dx)`` with ``1 <= |dy| + |dx| <= radius``: Mesa's von Neumann neighbourhood.

    Mesa's ``OrthogonalVonNeumannGrid.get_neighborhood(radius)`` returns the cells within
    Manhattan distance ``radius``, without the centre.
    """
    r = int(radius)
    dy, dx = np.mgrid[-r : r + 1, -r : r + 1]
    mask = (np.abs(dy) + np.abs(dx) <= r) & ((dy != 0) | (dx != 0))
    return np.stack([dy[mask], dx[mask]], axis=1)


class GridStack:
    """``R`` torus grids of ``H x W`` cells with cached FFT kernels."""

    def __init__(self, regions: int, height: int, width: int):
        self.R, self.H, self.W = regions, height, width
        self.cells = regions * height * width
        self._kernels: dict[int, NDArray[np.complex64]] = {}
        # per-cell coordinates, gathered instead of recomputed with divisions
        idx = np.arange(self.cells, dtype=np.int64)
        self.cell_base = (idx // (height * width)) * (height * width)
        self.cell_y = (idx // width) % height
        self.cell_x = idx % width
        # wrap tables: row (col) index y + dy, shifted by the largest offset, to its torus row
        self._pad = max(height, width)
        self._wrap_y = np.arange(-self._pad, height + self._pad) % height * width
        self._wrap_x = np.arange(-self._pad, width + self._pad) % width
        self._scratch_f = np.full(self.cells, -1.0)
        self._scratch_i = np.full(self.cells, -1, dtype=np.int64)
        self._offset_tables: dict[int, tuple[NDArray[np.int64], NDArray[np.int64]]] = {}

    def kernel(self, radius: int) -> NDArray[np.complex128]:
        """Real FFT of the diamond kernel of ``radius`` (centre excluded)."""
        if radius not in self._kernels:
            k = np.zeros((self.H, self.W))
            off = diamond_offsets(radius)
            np.add.at(k, (off[:, 0] % self.H, off[:, 1] % self.W), 1.0)
            k = np.minimum(k, 1.0)  # a radius wider than the grid must not count a cell twice
            self._kernels[radius] = sfft.rfft2(k.astype(np.float32))
        return self._kernels[radius]

    def count(self, layers: NDArray[np.float64], radius: int) -> NDArray[np.int32]:
        """Count, for every cell, the marked cells within ``radius`` (centre excluded).

        Args:
            layers: Array ``(n, R*H*W)`` of 0/1 marks (n layers counted at once).
            radius: Von Neumann radius.

        Returns:
            Integer counts, same shape as ``layers``.
        """
        n = layers.shape[0]
        grid = layers.reshape(n, self.R, self.H, self.W).astype(np.float32, copy=False)
        # Single precision: counts are integers of at most a few hundred and the FFT's rounding
        # error stays far below 0.5 (tests/test_space.py checks against direct sums).
        spec = sfft.rfft2(grid, axes=(-2, -1))
        spec *= self.kernel(radius)
        out = sfft.irfft2(spec, s=(self.H, self.W), axes=(-2, -1))
        return np.rint(out).astype(np.int32).reshape(n, self.cells)

    def shift(self, pos: NDArray[np.int64], offsets: NDArray[np.int64]) -> NDArray[np.int64]:
        """Cells reached from ``pos`` by ``offsets`` (rows ``(dy, dx)``), wrapping on each torus."""
        # offsets are smaller than the grid: wrap by table look-up instead of division
        y = self._wrap_y[self.cell_y[pos] + (offsets[..., 0] + self._pad)]
        x = self._wrap_x[self.cell_x[pos] + (offsets[..., 1] + self._pad)]
        return self.cell_base[pos] + y + x

    def shift_by_index(self, pos: NDArray[np.int64], radius: int, k: NDArray[np.int64]):
        """Cells reached from ``pos`` by the ``k``-th offset of the diamond of ``radius``."""
        if radius not in self._offset_tables:
            off = diamond_offsets(radius)
            self._offset_tables[radius] = (off[:, 0] + self._pad, off[:, 1] + self._pad)
        dy, dx = self._offset_tables[radius]
        y = self._wrap_y[self.cell_y[pos] + dy[k]]
        x = self._wrap_x[self.cell_x[pos] + dx[k]]
        return self.cell_base[pos] + y + x

    def resolve(self, target: NDArray[np.int64], priority: NDArray[np.float64]):
        """Winners of claims on cells: per cell, the claim with the highest priority.

        Args:
            target: Cell claimed by each claimant.
            priority: Distinct random priorities of the claimants.

        Returns:
            Boolean mask of winning claims (exactly one per claimed cell).
        """
        best, who = self._scratch_f, self._scratch_i
        np.maximum.at(best, target, priority)
        win = best[target] == priority
        # exact ties (probability ~0) are broken by claimant order
        order = np.arange(target.size)
        who[target[win]] = order[win]
        win &= who[target] == order
        best[target] = -1.0  # reset only what was touched
        who[target] = -1
        return win


def move(
    grid: GridStack,
    occupant: NDArray[np.int64],
    pos: NDArray[np.int64],
    movers: NDArray[np.int64],
    radii: int | NDArray[np.int64],
    offset_draws: NDArray[np.float64],
    priority_draws: NDArray[np.float64],
) -> None:
    """Move agents to random empty cells in their vision, in rounds of simultaneous proposals.

    In each round every mover not yet moved proposes a uniformly random cell of its von Neumann
    neighbourhood; proposals to cells that are empty at that moment are granted, one per cell (the
    highest random priority wins). Mesa's example instead moves agents one at a time to a random
    empty neighbour; this vectorized form is a documented deviation (docs/ODD.md) that moves
    slightly fewer agents per day.

    Args:
        grid: The grid stack.
        occupant: Per cell, the agent occupying it or -1 (updated in place).
        pos: Per agent, its cell (updated in place).
        movers: Agents that may move.
        radii: Vision radius, one for all movers or one per mover.
        offset_draws: Uniform draws, shape ``(rounds, len(movers))``.
        priority_draws: Uniform draws, shape ``(rounds, len(movers))``.
    """
    pending = np.ones(len(movers), dtype=bool)
    if np.isscalar(radii):
        groups = [(int(radii), None)]
    else:
        groups = [(int(r), radii == r) for r in np.unique(radii)]
    for rnd in range(offset_draws.shape[0]):
        idx = np.flatnonzero(pending)
        if idx.size == 0:
            return
        agents = movers[idx]
        target = np.empty(idx.size, dtype=np.int64)
        for rad, mask in groups:
            sel = slice(None) if mask is None else mask[idx]
            n_off = len(diamond_offsets(rad))
            k = (offset_draws[rnd, idx[sel]] * n_off).astype(np.int64)
            target[sel] = grid.shift_by_index(pos[agents[sel]], rad, k)
        ok = occupant[target] < 0
        idx, agents, target = idx[ok], agents[ok], target[ok]
        if idx.size == 0:
            continue
        win = grid.resolve(target, priority_draws[rnd, idx])
        a, t = agents[win], target[win]
        occupant[pos[a]] = -1
        occupant[t] = a
        pos[a] = t
        pending[idx[win]] = False


def arrest(
    grid: GridStack,
    cop_pos: NDArray[np.int64],
    radius: int,
    occupant: NDArray[np.int64],
    is_active: NDArray[np.bool_],
    pick_draws: NDArray[np.float64],
    priority_draws: NDArray[np.float64],
) -> NDArray[np.int64]:
    """Each cop arrests one random active protester in its vision; returns the arrested agents.

    Like Mesa's ``Cop.step``: a cop picks uniformly among the actives it sees. Cops act
    simultaneously; when two pick the same protester the higher priority wins and the other picks
    again among those still free, for as many rounds as ``pick_draws`` has (a documented deviation
    from Mesa's one-at-a-time order).

    Args:
        grid: The grid stack.
        cop_pos: Cells of the cops.
        radius: Cops' von Neumann vision.
        occupant: Per cell, the agent there or -1.
        is_active: Per agent id (grid agents), whether it is an active protester (updated: the
            arrested are cleared).
        pick_draws: Uniform draws ``(rounds, n_cops)``.
        priority_draws: Uniform draws ``(rounds, n_cops)``.

    Returns:
        Agent ids arrested, in no particular order.
    """
    if cop_pos.size == 0:
        return np.empty(0, dtype=np.int64)
    off = diamond_offsets(radius)
    cells = grid.shift(cop_pos[:, None], off[None, :, :])  # (n_cops, n_off)
    who = occupant[cells]
    pending = np.ones(cop_pos.size, dtype=bool)
    arrested: list[NDArray[np.int64]] = []
    for rnd in range(pick_draws.shape[0]):
        idx = np.flatnonzero(pending)
        if idx.size == 0:
            break
        seen = who[idx]
        act = (seen >= 0) & is_active[np.maximum(seen, 0)]
        n_act = act.sum(axis=1)
        has = n_act > 0
        pending[idx[~has]] = False
        idx, seen, act, n_act = idx[has], seen[has], act[has], n_act[has]
        if idx.size == 0:
            break
        # pick the j-th active in the row, j uniform in 0..n_act-1
        j = np.minimum((pick_draws[rnd, idx] * n_act).astype(np.int64), n_act - 1)
        rank = np.cumsum(act, axis=1) - 1
        col = np.argmax(act & (rank == j[:, None]), axis=1)
        target = seen[np.arange(idx.size), col]
        win = grid.resolve(cells[idx, col], priority_draws[rnd, idx])
        got = target[win]
        is_active[got] = False
        arrested.append(got)
        pending[idx[win]] = False
    return np.concatenate(arrested) if arrested else np.empty(0, dtype=np.int64)
