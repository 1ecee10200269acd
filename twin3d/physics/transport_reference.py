"""Advection-diffusion-reaction on a :class:`~twin3d.model.grid.Grid`: set-up and numpy reference.

One scheme serves smoke and chemical plumes (a concentration) and near-surface urban
heat (an air temperature).  The field ``c`` lives on cell centres and obeys

    dc/dt = -div(w c) + div(K grad c) + S(x) s(t) - (lambda + v_d / H + r) c + r c_bg(t)

with ``w = (u, v)`` the wind on cell faces, ``K`` the diffusivity, ``S s(t)`` a source
field times a time series, ``lambda`` first-order decay, ``v_d / H`` deposition (a
deposition velocity over the layer height) and ``r = 1 / tau`` relaxation toward a
background ``c_bg(t)``.

Finite volumes, explicit in time.  ``scheme="upwind"`` is first-order upwind with
forward Euler; ``scheme="limited"`` reconstructs face values with a van Leer limited
slope (second order where smooth) and steps with the two-stage SSP Runge-Kutta (Heun)
scheme.  Faces between a wall cell and any other cell carry no flux; wall cells hold 0.
``boundaries="closed"`` closes the outer edge; ``"open"`` lets the wind carry ``c`` out
(upwind) and carries ``c_bg(t)`` in, with no diffusive flux through the edge; the mass
that leaves is counted (:meth:`TransportReference.boundary_outflow`).

The time step is the largest one that keeps ``c`` non-negative (each cell loses at most
what it holds): ``dt = cfl / max_cells(a * outflow_speed / dx + sum(K_face) / dx**2 + loss)``
with ``a = 1`` for upwind and ``a = 2`` for the limited scheme (its face values are at
most twice the upwind cell's).  For uniform ``K`` alone this is ``cfl * dx**2 / (4 K)``.

:class:`TransportReference` implements the scheme with whole-array numpy operations;
:class:`twin3d.physics.transport.TransportSolver` runs the same scheme in Taichi and
shares everything here but the stepping.
"""

from __future__ import annotations

import math

import numpy as np

from twin3d.errors import InputError
from twin3d.model.grid import Grid
from twin3d.physics.sources import TimeSeries

SCHEMES = ("upwind", "limited")
BOUNDARIES = ("open", "closed")
DTYPES = ("float32", "float64")
HALO = 2  # ghost cells on each side: the limited scheme reads two cells upwind


def _bad(name: str, reason: str) -> InputError:
    return InputError(None, f"{name}: {reason}")


def cell_field(value, shape: tuple[int, int], name: str, *, non_negative: bool = True):
    """A finite scalar (returned as ``float``) or a ``shape`` array (returned as float64)."""
    arr = np.asarray(value, dtype=np.float64) if not isinstance(value, str) else None
    if arr is None or arr.dtype == object:
        raise _bad(name, f"expected a number or an array of shape {shape}")
    if arr.ndim == 0:
        out = float(arr)
    elif arr.shape == shape:
        out = arr.copy()
    else:
        raise _bad(name, f"shape {arr.shape} does not match the grid {shape}")
    if not np.all(np.isfinite(out)):
        raise _bad(name, "values must be finite")
    if non_negative and np.any(np.asarray(out) < 0):
        raise _bad(name, "values must be >= 0")
    return out


