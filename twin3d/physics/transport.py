"""Advection-diffusion-reaction solver in Taichi: smoke and chemical plumes, and urban heat.

The scheme, its parameters and its time step are those of
:mod:`twin3d.physics.transport_reference` (read its docstring): ``TransportSolver``
subclasses :class:`~twin3d.physics.transport_reference.TransportReference` and replaces
only the stepping by one fused Taichi kernel per stage, with ping-pong buffers.  The
caller initialises Taichi (:func:`twin3d.physics.arch.init_taichi`); the solver never does.

Taichi is imported when ``TransportSolver`` is first looked up, so importing this module
stays cheap.  On the CPU the kernel runs one row per task with an inner loop over
columns, and computes each x-face flux once (a cell's east flux is the next one's west).

Examples
--------
>>> from twin3d.physics.arch import init_taichi
>>> arch = init_taichi("cpu")
>>> from twin3d.model.grid import Grid
>>> from twin3d.physics.transport import TransportSolver
>>> solver = TransportSolver(Grid((0, 0), 10.0, (64, 64)), diffusivity=2.0, boundaries="closed")
>>> solver.set_wind(3.0, -1.0)
>>> solver.set_concentration(1.0)
>>> n = solver.advance(120.0)
>>> print(round(solver.total_mass(), 3))
409600.0
"""

# No ``from __future__ import annotations`` here: Taichi reads kernel annotations
# (``ti.template()``) as objects, not strings.
import numpy as np

from twin3d.physics.transport_reference import HALO, TransportReference

__all__ = ["TransportSolver"]  # noqa: F822 - defined lazily by __getattr__


