"""Everything a run needs on the grid: bed, walls, land use, friction, drainage, sampling.

:func:`prepare` turns a validated scenario and its city into a :class:`SimulationSetup`
of numpy arrays on one :class:`~twin3d.model.Grid`; the runner hands those to the solvers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from twin3d.model import USES, City, Grid, Terrain
from twin3d.scenario import rasterise
from twin3d.scenario.schema import SpecError
from twin3d.scenario.spec import Scenario, check_points_inside

# land-use classes on the grid: open ground, context layers, then building uses
LANDUSE = ("ground", "road", "water", "vegetation", *USES)
LANDUSE_CODE = {name: code for code, name in enumerate(LANDUSE)}
LAYER_LANDUSE = {"roads": "road", "water": "water", "vegetation": "vegetation", "landuse": "vegetation"}
DEFAULT_MANNING = {"ground": 0.035, "road": 0.016, "water": 0.03, "vegetation": 0.05}
MM_H_PER_M3S_M2 = 3.6e6


@dataclass
class Breach:
    time_s: float
    mask: np.ndarray
    level_m: float
    label: str


@dataclass
class SimulationSetup:
    grid: Grid
    bed: np.ndarray                 # after barriers (breaches are applied in time)
    walls: np.ndarray               # building cells
    building_ids: np.ndarray        # (ny, nx) building index or -1
    landuse: np.ndarray             # (ny, nx) uint8 code into LANDUSE
    manning: np.ndarray
    drainage_mm_h: np.ndarray
    initial_depth: np.ndarray | None
    sample_cells: np.ndarray
    sample_owners: np.ndarray
    breaches: list[Breach] = field(default_factory=list)
    inputs: list[Path] = field(default_factory=list)  # files read, for the cache key

    def display_elevation(self, city: City | None) -> np.ndarray:
        """The simulated bed with building cells raised to their roofs (for /grid/elevation)."""
        if city is None or not len(city.buildings):
            return self.bed
        height = np.nan_to_num(city.buildings.table["height"])
        return np.where(self.walls, self.bed + height[np.maximum(self.building_ids, 0)], self.bed)


def _terrain(scenario: Scenario, city: City | None) -> tuple[Terrain | None, list[Path]]:
    from twin3d.io.raster import read_terrain

    source = scenario.spec["grid"].get("terrain", "city")
    if source == "city":
        return (city.terrain if city is not None else None), []
    path = (scenario.path.resolve().parent / source).resolve()
    if not path.is_file():
        raise SpecError("grid.terrain", f"file not found: {path}")
    return read_terrain(path), [path]


def make_grid(scenario: Scenario, city: City | None, terrain: Terrain | None) -> Grid:
    """The simulation grid: the spec's extent, else the terrain's, else the city's, at cell_size_m."""
    g = scenario.spec["grid"]
    cell = g["cell_size_m"]
    if "extent" in g:
        (x0, y0), (x1, y1) = g["extent"][0], g["extent"][-1]
    elif terrain is not None:
        x0, y0, x1, y1 = terrain.grid.bounds
    elif city is not None and city.bounds is not None:
        x0, y0, _, x1, y1, _ = city.bounds
    else:
        raise SpecError("grid.extent", "is required when there is neither a city nor a terrain")
    if x1 <= x0 or y1 <= y0:
        raise SpecError("grid.extent", "needs [[xmin, ymin], [xmax, ymax]] with max > min")
    nx, ny = math.ceil((x1 - x0) / cell - 1e-9), math.ceil((y1 - y0) / cell - 1e-9)
    if nx * ny > 50_000_000:
        raise SpecError("grid.cell_size_m", f"gives {ny} x {nx} cells, more than 50 million")
    return Grid((x0, y0), cell, (max(ny, 1), max(nx, 1)))


def raster_on_grid(path: Path, grid: Grid, key: str) -> np.ndarray:
    from twin3d.io.raster import read_raster

    src_grid, values, _ = read_raster(path)
    try:
        return rasterise.terrain_on_grid(Terrain(src_grid, values), grid)
    except ValueError:
        raise SpecError(key, f"raster {path.name} does not cover the grid") from None


def _landuse(city: City | None, grid: Grid, ids: np.ndarray) -> np.ndarray:
    codes = np.zeros(grid.shape, dtype=np.uint8)
    if city is None:
        return codes
    for name, layer in city.layers.items():
        if name in LAYER_LANDUSE and layer.mesh.n_triangles:
            layer_city = City(buildings=_as_buildings(layer))
            hit = rasterise.building_cells(layer_city, grid) >= 0
            codes[hit] = LANDUSE_CODE[LAYER_LANDUSE[name]]
    use_codes = np.array([LANDUSE_CODE.get(u, LANDUSE_CODE["residential"])
                          for u in city.buildings.table["use"]], dtype=np.uint8)
    codes[ids >= 0] = use_codes[ids[ids >= 0]]
    return codes