def face_winds(u, v, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Face-normal winds ``u`` on x-faces ``(ny, nx+1)`` and ``v`` on y-faces ``(ny+1, nx)``.

    Each component is a scalar, a cell-centred ``(ny, nx)`` array (interior faces take
    the mean of their two cells, edge faces the edge cell) or already on faces.
    """
    ny, nx = shape
    out = []
    for comp, name, axis, face_shape in ((u, "u", 1, (ny, nx + 1)), (v, "v", 0, (ny + 1, nx))):
        arr = np.asarray(comp, dtype=np.float64) if not isinstance(comp, str) else np.array("x")
        if arr.dtype.kind != "f":
            raise _bad(f"wind {name}", "expected numbers")
        if arr.ndim == 0:
            faces = np.full(face_shape, float(arr))
        elif arr.shape == face_shape:
            faces = arr.copy()
        elif arr.shape == shape:
            pad = [(0, 0), (0, 0)]
            pad[axis] = (1, 1)
            p = np.pad(arr, pad, mode="edge")
            lo = p[:, :-1] if axis == 1 else p[:-1, :]
            hi = p[:, 1:] if axis == 1 else p[1:, :]
            faces = 0.5 * (lo + hi)
        else:
            raise _bad(f"wind {name}", f"shape {arr.shape} is neither cells {shape} nor faces {face_shape}")
        if not np.all(np.isfinite(faces)):
            raise _bad(f"wind {name}", "values must be finite")
        out.append(faces)
    return out[0], out[1]


def van_leer(a, b):
    """Van Leer limited slope from the upwind difference ``a`` and the downwind difference ``b``."""
    ab = a * b
    return np.where(ab > 0, 2 * ab / np.where(ab > 0, a + b, 1), 0)


class TransportReference:
    """Advection-diffusion-reaction of one scalar field, in numpy (the reference scheme).

    Parameters
    ----------
    grid : Grid
        The raster; ``c`` has shape ``grid.shape`` (rows northward).
    walls : bool array, optional
        Cells that are solid (buildings); no flux enters or leaves them.
    diffusivity : float or array
        ``K`` in m2/s per cell; a face takes the harmonic mean of its two cells.
    decay : float or array
        First-order decay rate ``lambda`` in 1/s.
    deposition : float or array
        Deposition velocity ``v_d`` in m/s; the loss rate is ``v_d / layer_height``.
    relaxation : float or array
        Relaxation rate ``r = 1 / tau`` in 1/s toward the background.
    background : float
        Constant background ``c_bg``; :meth:`set_background` gives a time series.
    layer_height : float
        Depth ``H`` in m of the well-mixed layer: mass = sum(c) * cell area * H.
    dtype : {"float32", "float64"}
    scheme : {"upwind", "limited"}
    boundaries : {"open", "closed"}
    cfl : float
        Fraction (0, 1] of the positivity-limited time step taken by :meth:`advance`.
    max_dt : float, optional
        Upper bound on the time step in s (e.g. to follow a fast source series).

    Examples
    --------
    >>> from twin3d.model.grid import Grid
    >>> solver = TransportReference(Grid((0, 0), 10.0, (20, 30)), diffusivity=5.0, dtype="float64")
    >>> solver.set_wind(2.0, 1.0)
    >>> c0 = solver.grid.zeros(); c0[10, 10] = 1.0
    >>> solver.set_concentration(c0)
    >>> steps = solver.advance(60.0)
    >>> print(round(solver.total_mass() + solver.boundary_outflow(), 9))
    100.0
    """

    def __init__(self, grid: Grid, *, walls=None, diffusivity=1.0, decay=0.0, deposition=0.0,
                 relaxation=0.0, background: float = 0.0, layer_height: float = 1.0,
                 dtype: str = "float32", scheme: str = "upwind", boundaries: str = "open",
                 cfl: float = 0.9, max_dt: float | None = None):
        if not isinstance(grid, Grid):
            raise _bad("grid", "expected a twin3d.model.Grid")
        for name, value, allowed in (("dtype", dtype, DTYPES), ("scheme", scheme, SCHEMES),
                                     ("boundaries", boundaries, BOUNDARIES)):
            if value not in allowed:
                raise _bad(name, f"must be one of {', '.join(allowed)}, got {value!r}")
        if not (0 < float(cfl) <= 1):
            raise _bad("cfl", f"must be in (0, 1], got {cfl}")
        if not (float(layer_height) > 0 and math.isfinite(layer_height)):
            raise _bad("layer_height", f"must be positive, got {layer_height}")
        if max_dt is not None and not (float(max_dt) > 0):
            raise _bad("max_dt", f"must be positive, got {max_dt}")
        self.grid, self.shape, self.dx = grid, grid.shape, grid.cell_size
        self.dtype, self.scheme, self.boundaries = dtype, scheme, boundaries
        self.cfl, self.layer_height = float(cfl), float(layer_height)
        self.max_dt = None if max_dt is None else float(max_dt)
        self.fluid = self._fluid_mask(walls)
        self._fluid_h = np.pad(self.fluid, HALO).astype(np.uint8)
        self._time = 0.0
        self._diffusivity = cell_field(diffusivity, self.shape, "diffusivity")
        self._decay = cell_field(decay, self.shape, "decay")
        self._deposition = cell_field(deposition, self.shape, "deposition")
        self._relaxation = cell_field(relaxation, self.shape, "relaxation")
        self._background = TimeSeries.constant(float(cell_field(background, (), "background", non_negative=False)))
        self._source = None
        self._source_series = TimeSeries.constant(1.0)
        self._set_faces(*face_winds(0.0, 0.0, self.shape))
        self._init_state()
        self._after_setup()
        self._dt_limit = None

    # ------------------------------------------------------------------ set-up
    def _fluid_mask(self, walls) -> np.ndarray:
        if walls is None:
            return np.ones(self.shape, dtype=bool)
        w = np.asarray(walls)
        if w.shape != self.shape or w.dtype.kind not in "biu":
            raise _bad("walls", f"expected a boolean array of shape {self.shape}, got {w.dtype} {w.shape}")
        return ~w.astype(bool)

    def _set_faces(self, u_face: np.ndarray, v_face: np.ndarray) -> None:
        """Zero the winds on wall faces (and on the edge when closed), and derive face diffusion."""
        f = self._fluid_h.astype(bool)
        h = HALO
        ny, nx = self.shape
        x_open = f[h:h + ny, h - 1:h + nx] & f[h:h + ny, h:h + nx + 1]
        y_open = f[h - 1:h + ny, h:h + nx] & f[h:h + ny + 1, h:h + nx]
        if self.boundaries == "open":  # edge faces stay open to the wind where the inside cell is fluid
            x_open[:, 0], x_open[:, -1] = self.fluid[:, 0], self.fluid[:, -1]
            y_open[0, :], y_open[-1, :] = self.fluid[0, :], self.fluid[-1, :]
        self.u_face = np.where(x_open, u_face, 0.0)
        self.v_face = np.where(y_open, v_face, 0.0)
        k = np.pad(np.broadcast_to(self._diffusivity, self.shape) * self.fluid, HALO)
        self.kx_face = self._harmonic(k[h:h + ny, h - 1:h + nx], k[h:h + ny, h:h + nx + 1]) / self.dx**2
        self.ky_face = self._harmonic(k[h - 1:h + ny, h:h + nx], k[h:h + ny + 1, h:h + nx]) / self.dx**2

    @staticmethod
    def _harmonic(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        s = a + b
        mean = np.where(s > 0, 2 * a * b / np.where(s > 0, s, 1), 0.0)
        return np.where(a == b, a, mean)  # exact where both cells agree

    @property
    def loss_rate(self):
        """Total first-order loss in 1/s: decay + deposition / layer height + relaxation."""
        return self._decay + self._deposition / self.layer_height + self._relaxation

    def set_wind(self, u, v) -> None:
        """Set the wind in m/s: scalars, cell-centred ``(ny, nx)`` or face arrays (see :func:`face_winds`)."""
        self._set_faces(*face_winds(u, v, self.shape))
        self._after_setup()
        self._dt_limit = None

    def set_diffusivity(self, diffusivity) -> None:
        """Set ``K`` in m2/s (scalar or per cell)."""
        self._diffusivity = cell_field(diffusivity, self.shape, "diffusivity")
        self._set_faces(self.u_face, self.v_face)
        self._after_setup()
        self._dt_limit = None

    def set_source(self, rate_field, times=None, scale_series=None) -> None:
        """Set the source ``S(x) s(t)``: ``rate_field`` in units of c per second per cell.

        ``times`` (s) and ``scale_series`` give a dimensionless ``s(t)``, linear between
        samples; without them ``s = 1``.  ``rate_field=None`` removes the source.  Sources
        in wall cells are dropped.
        """
        if rate_field is None:
            self._source = None
        else:
            rate = np.broadcast_to(cell_field(rate_field, self.shape, "source", non_negative=False), self.shape)
            self._source = np.where(self.fluid, rate, 0.0)
        if (times is None) != (scale_series is None):
            raise _bad("source", "give both times and scale_series, or neither")
        self._source_series = (TimeSeries.constant(1.0) if times is None
                               else TimeSeries.from_arrays(times, scale_series, what="source series"))
        self._after_setup()

    def set_background(self, times, values=None) -> None:
        """Background ``c_bg(t)``: a constant (``values=None``) or a series over ``times`` (s)."""
        self._background = (TimeSeries.constant(float(cell_field(times, (), "background", non_negative=False)))
                            if values is None else TimeSeries.from_arrays(times, values, what="background"))

    def set_concentration(self, c) -> None:
        """Set the field (scalar or ``(ny, nx)``); wall cells are set to 0."""
        field = np.broadcast_to(cell_field(c, self.shape, "concentration", non_negative=False), self.shape)
        self._put(np.where(self.fluid, field, 0.0))

    # ------------------------------------------------------------- time step
    def max_stable_dt(self) -> float:
        """The time step :meth:`advance` takes: ``cfl`` times the positivity limit, capped by ``max_dt``."""
        if self._dt_limit is None:
            self._dt_limit = self._positivity_dt()
        return self._dt_limit

    def _positivity_dt(self) -> float:
        a = 2.0 if self.scheme == "limited" else 1.0
        u, v = self.u_face, self.v_face
        out = (np.maximum(u[:, 1:], 0) - np.minimum(u[:, :-1], 0)
               + np.maximum(v[1:, :], 0) - np.minimum(v[:-1, :], 0)) / self.dx
        diff = self.kx_face[:, 1:] + self.kx_face[:, :-1] + self.ky_face[1:, :] + self.ky_face[:-1, :]
        rate = np.where(self.fluid, a * out + diff + self.loss_rate, 0.0)
        peak = float(rate.max())
        dt = self.cfl / peak if peak > 0 else math.inf
        return min(dt, self.max_dt) if self.max_dt is not None else dt

    def step(self, dt: float | None = None) -> float:
        """Advance one step of ``dt`` s (default :meth:`max_stable_dt`); returns the step taken."""
        dt = self.max_stable_dt() if dt is None else float(dt)
        if not (0 < dt < math.inf):
            raise _bad("dt", f"must be positive and finite, got {dt} (no stability limit applies: pass dt)")
        t = self._time
        stages = [(t, self._source_series(t), self._background(t))]
        if self.scheme == "limited":
            stages.append((t + dt, self._source_series(t + dt), self._background(t + dt)))
        self._apply(dt, stages)
        self._time = t + dt
        return dt

    def advance(self, duration_s: float) -> int:
        """Advance by ``duration_s`` in equal steps no longer than :meth:`max_stable_dt`; returns the count."""
        duration = float(duration_s)
        if not (duration >= 0 and math.isfinite(duration)):
            raise _bad("duration", f"must be finite and >= 0, got {duration_s}")
        if duration == 0:
            return 0
        limit = self.max_stable_dt()
        n = max(1, math.ceil(duration / limit * (1 - 1e-12))) if math.isfinite(limit) else 1
        dt = duration / n
        t_end = self._time + duration
        for _ in range(n):
            self.step(dt)
        self._time = t_end
        return n

    @property
    def time(self) -> float:
        """Simulated time in s since the start."""
        return self._time

    def total_mass(self) -> float:
        """``sum(c) * cell area * layer height``, summed in float64."""
        return float(np.sum(self.concentration(), dtype=np.float64)) * self.grid.cell_area * self.layer_height

    def snapshot(self) -> tuple[np.ndarray, np.ndarray]:
        """The state to resume from: the ``(1, ny, nx)`` field, and (time, boundary outflow)."""
        return self.concentration()[None].astype(np.float64), np.array([self._time, self.boundary_outflow()])

    def restore(self, state: np.ndarray, scalars: np.ndarray) -> None:
        """Continue from a :meth:`snapshot`."""
        self._put(np.asarray(state[0], dtype=self.dtype))
        self._time = float(scalars[0])
        self._set_outflow(float(scalars[1]))

    def _set_outflow(self, value: float) -> None:
        self._outflow = value

    # ------------------------------------------------------- numpy stepping
    def _init_state(self) -> None:
        self._c = np.zeros((self.shape[0] + 2 * HALO, self.shape[1] + 2 * HALO), dtype=self.dtype)
        self._outflow = 0.0

    def _after_setup(self) -> None:
        """Cast the set-up arrays to the working precision."""
        d = self.dtype
        self._u, self._v = self.u_face.astype(d), self.v_face.astype(d)
        self._kx, self._ky = self.kx_face.astype(d), self.ky_face.astype(d)
        self._loss = np.asarray(self.loss_rate * self.fluid, dtype=d)
        self._relax = np.asarray(self._relaxation * self.fluid, dtype=d)
        self._src = None if self._source is None else self._source.astype(d)
        self._mask = self.fluid.astype(d)

    def _put(self, c: np.ndarray) -> None:
        h = HALO
        self._c[h:-h, h:-h] = c

    def concentration(self, wall_value: float = 0.0) -> np.ndarray:
        """A copy of the field ``(ny, nx)``; wall cells hold ``wall_value`` (e.g. ``np.nan``)."""
        h = HALO
        c = self._c[h:-h, h:-h].copy()
        if wall_value != 0.0:
            c = np.where(self.fluid, c, wall_value)
        return c

    def boundary_outflow(self) -> float:
        """Net mass carried out through open edges since the start (inflow counts negative)."""
        return float(self._outflow)

    def _apply(self, dt: float, stages: list[tuple[float, float, float]]) -> None:
        d = np.dtype(self.dtype).type
        h = HALO
        c0 = self._c
        _, scale, cbg = stages[0]
        c0[:h], c0[-h:], c0[:, :h], c0[:, -h:] = cbg, cbg, cbg, cbg
        tend, out = self._tendency(c0, scale, cbg)
        if len(stages) == 1:
            c0[h:-h, h:-h] += d(dt) * tend
            self._outflow += dt * out
            return
        c1 = c0.copy()
        c1[h:-h, h:-h] += d(dt) * tend
        _, scale1, cbg1 = stages[1]
        c1[:h], c1[-h:], c1[:, :h], c1[:, -h:] = cbg1, cbg1, cbg1, cbg1
        tend1, out1 = self._tendency(c1, scale1, cbg1)
        half = d(0.5)
        c0[h:-h, h:-h] = half * c0[h:-h, h:-h] + half * (c1[h:-h, h:-h] + d(dt) * tend1)
        self._outflow += 0.5 * dt * (out + out1)

    def _tendency(self, c: np.ndarray, scale: float, cbg: float) -> tuple[np.ndarray, float]:
        """``dc/dt`` on the interior, and the net outflow rate through the edge (mass/s)."""
        h, (ny, nx), d = HALO, self.shape, self._c.dtype.type
        m = self._fluid_h
        xs = [slice(h + k - 2, h + k - 2 + nx + 1) for k in range(4)]  # columns LL, L, R, RR of x-faces
        ys = [slice(h + k - 2, h + k - 2 + ny + 1) for k in range(4)]
        rows, cols = slice(h, h + ny), slice(h, h + nx)
        fx = self._face_flux([c[rows, s] for s in xs], [m[rows, s] for s in xs], self._u)
        fy = self._face_flux([c[s, cols] for s in ys], [m[s, cols] for s in ys], self._v)
        gx = self._kx * (c[rows, xs[2]] - c[rows, xs[1]])
        gy = self._ky * (c[ys[2], cols] - c[ys[1], cols])
        inner = c[rows, cols]
        tend = ((fx[:, :-1] - fx[:, 1:]) + (fy[:-1, :] - fy[1:, :])) * d(1 / self.dx)
        tend += (gx[:, 1:] - gx[:, :-1]) + (gy[1:, :] - gy[:-1, :])
        tend += self._relax * d(cbg) - self._loss * inner
        if self._src is not None:
            tend += self._src * d(scale)
        tend *= self._mask
        out = (np.sum(fx[:, -1], dtype=np.float64) - np.sum(fx[:, 0], dtype=np.float64)
               + np.sum(fy[-1, :], dtype=np.float64) - np.sum(fy[0, :], dtype=np.float64))
        return tend, out * self.dx * self.layer_height

    def _face_flux(self, cs: list[np.ndarray], ms: list[np.ndarray], w: np.ndarray) -> np.ndarray:
        """Advective flux ``w * c_face`` on faces, from cells LL, L, R, RR of each face."""
        cll, cl, cr, crr = cs
        pos, neg = np.maximum(w, 0), np.minimum(w, 0)
        if self.scheme == "upwind":
            return pos * cl + neg * cr
        half = cl.dtype.type(0.5)
        east = cl + half * van_leer(cl - cll, cr - cl) * (ms[0] & ms[2])
        west = cr + half * van_leer(cr - crr, cl - cr) * (ms[3] & ms[1])
        return pos * east + neg * west
