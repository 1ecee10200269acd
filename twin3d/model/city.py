"""The city: buildings, terrain, networks and context layers in one CRS."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from twin3d.model.buildings import Buildings
from twin3d.model.mesh import ContextLayer
from twin3d.model.network import Dependencies, Network
from twin3d.model.terrain import Terrain


@dataclass
class City:
    """A city model.  Coordinates are float64 in ``crs``; meshes handed to
    rendering and export are shifted to ``origin`` so float32 keeps centimetres.

    ``crs`` is ``"EPSG:NNNN"`` where known, otherwise WKT, otherwise None.
    """

    name: str = "city"
    crs: str | None = None
    buildings: Buildings = field(default_factory=Buildings)
    terrain: Terrain | None = None
    networks: dict[str, Network] = field(default_factory=dict)
    dependencies: Dependencies = field(default_factory=Dependencies)
    layers: dict[str, ContextLayer] = field(default_factory=dict)
    origin: np.ndarray | None = None
    metadata: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.origin is None:
            self.origin = default_origin(self)
        self.origin = np.asarray(self.origin, dtype=np.float64).reshape(3)

    @property
    def bounds(self) -> tuple[float, ...] | None:
        """``(xmin, ymin, zmin, xmax, ymax, zmax)`` of everything in the city, in its CRS."""
        boxes = [self.buildings.mesh.bounds()]
        boxes += [layer.mesh.bounds() for layer in self.layers.values()]
        if self.terrain is not None and self.terrain.valid.any():
            x0, y0, x1, y1 = self.terrain.grid.bounds
            z = self.terrain.elevation[self.terrain.valid]
            boxes.append((x0, y0, float(z.min()), x1, y1, float(z.max())))
        for net in self.networks.values():
            placed = net.node_xyz[np.all(np.isfinite(net.node_xyz), axis=1)]  # nodes without geodata: NaN
            if len(placed):
                boxes.append((*placed.min(axis=0), *placed.max(axis=0)))
        boxes = np.array([b for b in boxes if b is not None], dtype=np.float64)
        if not len(boxes):
            return None
        return tuple(float(v) for v in (*boxes[:, :3].min(axis=0), *boxes[:, 3:].max(axis=0)))

    def summary(self) -> dict:
        """What ``twin3d import`` prints: counts, building bounds, CRS and layers."""
        b = self.buildings
        bounds = b.mesh.bounds()
        return {
            "name": self.name,
            "buildings": len(b),
            "building_parts": int(b.table["parts"].sum()),
            "vertices": b.mesh.n_vertices,
            "triangles": b.mesh.n_triangles,
            "bounds": list(bounds) if bounds else None,
            "crs": self.crs,
            "layers": sorted(self.layers),
            "networks": {k: {"nodes": n.n_nodes, "edges": n.n_edges} for k, n in self.networks.items()},
            "terrain": None if self.terrain is None else {
                "shape": list(self.terrain.grid.shape),
                "cell_size": self.terrain.grid.cell_size,
                "bounds": list(self.terrain.grid.bounds),
            },
        }

    def equals(self, other: City) -> bool:
        """Exact equality of every array and attribute (the city store round-trips this)."""
        def same_terrain(a, b):
            return (a is None and b is None) or (a is not None and b is not None and a.equals(b))

        return (
            self.name == other.name
            and self.crs == other.crs
            and np.array_equal(self.origin, other.origin)
            and self.buildings.equals(other.buildings)
            and same_terrain(self.terrain, other.terrain)
            and self.networks.keys() == other.networks.keys()
            and all(n.equals(other.networks[k]) for k, n in self.networks.items())
            and self.dependencies.equals(other.dependencies)
            and self.layers.keys() == other.layers.keys()
            and all(_same_layer(v, other.layers[k]) for k, v in self.layers.items())
            and self.metadata == other.metadata
        )


def _same_layer(a: ContextLayer, b: ContextLayer) -> bool:
    return (a.name == b.name and a.mesh.equals(b.mesh) and np.array_equal(a.feature_id, b.feature_id)
            and np.array_equal(a.feature_kind, b.feature_kind) and a.attributes == b.attributes)


def default_origin(city: City) -> np.ndarray:
    """Whole-metre lower corner of the city's extent (zeros for an empty city)."""
    v = city.buildings.mesh.vertices
    if len(v):
        return np.floor(v.min(axis=0))
    if city.terrain is not None:
        x0, y0, _, _ = city.terrain.grid.bounds
        return np.array([np.floor(x0), np.floor(y0), 0.0])
    return np.zeros(3)
