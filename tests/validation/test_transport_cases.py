"""Transport validation against analytic solutions; each case states its tolerance.

Figures measured when written (Taichi CPU, float64):

* Gaussian puff, diagonal wind 2 m/s, K = 1 m2/s, sigma0 = 50 m, t = 150 s; relative L2 error
  against the exact solution (sigma^2 = sigma0^2 + 2 K t):
  limited 17.6 %, 5.1 %, 1.2 % at dx = 20, 10, 5 m (orders 1.8, 2.1);
  upwind 45 %, 31 %, 20 % (orders 0.5, 0.7: first order, slowly reached).  Upwind against
  its modified equation (numerical diffusion u dx (1 - nu) / 2 on each axis and the
  cross term -u v dt / 2): 1.9 %, 0.83 %, 0.36 %.
* Cosine mode in a closed box: amplitude equals the discrete decay (1 - dt lambda_h)^n to
  round-off and exp(-K k^2 t) to 0.2 %.
"""

from __future__ import annotations

import numpy as np
import pytest

from twin3d.model.grid import Grid
from twin3d.physics.transport_reference import TransportReference


@pytest.fixture(scope="module")
def solver_cls(taichi_cpu):
    from twin3d.physics.transport import TransportSolver

    return TransportSolver


def _gaussian(grid: Grid, centre: float, cov: np.ndarray) -> np.ndarray:
    """A unit-mass 2-D Gaussian with covariance ``cov`` centred at ``(centre, centre)``."""
    x = grid.x_centers()[None, :] - centre
    y = grid.y_centers()[:, None] - centre
    inv = np.linalg.inv(cov)
    q = inv[0, 0] * x**2 + 2 * inv[0, 1] * x * y + inv[1, 1] * y**2
    return np.exp(-q / 2) / (2 * np.pi * np.sqrt(np.linalg.det(cov)))


def _puff_errors(cls, scheme: str, dx: float, *, modified: bool = False) -> float:
    """Relative L2 error of a puff advected diagonally at 2 m/s for 150 s with K = 1 m2/s."""
    sigma0, k, wind, t, start = 50.0, 1.0, 2.0, 150.0, 300.0
    n = int(round(1000.0 / dx))
    grid = Grid((0.0, 0.0), dx, (n, n))
    sim = cls(grid, diffusivity=k, dtype="float64", scheme=scheme)
    sim.set_wind(wind, wind)
    sim.set_concentration(_gaussian(grid, start, sigma0**2 * np.eye(2)))
    steps = sim.advance(t)
    diff = k * np.eye(2)
    if modified:  # upwind's modified equation: numerical diffusion and the unsplit cross term
        dt = t / steps
        nu = wind * dt / dx
        diff = diff + np.array([[wind * dx / 2 * (1 - nu), -wind * wind * dt / 2],
                                [-wind * wind * dt / 2, wind * dx / 2 * (1 - nu)]])
    exact = _gaussian(grid, start + wind * t, sigma0**2 * np.eye(2) + 2 * t * diff)
    c = sim.concentration()
    return float(np.sqrt(np.sum((c - exact) ** 2) / np.sum(exact**2)))


def test_gaussian_puff_limited_converges_at_second_order(solver_cls):
    """Tolerance: 2 % at dx = 5 m (sigma0 = 10 cells); observed order >= 1.6 on each halving."""
    errors = np.array([_puff_errors(solver_cls, "limited", dx) for dx in (20.0, 10.0, 5.0)])
    orders = np.log2(errors[:-1] / errors[1:])
    assert errors[-1] < 0.02
    assert np.all(orders >= 1.6), (errors, orders)


def test_gaussian_puff_upwind_is_first_order_with_its_numerical_diffusion(solver_cls):
    """Upwind: error falls under refinement; against its modified equation within 2 %, 1 %, 0.5 %."""
    plain = np.array([_puff_errors(solver_cls, "upwind", dx) for dx in (20.0, 10.0, 5.0)])
    assert np.all(np.diff(plain) < 0) and plain[-1] < 0.25
    assert np.all(np.log2(plain[:-1] / plain[1:]) > 0.45)
    modified = np.array([_puff_errors(solver_cls, "upwind", dx, modified=True) for dx in (20.0, 10.0, 5.0)])
    assert np.all(modified < [0.02, 0.01, 0.005]), modified


@pytest.mark.parametrize("impl", ["taichi", "numpy"])
def test_cosine_mode_decays_at_the_discrete_and_the_exact_rate(solver_cls, impl):
    """Closed box, c = 1 + cos(kx x) cos(ky y): amplitude (1 - dt lambda_h)^n to 1e-10,
    exp(-K (kx^2 + ky^2) t) to 0.5 %; the mean stays 1 to 1e-12."""
    cls = solver_cls if impl == "taichi" else TransportReference
    grid = Grid((0.0, 0.0), 1.0, (32, 48))
    kx, ky = 2 * np.pi / 48.0, np.pi / 32.0  # cell-centred cosines satisfy the zero-flux edges
    mode = np.cos(ky * grid.y_centers())[:, None] * np.cos(kx * grid.x_centers())[None, :]
    k = 0.8
    sim = cls(grid, diffusivity=k, dtype="float64", boundaries="closed", cfl=0.5)
    sim.set_concentration(1.0 + mode)
    t = 100.0
    n = sim.advance(t)
    c = sim.concentration()
    amplitude = np.sum((c - 1.0) * mode) / np.sum(mode * mode)
    lam_h = 4 * k * (np.sin(kx / 2) ** 2 + np.sin(ky / 2) ** 2)  # discrete Laplacian eigenvalue, dx = 1
    assert amplitude == pytest.approx((1 - t / n * lam_h) ** n, rel=1e-10)
    assert amplitude == pytest.approx(np.exp(-k * (kx**2 + ky**2) * t), rel=5e-3)
    assert c.mean() == pytest.approx(1.0, abs=1e-12)
    assert np.abs(c - 1.0 - amplitude * mode).max() < 1e-10  # the mode keeps its shape


@pytest.mark.parametrize("scheme", ["upwind", "limited"])
@pytest.mark.parametrize("dtype, tol", [("float64", 1e-12), ("float32", 2e-5)])
def test_random_winds_and_walls_keep_positivity_and_mass(solver_cls, scheme, dtype, tol):
    """Closed box, random face winds up to ~10 m/s, 20 % walls, random K: c >= 0 and mass constant to ``tol``."""
    for seed in range(3):
        rng = np.random.default_rng(seed)
        shape = (40, 56)
        grid = Grid((0.0, 0.0), 2.0, shape)
        walls = rng.random(shape) < 0.2
        sim = solver_cls(grid, walls=walls, diffusivity=rng.random(shape) * 2.0, dtype=dtype, scheme=scheme,
                         boundaries="closed")
        sim.set_wind(rng.normal(size=(40, 57)) * 4.0, rng.normal(size=(41, 56)) * 4.0)
        c0 = np.where(rng.random(shape) < 0.1, rng.random(shape) * 10.0, 0.0)  # sharp, sparse blobs
        sim.set_concentration(c0)
        m0 = sim.total_mass()
        sim.advance(60.0)
        c = sim.concentration()
        assert c.min() >= 0.0
        assert np.all(c[walls] == 0.0)
        assert sim.total_mass() == pytest.approx(m0, rel=tol)
