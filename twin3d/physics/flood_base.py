"""Host-side logic shared by the Taichi flood solver and its numpy reference.

Input checks, the time-step control (CFL, forcing events), sources and the mass
balance live here once; a backend supplies the array work through a few hooks
(``_hydro``, ``_cell_sources``, ``_point_sources`` and the state transfers), so the
Taichi solver and the numpy reference take exactly the same steps.
"""

from __future__ import annotations

import numpy as np

from twin3d.errors import InputError
from twin3d.physics.sources import SIDES, Inflow, TimeSeries, line_cells, parse_boundaries

GRAVITY = 9.81
MM_H = 1.0 / 3.6e6  # mm/h -> m/s
DTYPES = {"float32": np.float32, "float64": np.float64}
SCHEMES = ("hll",)


def _positive(name: str, value) -> float:
    value = float(value)
    if not (np.isfinite(value) and value > 0):
        raise InputError(None, f"{name} must be a positive number, got {value}")
    return value


class FloodModel:
    """Shallow-water flood model on a :class:`~twin3d.model.Grid`; see :class:`twin3d.physics.flood.FloodSolver`."""

    def __init__(self, grid, bed, *, manning=0.03, walls=None, dtype: str = "float32", boundaries=None,
                 scheme: str = "hll", cfl: float = 0.5, h_dry: float = 1e-6, max_dt: float = 10.0):
        if dtype not in DTYPES:
            raise InputError(None, f"dtype must be 'float32' or 'float64', got {dtype!r}")
        if scheme not in SCHEMES:
            raise InputError(None, f"scheme must be one of {SCHEMES}, got {scheme!r}")
        self.grid = grid
        self.dtype = dtype
        self.scheme = scheme
        self.real = DTYPES[dtype]
        self.cfl = _positive("cfl", cfl)
        if self.cfl > 0.5:
            raise InputError(None, f"cfl must be at most 0.5 for this 2-D explicit scheme, got {cfl}")
        self.h_dry = _positive("h_dry", h_dry)
        self.max_dt = _positive("max_dt", max_dt)
        self.dx = grid.cell_size
        self.boundaries = parse_boundaries(boundaries)
        self.walls = self._cell_mask("walls", walls)
        self._bed = self._cell_array("bed", bed)
        self._gn2 = GRAVITY * self._cell_array("manning", manning, lo=0.0) ** 2
        self.time = 0.0
        self._rain: TimeSeries | None = None
        self._rain_frames: tuple[np.ndarray, np.ndarray] | None = None
        self._frame_index = -1
        self._frame_sum = 0.0
        self._drainage = False
        self._inflows: list[Inflow] = []
        self._setup_backend()
        self._upload_cells()
        self.set_depth(grid.zeros())

    # -- input --------------------------------------------------------------------------------------
    def _cell_array(self, name: str, value, lo: float | None = None) -> np.ndarray:
        try:
            arr = np.broadcast_to(np.asarray(value, dtype=np.float64), self.grid.shape).copy()
        except (TypeError, ValueError):
            shape = np.shape(value)
            raise InputError(None, f"{name}: need a number or a {self.grid.shape} array, got shape {shape}") from None
        if not np.all(np.isfinite(arr)):
            raise InputError(None, f"{name}: values must be finite")
        if lo is not None and np.any(arr < lo):
            raise InputError(None, f"{name}: values must be >= {lo}, got min {arr.min()}")
        return arr

    def _cell_mask(self, name: str, value) -> np.ndarray:
        if value is None:
            return np.zeros(self.grid.shape, dtype=bool)
        arr = np.asarray(value)
        if arr.shape != self.grid.shape:
            raise InputError(None, f"{name}: need a {self.grid.shape} boolean array, got shape {arr.shape}")
        return arr.astype(bool)

    def set_bed(self, bed) -> None:
        """Replace the bed elevation (m), e.g. to raise a levee; water depths are kept."""
        self._bed = self._cell_array("bed", bed)
        self._upload_cells()

    def set_depth(self, depth, u=None, v=None) -> None:
        """Set water depth (m) and optionally velocity (m/s); resets the mass balance."""
        h = self._cell_array("depth", depth, lo=0.0)
        h[self.walls] = 0.0
        qx = h * self._cell_array("u", 0.0 if u is None else u)
        qy = h * self._cell_array("v", 0.0 if v is None else v)
        qx[h <= self.h_dry] = 0.0
        qy[h <= self.h_dry] = 0.0
        self._upload_state(h, qx, qy)
        self._reset_balance()

    def set_water_level(self, level) -> None:
        """Fill to a water surface elevation (m, scalar or array): depth = max(level - bed, 0)."""
        self.set_depth(np.maximum(self._cell_array("level", level) - self._bed, 0.0))

    def set_rain(self, times_s, rate_mm_h, interpolation: str = "linear") -> None:
        """Rainfall intensity (mm/h) in time: ``(T,)`` uniform or ``(T, ny, nx)`` per cell.

        A uniform series is piecewise ``"linear"`` or ``"step"``; per-cell frames are
        steps: frame k falls from ``times_s[k]`` until ``times_s[k+1]``, the last one on.
        Rain falls on every cell but walls.  ``set_rain(None, None)`` stops the rain.
        """
        if self._frame_index >= 0:
            self._upload_rain_frame(self.grid.zeros())
        self._rain, self._rain_frames, self._frame_index = None, None, -1
        if times_s is None:
            return
        rate = np.asarray(rate_mm_h, dtype=np.float64)
        if rate.ndim <= 1:
            self._rain = TimeSeries.from_arrays(times_s, rate, interpolation, what="rain")
            if np.any(self._rain.values < 0):
                raise InputError(None, "rain: intensities must be >= 0")
            return
        times = TimeSeries.from_arrays(times_s, np.zeros(np.size(times_s)), what="rain").times
        if rate.shape != (times.size, *self.grid.shape) or not np.all(np.isfinite(rate)) or np.any(rate < 0):
            raise InputError(None, f"rain: need ({times.size}, {self.grid.ny}, {self.grid.nx}) finite "
                                   f"intensities >= 0, got shape {rate.shape}")
        self._rain_frames = (times, rate * MM_H)

    def set_drainage(self, rate_mm_h) -> None:
        """Drainage capacity (mm/h, scalar or per cell): a sink limited by the water present."""
        rate = self._cell_array("drainage", rate_mm_h, lo=0.0)
        rate[self.walls] = 0.0
        self._drainage = bool(np.any(rate > 0))
        self._upload_drainage(rate * MM_H)

    def add_inflow(self, times_s, q_m3s, *, point=None, cells=None, line=None) -> None:
        """Add a discharge hydrograph (m3/s, piecewise linear) at a point, at cells or along a line.

        Exactly one of ``point=(x, y)``, ``cells=(rows, cols)`` or ``line=((x0, y0), (x1, y1))``;
        the discharge is shared equally by the cells.
        """
        rows, cols = self._inflow_cells(point, cells, line)
        series = TimeSeries.from_arrays(times_s, q_m3s, "linear", what="inflow")
        if np.any(series.values < 0):
            raise InputError(None, "inflow: discharges must be >= 0")
        if np.any(self.walls[rows, cols]):
            raise InputError(None, "inflow: a source cell is a wall")
        self._inflows.append(Inflow(rows, cols, series))

    def _inflow_cells(self, point, cells, line) -> tuple[np.ndarray, np.ndarray]:
        if sum(x is not None for x in (point, cells, line)) != 1:
            raise InputError(None, "inflow: give exactly one of point=, cells= or line=")
        if line is not None:
            return line_cells(self.grid, line[0], line[1])
        if point is not None:
            r, c = self.grid.cell_of(*np.asarray(point, dtype=np.float64).reshape(2))
            rows, cols = np.array([r]), np.array([c])
        else:
            rows, cols = (np.atleast_1d(np.asarray(a)).astype(np.int64) for a in cells)
        ny, nx = self.grid.shape
        if rows.shape != cols.shape or rows.size == 0 or np.any((rows < 0) | (rows >= ny) | (cols < 0) | (cols >= nx)):
            raise InputError(None, f"inflow: cells must lie inside the {self.grid.shape} grid")
        return rows, cols

    # -- stepping -----------------------------------------------------------------------------------
    def step(self, max_dt: float | None = None) -> float:
        """Advance one CFL-limited step (at most ``max_dt`` s); returns the step taken (s)."""
        speed = max(self._max_speed(), self._ghost_speed())
        dt = self.max_dt if speed <= 0 else min(self.max_dt, self.cfl * self.dx / speed)
        if max_dt is not None:
            dt = min(dt, max_dt)
        dt = min(dt, self._next_event() - self.time)
        stages = [s.value(self.time + 0.5 * dt) if s is not None else 0.0 for _, s in
                  (self.boundaries[side] for side in SIDES)]
        self._hydro(dt, [float(x) for x in stages])
        self._apply_sources(dt)
        self.time += dt
        return dt

    def advance(self, duration_s: float) -> int:
        """Run for ``duration_s`` seconds, landing on the end time exactly; returns steps taken."""
        duration_s = float(duration_s)
        if not (np.isfinite(duration_s) and duration_s >= 0):
            raise InputError(None, f"duration must be a finite number >= 0, got {duration_s}")
        end = self.time + duration_s
        steps = 0
        while end - self.time > 1e-9 * max(1.0, abs(end)):
            self.step(end - self.time)
            steps += 1
        self.time = end if steps else self.time
        return steps

    def _next_event(self) -> float:
        if self._rain_frames is None:
            return np.inf
        times = self._rain_frames[0]
        k = np.searchsorted(times, self.time * (1 + 1e-12) + 1e-9, side="right")
        return float(times[k]) if k < times.size else np.inf

    def _ghost_speed(self) -> float:
        """Dry-bed front speed 2*sqrt(g h) of water entering through stage boundaries."""
        speed = 0.0
        for side, (kind, series) in self.boundaries.items():
            if kind == "stage":
                h = float(series.value(self.time)) - self._side_min_bed(side)
                speed = max(speed, 2.0 * np.sqrt(GRAVITY * max(h, 0.0)))
        return speed

    def _side_min_bed(self, side: str) -> float:
        edge = {"west": np.s_[:, 0], "east": np.s_[:, -1], "south": np.s_[0, :], "north": np.s_[-1, :]}[side]
        z = self._bed[edge][~self.walls[edge]]
        return float(z.min()) if z.size else np.inf

    def _apply_sources(self, dt: float) -> None:
        area = self.dx * self.dx
        t0, t1 = self.time, self.time + dt
        rain_depth = 0.0
        if self._rain is not None:
            rain_depth = self._rain.integral(t0, t1) * MM_H
            self._balance["rain"] += rain_depth * area * float(np.count_nonzero(~self.walls))
        per_cell = self._rain_frames is not None
        if per_cell:
            self._sync_rain_frame()
            self._balance["rain"] += dt * self._frame_sum * area
        if rain_depth > 0 or per_cell or self._drainage:
            self._balance["drainage"] += self._cell_sources(dt, rain_depth, per_cell, self._drainage)
        if self._inflows:
            volumes = np.array([src.volume(t0, t1) for src in self._inflows])
            self._balance["inflow"] += float(volumes.sum())
            rows = np.concatenate([src.rows for src in self._inflows])
            cols = np.concatenate([src.cols for src in self._inflows])
            depths = np.concatenate([np.full(s.rows.size, v / (s.rows.size * area)) for s, v in
                                     zip(self._inflows, volumes, strict=True)])
            self._point_sources(rows, cols, depths)

    def _sync_rain_frame(self) -> None:
        times, frames = self._rain_frames
        k = max(int(np.searchsorted(times, self.time * (1 + 1e-12) + 1e-9, side="right")) - 1, 0)
        if k != self._frame_index:
            frame = np.where(self.walls, 0.0, frames[k])
            self._upload_rain_frame(frame)
            self._frame_sum = float(frame.sum())
            self._frame_index = k

    # -- results ------------------------------------------------------------------------------------
    def depth(self) -> np.ndarray:
        """Water depth (m), ``(ny, nx)`` float64."""
        return self._download_state()[0].astype(np.float64)

    def water_level(self) -> np.ndarray:
        """Water surface elevation bed + depth (m); NaN on wall cells."""
        return np.where(self.walls, np.nan, self._bed + self.depth())

    def velocity(self) -> tuple[np.ndarray, np.ndarray]:
        """Depth-averaged velocity ``(u, v)`` (m/s, east and north); zero where dry."""
        h, qx, qy = (a.astype(np.float64) for a in self._download_state())
        wet = h > self.h_dry
        safe = np.where(wet, h, 1.0)
        return np.where(wet, qx / safe, 0.0), np.where(wet, qy / safe, 0.0)

    def speed(self) -> np.ndarray:
        """Flow speed |u| (m/s)."""
        u, v = self.velocity()
        return np.hypot(u, v)

    def stored_volume(self) -> float:
        """Water volume on the grid (m3), summed in float64."""
        return float(self.depth().sum() * self.dx * self.dx)

    def _reset_balance(self) -> None:
        self._balance = {"inflow": 0.0, "rain": 0.0, "drainage": 0.0}
        self._outflow_offset = self._boundary_outflow()
        self._initial_volume = self.stored_volume()

    def mass_balance(self) -> dict:
        """Volumes (m3, float64) since the last :meth:`set_depth` and the balance error.

        ``stored - initial`` should equal ``inflow + rain - outflow - drainage``;
        ``outflow`` is the net volume out through open and stage boundaries.
        ``relative_error`` is the imbalance over ``initial + inflow + rain``.
        """
        stored = self.stored_volume()
        out = {"initial": self._initial_volume, "stored": stored, "inflow": self._balance["inflow"],
               "rain": self._balance["rain"], "outflow": self._boundary_outflow() - self._outflow_offset,
               "drainage": self._balance["drainage"]}
        expected = out["initial"] + out["inflow"] + out["rain"] - out["outflow"] - out["drainage"]
        out["error"] = stored - expected
        scale = max(out["initial"] + out["inflow"] + out["rain"], abs(stored), 1e-300)
        out["relative_error"] = abs(out["error"]) / scale
        return out

    # -- checkpoints --------------------------------------------------------------------------------
    def snapshot(self) -> tuple[np.ndarray, np.ndarray]:
        """The state to resume from: ``(3, ny, nx)`` depth and discharges, and the scalars
        (time and mass-balance counters), all float64."""
        state = np.stack([a.astype(np.float64) for a in self._download_state()])
        b = self._balance
        scalars = [self.time, b["inflow"], b["rain"], b["drainage"], self._initial_volume,
                   self._boundary_outflow() - self._outflow_offset]
        return state, np.array(scalars)

    def restore(self, state: np.ndarray, scalars: np.ndarray) -> None:
        """Continue from a :meth:`snapshot`: same state, time and mass balance."""
        h, qx, qy = (np.asarray(a, dtype=np.float64) for a in state)
        self._upload_state(h, qx, qy)
        self.time = float(scalars[0])
        self._balance = {"inflow": float(scalars[1]), "rain": float(scalars[2]), "drainage": float(scalars[3])}
        self._initial_volume = float(scalars[4])
        self._outflow_offset = self._boundary_outflow() - float(scalars[5])

    # -- backend hooks ------------------------------------------------------------------------------
    def _setup_backend(self) -> None:
        raise NotImplementedError

    def _upload_cells(self) -> None:
        """Send bed, walls and g*n^2 to the backend."""
        raise NotImplementedError

    def _upload_state(self, h: np.ndarray, qx: np.ndarray, qy: np.ndarray) -> None:
        raise NotImplementedError

    def _download_state(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        raise NotImplementedError

    def _upload_rain_frame(self, rate_m_s: np.ndarray) -> None:
        raise NotImplementedError

    def _upload_drainage(self, rate_m_s: np.ndarray) -> None:
        raise NotImplementedError

    def _max_speed(self) -> float:
        raise NotImplementedError

    def _boundary_outflow(self) -> float:
        raise NotImplementedError

    def _hydro(self, dt: float, stages: list[float]) -> None:
        raise NotImplementedError

    def _cell_sources(self, dt: float, rain_depth: float, per_cell: bool, drainage: bool) -> float:
        raise NotImplementedError

    def _point_sources(self, rows: np.ndarray, cols: np.ndarray, depths: np.ndarray) -> None:
        raise NotImplementedError
