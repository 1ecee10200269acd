"""Triangle meshes of features: buildings and context layers share this one type."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Semantic surface codes per triangle (CityJSON semantics where the source has them).
SURFACES = ("unknown", "ground", "wall", "roof", "closure", "floor", "ceiling", "door", "window", "other")
SURFACE_CODE = {name: code for code, name in enumerate(SURFACES)}
SURFACE_CODE.update({"GroundSurface": 1, "WallSurface": 2, "RoofSurface": 3, "ClosureSurface": 4,
                     "OuterFloorSurface": 5, "FloorSurface": 5, "OuterCeilingSurface": 6,
                     "CeilingSurface": 6, "Door": 7, "Window": 8, "InteriorWallSurface": 9,
                     "WaterSurface": 9, "WaterGroundSurface": 9, "WaterClosureSurface": 9,
                     "TrafficArea": 9, "AuxiliaryTrafficArea": 9, "TransportationMarking": 9,
                     "TransportationHole": 9})


@dataclass
class Mesh:
    """Triangles of many features, in float64 coordinates of the city CRS.

    ``triangle_feature[k]`` is the index of the feature (building, road, ...)
    that triangle ``k`` belongs to; ``triangle_surface[k]`` its semantic code
    (see :data:`SURFACES`).
    """

    vertices: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    triangles: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), dtype=np.int64))
    triangle_feature: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    triangle_surface: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.vertices = np.ascontiguousarray(self.vertices, dtype=np.float64).reshape(-1, 3)
        self.triangles = np.ascontiguousarray(self.triangles, dtype=np.int64).reshape(-1, 3)
        self.triangle_feature = np.ascontiguousarray(self.triangle_feature, dtype=np.int32).reshape(-1)
        if self.triangle_surface is None:
            self.triangle_surface = np.zeros(len(self.triangles), dtype=np.int8)
        self.triangle_surface = np.ascontiguousarray(self.triangle_surface, dtype=np.int8).reshape(-1)
        n_tri = len(self.triangles)
        if len(self.triangle_feature) != n_tri or len(self.triangle_surface) != n_tri:
            raise ValueError("per-triangle arrays must have one entry per triangle")
        if n_tri and (self.triangles.min() < 0 or self.triangles.max() >= len(self.vertices)):
            raise ValueError("triangle index out of range")

    @property
    def n_vertices(self) -> int:
        return len(self.vertices)

    @property
    def n_triangles(self) -> int:
        return len(self.triangles)

    def bounds(self) -> tuple[float, ...] | None:
        """``(xmin, ymin, zmin, xmax, ymax, zmax)`` of the vertices used by triangles."""
        if not self.n_triangles:
            return None
        used = self.vertices[np.unique(self.triangles)]
        return tuple(float(v) for v in (*used.min(axis=0), *used.max(axis=0)))

    def local(self, origin) -> np.ndarray:
        """Vertices shifted to ``origin`` as float32, for rendering and export."""
        return (self.vertices - np.asarray(origin, dtype=np.float64)).astype(np.float32)

    @staticmethod
    def concat(meshes: list[Mesh], feature_offsets: list[int]) -> Mesh:
        """Join meshes; features of mesh ``i`` are shifted by ``feature_offsets[i]``."""
        if not meshes:
            return Mesh()
        vert_offsets = np.cumsum([0] + [m.n_vertices for m in meshes])
        return Mesh(
            vertices=np.concatenate([m.vertices for m in meshes]),
            triangles=np.concatenate([m.triangles + o for m, o in zip(meshes, vert_offsets)]),
            triangle_feature=np.concatenate(
                [m.triangle_feature + f for m, f in zip(meshes, feature_offsets)]
            ),
            triangle_surface=np.concatenate([m.triangle_surface for m in meshes]),
        )

    def equals(self, other: Mesh) -> bool:
        return all(
            np.array_equal(getattr(self, k), getattr(other, k))
            for k in ("vertices", "triangles", "triangle_feature", "triangle_surface")
        )


@dataclass
class ContextLayer:
    """Non-building city objects (roads, water, land use, vegetation) as one mesh."""

    name: str
    mesh: Mesh
    feature_id: np.ndarray
    feature_kind: np.ndarray
    attributes: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.feature_id = np.asarray(self.feature_id, dtype=object)
        self.feature_kind = np.asarray(self.feature_kind, dtype=object)
        if not self.attributes:
            self.attributes = [{} for _ in range(len(self.feature_id))]

    @property
    def n_features(self) -> int:
        return len(self.feature_id)
