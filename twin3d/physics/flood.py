"""2-D shallow-water flood solver in Taichi: HLL fluxes, hydrostatic reconstruction, wetting and drying.

The scheme (docs/physics-flood.md): first-order finite volumes on a
:class:`~twin3d.model.Grid`, HLL fluxes with the hydrostatic reconstruction of
Audusse et al. (2004), so a lake at rest over any bed stays at rest and depths stay
non-negative; semi-implicit Manning friction; an adaptive CFL time step.  Buildings
are wall cells; sides are closed, open or fixed stage; rain, drainage and inflow
hydrographs are sources; the mass balance is kept in float64.

The caller initialises Taichi (:func:`twin3d.physics.arch.init_taichi`); this module
imports Taichi only when a solver is made.

Examples
--------
>>> import numpy as np
>>> from twin3d.model.grid import Grid
>>> from twin3d.physics.arch import init_taichi
>>> _ = init_taichi("cpu")
>>> grid = Grid((0.0, 0.0), 2.0, (20, 30))
>>> sim = FloodSolver(grid, np.zeros(grid.shape), boundaries={"east": "open"})
>>> sim.set_rain([0.0, 600.0], [50.0, 50.0])
>>> sim.advance(600.0) > 0
True
>>> sim.mass_balance()["relative_error"] < 1e-4
True
"""

from __future__ import annotations

import time

import numpy as np

from twin3d.physics.flood_base import FloodModel
from twin3d.physics.flood_reference import ReferenceFloodSolver, cell_speed

__all__ = ["FloodSolver", "ReferenceFloodSolver", "bench_flood", "dam_break_city"]


class FloodSolver(FloodModel):
    """Shallow-water flood solver on Taichi fields (numpy in, numpy out).

    Parameters
    ----------
    grid : twin3d.model.Grid
        Cells of ``cell_size`` m, rows going north, shape ``(ny, nx)``.
    bed : array_like
        Bed elevation (m), ``(ny, nx)``; edit it later with :meth:`set_bed`.
    manning : float or array_like
        Manning's n (s/m^(1/3)), scalar or per cell.
    walls : array_like of bool, optional
        Cells that are solid (buildings): no water enters them.
    dtype : {"float32", "float64"}
        Precision of the fields; volumes are always summed in float64.
    boundaries : dict, optional
        Per side ``"closed"`` (default), ``"open"`` or ``("stage", times_s, levels_m)``.
    scheme : {"hll"}
        First-order HLL with hydrostatic reconstruction.
    cfl : float
        Courant number, at most 0.5.
    h_dry : float
        Depth (m) below which a cell has no velocity.
    max_dt : float
        Largest time step (s), used while everything is dry or still.

    Notes
    -----
    Without rain or drainage each step only visits the bounding box of the wet
    cells (grown by one cell, and kept one step longer so both ping-pong buffers
    stay in step); a dry cell two cells from water cannot change in one step, so
    this skips no work that would change anything.  Set ``track_wet_region = False``
    to sweep the whole grid every step (the benchmark does).
    """

    track_wet_region = True

    def _setup_backend(self) -> None:
        from twin3d.physics.arch import active_arch
        from twin3d.physics.flood_kernels import FloodFields

        kinds = [self.boundaries[side][0] for side in ("west", "east", "south", "north")]
        # Blocks of 32 rows on a CPU (a few threads): the south faces of each block's first
        # row are computed twice, so taller blocks save work (2.5 % at 2048^2); a GPU keeps
        # 16 for its many threads.
        rows = 32 if active_arch() == "cpu" else 16
        self.fields = FloodFields(self.grid.shape, self.dx, self.dtype, kinds, self.h_dry, rows)

    def _upload_cells(self) -> None:
        self.fields.z.from_numpy(self._bed.astype(self.real))
        self.fields.wall.from_numpy(self.walls.astype(np.int8))
        self.fields.gn2.from_numpy(self._gn2.astype(self.real))

    def _upload_state(self, h, qx, qy) -> None:
        f = self.fields
        state = np.stack([h, qx, qy], axis=-1).astype(self.real)
        f.state.from_numpy(np.stack([state, state]))  # both buffers, so dry cells agree
        rows, cols = np.nonzero(state[..., 0] > self.h_dry)
        box = (rows.min(), rows.max(), cols.min(), cols.max()) if rows.size else (self.grid.ny, -1, self.grid.nx, -1)
        self._box = self._box_before = self._grown(box)
        f.speed[None] = cell_speed(state[..., 0], state[..., 1], state[..., 2], self.walls, self.h_dry)

    def _download_state(self):
        f = self.fields
        s = f.state.to_numpy()[f.cur]
        return s[..., 0], s[..., 1], s[..., 2]

    def _upload_rain_frame(self, rate_m_s) -> None:
        self.fields.rain.from_numpy(rate_m_s.astype(self.real))

    def _upload_drainage(self, rate_m_s) -> None:
        self.fields.drain.from_numpy(rate_m_s.astype(self.real))

    def _max_speed(self) -> float:
        return float(self.fields.speed[None])

    def _boundary_outflow(self) -> float:
        return float(self.fields.out_volume[None])

    def _grown(self, wet_box) -> tuple[int, int, int, int]:
        """Half-open rows/columns box around wet rows r0..r1 and columns c0..c1, one cell wider."""
        r0, r1, c0, c1 = (int(x) for x in wet_box)
        if r1 < r0:
            return (0, 0, 0, 0)
        ny, nx = self.grid.shape
        return (max(r0 - 1, 0), min(r1 + 2, ny), max(c0 - 1, 0), min(c1 + 2, nx))

    def _region(self) -> tuple[int, int, int, int]:
        """The box this step must visit: wet cells now and one step ago, stage sides, or all."""
        ny, nx = self.grid.shape
        whole = (0, ny, 0, nx)
        if not self.track_wet_region or self._rain is not None or self._rain_frames is not None or self._drainage:
            return whole
        boxes = [b for b in (self._box, self._box_before) if b[1] > b[0] and b[3] > b[2]]
        edges = {"west": (0, ny, 0, 1), "east": (0, ny, nx - 1, nx), "south": (0, 1, 0, nx), "north": (ny - 1, ny, 0, nx)}
        boxes += [edges[side] for side, (kind, _) in self.boundaries.items() if kind == "stage"]
        if not boxes:
            return (0, 0, 0, 0)
        b = np.array(boxes)
        return (int(b[:, 0].min()), int(b[:, 1].max()), int(b[:, 2].min()), int(b[:, 3].max()))

    def _hydro(self, dt: float, stages: list[float]) -> None:
        f = self.fields
        f.hydro(f.cur, dt, np.asarray(stages, dtype=np.float64), np.asarray(self._region(), dtype=np.int32))
        f.cur = 1 - f.cur
        self._box_before = self._box
        self._box = self._grown(f.wet_box[None])

    def _cell_sources(self, dt: float, rain_depth: float, per_cell: bool, drainage: bool) -> float:
        f = self.fields
        before = float(f.drained[None])
        f.cell_sources(f.cur, dt, rain_depth, int(per_cell), int(drainage))
        return (float(f.drained[None]) - before) * self.dx * self.dx

    def _point_sources(self, rows, cols, depths) -> None:
        f = self.fields
        f.point_sources(f.cur, rows.astype(np.int32), cols.astype(np.int32), depths.astype(np.float64))
        r0, r1, c0, c1 = self._grown((rows.min(), rows.max(), cols.min(), cols.max()))
        b0, b1, d0, d1 = self._box if self._box[1] > self._box[0] else (r0, r1, c0, c1)
        self._box = (min(r0, b0), max(r1, b1), min(c0, d0), max(c1, d1))


