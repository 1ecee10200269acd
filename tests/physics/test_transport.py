"""Transport solver: Taichi against the numpy reference, budgets, reactions, time step, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from twin3d.errors import InputError
from twin3d.model.grid import Grid
from twin3d.physics.transport_reference import TransportReference


@pytest.fixture(scope="module")
def solver_cls(taichi_cpu):
    from twin3d.physics.transport import TransportSolver

    return TransportSolver


def _random_case(seed: int = 0, shape=(36, 44)):
    rng = np.random.default_rng(seed)
    grid = Grid((500.0, 800.0), 5.0, shape)
    ny, nx = shape
    return dict(grid=grid, walls=rng.random(shape) < 0.15, k=rng.random(shape) * 3.0,
                u=rng.normal(size=(ny, nx + 1)) * 3.0, v=rng.normal(size=(ny + 1, nx)) * 3.0,
                c0=rng.random(shape), source=rng.random(shape) * 1e-3)


def _run(cls, case, scheme, boundaries, dtype="float64", field_k=True, duration=400.0):
    sim = cls(case["grid"], walls=case["walls"], diffusivity=case["k"] if field_k else 2.0,
              decay=case["k"] * 1e-3 if field_k else 1e-3, deposition=2e-3, layer_height=2.0,
              relaxation=case["k"] * 1e-3 if field_k else 5e-4, dtype=dtype, scheme=scheme, boundaries=boundaries)
    sim.set_wind(case["u"], case["v"])
    sim.set_concentration(case["c0"])
    sim.set_source(case["source"], times=[0.0, 200.0], scale_series=[1.0, 3.0])
    sim.set_background([0.0, 400.0], [0.5, 1.5])
    steps = sim.advance(duration)
    return sim, steps


@pytest.mark.parametrize("scheme", ["upwind", "limited"])
@pytest.mark.parametrize("boundaries", ["open", "closed"])
@pytest.mark.parametrize("field_k", [True, False])
def test_taichi_matches_numpy_reference_float64(solver_cls, scheme, boundaries, field_k):
    case = _random_case()
    ref, n_ref = _run(TransportReference, case, scheme, boundaries, field_k=field_k)
    sim, n_sim = _run(solver_cls, case, scheme, boundaries, field_k=field_k)
    assert n_ref == n_sim > 1000  # many steps
    c_ref, c_sim = ref.concentration(), sim.concentration()
    scale = np.abs(c_ref).max()
    assert np.abs(c_sim - c_ref).max() <= 1e-12 * scale
    assert sim.boundary_outflow() == pytest.approx(ref.boundary_outflow(), rel=1e-12, abs=1e-9 * scale)
    assert sim.time == pytest.approx(400.0, abs=1e-9)


def test_float32_tracks_float64(solver_cls):
    case = _random_case(1)
    c64 = _run(solver_cls, case, "upwind", "open")[0].concentration()
    c32 = _run(solver_cls, case, "upwind", "open", dtype="float32")[0].concentration()
    assert c32.dtype == np.float32
    assert np.abs(c32 - c64).max() <= 1e-4 * np.abs(c64).max()


@pytest.mark.parametrize("scheme", ["upwind", "limited"])
def test_open_boundary_outflow_closes_the_budget(solver_cls, scheme):
    """No sources or losses: what leaves through the edge is what the field lost."""
    grid = Grid((0.0, 0.0), 10.0, (30, 40))
    sim = solver_cls(grid, diffusivity=1.0, dtype="float64", scheme=scheme, boundaries="open")
    sim.set_wind(4.0, -2.5)
    c0 = np.zeros(grid.shape)
    c0[10:20, 25:35] = 2.0
    sim.set_concentration(c0)
    m0 = sim.total_mass()
    sim.advance(100.0)
    assert sim.boundary_outflow() > 0.3 * m0  # a good part has left
    assert sim.total_mass() + sim.boundary_outflow() == pytest.approx(m0, rel=1e-12)


def test_walls_hold_nothing_and_block_flux(solver_cls):
    grid = Grid((0.0, 0.0), 1.0, (20, 20))
    walls = np.zeros(grid.shape, bool)
    walls[:, 10] = True  # a wall across the domain
    sim = solver_cls(grid, walls=walls, diffusivity=0.5, dtype="float64", boundaries="closed")
    sim.set_wind(2.0, 0.0)
    c0 = np.zeros(grid.shape)
    c0[:, 2:5] = 1.0
    sim.set_concentration(c0)
    sim.advance(50.0)
    c = sim.concentration()
    assert np.all(c[:, 10] == 0.0)
    assert np.all(c[:, 11:] == 0.0)  # nothing crosses the wall
    assert c.sum() == pytest.approx(60.0, rel=1e-12)
    assert np.isnan(sim.concentration(wall_value=np.nan)[:, 10]).all()


def test_decay_and_deposition_of_a_uniform_field(solver_cls):
    """dc/dt = -(lambda + v_d/H) c: forward Euler decay (1 - k dt)^n, within 0.1 % of exp(-k t)."""
    grid = Grid((0.0, 0.0), 10.0, (8, 8))
    sim = solver_cls(grid, diffusivity=0.0, decay=1e-3, deposition=0.01, layer_height=20.0,
                     dtype="float64", max_dt=0.5)
    sim.set_concentration(3.0)
    n = sim.advance(1000.0)
    k = 1e-3 + 0.01 / 20.0
    c = sim.concentration()
    assert np.allclose(c, 3.0 * (1 - k * 1000.0 / n) ** n, rtol=1e-12)
    assert np.allclose(c, 3.0 * math.exp(-k * 1000.0), rtol=1e-3)


def test_uniform_source_against_relaxation_reaches_background_plus_s_over_r(solver_cls):
    grid = Grid((0.0, 0.0), 10.0, (12, 12))
    r, s = 1.0 / 600.0, 2e-3
    sim = solver_cls(grid, diffusivity=1.0, relaxation=r, background=20.0, dtype="float64",
                     boundaries="closed")
    sim.set_concentration(20.0)
    sim.set_source(np.full(grid.shape, s))
    sim.advance(30 * 600.0)
    assert np.allclose(sim.concentration(), 20.0 + s / r, rtol=1e-9)


def test_source_series_is_integrated(solver_cls):
    """A point source whose rate ramps 0 -> 2 over 100 s adds 100 units (trapezoid, exact for Heun)."""
    grid = Grid((0.0, 0.0), 2.0, (10, 10))
    sim = solver_cls(grid, diffusivity=0.1, dtype="float64", scheme="limited", boundaries="closed")
    rate = np.zeros(grid.shape)
    rate[5, 5] = 1.0 / (grid.cell_area * sim.layer_height)  # 1 unit of mass per second
    sim.set_source(rate, times=[0.0, 100.0], scale_series=[0.0, 2.0])
    sim.advance(100.0)
    assert sim.total_mass() == pytest.approx(100.0, rel=1e-12)


def test_time_step_is_the_positivity_limit():
    grid = Grid((0.0, 0.0), 2.0, (10, 10))
    sim = TransportReference(grid, diffusivity=0.5, cfl=0.9, dtype="float64", boundaries="closed")
    assert sim.max_stable_dt() == pytest.approx(0.9 * grid.cell_size**2 / (4 * 0.5))
    sim.set_wind(3.0, 1.0)
    assert sim.max_stable_dt() == pytest.approx(0.9 / (4.0 / 2.0 + 4 * 0.5 / 4.0))
    limited = TransportReference(grid, diffusivity=0.0, cfl=1.0, scheme="limited", dtype="float64")
    limited.set_wind(3.0, 1.0)
    assert limited.max_stable_dt() == pytest.approx(1.0 / (2 * 4.0 / 2.0))


def test_strong_wind_stays_positive_and_bounded(solver_cls):
    grid = Grid((0.0, 0.0), 1.0, (32, 32))
    rng = np.random.default_rng(3)
    sim = solver_cls(grid, diffusivity=50.0, dtype="float32", scheme="limited", boundaries="closed")
    sim.set_wind(rng.normal(size=grid.shape) * 100.0, rng.normal(size=grid.shape) * 100.0)
    sim.set_concentration(rng.random(grid.shape))
    m0 = sim.total_mass()
    sim.advance(5.0)
    c = sim.concentration()
    assert np.all(np.isfinite(c)) and c.min() >= 0.0
    assert sim.total_mass() == pytest.approx(m0, rel=1e-5)


def test_cell_centred_wind_goes_to_faces():
    from twin3d.physics.transport_reference import face_winds

    u = np.array([[1.0, 3.0, 5.0]])
    uf, vf = face_winds(u, 2.0, (1, 3))
    assert uf.tolist() == [[1.0, 2.0, 4.0, 5.0]]
    assert vf.shape == (2, 3) and np.all(vf == 2.0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(scheme="weno"), "scheme"),
        (dict(dtype="float16"), "dtype"),
        (dict(boundaries="periodic"), "boundaries"),
        (dict(cfl=1.5), "cfl"),
        (dict(diffusivity=-1.0), "diffusivity"),
        (dict(diffusivity=np.ones((3, 3))), "diffusivity"),
        (dict(decay=np.nan), "decay"),
        (dict(walls=np.zeros((4, 5))), "walls"),
        (dict(layer_height=0.0), "layer_height"),
    ],
)
def test_bad_parameters_raise_input_error(kwargs, match):
    with pytest.raises(InputError, match=match):
        TransportReference(Grid((0.0, 0.0), 1.0, (4, 4)), **kwargs)


def test_bad_calls_raise_input_error():
    sim = TransportReference(Grid((0.0, 0.0), 1.0, (4, 4)), diffusivity=0.0)
    with pytest.raises(InputError, match="wind u"):
        sim.set_wind(np.ones((4, 6)), 0.0)
    with pytest.raises(InputError, match="wind v"):
        sim.set_wind(0.0, np.full((5, 4), np.inf))
    with pytest.raises(InputError, match="source"):
        sim.set_source(np.ones((4, 4)), times=[0.0, 1.0])
    with pytest.raises(InputError, match="increase"):
        sim.set_background([0.0, 0.0], [1.0, 2.0])
    with pytest.raises(InputError, match="concentration"):
        sim.set_concentration("hot")
    with pytest.raises(InputError, match="dt"):
        sim.step()  # nothing limits the step: it must be given
    with pytest.raises(InputError, match="duration"):
        sim.advance(-1.0)
