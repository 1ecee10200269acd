"""A flood solver resumed from a snapshot continues the same run."""

from __future__ import annotations

import numpy as np

from twin3d.model import Grid


def make(solver_cls):
    g = Grid((0.0, 0.0), 1.0, (20, 40))
    s = solver_cls(g, np.linspace(0, 0.2, 40)[None, :].repeat(20, 0), boundaries={"east": "open"},
                   dtype="float64")
    h = np.zeros(g.shape)
    h[:, :10] = 1.0
    s.set_depth(h)
    s.set_rain([0.0, 100.0], [50.0, 50.0])
    return s


def test_restore_continues_state_time_and_mass_balance(taichi_cpu):
    from twin3d.physics.flood import FloodSolver

    a = make(FloodSolver)
    a.advance(5.0)
    snap = a.snapshot()
    a.advance(5.0)
    b = make(FloodSolver)
    b.restore(*snap)
    b.advance(5.0)
    assert b.time == a.time == 10.0
    np.testing.assert_allclose(b.depth(), a.depth(), atol=1e-8)  # step sizes may differ at round-off
    ma, mb = a.mass_balance(), b.mass_balance()
    for key in ("rain", "outflow", "initial", "stored"):
        assert abs(ma[key] - mb[key]) <= 1e-8 * max(1.0, abs(ma[key])), key
    assert mb["relative_error"] < 1e-10


def test_transport_restore_continues(taichi_cpu):
    from twin3d.physics.transport import TransportSolver

    def make():
        s = TransportSolver(Grid((0.0, 0.0), 5.0, (16, 24)), diffusivity=2.0, dtype="float64", boundaries="open")
        s.set_wind(1.5, -0.5)
        c = np.zeros((16, 24))
        c[8, 4] = 10.0
        s.set_concentration(c)
        return s

    a = make()
    a.advance(30.0)
    snap = a.snapshot()
    a.advance(30.0)
    b = make()
    b.restore(*snap)
    b.advance(30.0)
    assert b.time == a.time
    np.testing.assert_allclose(b.concentration(), a.concentration(), atol=1e-12)
    assert b.boundary_outflow() == a.boundary_outflow()
