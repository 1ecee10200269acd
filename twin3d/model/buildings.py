"""Buildings: one triangle mesh for all of them and a table with one row per building."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from twin3d.model.mesh import Mesh

USES = ("residential", "commercial", "industrial", "public",
        "hospital", "school", "fire_station", "ambulance_post", "police", "shelter")
CRITICAL_USES = ("hospital", "school", "fire_station", "ambulance_post", "police", "shelter")

# column -> (dtype, fill value for a missing entry)
COLUMNS: dict[str, tuple[type, object]] = {
    "id": (object, ""),
    "footprint_area": (np.float64, np.nan),     # m2
    "height": (np.float64, np.nan),             # m above ground
    "ground_elevation": (np.float64, np.nan),   # m in the CRS's vertical datum
    "storeys": (np.int32, 0),
    "use": (object, ""),
    "population": (np.float64, np.nan),         # residents or daytime occupants
    "elderly_share": (np.float64, np.nan),      # share of population aged 65+
    "children_share": (np.float64, np.nan),     # share aged 0-14
    "capacity": (np.float64, 0.0),              # beds (hospital, shelter), else 0
    "replacement_value": (np.float64, np.nan),  # EUR
    "population_estimated": (np.bool_, False),
    "value_estimated": (np.bool_, False),
    "parts": (np.int32, 0),                     # building parts merged into the building
}


def empty_table(n: int) -> dict[str, np.ndarray]:
    """A building table of ``n`` rows holding each column's missing value."""
    table = {}
    for name, (dtype, fill) in COLUMNS.items():
        col = np.empty(n, dtype=dtype)
        col[:] = fill
        table[name] = col
    return table


@dataclass
class Buildings:
    """All buildings of a city.

    ``mesh.triangle_feature`` holds each triangle's building index (a row of
    ``table``).  ``attributes[i]`` keeps the source's own attributes of building
    ``i`` as they were.
    """

    mesh: Mesh = field(default_factory=Mesh)
    table: dict[str, np.ndarray] = field(default_factory=lambda: empty_table(0))
    attributes: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        n = len(self.table["id"])
        full = empty_table(n)
        for name, values in self.table.items():
            full[name] = np.asarray(values, dtype=COLUMNS[name][0] if name in COLUMNS else None)
        self.table = full
        if not self.attributes:
            self.attributes = [{} for _ in range(n)]
        if len(self.attributes) != n:
            raise ValueError("one attribute dict per building is needed")
        if self.mesh.n_triangles and self.mesh.triangle_feature.max() >= n:
            raise ValueError("triangle building index out of range")

    def __len__(self) -> int:
        return len(self.table["id"])

    @staticmethod
    def concat(parts: list[Buildings]) -> Buildings:
        """Join several building sets into one."""
        offsets = list(np.cumsum([0] + [len(p) for p in parts])[:-1])
        mesh = Mesh.concat([p.mesh for p in parts], offsets)
        table = {k: np.concatenate([p.table[k] for p in parts]) if parts else v
                 for k, v in empty_table(0).items()}
        return Buildings(mesh, table, [a for p in parts for a in p.attributes])

    def equals(self, other: Buildings) -> bool:
        if not self.mesh.equals(other.mesh) or self.attributes != other.attributes:
            return False
        for k in COLUMNS:
            a, b = self.table[k], other.table[k]
            if a.dtype.kind == "f":
                if not np.array_equal(a, b, equal_nan=True):
                    return False
            elif not np.array_equal(a, b):
                return False
        return True


@lru_cache(maxsize=1)
def occupancy_parameters() -> dict:
    """The documented estimation parameters from ``assets/buildings/occupancy.toml``."""
    from twin3d.config import asset

    with asset("buildings", "occupancy.toml").open("rb") as fh:
        return tomllib.load(fh)


def footprint_areas(mesh: Mesh, n_buildings: int) -> np.ndarray:
    """Footprint area per building: the xy-projected area of its upward-facing triangles.

    For closed solids and for roof-only meshes this is the footprint; a building
    with walls only falls back to its downward-facing triangles.
    """
    v = mesh.vertices
    t = mesh.triangles
    a, b, c = v[t[:, 0]], v[t[:, 1]], v[t[:, 2]]
    nz = 0.5 * ((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0]))
    up = np.bincount(mesh.triangle_feature, weights=np.clip(nz, 0, None), minlength=n_buildings)
    down = np.bincount(mesh.triangle_feature, weights=np.clip(-nz, 0, None), minlength=n_buildings)
    return np.where(up > 0, up, down)


def complete_table(buildings: Buildings) -> Buildings:
    """Fill what the source lacks: geometry-derived columns, then documented estimates.

    Footprint area, ground elevation and height come from the mesh where missing;
    storeys from height; population, vulnerable shares, capacity and replacement
    value from gross floor area x the per-use rates in ``occupancy.toml``, with
    the estimated flags set.  Values the source gave are never overwritten.
    """
    params = occupancy_parameters()
    t = buildings.table
    n = len(buildings)
    mesh = buildings.mesh
    if n == 0:
        return buildings
    if mesh.n_triangles:
        used_tri = mesh.triangles.reshape(-1)
        feat = np.repeat(mesh.triangle_feature, 3)
        z = mesh.vertices[used_tri, 2]
        zmin = np.full(n, np.inf)
        zmax = np.full(n, -np.inf)
        np.minimum.at(zmin, feat, z)
        np.maximum.at(zmax, feat, z)
        zmin[~np.isfinite(zmin)] = np.nan
        zmax[~np.isfinite(zmax)] = np.nan
        fill = np.isnan(t["footprint_area"])
        t["footprint_area"][fill] = footprint_areas(mesh, n)[fill]
        fill = np.isnan(t["ground_elevation"])
        t["ground_elevation"][fill] = zmin[fill]
        fill = np.isnan(t["height"])
        t["height"][fill] = (zmax - t["ground_elevation"])[fill]
    unknown_use = ~np.isin(t["use"], USES)
    t["use"][unknown_use] = params["default_use"]
    uses = params["uses"]
    storey_h = np.array([uses[u]["storey_height_m"] for u in t["use"]])
    need = t["storeys"] <= 0
    t["storeys"][need] = np.maximum(1, np.round(np.nan_to_num(t["height"][need]) / storey_h[need]))
    floor_area = np.nan_to_num(t["footprint_area"]) * t["storeys"]
    rate = np.array([uses[u]["occupants_per_100m2"] for u in t["use"]]) / 100.0
    need = np.isnan(t["population"])
    t["population"][need] = floor_area[need] * rate[need]
    t["population_estimated"] |= need
    for share in ("elderly_share", "children_share"):
        t[share][np.isnan(t[share])] = params[share]
    beds = np.array([uses[u].get("beds_per_100m2", 0.0) for u in t["use"]]) / 100.0
    need = (t["capacity"] <= 0) & (beds > 0)
    t["capacity"][need] = np.floor(floor_area[need] * beds[need])
    cost = np.array([uses[u]["cost_eur_per_m2"] for u in t["use"]])
    need = np.isnan(t["replacement_value"])
    t["replacement_value"][need] = floor_area[need] * cost[need]
    t["value_estimated"] |= need
    t["parts"][t["parts"] <= 0] = 1
    return buildings
