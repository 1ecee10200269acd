"""Triangulation of planar 3D polygons with holes (earcut on the polygon's own plane)."""

from __future__ import annotations

import numpy as np


def newell_normal(ring: np.ndarray) -> np.ndarray:
    """Unnormalised Newell normal of a closed ring of 3D points (robust for concave rings)."""
    nxt = np.roll(ring, -1, axis=0)
    return np.array([
        np.sum((ring[:, 1] - nxt[:, 1]) * (ring[:, 2] + nxt[:, 2])),
        np.sum((ring[:, 2] - nxt[:, 2]) * (ring[:, 0] + nxt[:, 0])),
        np.sum((ring[:, 0] - nxt[:, 0]) * (ring[:, 1] + nxt[:, 1])),
    ])


def triangulate_polygon(vertices: np.ndarray, rings: list[np.ndarray]) -> np.ndarray:
    """Triangulate one polygon given as vertex-index rings (exterior first, then holes).

    ``vertices`` is the (n, 3) float64 array the rings index into.  Returns an
    (m, 3) array of indices into ``vertices``; empty for a degenerate polygon.
    The polygon is projected onto the coordinate plane most orthogonal to its
    Newell normal, so vertical walls triangulate as well as roofs.  Triangles
    keep the exterior ring's orientation.
    """
    import mapbox_earcut

    rings = [np.asarray(r, dtype=np.int64) for r in rings if len(r) >= 3]
    if not rings:
        return np.zeros((0, 3), dtype=np.int64)
    outer = vertices[rings[0]]
    normal = newell_normal(outer - outer.mean(axis=0))
    if not np.any(normal):
        return np.zeros((0, 3), dtype=np.int64)
    axis = int(np.argmax(np.abs(normal)))
    keep = [a for a in range(3) if a != axis]
    if len(rings) == 1 and len(rings[0]) == 3:
        tri = rings[0][None, :]
    else:
        index = np.concatenate(rings)
        pts = vertices[index][:, keep]
        pts = pts - pts.mean(axis=0)
        ends = np.cumsum([len(r) for r in rings]).astype(np.uint32)
        local = np.asarray(mapbox_earcut.triangulate_float64(pts, ends), dtype=np.int64)
        tri = index[local.reshape(-1, 3)]
    # earcut's winding depends on the projection; restore the exterior ring's orientation.
    a, b, c = (vertices[tri[:, k]] for k in range(3))
    tri_normals = np.cross(b - a, c - a)
    flip = tri_normals @ normal < 0
    tri[flip] = tri[flip][:, [0, 2, 1]]
    return tri