def dam_break_city(n: int, cell_size: float = 1.0, seed: int = 0):
    """A realistic wet/dry case on an ``n x n`` grid: a dam break down a sloping town.

    Returns ``(grid, bed, depth, walls)``: a 0.5 % slope to the east with gentle
    random relief, blocks of buildings (about 15 % of cells) and a 2 m deep
    reservoir over the western fifth, the rest dry.
    """
    from twin3d.model.grid import Grid

    rng = np.random.default_rng(seed)
    grid = Grid((0.0, 0.0), cell_size, (n, n))
    x, y = np.meshgrid(grid.x_centers(), grid.y_centers())
    bed = -0.005 * x + 0.2 * np.sin(x / (7.0 * cell_size)) * np.cos(y / (11.0 * cell_size))
    bed += 0.02 * rng.standard_normal(grid.shape)
    block = max(n // 32, 4)
    col, row = np.meshgrid(np.arange(n), np.arange(n))
    walls = ((col % (2 * block)) < block) & ((row % (2 * block)) < block) & (col > n // 4)
    walls &= ((col // (2 * block) + row // (2 * block)) % 3) != 0  # some blocks are squares
    depth = np.where(x < 0.2 * n * cell_size, 2.0, 0.0)
    return grid, bed, np.where(walls, 0.0, depth), walls


def bench_flood(impl: str, n: int, steps: int, dtype: str = "float32") -> dict:
    """Cell-updates per second of the flood solver on the :func:`dam_break_city` case.

    ``impl`` is ``"taichi"`` (Taichi must be initialised by the caller) or ``"numpy"``.
    ``compile_s`` is the first step (JIT compilation for Taichi), timed apart from
    the ``steps`` timed steps.
    """
    from twin3d.errors import InputError

    if impl not in ("taichi", "numpy"):
        raise InputError(None, f"impl must be 'taichi' or 'numpy', got {impl!r}")
    if int(n) < 8 or int(steps) < 1:
        raise InputError(None, f"need n >= 8 and steps >= 1, got n={n}, steps={steps}")
    grid, bed, depth, walls = dam_break_city(int(n))
    cls = FloodSolver if impl == "taichi" else ReferenceFloodSolver
    sim = cls(grid, bed, manning=0.03, walls=walls, dtype=dtype, boundaries={"east": "open"})
    sim.track_wet_region = False  # count only cells really visited
    sim.set_depth(depth)
    t0 = time.perf_counter()
    sim.step()
    sim._max_speed()  # waits for the kernel
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(int(steps)):
        sim.step()
    sim._max_speed()
    elapsed = time.perf_counter() - t0
    if impl == "taichi":
        from twin3d.physics.arch import active_arch

        arch = active_arch()
    else:
        arch = "cpu"
    return {"solver": "flood", "impl": impl, "arch": arch, "scheme": sim.scheme, "order": 1, "dtype": dtype,
            "cells": grid.n_cells, "steps": int(steps), "compile_s": compile_s,
            "cell_updates_per_s": grid.n_cells * int(steps) / elapsed}
