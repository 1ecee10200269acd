"""LoD1 extrusion: closed prismatic solids from 2D footprints, ground elevations and heights.

Every building becomes one watertight solid: a floor at its ground elevation
(surface ``ground``, facing down), a flat roof at ground + height (``roof``,
facing up) and one vertical quad per footprint edge (``wall``, facing out).
Floor, roof and walls share vertices, so each edge is used by exactly two
triangles.  Convex single-ring footprints (rectangles above all) take a
vectorised path with no per-building Python loop; concave footprints and
footprints with holes are triangulated one by one with earcut.
"""

from __future__ import annotations

import numpy as np

from twin3d.errors import InputError
from twin3d.model.mesh import SURFACE_CODE, Mesh

_GROUND, _WALL, _ROOF = SURFACE_CODE["ground"], SURFACE_CODE["wall"], SURFACE_CODE["roof"]


def extrude_footprints(footprints: list[list[np.ndarray]], ground: np.ndarray, height: np.ndarray) -> Mesh:
    """Extrude footprints into closed LoD1 solids, one feature per building.

    Parameters
    ----------
    footprints
        ``footprints[i]`` is the list of ``(k, 2)`` rings of building ``i``:
        exterior first, then holes; any orientation; a closing duplicate point
        is allowed.
    ground
        ``(n,)`` ground (floor) elevation per building, metres.
    height
        ``(n,)`` height above ground per building, metres, positive.

    Returns
    -------
    Mesh
        Triangles ordered by building; ``triangle_feature`` is the building
        index, ``triangle_surface`` the ground/wall/roof code.  A building whose
        exterior ring has fewer than three distinct points or no area gets no
        triangles.

    Raises
    ------
    InputError
        For mismatched lengths, non-finite coordinates or elevations, or a
        height that is not positive.

    Examples
    --------
    >>> box = [[np.array([[0.0, 0.0], [10.0, 0.0], [10.0, 5.0], [0.0, 5.0]])]]
    >>> mesh = extrude_footprints(box, np.array([2.0]), np.array([6.0]))
    >>> mesh.n_vertices, mesh.n_triangles
    (8, 12)
    """
    ground = np.asarray(ground, dtype=np.float64).reshape(-1)
    height = np.asarray(height, dtype=np.float64).reshape(-1)
    n = len(footprints)
    _check_inputs(n, ground, height)
    n_rings = np.fromiter((len(f) for f in footprints), dtype=np.int64, count=n)
    ring_len = np.fromiter((len(f[0]) if len(f) else 0 for f in footprints), dtype=np.int64, count=n)
    parts: list[tuple[np.ndarray, Mesh]] = []
    general = np.zeros(n, dtype=bool)
    general[n_rings > 1] = True
    for length in np.unique(ring_len[n_rings == 1]):
        idx = np.flatnonzero((n_rings == 1) & (ring_len == length))
        rings = _stack_rings([footprints[i][0] for i in idx], idx)
        fast, mesh = _extrude_convex_batch(rings, ground[idx], height[idx])
        general[idx[~fast]] = True
        if mesh is not None:
            parts.append((idx[fast], mesh))
    for i in np.flatnonzero(general):
        mesh = _extrude_general([_clean_ring(r, i) for r in footprints[i]], ground[i], height[i])
        if mesh is not None:
            parts.append((np.array([i]), mesh))
    return _assemble(parts)


def extrude_convex(rings: np.ndarray, ground: np.ndarray, height: np.ndarray) -> Mesh:
    """Extrude ``(m, k, 2)`` strictly convex rings (any orientation, no closing point) at once.

    The vectorised path of :func:`extrude_footprints` for callers that already
    hold their footprints as one array (generated rectangles); feature ``i`` is
    ring ``i``.  Raises InputError for a ring that is not strictly convex.
    """
    rings = np.asarray(rings, dtype=np.float64)
    ground = np.asarray(ground, dtype=np.float64).reshape(-1)
    height = np.asarray(height, dtype=np.float64).reshape(-1)
    _check_inputs(len(rings), ground, height)
    if rings.ndim != 3 or rings.shape[2] != 2 or not np.isfinite(rings).all():
        raise InputError(None, f"rings must be a finite (m, k, 2) array, got shape {rings.shape}")
    fast, mesh = _extrude_convex_batch(rings, ground, height)
    if not fast.all():
        raise InputError(None, f"building {np.flatnonzero(~fast)[0]}: footprint is not strictly convex")
    return mesh if mesh is not None else Mesh()