def __getattr__(name: str):
    if name == "TransportSolver":
        cls = _define_solver()
        globals()[name] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _define_solver():
    import taichi as ti

    H = HALO

    @ti.func
    def van_leer(a, b):
        ab = a * b
        out = ab * 0
        if ab > 0:
            out = 2 * ab / (a + b)
        return out

    @ti.func
    def face_flux(w, kf, c: ti.template(), m: ti.template(), ii, jj, di, dj, limited: ti.template()):
        """Advective plus diffusive flux across the face between ``(ii-di, jj-dj)`` and ``(ii, jj)``.

        ``w * c_face - kf * (c_right - c_left)`` with ``kf = K / dx``; ``c_face`` is upwind,
        or van Leer limited (first order next to walls and edges).
        """
        cl, cr = c[ii - di, jj - dj], c[ii, jj]
        up, down = cl, cr
        if ti.static(limited):
            cll, crr = c[ii - 2 * di, jj - 2 * dj], c[ii + di, jj + dj]
            ml, mr = m[ii - di, jj - dj], m[ii, jj]
            mll, mrr = m[ii - 2 * di, jj - 2 * dj], m[ii + di, jj + dj]
            up = cl + 0.5 * van_leer(cl - cll, cr - cl) * (mll * mr)
            down = cr + 0.5 * van_leer(cr - crr, cl - cr) * (mrr * ml)
        return ti.max(w, 0) * up + ti.min(w, 0) * down - kf * (cr - cl)

    @ti.data_oriented
    class TransportSolver(TransportReference):
        """Advection-diffusion-reaction of one scalar field, in Taichi.

        Same parameters and methods as
        :class:`~twin3d.physics.transport_reference.TransportReference`; numpy in, numpy out.
        """

        # ------------------------------------------------------------ fields
        def _init_state(self) -> None:
            ny, nx = self.shape
            self.real = ti.f32 if self.dtype == "float32" else ti.f64
            halo_shape = (ny + 2 * H, nx + 2 * H)
            self._buffers = [ti.field(self.real, halo_shape), ti.field(self.real, halo_shape)]
            self._cur = 0
            self._halo = [None, None]  # the background value each buffer's halo holds
            self._mask_f = ti.field(self.real, halo_shape)
            self._u_f = ti.field(self.real, (ny, nx + 1))
            self._v_f = ti.field(self.real, (ny + 1, nx))
            self._outflow_f = ti.field(ti.f64, ())
            self._kx_f = self._ky_f = self._loss_f = self._relax_f = self._src_f = None

        def _field(self, name: str, values: np.ndarray):
            """Upload ``values`` into the field ``name``, allocating it on first use."""
            field = getattr(self, name)
            if field is None:
                field = ti.field(self.real, values.shape)
                setattr(self, name, field)
            field.from_numpy(np.ascontiguousarray(values, dtype=self.dtype))
            return field

        def _after_setup(self) -> None:
            self._mask_f.from_numpy(self._fluid_h.astype(self.dtype))
            self._u_f.from_numpy(self.u_face.astype(self.dtype))
            self._v_f.from_numpy(self.v_face.astype(self.dtype))
            uniform_k = np.isscalar(self._diffusivity)
            self._k = float(self._diffusivity) / self.dx if uniform_k else 0.0
            if not uniform_k:  # face fields hold K / dx, the diffusive flux per unit difference
                self._field("_kx_f", self.kx_face * self.dx)
                self._field("_ky_f", self.ky_face * self.dx)
            loss = self.loss_rate
            self._loss = float(loss) if np.isscalar(loss) else 0.0
            if not np.isscalar(loss):
                self._field("_loss_f", loss * self.fluid)
            self._relax = float(self._relaxation) if np.isscalar(self._relaxation) else 0.0
            if not np.isscalar(self._relaxation):
                self._field("_relax_f", self._relaxation * self.fluid)
            if self._source is not None:
                self._field("_src_f", self._source)
            self._flags = (not uniform_k, not np.isscalar(loss), not np.isscalar(self._relaxation),
                           self._source is not None, self.scheme == "limited")

        def _put(self, c: np.ndarray) -> None:
            self._buffers[self._cur].from_numpy(np.pad(c, H).astype(self.dtype))
            self._halo[self._cur] = None

        def concentration(self, wall_value: float = 0.0) -> np.ndarray:
            """A copy of the field ``(ny, nx)``; wall cells hold ``wall_value`` (e.g. ``np.nan``)."""
            c = self._buffers[self._cur].to_numpy()[H:-H, H:-H]
            return np.where(self.fluid, c, wall_value) if wall_value != 0.0 else c

        def boundary_outflow(self) -> float:
            """Net mass carried out through open edges since the start (inflow counts negative)."""
            return float(self._outflow_f[None])

        def _set_outflow(self, value: float) -> None:
            self._outflow_f[None] = value

        # ---------------------------------------------------------- stepping
        def _apply(self, dt: float, stages: list[tuple[float, float, float]]) -> None:
            weight = dt * self.dx * self.layer_height / len(stages)
            flags = (self.boundaries == "open", *self._flags)
            scalars = (self._k, self._loss, self._relax, 1 / self.dx, weight)
            for stage, (_, scale, cbg) in enumerate(stages):
                src = self._cur if stage == 0 else 1 - self._cur
                if self._halo[src] != cbg:
                    self._fill_halo(self._buffers[src], cbg)
                    self._halo[src] = cbg
                self._update(self._buffers[src], self._buffers[1 - src], dt, scale, cbg, *scalars, stage == 1, *flags)
            if len(stages) == 1:
                self._cur = 1 - self._cur

        @ti.kernel
        def _fill_halo(self, c: ti.template(), cbg: ti.f64):
            ny, nx = ti.static(self.shape)
            value = ti.cast(cbg, self.real)
            for i, k in ti.ndrange(ny + 2 * H, H):
                c[i, k] = value
                c[i, nx + H + k] = value
            for k, j in ti.ndrange(H, nx + 2 * H):
                c[k, j] = value
                c[ny + H + k, j] = value

        @ti.func
        def _xflux(self, c: ti.template(), ii, jj, k, k_field: ti.template(), limited: ti.template()):
            """Flux through the west face of halo cell ``(ii, jj)``; ``k = K / dx`` when uniform."""
            i, j = ii - H, jj - H
            kf = k
            if ti.static(k_field):
                kf = self._kx_f[i, j]
            else:
                kf = k * self._mask_f[ii, jj - 1] * self._mask_f[ii, jj]
            return face_flux(self._u_f[i, j], kf, c, self._mask_f, ii, jj, 0, 1, limited)

        @ti.func
        def _yflux(self, c: ti.template(), ii, jj, k, k_field: ti.template(), limited: ti.template()):
            """Flux through the south face of halo cell ``(ii, jj)``; ``k = K / dx`` when uniform."""
            i, j = ii - H, jj - H
            kf = k
            if ti.static(k_field):
                kf = self._ky_f[i, j]
            else:
                kf = k * self._mask_f[ii - 1, jj] * self._mask_f[ii, jj]
            return face_flux(self._v_f[i, j], kf, c, self._mask_f, ii, jj, 1, 0, limited)

        @ti.kernel
        def _update(self, src: ti.template(), dst: ti.template(), dt_: ti.f64, scale_: ti.f64, cbg_: ti.f64,
                    k_: ti.f64, loss_: ti.f64, relax_: ti.f64, inv_dx_: ti.f64, weight: ti.f64, blend: ti.template(),
                    edge: ti.template(), k_field: ti.template(),
                    loss_field: ti.template(), relax_field: ti.template(), has_source: ti.template(),
                    limited: ti.template()):
            """``dst = src + dt L(src)``; with ``blend``, ``dst = (dst + src + dt L(src)) / 2`` (Heun).

            With ``edge`` (open boundaries) ``weight`` times the net flux out through the
            edge faces is added to the outflow total (summed per row in float64).
            """
            ny, nx = ti.static(self.shape)
            real = self.real
            dt, scale, cbg = ti.cast(dt_, real), ti.cast(scale_, real), ti.cast(cbg_, real)
            k, loss, relax = ti.cast(k_, real), ti.cast(loss_, real), ti.cast(relax_, real)
            inv_dx = ti.cast(inv_dx_, real)
            for i in range(ny):
                ii = i + H
                west = self._xflux(src, ii, H, k, k_field, limited)
                edge_out = -ti.cast(west, ti.f64)
                for j in range(nx):
                    jj = j + H
                    east = self._xflux(src, ii, jj + 1, k, k_field, limited)
                    south = self._yflux(src, ii, jj, k, k_field, limited)
                    north = self._yflux(src, ii + 1, jj, k, k_field, limited)
                    cc = src[ii, jj]
                    tend = (west - east + south - north) * inv_dx
                    west = east
                    cell_loss, cell_relax = loss, relax
                    if ti.static(loss_field):
                        cell_loss = self._loss_f[i, j]
                    if ti.static(relax_field):
                        cell_relax = self._relax_f[i, j]
                    tend += cell_relax * cbg - cell_loss * cc
                    if ti.static(has_source):
                        tend += self._src_f[i, j] * scale
                    new = cc + dt * tend
                    if ti.static(blend):
                        new = 0.5 * (dst[ii, jj] + new)
                    dst[ii, jj] = new * self._mask_f[ii, jj]
                if ti.static(edge):  # x-edges from the carried fluxes; y-edges on the first and last rows
                    if i == 0:
                        for j in range(nx):
                            edge_out -= ti.cast(self._yflux(src, H, j + H, k, k_field, limited), ti.f64)
                    if i == ny - 1:
                        for j in range(nx):
                            edge_out += ti.cast(self._yflux(src, ny + H, j + H, k, k_field, limited), ti.f64)
                    self._outflow_f[None] += weight * (edge_out + ti.cast(west, ti.f64))

    return TransportSolver


