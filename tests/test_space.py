"""Grid operations: FFT neighbourhood counts, wrapping, movement and arrests."""

import numpy as np
import pytest

from defection.model.space import GridStack, arrest, diamond_offsets, move


def direct_counts(grid: GridStack, layer: np.ndarray, radius: int) -> np.ndarray:
    g = layer.reshape(grid.R, grid.H, grid.W)
    out = np.zeros_like(g)
    for dy, dx in diamond_offsets(radius):
        out += np.roll(g, shift=(-dy, -dx), axis=(1, 2))
    return out.reshape(-1)


def test_diamond_is_mesa_von_neumann_neighbourhood():
    assert len(diamond_offsets(1)) == 4
    assert len(diamond_offsets(7)) == 112  # 2 r (r + 1)
    assert not np.any((diamond_offsets(7) == 0).all(axis=1))  # centre excluded


@pytest.mark.parametrize(("shape", "density"), [((3, 17, 23), 0.5), ((1, 1200, 1200), 1.0)])
def test_fft_counts_equal_direct_sums(shape, density):
    rng = np.random.default_rng(3)
    grid = GridStack(*shape)
    layer = (rng.random(grid.cells) < density).astype(np.float32)
    counts = grid.count(layer[None, :], 7)[0]
    assert np.array_equal(counts, direct_counts(grid, layer, 7))


def wrapped(grid: GridStack, pos: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Reference: cells reached from pos by offsets (dy, dx), by plain modular arithmetic."""
    r, rem = np.divmod(pos, grid.H * grid.W)
    y, x = np.divmod(rem, grid.W)
    y = (y + offsets[..., 0]) % grid.H
    x = (x + offsets[..., 1]) % grid.W
    return r * grid.H * grid.W + y * grid.W + x


def test_shift_wraps_on_each_torus_separately():
    grid = GridStack(2, 5, 6)
    corner_of_second = 1 * 30 + 0  # region 1, y=0, x=0
    k = int(np.flatnonzero((diamond_offsets(2) == [-1, -1]).all(axis=1))[0])
    up_left = grid.shift_by_index(np.array([corner_of_second]), 2, np.array([k]))
    assert up_left[0] == 30 + 4 * 6 + 5  # wraps inside region 1


def test_move_keeps_one_agent_per_cell():
    rng = np.random.default_rng(0)
    grid = GridStack(1, 20, 20)
    occupant = np.full(grid.cells, -1)
    pos = rng.choice(grid.cells, size=150, replace=False)
    occupant[pos] = np.arange(150)
    movers = np.arange(150)
    move(grid, occupant, pos, movers, 3, rng.random((2, 150, 4)), rng.random((2, 150)))
    assert len(set(pos.tolist())) == 150
    assert np.array_equal(occupant[pos], np.arange(150))
    assert (occupant >= 0).sum() == 150


def test_each_cop_arrests_at_most_one_and_each_active_once():
    rng = np.random.default_rng(1)
    grid = GridStack(1, 15, 15)
    occupant = np.full(grid.cells, -1)
    cells = rng.permutation(grid.cells)
    prot, cops = cells[:100], cells[100:110]
    occupant[prot] = np.arange(100)
    occupant[cops] = 100 + np.arange(10)
    is_active = np.zeros(110, dtype=bool)
    is_active[:30] = True
    got = arrest(grid, cops, 7, occupant, is_active, rng.random((3, 10)), rng.random((3, 10)))
    assert len(got) == len(set(got.tolist())) <= 10
    assert np.all(got < 30)
    assert not is_active[got].any()


@pytest.mark.parametrize("shape", [(2, 16, 19), (1, 40, 40)])
def test_shift_by_index_matches_wrapping_shift_everywhere(shape):
    grid = GridStack(*shape)
    off = diamond_offsets(7)
    pos = np.arange(grid.cells)
    expected = wrapped(grid, pos[:, None], off[None, :, :])
    got = grid.shift_by_index(pos[:, None], 7, np.arange(len(off))[None, :])
    assert np.array_equal(got, expected)
    k = np.random.default_rng(5).integers(0, len(off), size=(grid.cells, 3))
    assert np.array_equal(grid.shift_by_index(pos[:, None], 7, k), expected[pos[:, None], k])
