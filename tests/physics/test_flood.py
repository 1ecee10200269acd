"""Flood solver behaviour: Taichi against numpy, walls, boundaries, sources, precision, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from twin3d.errors import InputError
from twin3d.model.grid import Grid
from twin3d.physics.flood import FloodSolver, ReferenceFloodSolver, bench_flood, dam_break_city

OPEN3 = {"east": "open", "south": "open", "north": "open"}


def flat(ny: int, nx: int, dx: float = 1.0) -> tuple[Grid, np.ndarray]:
    grid = Grid((0.0, 0.0), dx, (ny, nx))
    return grid, np.zeros(grid.shape)


def run_case(cls, steps: int):
    """Dam break through a town with every forcing: walls, spatial n, open and stage sides, rain, inflow."""
    grid, bed, depth, walls = dam_break_city(40)
    manning = 0.02 + 0.03 * (np.arange(40)[None, :] / 40.0) * np.ones((40, 1))
    sim = cls(grid, bed, manning=manning, walls=walls, dtype="float64",
              boundaries={"east": "open", "north": "open", "south": ("stage", [0.0, 50.0], [-0.1, 0.3])})
    sim.set_depth(depth)
    sim.set_rain([0.0, 20.0, 40.0], [0.0, 200.0, 50.0])
    sim.set_drainage(20.0)
    sim.add_inflow([0.0, 30.0], [0.0, 2.0], point=(20.5, 30.5))
    for _ in range(steps):
        sim.step()
    return sim


def test_taichi_matches_numpy_reference_after_200_steps(taichi_cpu):
    ti_sim, np_sim = run_case(FloodSolver, 200), run_case(ReferenceFloodSolver, 200)
    assert ti_sim.time == pytest.approx(np_sim.time, rel=1e-12)
    assert np.abs(ti_sim.depth() - np_sim.depth()).max() < 1e-10
    for a, b in zip(ti_sim.velocity(), np_sim.velocity(), strict=True):
        assert np.abs(a - b).max() < 1e-9
    for sim in (ti_sim, np_sim):
        balance = sim.mass_balance()
        assert balance["rain"] > 0 and balance["inflow"] > 0 and balance["drainage"] > 0
        assert balance["relative_error"] < 1e-12


def test_walls_block_flow(taichi_cpu):
    grid, bed = flat(20, 40)
    walls = np.zeros(grid.shape, bool)
    walls[:, 20] = True  # a building wall right across the domain
    sim = FloodSolver(grid, bed, walls=walls, manning=0.0, dtype="float64")
    sim.set_depth(np.where(np.arange(40) < 20, 1.0, 0.0) * np.ones((20, 1)))
    sim.advance(30.0)
    h = sim.depth()
    assert np.all(h[:, 20:] == 0.0)
    assert h[:, :20].sum() == pytest.approx(20 * 20 * 1.0, rel=1e-12)


def test_closed_basin_conserves_and_open_sides_account_outflow(taichi_cpu):
    grid, bed, depth, walls = dam_break_city(48)
    for boundaries in (None, {"east": "open"}):
        sim = FloodSolver(grid, bed, walls=walls, dtype="float64", boundaries=boundaries)
        sim.set_depth(depth)
        sim.advance(60.0)
        b = sim.mass_balance()
        if boundaries is None:
            assert b["outflow"] == 0.0
            assert b["stored"] == pytest.approx(b["initial"], rel=1e-12)
        else:
            assert b["outflow"] > 0.05 * b["initial"]  # water left through the open side downhill
            assert b["stored"] + b["outflow"] == pytest.approx(b["initial"], rel=1e-12)


def test_float32_is_the_default_and_agrees_with_float64(taichi_cpu):
    grid, bed, depth, walls = dam_break_city(48)
    results = {}
    for dtype in (None, "float64"):
        kwargs = {} if dtype is None else {"dtype": dtype}
        sim = FloodSolver(grid, bed, walls=walls, boundaries=OPEN3, **kwargs)
        sim.set_depth(depth)
        sim.advance(30.0)
        results[sim.dtype] = sim
    single = results["float32"]
    assert single.fields.state.dtype == "f32" or str(single.fields.state.dtype) == "f32"
    assert np.abs(single.depth() - results["float64"].depth()).max() < 1e-3  # m, over 2 m deep water
    assert single.mass_balance()["relative_error"] < 1e-5


def test_drainage_removes_water_at_its_rate_and_never_more_than_there_is(taichi_cpu):
    grid, bed = flat(10, 10, 2.0)
    sim = FloodSolver(grid, bed, dtype="float64")
    sim.set_depth(np.full(grid.shape, 0.01))
    sim.set_drainage(36.0)  # mm/h = 1e-5 m/s
    sim.advance(600.0)
    assert sim.depth() == pytest.approx(np.full(grid.shape, 0.004), abs=1e-12)
    sim.advance(1200.0)
    b = sim.mass_balance()
    assert sim.depth().max() == 0.0
    assert b["drainage"] == pytest.approx(0.01 * 400.0, rel=1e-12)


def test_stage_boundary_fills_basin_to_stage_level(taichi_cpu):
    grid = Grid((0.0, 0.0), 2.0, (10, 30))
    bed = np.tile(np.linspace(0.0, 0.4, 30), (10, 1))  # rising away from the west side
    surge = ("stage", [0.0, 600.0], [0.0, 1.0])  # the sea rises 1 m in 10 minutes
    sim = FloodSolver(grid, bed, manning=0.05, dtype="float64", boundaries={"west": surge})
    sim.advance(1800.0)
    assert np.abs(sim.water_level() - 1.0).max() < 0.01  # m; a seiche of a few mm is left
    b = sim.mass_balance()
    assert b["stored"] == pytest.approx(((1.0 - bed) * grid.cell_area).sum(), rel=5e-3)
    assert -b["outflow"] == pytest.approx(b["stored"], rel=1e-9)  # all of it came in through the side


def test_depths_stay_non_negative_on_dry_rough_terrain(taichi_cpu):
    grid = Grid((0.0, 0.0), 1.0, (40, 40))
    y, x = np.mgrid[0:40, 0:40]
    bed = 0.5 * np.sin(x / 2.0) * np.cos(y / 3.0) + 0.02 * x
    sim = FloodSolver(grid, bed, manning=0.02, dtype="float32", boundaries=OPEN3)
    sim.set_depth(np.where(x < 8, 1.5, 0.0))
    lowest = 0.0
    for _ in range(300):
        sim.step()
        lowest = min(lowest, float(sim.depth().min()))
    assert lowest >= 0.0
    assert np.isfinite(sim.speed()).all()


def test_inflow_line_puts_its_hydrograph_volume_in(taichi_cpu):
    grid, bed = flat(20, 20, 5.0)
    sim = FloodSolver(grid, bed, dtype="float64")
    sim.add_inflow([0.0, 100.0, 200.0], [0.0, 10.0, 0.0], line=((0.0, 40.0), (0.0, 60.0)))
    sim.advance(250.0)
    b = sim.mass_balance()
    assert b["inflow"] == pytest.approx(1000.0, rel=1e-12)  # triangle: 200 s x 10 m3/s / 2
    assert b["stored"] == pytest.approx(1000.0, rel=1e-10)


@pytest.mark.parametrize("kwargs, match", [
    ({"bed": np.zeros((3, 3))}, "bed"),
    ({"manning": -0.01}, "manning"),
    ({"boundaries": {"up": "open"}}, "side"),
    ({"boundaries": {"west": ("stage", [0, 0], [1, 1])}}, "increase"),
    ({"cfl": 0.9}, "cfl"),
    ({"dtype": "float16"}, "dtype"),
])
def test_bad_arguments_raise_input_error(taichi_cpu, kwargs, match):
    grid, bed = flat(5, 6)
    args = {"bed": bed, **kwargs}
    with pytest.raises(InputError, match=match):
        FloodSolver(grid, args.pop("bed"), **args)


def test_bad_forcing_raises_input_error(taichi_cpu):
    grid, bed = flat(5, 6)
    sim = FloodSolver(grid, bed)
    with pytest.raises(InputError, match="grid"):
        sim.add_inflow([0, 1], [1, 1], point=(100.0, 1.0))
    with pytest.raises(InputError, match="rain"):
        sim.set_rain([0, 1], np.ones((2, 4, 4)))
    with pytest.raises(InputError, match="depth"):
        sim.set_depth(-np.ones(grid.shape))
    with pytest.raises(InputError, match="duration"):
        sim.advance(float("nan"))


def test_bench_flood_reports_its_figures(taichi_cpu):
    for impl in ("taichi", "numpy"):
        r = bench_flood(impl, 32, 3)
        assert r["solver"] == "flood" and r["impl"] == impl and r["arch"] == "cpu"
        assert r["cells"] == 32 * 32 and r["steps"] == 3 and r["order"] == 1 and r["scheme"] == "hll"
        assert r["cell_updates_per_s"] > 0 and r["compile_s"] >= 0