def plume_city(n: int, cell_size: float = 10.0):
    """The benchmark case: an ``n x n`` city block lattice (about 6 % walls), a swirling wind
    (m/s, cell-centred) and a point source of 1 unit/s in the south-west.

    Returns ``(grid, walls, u, v, source)``.
    """
    from twin3d.model.grid import Grid

    grid = Grid((0.0, 0.0), cell_size, (n, n))
    rows, cols = np.mgrid[0:n, 0:n]
    block = max(n // 16, 2)
    walls = ((rows % block) >= block // 3) & ((rows % block) < block // 2) & ((cols % block) >= block // 3)
    walls &= (cols % block) < block // 2 + block // 6
    y, x = (rows + 0.5) / n, (cols + 0.5) / n
    u = 3.0 + np.sin(2 * np.pi * y) * np.cos(np.pi * x)
    v = 1.0 - np.cos(2 * np.pi * x) * np.sin(np.pi * y)
    source = np.zeros(grid.shape)
    source[n // 8, n // 8] = 1.0 / grid.cell_area
    walls[n // 8, n // 8] = False
    return grid, walls, u, v, source


def bench_transport(impl: str, n: int, steps: int, dtype: str = "float32", scheme: str = "upwind") -> dict:
    """Cell-updates per second of the transport solver on :func:`plume_city`.

    ``impl`` is ``"taichi"`` (Taichi must be initialised by the caller) or ``"numpy"``.
    ``compile_s`` times the first two steps apart (Taichi compiles one kernel per
    ping-pong direction); then ``steps`` steps are timed.  The record has the fields of
    :func:`twin3d.physics.bench.run_physics_bench`.
    """
    import time

    from twin3d.errors import InputError

    if impl not in ("taichi", "numpy"):
        raise InputError(None, f"impl must be 'taichi' or 'numpy', got {impl!r}")
    if int(n) < 8 or int(steps) < 1:
        raise InputError(None, f"need n >= 8 and steps >= 1, got n={n}, steps={steps}")
    grid, walls, u, v, source = plume_city(int(n))
    if impl == "taichi":
        import taichi as ti

        from twin3d.physics.arch import active_arch

        cls, sync, arch = __getattr__("TransportSolver"), ti.sync, active_arch()
    else:
        cls, sync, arch = TransportReference, (lambda: None), "cpu"
    sim = cls(grid, walls=walls, diffusivity=2.0, decay=1e-4, dtype=dtype, scheme=scheme, boundaries="open")
    sim.set_wind(u, v)
    sim.set_source(source)
    t0 = time.perf_counter()
    sim.step()
    sim.step()
    sync()
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(int(steps)):
        sim.step()
    sync()
    elapsed = time.perf_counter() - t0
    return {"solver": "transport", "impl": impl, "arch": arch, "scheme": scheme,
            "order": 2 if scheme == "limited" else 1, "dtype": dtype, "cells": grid.n_cells,
            "steps": int(steps), "compile_s": compile_s, "cell_updates_per_s": grid.n_cells * int(steps) / elapsed}
