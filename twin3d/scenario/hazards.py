"""The solvers of one scenario: flood, plume and heat, driven by the spec's series.

:class:`Hazards` builds whichever solvers the scenario needs, advances them together to
each output time (splitting at breaches and updating winds and source rates every
``FORCING_STEP_S``), and gives numpy fields, mass-balance rows and checkpoints.
"""

from __future__ import annotations

import numpy as np

from twin3d.scenario.schema import SpecError
from twin3d.scenario.setup import LANDUSE, SimulationSetup, geometry_mask, raster_on_grid
from twin3d.scenario.spec import Scenario

FORCING_STEP_S = 60.0          # winds and release rates are updated this often
PLUME_LAYER_M = 10.0           # well-mixed near-surface layer for plume concentration
PLUME_DIFFUSIVITY_M2_S = 10.0  # default horizontal eddy diffusivity in a street network
HEAT_DIFFUSIVITY_M2_S = 20.0  # horizontal mixing of near-surface air between blocks
DISTRICT_REACH_M = 40.0       # open ground takes the heat class of buildings this close
HEAT_CLASS_OF_USE = {"commercial": "dense_commercial", "industrial": "industrial", "ground": "rural",
                     "road": "road", "water": "water", "vegetation": "vegetation"}  # other uses: residential
FLOOD_BALANCE = ("initial", "stored", "inflow", "rain", "outflow", "drainage", "error", "relative_error")


def _series(pair) -> tuple[np.ndarray, np.ndarray]:
    times, values = pair
    return np.asarray(times, dtype=np.float64), np.asarray(values, dtype=np.float64)


def _at(pair, t: float) -> float:
    times, values = _series(pair)
    return float(np.interp(t, times, values))


def needs_flood(spec: dict) -> bool:
    h = spec.get("hazards", {})
    stage = any(isinstance(b, dict) for b in spec.get("boundaries", {}).values())
    return bool(h.get("rain") or h.get("inflow") or h.get("breach") or stage
                or "initial_depth" in spec["grid"])


