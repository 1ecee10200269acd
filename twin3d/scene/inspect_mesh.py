"""Engineer's views of the buildings mesh: triangle quality, face normals, levels of detail.

Examples
--------
>>> import numpy as np
>>> v = np.array([[0, 0, 0], [1, 0, 0], [0.5, 3 ** 0.5 / 2, 0], [2, 0, 0]], dtype=float)
>>> triangle_aspect_ratio(v, np.array([[0, 1, 2], [0, 1, 3]])).round(3).tolist()
[1.0, inf]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEGENERATE_AREA_M2 = 1e-10  # as twin3d.model.meshtools.clean
ASPECT_BINS = (1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 100.0, np.inf)
MAX_NORMAL_GLYPHS = 4000


def triangle_aspect_ratio(vertices: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Aspect ratio of each triangle as vtkMeshQuality's ``TriangleAspectRatio`` defines it:
    longest edge over ``2 sqrt(3)`` times the inradius; 1 for an equilateral triangle,
    ``inf`` for a degenerate one (no area)."""
    v = np.asarray(vertices, dtype=np.float64)
    t = np.asarray(triangles, dtype=np.int64)
    a, b, c = v[t[:, 0]], v[t[:, 1]], v[t[:, 2]]
    lengths = np.stack([np.linalg.norm(b - a, axis=1), np.linalg.norm(c - b, axis=1),
                        np.linalg.norm(a - c, axis=1)], axis=1)
    area = 0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = lengths.max(axis=1) * lengths.sum(axis=1) / (4.0 * np.sqrt(3.0) * area)
    return np.where(area > DEGENERATE_AREA_M2, ratio, np.inf)


@dataclass
class MeshQuality:
    """A mesh's triangle quality: a histogram of aspect ratios and the degenerate faces."""

    n_triangles: int
    degenerate: int  # no area, or a repeated vertex
    bins: list[float]  # bin edges (the last is inf)
    counts: list[int]  # triangles per bin (degenerate ones in the last)
    median: float
    worst: float  # the largest finite aspect ratio

    def as_dict(self) -> dict:
        return {"n_triangles": self.n_triangles, "degenerate": self.degenerate,
                "bins": [b if np.isfinite(b) else None for b in self.bins], "counts": self.counts,
                "median": self.median, "worst": self.worst,
                "labels": [f"{lo:g}–{hi:g}" if np.isfinite(hi) else f"≥{lo:g}"
                           for lo, hi in zip(self.bins[:-1], self.bins[1:], strict=True)]}


def mesh_quality(vertices: np.ndarray, triangles: np.ndarray, bins=ASPECT_BINS) -> MeshQuality:
    """The aspect-ratio histogram of a triangle mesh and its degenerate face count.

    Parameters
    ----------
    vertices : ndarray, shape (n, 3)
        Vertex coordinates (shift national-grid coordinates to a local origin first).
    triangles : ndarray, shape (m, 3)
        Vertex indices.
    bins : sequence of float
        Increasing bin edges, from 1 (the best ratio) to ``inf``.
    """
    t = np.asarray(triangles, dtype=np.int64).reshape(-1, 3)
    ratio = triangle_aspect_ratio(vertices, t)
    repeated = (t[:, 0] == t[:, 1]) | (t[:, 1] == t[:, 2]) | (t[:, 0] == t[:, 2])
    degenerate = ~np.isfinite(ratio) | repeated
    ratio = np.where(degenerate, np.inf, ratio)
    edges = np.asarray(bins, dtype=np.float64)
    index = np.clip(np.searchsorted(edges, ratio, side="right") - 1, 0, len(edges) - 2)
    counts = np.bincount(index, minlength=len(edges) - 1)
    finite = ratio[np.isfinite(ratio)]
    return MeshQuality(int(len(t)), int(degenerate.sum()), [float(e) for e in edges], counts.tolist(),
                       float(np.median(finite)) if len(finite) else float("nan"),
                       float(finite.max()) if len(finite) else float("nan"))


