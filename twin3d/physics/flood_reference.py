"""Numpy reference of the flood solver: the same scheme with whole-array operations.

It takes exactly the steps of :class:`twin3d.physics.flood.FloodSolver` (same face
fluxes, same order of arithmetic, same host-side step control from
:class:`~twin3d.physics.flood_base.FloodModel`), so the two agree to round-off and
the Taichi kernels can be checked against it.  It is also the baseline the
benchmark compares with.

Examples
--------
>>> import numpy as np
>>> from twin3d.model.grid import Grid
>>> grid = Grid((0.0, 0.0), 1.0, (4, 8))
>>> sim = ReferenceFloodSolver(grid, np.zeros((4, 8)), dtype="float64")
>>> sim.set_depth(np.where(grid.x_centers() < 4.0, 1.0, 0.1) * np.ones((4, 1)))
>>> sim.advance(1.0) > 0
True
>>> abs(sim.mass_balance()["relative_error"]) < 1e-12
True
"""

from __future__ import annotations

import numpy as np

from twin3d.physics.flood_base import GRAVITY, FloodModel

G = GRAVITY


def face_flux(hL, uL, vL, zL, hR, uR, vR, zR, h_dry):
    """HLL flux with hydrostatic reconstruction (Audusse et al. 2004) at faces, as arrays.

    ``u`` is the velocity normal to the face (left to right), ``v`` the tangential one.
    Returns ``(mass, normal momentum seen by the left cell, ... by the right cell,
    tangential momentum)``; the left/right normal fluxes already hold the
    reconstruction's pressure correction ``- g h*^2 / 2`` of that side.
    """
    zf = np.maximum(zL, zR)
    hl = np.maximum(hL + zL - zf, 0)
    hr = np.maximum(hR + zR - zf, 0)
    dry_l, dry_r = hl <= h_dry, hr <= h_dry
    active = ~(dry_l & dry_r)
    cl = np.sqrt(G * hl)
    cr = np.sqrt(G * hr)
    us = 0.5 * (uL + uR) + cl - cr
    cs = 0.5 * (cl + cr) + 0.25 * (uL - uR)
    sL = np.where(dry_l, uR - 2 * cr, np.where(dry_r, uL - cl, np.minimum(uL - cl, us - cs)))
    sR = np.where(dry_l, uR + cr, np.where(dry_r, uL + 2 * cl, np.maximum(uR + cr, us + cs)))
    qL = hl * uL
    qR = hr * uR
    fnL = qL * uL + 0.5 * G * hl * hl
    fnR = qR * uR + 0.5 * G * hr * hr
    denom = np.where(active, sR - sL, 1)
    fh = (sR * qL - sL * qR + sL * sR * (hr - hl)) / denom
    fn = (sR * fnL - sL * fnR + sL * sR * (qR - qL)) / denom
    fh = np.where(sL >= 0, qL, np.where(sR <= 0, qR, fh))
    fn = np.where(sL >= 0, fnL, np.where(sR <= 0, fnR, fn))
    fh = np.where(active, fh, 0)
    fn = np.where(active, fn, 0)
    ft = fh * np.where(fh >= 0, vL, vR)
    return fh, np.where(active, fn - 0.5 * G * hl * hl, 0), np.where(active, fn - 0.5 * G * hr * hr, 0), ft


def wall_faces(L: tuple, R: tuple, wL, wR) -> tuple[tuple, tuple, np.ndarray]:
    """Mirror the state across faces next to walls: ``(h, u, v, z)`` per side; returns the open-face mask."""
    hL, uL, vL, zL = L
    hR, uR, vR, zR = R
    newR = tuple(np.where(wR, a, b) for a, b in zip((hL, -uL, vL, zL), R, strict=True))
    newL = tuple(np.where(wL, a, b) for a, b in zip((hR, -uR, vR, zR), L, strict=True))
    return newL, newR, ~(wL & wR)


def cell_speed(h, qx, qy, walls, h_dry) -> float:
    """Largest ``max(|u|, |v|) + sqrt(g h)`` over wet cells that are not walls (0 when all dry)."""
    wet = (h > h_dry) & ~walls
    if not wet.any():
        return 0.0
    hw = h[wet]
    return float(np.max(np.maximum(np.abs(qx[wet]), np.abs(qy[wet])) * (1 / hw) + np.sqrt(G * hw)))