def _check_inputs(n: int, ground: np.ndarray, height: np.ndarray) -> None:
    if len(ground) != n or len(height) != n:
        raise InputError(None, f"extrusion needs one ground elevation and one height per footprint "
                               f"({n} footprints, {len(ground)} ground, {len(height)} heights)")
    bad = np.flatnonzero(~np.isfinite(ground))
    if len(bad):
        raise InputError(None, f"building {bad[0]}: ground elevation is not finite")
    bad = np.flatnonzero(~(np.isfinite(height) & (height > 0)))
    if len(bad):
        raise InputError(None, f"building {bad[0]}: height {height[bad[0]]} is not a positive number")


def _stack_rings(rings: list, idx: np.ndarray) -> np.ndarray:
    try:
        stacked = np.asarray(np.stack([np.asarray(r, dtype=np.float64) for r in rings]), dtype=np.float64)
    except (ValueError, TypeError) as exc:
        raise InputError(None, f"building footprint rings must be (k, 2) arrays of numbers: {exc}") from None
    if stacked.ndim != 3 or stacked.shape[2] != 2:
        raise InputError(None, f"building {idx[0]}: footprint ring must have shape (k, 2), "
                               f"got {stacked.shape[1:]}")
    if not np.isfinite(stacked).all():
        bad = idx[np.flatnonzero(~np.isfinite(stacked).all(axis=(1, 2)))[0]]
        raise InputError(None, f"building {bad}: footprint coordinate is not finite")
    return stacked


def _clean_ring(ring, building: int) -> np.ndarray:
    """Ring without closing duplicate and without repeated consecutive points."""
    r = np.asarray(ring, dtype=np.float64)
    if r.ndim != 2 or r.shape[1] != 2:
        raise InputError(None, f"building {building}: footprint ring must have shape (k, 2), got {r.shape}")
    if not np.isfinite(r).all():
        raise InputError(None, f"building {building}: footprint coordinate is not finite")
    keep = np.any(r != np.roll(r, -1, axis=0), axis=1)
    return r[keep]


def _signed_area(rings: np.ndarray) -> np.ndarray:
    """Shoelace area of ``(m, k, 2)`` rings; positive for counter-clockwise."""
    x, y = rings[..., 0], rings[..., 1]
    x = x - x[..., :1]
    y = y - y[..., :1]
    return 0.5 * np.sum(x * np.roll(y, -1, axis=-1) - np.roll(x, -1, axis=-1) * y, axis=-1)


def _extrude_convex_batch(rings: np.ndarray, ground: np.ndarray, height: np.ndarray):
    """Extrude ``(m, L, 2)`` rings sharing one length; returns (handled mask, mesh or None)."""
    m = len(rings)
    if rings.shape[1] >= 4 and np.all(rings[:, 0] == rings[:, -1]):
        rings = rings[:, :-1]
    elif rings.shape[1] >= 4:
        closed = np.all(rings[:, 0] == rings[:, -1], axis=1)
        if closed.any():  # mixed batch: leave the closed rings to the general path
            rings, ground, height = rings[~closed], ground[~closed], height[~closed]
            fast, mesh = _extrude_convex_batch(rings, ground, height)
            handled = np.zeros(m, dtype=bool)
            handled[np.flatnonzero(~closed)[fast]] = True
            return handled, mesh
    k = rings.shape[1]
    if k < 3:
        return np.zeros(m, dtype=bool), None
    area = _signed_area(rings)
    rings = np.where((area < 0)[:, None, None], rings[:, ::-1], rings)
    edge = np.roll(rings, -1, axis=1) - rings
    turn = edge[..., 0] * np.roll(edge[..., 1], -1, axis=1) - edge[..., 1] * np.roll(edge[..., 0], -1, axis=1)
    fast = np.all(turn > 0, axis=1)  # strictly convex, no repeated points, non-degenerate
    if not fast.any():
        return fast, None
    return fast, _prisms(rings[fast], ground[fast], height[fast])