def polydata_triangles(poly) -> tuple[np.ndarray, np.ndarray]:
    """``(points, triangles)`` of a triangle-only pyvista PolyData."""
    faces = np.asarray(poly.faces).reshape(-1, 4)
    return np.asarray(poly.points, dtype=np.float64), faces[:, 1:]


def face_normals(poly, max_glyphs: int = MAX_NORMAL_GLYPHS) -> tuple[np.ndarray, np.ndarray]:
    """Centres and unit normals of a sub-sample of at most ``max_glyphs`` triangles (every
    k-th, so the sample is spread over the whole mesh); degenerate faces are left out."""
    points, tri = polydata_triangles(poly)
    step = max(1, int(np.ceil(len(tri) / max_glyphs)))
    tri = tri[::step]
    a, b, c = points[tri[:, 0]], points[tri[:, 1]], points[tri[:, 2]]
    normal = np.cross(b - a, c - a)
    length = np.linalg.norm(normal, axis=1)
    keep = length > 2 * DEGENERATE_AREA_M2
    centres = (a + b + c)[keep] / 3.0
    return centres.astype(np.float32), (normal[keep] / length[keep, None]).astype(np.float32)


class LevelsOfDetail:
    """The buildings mesh and its simplified levels, each made once on first use.

    Level 0 is the original; level ``i`` keeps ``fractions[i]`` of the triangles
    (``twin3d.model.meshtools.simplify``, feature by feature, so every triangle keeps its
    building).  :meth:`show` swaps the buildings actor's input in place: the actor and its
    mapper stay, the scene's ``buildings_poly`` and ``building_colours`` follow, and the
    colours shown carry over.
    """

    FRACTIONS = (1.0, 0.25, 0.05)

    def __init__(self, scene, fractions=FRACTIONS):
        self.scene = scene
        self.fractions = tuple(fractions)
        self.polys = {0: scene.buildings_poly}
        self.colours = {0: scene.building_colours}
        self.level = 0
        self.n = len(scene.city.buildings)

    def poly(self, level: int):
        """The PolyData of ``level`` (simplified on first use, then cached)."""
        if level not in self.polys:
            from twin3d.model.meshtools import simplify
            from twin3d.scene.city_scene import mesh_polydata
            from twin3d.scene.frames import BuildingColours

            mesh = self.scene.city.buildings.mesh
            lod = simplify(mesh, max(1, round(self.fractions[level] * mesh.n_triangles)))
            poly = mesh_polydata(lod, self.scene.city.origin)
            original = self.colours[0]
            poly.cell_data["colour"] = _per_building(original.use_colour, original.feature, self.n)[lod.triangle_feature]
            self.polys[level] = poly
            self.colours[level] = BuildingColours(poly)
        return self.polys[level]

    def show(self, level: int) -> None:
        """Draw the buildings at ``level`` in the same actor, keeping the colours shown."""
        if not 0 <= level < len(self.fractions):
            raise ValueError(f"level of detail {level} outside 0..{len(self.fractions) - 1}")
        if level == self.level:
            return
        before = self.colours[self.level]
        poly = self.poly(level)
        after = self.colours[level]
        shown = _per_building(np.asarray(before.colour), before.feature, self.n)
        after.colour[:] = shown[after.feature]
        after.mode = before.mode
        poly.GetCellData().GetArray("colour").Modified()
        self.scene.actors["buildings"].GetMapper().SetInputData(poly)
        self.scene.buildings_poly = poly
        self.scene.building_colours = after
        self.level = level

    def triangles(self, level: int) -> int:
        return int(self.poly(level).n_cells)


def _per_building(colour: np.ndarray, feature: np.ndarray, n: int) -> np.ndarray:
    """Per-building RGB from a per-triangle array (every triangle of a building has its colour)."""
    out = np.zeros((n, 3), dtype=np.uint8)
    out[feature] = colour
    return out