def _as_buildings(layer):
    from twin3d.model import Buildings

    return Buildings(layer.mesh, {"id": layer.feature_id})


def _manning(spec_value, grid: Grid, landuse: np.ndarray) -> np.ndarray:
    if isinstance(spec_value, float):
        return np.full(grid.shape, spec_value)
    if isinstance(spec_value, Path):
        return raster_on_grid(spec_value, grid, "grid.manning")
    table = {**DEFAULT_MANNING, **({} if spec_value is None else spec_value)}
    default = table.get("default", DEFAULT_MANNING["ground"])
    per_code = np.array([table.get(name, default) for name in LANDUSE])
    return per_code[landuse]


def _strategy(spec: dict, grid: Grid, bed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Barriers raise the bed; drainage upgrades and pumps become a drainage capacity (mm/h)."""
    bed = bed.copy()
    strategy = spec.get("strategy", {})
    for b in strategy.get("barriers", []):
        mask = rasterise.polyline_mask(grid, b["line"])
        bed[mask] = np.maximum(bed[mask], b["crest_m"]) if "crest_m" in b else bed[mask] + b["height_m"]
    drainage = np.zeros(grid.shape)
    for d in strategy.get("drainage", []):
        area = rasterise.polygon_mask(grid, d["polygon"]) if "polygon" in d else np.ones(grid.shape, bool)
        drainage[area] += d["capacity_mm_h"]
    for p in strategy.get("pumps", []):
        r, c = grid.cell_of(*p["point"])
        drainage[r, c] += p["rate_m3s"] / grid.cell_area * MM_H_PER_M3S_M2
    return bed, drainage


def prepare(scenario: Scenario, city: City | None) -> SimulationSetup:
    """Rasterise the city, the strategy and the hazards' geometry onto the simulation grid."""
    spec = scenario.spec
    terrain, inputs = _terrain(scenario, city)
    grid = make_grid(scenario, city, terrain)
    check_points_inside(spec, grid.bounds)
    try:
        bed = rasterise.terrain_on_grid(terrain, grid) if terrain is not None else grid.zeros()
    except ValueError:
        raise SpecError("grid.terrain", "the terrain does not cover the grid's extent") from None
    ids = rasterise.building_cells(city, grid) if city is not None else np.full(grid.shape, -1, np.int32)
    landuse = _landuse(city, grid, ids)
    manning_spec = spec["grid"].get("manning")
    if isinstance(manning_spec, Path):
        inputs.append(manning_spec)
    bed, drainage = _strategy(spec, grid, bed)
    initial = None
    if "initial_depth" in spec["grid"]:
        inputs.append(spec["grid"]["initial_depth"])
        initial = np.maximum(raster_on_grid(spec["grid"]["initial_depth"], grid, "grid.initial_depth"), 0)
    breaches = [Breach(b["time_s"], geometry_mask(grid, b), b["level_m"], b.get("label", f"breach {i + 1}"))
                for i, b in enumerate(spec.get("hazards", {}).get("breach", []))]
    cells, owners = _sampling(city, grid, ids, spec.get("sampling", {}).get("ring_m", grid.cell_size))
    return SimulationSetup(grid, bed, ids >= 0, ids, landuse, _manning(manning_spec, grid, landuse),
                           drainage, initial, cells, owners, breaches, inputs)


def geometry_mask(grid: Grid, item: dict) -> np.ndarray:
    if "polygon" in item:
        return rasterise.polygon_mask(grid, item["polygon"])
    if "line" in item:
        return rasterise.polyline_mask(grid, item["line"])
    mask = np.zeros(grid.shape, dtype=bool)
    mask[grid.cell_of(*item["point"])] = True
    return mask


def _sampling(city: City | None, grid: Grid, ids: np.ndarray, ring_m: float):
    if city is None or not len(city.buildings):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    mesh = city.buildings.mesh
    n = len(city.buildings)
    centre = np.zeros((n, 2))
    count = np.bincount(mesh.triangle_feature, minlength=n) * 3
    for axis in (0, 1):
        sums = np.bincount(np.repeat(mesh.triangle_feature, 3),
                           weights=mesh.vertices[mesh.triangles.ravel(), axis], minlength=n)
        centre[:, axis] = sums / np.maximum(count, 1)
    rows, cols = grid.cell_of(centre[:, 0], centre[:, 1])
    flat = np.where((rows >= 0) & (count > 0), rows * grid.nx + cols, -1)
    ring = max(1, int(round(ring_m / grid.cell_size)))
    return rasterise.sampling_pairs(ids, n, flat, ring)