def _prisms(rings: np.ndarray, ground: np.ndarray, height: np.ndarray) -> Mesh:
    """Closed prisms of ``(m, k, 2)`` convex counter-clockwise rings, vertices ``[bottom, top]``."""
    m, k = rings.shape[:2]
    z_bottom = np.broadcast_to(ground[:, None, None], (m, k, 1))
    z_top = np.broadcast_to((ground + height)[:, None, None], (m, k, 1))
    vertices = np.concatenate([np.concatenate([rings, z_bottom], axis=2),
                               np.concatenate([rings, z_top], axis=2)], axis=1).reshape(-1, 3)
    j = np.arange(1, k - 1)
    roof = np.stack([np.zeros_like(j), j, j + 1], axis=1) + k
    floor = np.stack([np.zeros_like(j), j + 1, j], axis=1)
    walls = _wall_triangles(np.arange(k), np.roll(np.arange(k), -1), k)
    local = np.concatenate([floor, walls, roof])
    surface = np.concatenate([np.full(len(floor), _GROUND), np.full(len(walls), _WALL),
                              np.full(len(roof), _ROOF)]).astype(np.int8)
    triangles = (local[None, :, :] + (2 * k * np.arange(m))[:, None, None]).reshape(-1, 3)
    feature = np.repeat(np.arange(m, dtype=np.int32), len(local))
    return Mesh(vertices, triangles, feature, np.tile(surface, m))


def _wall_triangles(start: np.ndarray, end: np.ndarray, top_offset: int) -> np.ndarray:
    """Two outward triangles per edge ``start -> end`` of rings whose interior lies to the left."""
    return np.stack([np.stack([start, end, end + top_offset], axis=1),
                     np.stack([start, end + top_offset, start + top_offset], axis=1)],
                    axis=1).reshape(-1, 3)


def _extrude_general(rings: list[np.ndarray], ground: float, height: float) -> Mesh | None:
    """One building with holes or a concave ring: earcut for floor and roof."""
    from twin3d.model.triangulate import triangulate_polygon

    if not rings or len(rings[0]) < 3 or abs(_signed_area(rings[0][None])[0]) == 0.0:
        return None
    rings = rings[:1] + [h for h in rings[1:] if len(h) >= 3 and _signed_area(h[None])[0] != 0]
    # exterior counter-clockwise, holes clockwise: the solid's interior is left of every edge
    rings = [r if (_signed_area(r[None])[0] > 0) == (i == 0) else r[::-1] for i, r in enumerate(rings)]
    flat = np.concatenate(rings)
    nv = len(flat)
    vertices = np.concatenate([np.column_stack([flat, np.full(nv, ground)]),
                               np.column_stack([flat, np.full(nv, ground + height)])])
    starts = np.cumsum([0] + [len(r) for r in rings])
    index_rings = [np.arange(a, b) for a, b in zip(starts[:-1], starts[1:])]
    roof = triangulate_polygon(vertices, [r + nv for r in index_rings])
    if not len(roof):
        return None
    floor = roof[:, [0, 2, 1]] - nv
    start = np.concatenate(index_rings)
    end = np.concatenate([np.roll(r, -1) for r in index_rings])
    walls = _wall_triangles(start, end, nv)
    triangles = np.concatenate([floor, walls, roof])
    surface = np.concatenate([np.full(len(floor), _GROUND), np.full(len(walls), _WALL),
                              np.full(len(roof), _ROOF)]).astype(np.int8)
    return Mesh(vertices, triangles, np.zeros(len(triangles), dtype=np.int32), surface)


def _assemble(parts: list[tuple[np.ndarray, Mesh]]) -> Mesh:
    """Join the partial meshes, renumber features to building indices, order triangles by building."""
    if not parts:
        return Mesh()
    mesh = Mesh.concat([p[1] for p in parts], [0] * len(parts))
    buildings = np.concatenate([p[0][p[1].triangle_feature] for p in parts]).astype(np.int32)
    order = np.argsort(buildings, kind="stable")
    return Mesh(mesh.vertices, mesh.triangles[order], buildings[order], mesh.triangle_surface[order])