class Hazards:
    """Flood, plume and heat solvers of a scenario, advanced in lockstep."""

    def __init__(self, scenario: Scenario, setup: SimulationSetup, city):
        self.spec, self.setup, self.city = scenario.spec, setup, city
        self.dtype = self.spec["grid"].get("dtype", "float32")
        self.time = 0.0
        self.flood = self._make_flood() if needs_flood(self.spec) else None
        releases = self.spec.get("hazards", {}).get("release", [])
        self.plume = self._make_plume(releases) if releases else None
        self.releases = releases
        heat = self.spec.get("hazards", {}).get("heatwave")
        self.heat = self._make_heat(heat) if heat else None
        self._pending_breaches = sorted(setup.breaches, key=lambda b: b.time_s)
        self.n_buildings = len(city.buildings) if city is not None else 0

    # -- what the results file holds ------------------------------------------------------------
    @property
    def field_names(self) -> tuple[str, ...]:
        return (("depth", "speed") if self.flood else ()) + (("temperature",) if self.heat else ()) + (
            ("concentration",) if self.plume else ())

    @property
    def building_quantities(self) -> tuple[str, ...]:
        return (("max_depth", "max_speed") if self.flood else ()) + (("temperature",) if self.heat else ()) + (
            ("concentration",) if self.plume else ())

    @property
    def mass_balance_columns(self) -> tuple[str, ...]:
        cols = FLOOD_BALANCE if self.flood else ()
        return cols + (("plume_mass", "plume_outflow") if self.plume else ())

    def _solvers(self):
        return [s for s in (self.flood, self.heat, self.plume) if s is not None]

    def checkpoint_shape(self) -> tuple[int, int, int]:
        n = sum(len(s.snapshot()[0]) for s in self._solvers())
        return (max(n, 1), *self.setup.grid.shape)

    # -- building the solvers -------------------------------------------------------------------
    def _make_flood(self):
        from twin3d.physics.flood import FloodSolver

        s = self.setup
        sides = {}
        for side, kind in self.spec.get("boundaries", {}).items():
            sides[side] = kind if isinstance(kind, str) else ("stage", *_series(kind["stage_m"]))
        solver = FloodSolver(s.grid, s.bed, manning=s.manning, walls=s.walls, dtype=self.dtype, boundaries=sides)
        if s.initial_depth is not None:
            solver.set_depth(np.where(s.walls, 0.0, s.initial_depth))
        self._set_rain(solver)
        if np.any(s.drainage_mm_h > 0):
            solver.set_drainage(s.drainage_mm_h)
        for inflow in self.spec.get("hazards", {}).get("inflow", []):
            solver.add_inflow(*_series(inflow["discharge_m3s"]), cells=self._cells(inflow))
        return solver

    def _cells(self, item: dict):
        rows, cols = np.nonzero(geometry_mask(self.setup.grid, item) & ~self.setup.walls)
        if rows.size == 0:
            raise SpecError("hazards.inflow", "an inflow lies entirely on building cells")
        return rows, cols

    def _set_rain(self, solver) -> None:
        rains = self.spec.get("hazards", {}).get("rain", [])
        if not rains:
            return
        times = np.unique(np.concatenate([_series(r["intensity_mm_h"])[0] for r in rains]))
        if not any("raster" in r for r in rains):
            solver.set_rain(times, sum(np.interp(times, *_series(r["intensity_mm_h"])) for r in rains))
            return
        frames = np.zeros((times.size, *self.setup.grid.shape))
        for r in rains:
            pattern = self._raster(r["raster"]) if "raster" in r else 1.0
            frames += np.interp(times, *_series(r["intensity_mm_h"]))[:, None, None] * pattern
        solver.set_rain(times, frames)

    def _raster(self, path):
        self.setup.inputs.append(path)
        return np.maximum(raster_on_grid(path, self.setup.grid, "hazards.rain.raster"), 0.0)

    def _make_plume(self, releases):
        from twin3d.physics.transport import TransportSolver

        k = max((r.get("diffusivity_m2_s", PLUME_DIFFUSIVITY_M2_S) for r in releases), default=0)
        decay = max((r.get("decay_per_s", 0.0) for r in releases), default=0)
        solver = TransportSolver(self.setup.grid, walls=self.setup.walls, diffusivity=k, decay=decay,
                                 layer_height=PLUME_LAYER_M, dtype=self.dtype, scheme="limited",
                                 boundaries="open", max_dt=FORCING_STEP_S)
        self._release_cells = [self.setup.grid.cell_of(*r["point"]) for r in releases]
        return solver

    def _make_heat(self, heat):
        from twin3d.physics.heat import diurnal_source_scale, heat_fields, load_heat_parameters
        from twin3d.physics.transport import TransportSolver

        params = load_heat_parameters()
        fields = heat_fields(self._heat_classes(params), params)
        source = fields.source_K_per_s - self._cooling() * fields.relaxation_per_s  # cooling: a lower steady state
        solver = TransportSolver(self.setup.grid, walls=fields.walls, diffusivity=HEAT_DIFFUSIVITY_M2_S,
                                 relaxation=fields.relaxation_per_s, dtype=self.dtype, scheme="upwind",
                                 boundaries="open", max_dt=FORCING_STEP_S)
        start = self.spec.get("start")
        offset = (start.hour * 3600 + start.minute * 60) if start is not None else 0.0
        hours = np.arange(0.0, self.spec["time"]["duration_s"] + 3600.0, 3600.0)
        solver.set_source(source, hours, diurnal_source_scale(hours + offset, params))
        # The solver carries the urban anomaly T - T_bg(t): it relaxes to 0 and open edges bring in 0,
        # so the city follows the rural background without the lag of relaxing T itself.
        self._background = heat["background_c"]
        return solver

    def _heat_classes(self, params) -> np.ndarray:
        """Heat classes per cell: open ground takes the class of the nearest building within
        ``DISTRICT_REACH_M`` (the block it belongs to); roads, water and parks their own."""
        from scipy.ndimage import distance_transform_edt

        code = {name: c.code for name, c in params.classes.items()}
        by_use = np.array([code[HEAT_CLASS_OF_USE.get(u, "residential")] for u in LANDUSE], dtype=np.int32)
        landuse = self.setup.landuse
        built = self.setup.walls
        classes = np.full(landuse.shape, code["rural"], dtype=np.int32)
        if built.any():
            dist, idx = distance_transform_edt(~built, return_indices=True)
            near = dist * self.setup.grid.cell_size <= DISTRICT_REACH_M
            classes[near] = by_use[landuse[idx[0], idx[1]]][near]
        for name in ("road", "water", "vegetation"):
            classes[landuse == LANDUSE.index(name)] = code[name]
        classes[built] = code["building"]
        return classes

    def _cooling(self) -> np.ndarray:
        """Cooling measures as a per-cell lowering of the steady temperature (K)."""
        cooling = self.setup.grid.zeros()
        for m in self.spec.get("strategy", {}).get("cooling", []):
            if "polygon" in m or "point" in m:
                cooling[geometry_mask(self.setup.grid, m)] += m.get("cooling_k", 1.0)
        return cooling

    # -- stepping -------------------------------------------------------------------------------
    def advance_to(self, t_end: float) -> None:
        """Advance every solver to ``t_end`` (s), applying breaches and forcing on the way."""
        while self.time < t_end - 1e-9:
            t_next = min(t_end, self.time + FORCING_STEP_S)
            if self._pending_breaches and self._pending_breaches[0].time_s < t_next:
                t_next = max(self._pending_breaches[0].time_s, self.time)
            self._force(self.time)
            for solver in self._solvers():
                solver.advance(t_next - self.time)
            self.time = t_next
            while self._pending_breaches and self._pending_breaches[0].time_s <= self.time + 1e-9:
                self._breach(self._pending_breaches.pop(0))

    @property
    def breaches_done(self) -> int:
        return len(self.setup.breaches) - len(self._pending_breaches)

    def _breach(self, breach) -> None:
        self.setup.bed = np.where(breach.mask, np.minimum(self.setup.bed, breach.level_m), self.setup.bed)
        if self.flood is not None:
            self.flood.set_bed(self.setup.bed)

    def _force(self, t: float) -> None:
        if self.plume is None:
            return
        grid = self.setup.grid
        source = grid.zeros()
        u = v = 0.0
        for (row, col), rel in zip(self._release_cells, self.releases):
            source[row, col] += _at(rel["rate_kg_s"], t) / (grid.cell_area * PLUME_LAYER_M)
            speed = _at(rel["wind_speed_m_s"], t)
            frm = np.deg2rad(_at(rel["wind_direction_deg"], t))  # meteorological: blowing FROM
            u, v = -speed * np.sin(frm), -speed * np.cos(frm)
        self.plume.set_wind(u, v)
        self.plume.set_source(source)

    # -- output ---------------------------------------------------------------------------------
    def fields(self) -> dict[str, np.ndarray]:
        out = {}
        if self.flood is not None:
            out["depth"] = self.flood.depth().astype(np.float32)
            out["speed"] = self.flood.speed().astype(np.float32)
        if self.heat is not None:
            anomaly = self.heat.concentration(wall_value=np.nan)
            out["temperature"] = (anomaly + _at(self._background, self.time)).astype(np.float32)
        if self.plume is not None:
            out["concentration"] = self.plume.concentration().astype(np.float32)
        return out

    def mass_balance_row(self) -> np.ndarray:
        row = []
        if self.flood is not None:
            mb = self.flood.mass_balance()
            row += [mb[k] for k in FLOOD_BALANCE]
        if self.plume is not None:
            row += [self.plume.total_mass(), self.plume.boundary_outflow()]
        return np.asarray(row, dtype=np.float64)

    def mass_balance_error(self) -> float:
        return self.flood.mass_balance()["relative_error"] if self.flood is not None else np.nan

    def snapshot(self) -> tuple[np.ndarray, np.ndarray]:
        """All solver state as one ``(k, ny, nx)`` stack and a vector of scalars."""
        arrays, scalars = [], [self.time, self.breaches_done]
        for solver in self._solvers():
            a, s = solver.snapshot()
            arrays += list(a)
            scalars += list(s)
        stack = np.stack(arrays) if arrays else np.zeros((1, *self.setup.grid.shape))
        return stack, np.asarray(scalars, dtype=np.float64)

    def restore(self, stack: np.ndarray, scalars: np.ndarray) -> None:
        self.time = float(scalars[0])
        for breach in self._pending_breaches[: int(scalars[1])]:
            self._breach(breach)
        self._pending_breaches = self._pending_breaches[int(scalars[1]):]
        i, j = 0, 2
        for solver in self._solvers():
            a, s = solver.snapshot()
            solver.restore(stack[i: i + len(a)], scalars[j: j + len(s)])
            i, j = i + len(a), j + len(s)
