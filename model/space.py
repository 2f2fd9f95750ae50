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
        self._kernels: dict[int, NDArray[np.complex128]] = {}

    def kernel(self, radius: int) -> NDArray[np.complex128]:
        """Real FFT of the diamond kernel of ``radius`` (centre excluded)."""
        if radius not in self._kernels:
            k = np.zeros((self.H, self.W))
            off = diamond_offsets(radius)
            np.add.at(k, (off[:, 0] % self.H, off[:, 1] % self.W), 1.0)
            k = np.minimum(k, 1.0)  # a radius wider than the grid must not count a cell twice
            self._kernels[radius] = sfft.rfft2(k)
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
        grid = layers.reshape(n, self.R, self.H, self.W)
        spec = sfft.rfft2(grid, axes=(-2, -1))
        spec *= self.kernel(radius)
        out = sfft.irfft2(spec, s=(self.H, self.W), axes=(-2, -1))
        return np.rint(out).astype(np.int32).reshape(n, self.cells)

    def shift(self, pos: NDArray[np.int64], offsets: NDArray[np.int64]) -> NDArray[np.int64]:
        """Cells reached from ``pos`` by ``offsets`` (rows ``(dy, dx)``), wrapping on each torus."""
        r, rem = np.divmod(pos, self.H * self.W)
        y, x = np.divmod(rem, self.W)
        y = (y + offsets[..., 0]) % self.H
        x = (x + offsets[..., 1]) % self.W
        return r * (self.H * self.W) + y * self.W + x


def move(
    grid: GridStack,
    occupant: NDArray[np.int64],
    pos: NDArray[np.int64],
    movers: NDArray[np.int64],
    radii: NDArray[np.int64],
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
        radii: Vision radius per mover (movers choose among cells within it).
        offset_draws: Uniform draws, shape ``(rounds, len(movers))``.
        priority_draws: Uniform draws, shape ``(rounds, len(movers))``.
    """
    pending = np.ones(len(movers), dtype=bool)
    radius_values = np.unique(radii)
    for rnd in range(offset_draws.shape[0]):
        idx = np.flatnonzero(pending)
        if idx.size == 0:
            return
        agents = movers[idx]
        target = np.empty(idx.size, dtype=np.int64)
        for rad in radius_values:
            sel = radii[idx] == rad
            off = diamond_offsets(int(rad))
            k = (offset_draws[rnd, idx[sel]] * len(off)).astype(np.int64)
            target[sel] = grid.shift(pos[agents[sel]], off[k])
        ok = occupant[target] < 0
        idx, agents, target = idx[ok], agents[ok], target[ok]
        if idx.size == 0:
            continue
        prio = priority_draws[rnd, idx]
        best = np.full(grid.cells, -1.0)
        np.maximum.at(best, target, prio)
        win = best[target] == prio
        # exact ties (probability ~0) are broken by a second pass on agent ids
        claim = np.full(grid.cells, -1, dtype=np.int64)
        claim[target[win]] = agents[win]
        win &= claim[target] == agents
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
        prio = priority_draws[rnd, idx]
        best = np.full(grid.cells, -1.0)
        tcell = np.empty(idx.size, dtype=np.int64)
        tcell[:] = cells[idx, col]
        np.maximum.at(best, tcell, prio)
        win = best[tcell] == prio
        claim = np.full(grid.cells, -1, dtype=np.int64)
        claim[tcell[win]] = idx[win]
        win &= claim[tcell] == idx
        got = target[win]
        is_active[got] = False
        arrested.append(got)
        pending[idx[win]] = False
    return np.concatenate(arrested) if arrested else np.empty(0, dtype=np.int64)
