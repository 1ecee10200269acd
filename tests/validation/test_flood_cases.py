"""Flood cases with exact answers: a lake at rest stays at rest; rain fills a closed basin.

float64 with fast_math off (the ``taichi_cpu`` fixture).
"""

from __future__ import annotations

import numpy as np
import pytest

from twin3d.model.grid import Grid
from twin3d.physics.flood import FloodSolver


def rough_town(n: int = 48) -> tuple[Grid, np.ndarray, np.ndarray]:
    """Uneven terrain with bumps that rise out of the water, and buildings as walls."""
    grid = Grid((1000.0, 2000.0), 2.0, (n, n))
    y, x = np.mgrid[0:n, 0:n].astype(float)
    rng = np.random.default_rng(7)
    bed = 0.4 * np.sin(x / 3.0) * np.cos(y / 4.0) + 0.05 * rng.standard_normal((n, n))
    bed += 1.2 * np.exp(-((x - 30) ** 2 + (y - 12) ** 2) / 20.0)  # an island above the lake
    walls = np.zeros((n, n), bool)
    walls[10:18, 8:14] = walls[28:40, 25:29] = walls[5:9, 35:44] = True
    return grid, bed, walls


def test_lake_at_rest_with_buildings_and_emerged_bumps_stays_at_rest(taichi_cpu):
    grid, bed, walls = rough_town()
    sim = FloodSolver(grid, bed, manning=0.03, walls=walls, dtype="float64")
    sim.set_water_level(0.3)
    wet = sim.depth() > 0
    assert 0.2 < wet.mean() < 0.9  # wet/dry fronts at rest across the bumps
    level0 = sim.water_level()
    for _ in range(10_000):
        sim.step()
    speed = sim.speed()
    print(f"max speed after 10,000 steps: {speed.max():.2e} m/s, t = {sim.time:.0f} s")
    assert speed.max() < 1e-6  # m/s
    assert np.nanmax(np.abs(sim.water_level() - level0)[wet]) < 1e-10  # m
    assert np.all(sim.depth()[~wet] == 0.0)  # dry cells stay dry


def test_rain_into_closed_basin_is_all_stored(taichi_cpu):
    grid, bed, walls = rough_town()
    sim = FloodSolver(grid, bed, manning=0.05, walls=walls, dtype="float64")
    times, rate = [0.0, 600.0, 1200.0, 1800.0], [20.0, 80.0, 40.0, 0.0]  # mm/h, piecewise linear
    sim.set_rain(times, rate)
    sim.advance(2400.0)
    depth_m = (0.5 * (20 + 80) + 0.5 * (80 + 40) + 0.5 * (40 + 0)) * 600.0 / 3.6e6
    rain_volume = depth_m * grid.cell_area * np.count_nonzero(~walls)
    b = sim.mass_balance()
    assert b["rain"] == pytest.approx(rain_volume, rel=1e-12)
    assert b["stored"] == pytest.approx(rain_volume, rel=1e-5)
    assert sim.depth()[walls].max() == 0.0


def test_step_rain_per_cell_frames_are_all_stored(taichi_cpu):
    grid, bed, walls = rough_town(32)
    frames = np.stack([np.full(grid.shape, 30.0), np.linspace(0, 60, 32)[None, :] * np.ones((32, 1))])
    sim = FloodSolver(grid, bed, walls=walls, dtype="float64")
    sim.set_rain([0.0, 300.0], frames)  # radar-like: each frame holds until the next
    sim.advance(900.0)
    open_cells = ~walls
    expected = (30.0 * 300.0 * open_cells.sum() + (frames[1] * open_cells).sum() * 600.0) / 3.6e6 * grid.cell_area
    assert sim.mass_balance()["stored"] == pytest.approx(expected, rel=1e-5)