class ReferenceFloodSolver(FloodModel):
    """Numpy twin of :class:`twin3d.physics.flood.FloodSolver` (same arguments, same methods)."""

    def _setup_backend(self) -> None:
        self._out_volume = 0.0
        self._drain_rate = np.zeros(self.grid.shape, dtype=self.real)
        self._rain_rate = np.zeros(self.grid.shape, dtype=self.real)
        self._speed = 0.0

    def _upload_cells(self) -> None:
        self._z = self._bed.astype(self.real)
        self._gn2r = self._gn2.astype(self.real)

    def _upload_state(self, h, qx, qy) -> None:
        self.h, self.qx, self.qy = (a.astype(self.real) for a in (h, qx, qy))
        self._speed = self._cell_speed(self.h, self.qx, self.qy)

    def _download_state(self):
        return self.h.copy(), self.qx.copy(), self.qy.copy()

    def _upload_rain_frame(self, rate_m_s) -> None:
        self._rain_rate = rate_m_s.astype(self.real)

    def _upload_drainage(self, rate_m_s) -> None:
        self._drain_rate = rate_m_s.astype(self.real)

    def _max_speed(self) -> float:
        return self._speed

    def _boundary_outflow(self) -> float:
        return self._out_volume

    def _velocity(self, h, q):
        wet = h > self.h_dry
        return np.where(wet, q * (1 / np.where(wet, h, 1)), 0).astype(self.real)

    def _padded(self, stages: list[float]) -> tuple[np.ndarray, ...]:
        """Cell arrays with one ghost ring: closed sides are walls, stages set the depth, open sides
        copy the cell with its normal velocity turned outward (free outflow, never inflow)."""
        h, z, w = (np.pad(a, 1, mode="edge") for a in (self.h, self._z, self.walls))
        u, v = (np.pad(self._velocity(self.h, q), 1, mode="edge") for q in (self.qx, self.qy))
        rings = {"west": np.s_[1:-1, 0], "east": np.s_[1:-1, -1], "south": np.s_[0, 1:-1], "north": np.s_[-1, 1:-1]}
        for (side, (kind, _)), stage in zip(self.boundaries.items(), stages, strict=True):
            ring = rings[side]
            if kind == "closed":
                w[ring] = True
            elif kind == "open":
                normal, sign = {"west": (u, -1), "east": (u, 1), "south": (v, -1), "north": (v, 1)}[side]
                normal[ring] = sign * np.abs(normal[ring])
            elif kind == "stage":
                h[ring] = np.maximum(self.real(stage) - z[ring], 0)
        return h, u, v, z, w

    def _hydro(self, dt: float, stages: list[float]) -> None:
        h, u, v, z, w = self._padded(stages)
        # x faces: (ny, nx + 1), normal velocity u
        L = (h[1:-1, :-1], u[1:-1, :-1], v[1:-1, :-1], z[1:-1, :-1])
        R = (h[1:-1, 1:], u[1:-1, 1:], v[1:-1, 1:], z[1:-1, 1:])
        L, R, open_x = wall_faces(L, R, w[1:-1, :-1], w[1:-1, 1:])
        fx = [np.where(open_x, f, 0) for f in face_flux(*L, *R, self.h_dry)]
        # y faces: (ny + 1, nx), normal velocity v
        B = (h[:-1, 1:-1], v[:-1, 1:-1], u[:-1, 1:-1], z[:-1, 1:-1])
        T = (h[1:, 1:-1], v[1:, 1:-1], u[1:, 1:-1], z[1:, 1:-1])
        B, T, open_y = wall_faces(B, T, w[:-1, 1:-1], w[1:, 1:-1])
        fy = [np.where(open_y, f, 0) for f in face_flux(*B, *T, self.h_dry)]
        self._out_volume += dt * self.dx * float(
            fx[0][:, -1].astype(np.float64).sum() - fx[0][:, 0].astype(np.float64).sum()
            + fy[0][-1, :].astype(np.float64).sum() - fy[0][0, :].astype(np.float64).sum())
        self._update(self.real(dt), fx, fy)

    def _update(self, dt, fx, fy) -> None:
        k = dt / self.real(self.dx)
        h = self.h - k * (fx[0][:, 1:] - fx[0][:, :-1] + fy[0][1:] - fy[0][:-1])
        qx = self.qx - k * (fx[1][:, 1:] - fx[2][:, :-1] + fy[3][1:] - fy[3][:-1])
        qy = self.qy - k * (fx[3][:, 1:] - fx[3][:, :-1] + fy[1][1:] - fy[2][:-1])
        wet = (h > self.h_dry) & ~self.walls
        h = np.where(self.walls, 0, np.maximum(h, 0)).astype(self.real)
        hw = np.where(wet, h, 1)
        inv = 1 / hw
        qabs = np.sqrt(qx * qx + qy * qy)
        keep = 1 / (1 + dt * self._gn2r * qabs * inv * inv * np.power(hw, self.real(-1.0 / 3.0)))
        self.qx = np.where(wet, qx * keep, 0).astype(self.real)
        self.qy = np.where(wet, qy * keep, 0).astype(self.real)
        self.h = h
        self._speed = self._cell_speed(self.h, self.qx, self.qy)

    def _cell_speed(self, h, qx, qy) -> float:
        return cell_speed(h, qx, qy, self.walls, self.h_dry)

    def _cell_sources(self, dt: float, rain_depth: float, per_cell: bool, drainage: bool) -> float:
        open_cells = ~self.walls
        h = self.h
        if rain_depth > 0 or per_cell:
            add = self.real(rain_depth) + self.real(dt) * self._rain_rate
            h = np.where(open_cells, h + add, h).astype(self.real)
        drained = 0.0
        if drainage:
            left = np.maximum(h - self.real(dt) * self._drain_rate, 0).astype(self.real)
            drained = float((h.astype(np.float64) - left).sum()) * self.dx * self.dx
            keep = left / np.where(h > 0, h, 1)
            wet = left > self.h_dry
            self.qx = np.where(wet, self.qx * keep, 0).astype(self.real)
            self.qy = np.where(wet, self.qy * keep, 0).astype(self.real)
            h = left
        self.h = h
        return drained

    def _point_sources(self, rows, cols, depths) -> None:
        np.add.at(self.h, (rows, cols), depths.astype(self.real))
        self._speed = max(self._speed, float(np.sqrt(G * self.h[rows, cols].astype(np.float64)).max()))
