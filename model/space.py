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

    def shift_by_index(self, pos: NDArray[np.int64], radius: int, k: NDArray[np.int64]):
        """Cells reached from ``pos`` by the ``k``-th offset of the diamond of ``radius``.

        ``pos`` and ``k`` broadcast. Away from the edges a cell's neighbour is ``pos + dy W + dx``;
        only agents within ``radius`` of an edge take the slower wrapping path.
        """
        if radius not in self._offset_tables:
            off = diamond_offsets(radius)
            near = (
                (self.cell_y < radius)
                | (self.cell_y >= self.H - radius)
                | (self.cell_x < radius)
                | (self.cell_x >= self.W - radius)
            )
            self._offset_tables[radius] = (
                off[:, 0] + self._pad,
                off[:, 1] + self._pad,
                off[:, 0] * self.W + off[:, 1],
                near,
            )
        dy, dx, flat, near_edge = self._offset_tables[radius]
        out = pos + flat[k]
        near = near_edge[pos]
        if near.any():
            rows = np.flatnonzero(
                near.any(axis=tuple(range(1, near.ndim))) if near.ndim > 1 else near
            )
            p_near = pos[rows]
            k_near = k[rows] if k.shape[0] == pos.shape[0] else k
            y = self._wrap_y[self.cell_y[p_near] + dy[k_near]]
            x = self._wrap_x[self.cell_x[p_near] + dx[k_near]]
            out[rows] = self.cell_base[p_near] + y + x
        return out

    def resolve(self, target: NDArray[np.int64], priority: NDArray[np.float64]):
        """Winners of claims on cells: per cell, the claim with the highest priority.

        Args:
            target: Cell claimed by each claimant.
            priority: Distinct random priorities of the claimants.

        Returns:
            Boolean mask of winning claims (exactly one per claimed cell).
        """
        best = self._scratch_i
        # unique integer keys: 31 random bits above the claimant's index, so no two claims tie
        key = (priority * 2.0**31).astype(np.int64) << 32 | np.arange(target.size)
        np.maximum.at(best, target, key)
        win = best[target] == key
        best[target] = -1  # reset only what was touched
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

    In each round every mover not yet moved draws ``tries`` uniformly random cells of its von
    Neumann neighbourhood and proposes the first of them that is empty (so the proposal is uniform
    over the empty cells, as in Mesa's example); one proposal per cell is granted (the highest
    random priority wins); losers and movers who found no empty cell try again in the next round.
    Mesa's example moves agents one at a time to a random empty neighbour; this vectorized form is
    a documented deviation (docs/ODD.md) that leaves a few agents a day unmoved.

    Args:
        grid: The grid stack.
        occupant: Per cell, the agent occupying it or -1 (updated in place).
        pos: Per agent, its cell (updated in place).
        movers: Agents that may move.
        radii: Vision radius, one for all movers or one per mover.
        offset_draws: Uniform draws, shape ``(rounds, len(movers), tries)``.
        priority_draws: Uniform draws, shape ``(rounds, len(movers))``.
    """
    pending = np.ones(len(movers), dtype=bool)
    if np.isscalar(radii):
        groups = [(int(radii), None)]
    else:
        groups = [(int(r), radii == r) for r in np.unique(radii)]
    tries = offset_draws.shape[2]
    for rnd in range(offset_draws.shape[0]):
        if rnd == 0:
            idx = np.arange(len(movers))
            agents, draws = movers, offset_draws[0]
        else:
            idx = np.flatnonzero(pending)
            if idx.size == 0:
                return
            agents, draws = movers[idx], offset_draws[rnd][idx]
        here = pos[agents][:, None]
        cand = np.empty((idx.size, tries), dtype=np.int64)
        for rad, mask in groups:
            n_off = len(diamond_offsets(rad))
            if mask is None:
                cand[:] = grid.shift_by_index(here, rad, (draws * n_off).astype(np.int64))
            else:
                sel = mask[idx]
                k = (draws[sel] * n_off).astype(np.int64)
                cand[sel] = grid.shift_by_index(here[sel], rad, k)
        empty = occupant[cand] < 0
        first = np.argmax(empty, axis=1)
        rows = np.arange(idx.size)
        ok = empty[rows, first]
        idx, agents = idx[ok], agents[ok]
        if idx.size == 0:
            continue
        target = cand[rows[ok], first[ok]]
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
    n_off = len(diamond_offsets(radius))
    cells = grid.shift_by_index(cop_pos[:, None], radius, np.arange(n_off)[None, :])
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
