"""Mesh tools for the city's feature meshes: clean, normals, simplification, levels of detail.

Per-triangle arrays (``triangle_feature``, ``triangle_surface``) stay aligned
with the triangles through every operation.  open3d (imported lazily) does
normals and quadric decimation; it works on a copy shifted to the mesh's own
minimum corner, so float64 national-grid coordinates do not lose precision in
its arithmetic, and results are shifted back to float64 city coordinates.
"""

from __future__ import annotations

import numpy as np

from twin3d.model.mesh import Mesh


def _triangle_areas(vertices: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    a, b, c = (vertices[triangles[:, k]] for k in range(3))
    return 0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1)


def _compact(mesh: Mesh, keep: np.ndarray) -> Mesh:
    """The kept triangles with their per-triangle arrays; unreferenced vertices dropped."""
    used, tri = np.unique(mesh.triangles[keep], return_inverse=True)
    return Mesh(mesh.vertices[used], tri.reshape(-1, 3), mesh.triangle_feature[keep],
                mesh.triangle_surface[keep])


def clean(mesh: Mesh, area_tol: float = 1e-10) -> Mesh:
    """Merge coincident vertices, drop degenerate and duplicate triangles and unused vertices.

    Parameters
    ----------
    mesh : Mesh
        Any feature mesh.
    area_tol : float
        Triangles with an area at or below this (m2) are degenerate.

    Returns
    -------
    Mesh
        A new mesh.  A triangle is a duplicate when an earlier triangle of the
        same feature uses the same three vertices (in any order); the same
        triangle in two features (a shared wall) is kept in both.  Surviving
        triangles keep their order, feature and surface code.

    Examples
    --------
    >>> m = Mesh([[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 0, 0]], [[0, 1, 2], [0, 3, 2], [0, 1, 1]],
    ...          [0, 0, 0])
    >>> clean(m).n_triangles, clean(m).n_vertices
    (1, 3)
    """
    if not mesh.n_triangles:
        return Mesh()
    _, first, inverse = np.unique(mesh.vertices, axis=0, return_index=True, return_inverse=True)
    vertices = mesh.vertices[first]
    triangles = inverse.reshape(-1)[mesh.triangles]
    local = vertices - vertices.min(axis=0)
    area = _triangle_areas(local, triangles)
    s = np.sort(triangles, axis=1)
    keep = (s[:, 0] != s[:, 1]) & (s[:, 1] != s[:, 2]) & (area > area_tol)
    key = np.column_stack([mesh.triangle_feature, s])
    _, first_tri = np.unique(key[keep], axis=0, return_index=True)
    unique_keep = np.zeros(mesh.n_triangles, dtype=bool)
    unique_keep[np.flatnonzero(keep)[first_tri]] = True
    merged = Mesh(vertices, triangles, mesh.triangle_feature, mesh.triangle_surface)
    return _compact(merged, unique_keep)


def _open3d_mesh(vertices: np.ndarray, triangles: np.ndarray):
    import open3d as o3d

    return o3d.geometry.TriangleMesh(o3d.utility.Vector3dVector(np.ascontiguousarray(vertices)),
                                     o3d.utility.Vector3iVector(triangles.astype(np.int32)))


def vertex_normals(mesh: Mesh, origin=None) -> np.ndarray:
    """Unit vertex normals as float32, for rendering the mesh shifted to ``origin``.

    Computed by open3d on the float64 vertices shifted to ``origin`` (the
    mesh's minimum corner when None); each vertex gets the normalised sum of
    its triangles' unit normals.  Vertices no triangle uses get (0, 0, 0).
    """
    if not mesh.n_vertices:
        return np.zeros((0, 3), dtype=np.float32)
    if origin is None:
        origin = mesh.vertices.min(axis=0)
    local = mesh.vertices - np.asarray(origin, dtype=np.float64).reshape(1, 3)
    tm = _open3d_mesh(local, mesh.triangles)
    tm.compute_vertex_normals()
    normals = np.asarray(tm.vertex_normals, dtype=np.float64)
    normals[~np.isfinite(normals).all(axis=1)] = 0.0
    return normals.astype(np.float32)


def _feature_budgets(counts: np.ndarray, target: int) -> np.ndarray:
    """Triangles each feature may keep: proportional, at least 1 for every non-empty feature.

    Largest-remainder rounding makes the budgets add up to ``target`` (or to the
    number of non-empty features, when the target is smaller than that).
    """
    total = counts.sum()
    share = counts * (target / total)
    budget = np.floor(share).astype(np.int64)
    extra = int(target - budget.sum())
    if extra > 0:
        order = np.argsort(-(share - budget), kind="stable")
        budget[order[:extra]] += 1
    budget = np.minimum(np.maximum(budget, (counts > 0).astype(np.int64)), counts)
    return budget


def _decimate(vertices: np.ndarray, triangles: np.ndarray, target: int) -> tuple[np.ndarray, np.ndarray]:
    """Quadric decimation of one feature's triangles (float64 in, float64 out)."""
    used, tri = np.unique(triangles, return_inverse=True)
    local = vertices[used]
    corner = local.min(axis=0)
    tm = _open3d_mesh(local - corner, tri.reshape(-1, 3))
    out = tm.simplify_quadric_decimation(target_number_of_triangles=int(target))
    out_tri = np.asarray(out.triangles, dtype=np.int64)
    if not len(out_tri):  # decimation collapsed everything: keep the largest triangle
        big = np.argmax(_triangle_areas(local, tri.reshape(-1, 3)))
        return local, tri.reshape(-1, 3)[big:big + 1]
    return np.asarray(out.vertices, dtype=np.float64) + corner, out_tri


def _nearest_surface(mesh: Mesh, vertices: np.ndarray, triangles: np.ndarray,
                     feature: np.ndarray) -> np.ndarray:
    """Surface code of each new triangle: that of the nearest old triangle of the same feature."""
    from scipy.spatial import cKDTree

    corner = mesh.vertices.min(axis=0)
    span = float(np.ptp(mesh.vertices, axis=0).max()) + 1.0
    old = mesh.vertices[mesh.triangles].mean(axis=1) - corner
    new = vertices[triangles].mean(axis=1) - corner
    # a 4th coordinate keeps features apart: they lie further apart than any distance inside one
    tree = cKDTree(np.column_stack([old, mesh.triangle_feature * 4.0 * span]))
    _, nearest = tree.query(np.column_stack([new, feature * 4.0 * span]))
    return mesh.triangle_surface[nearest]


def simplify(mesh: Mesh, target_triangles: int) -> Mesh:
    """Quadric decimation towards ``target_triangles`` in all, feature by feature.

    Each feature gets a budget proportional to its triangle count (at least
    one triangle), so feature indices are kept and no feature disappears while
    the target allows one triangle per feature.  Features within their budget
    are kept as they are; the others are decimated by open3d on their own,
    shifted to their minimum corner.  Surface codes are carried over from the
    nearest original triangle of the same feature.
    """
    if target_triangles < 1:
        raise ValueError(f"target_triangles must be at least 1, got {target_triangles}")
    if target_triangles >= mesh.n_triangles:
        return mesh
    n_features = int(mesh.triangle_feature.max()) + 1
    counts = np.bincount(mesh.triangle_feature, minlength=n_features)
    budget = _feature_budgets(counts, target_triangles)
    reduce = np.flatnonzero(budget < counts)
    keep = ~np.isin(mesh.triangle_feature, reduce)
    parts = [_compact(mesh, keep)]
    order = np.argsort(mesh.triangle_feature, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)])
    for f in reduce:
        tri = mesh.triangles[order[starts[f]:starts[f + 1]]]
        v, t = _decimate(mesh.vertices, tri, budget[f])
        parts.append(Mesh(v, t, np.full(len(t), f), np.zeros(len(t))))
    out = Mesh.concat(parts, [0] * len(parts))
    decimated = np.arange(out.n_triangles) >= parts[0].n_triangles
    out.triangle_surface[decimated] = _nearest_surface(
        mesh, out.vertices, out.triangles[decimated], out.triangle_feature[decimated])
    by_feature = np.argsort(out.triangle_feature, kind="stable")
    return Mesh(out.vertices, out.triangles[by_feature], out.triangle_feature[by_feature],
                out.triangle_surface[by_feature])


def levels_of_detail(mesh: Mesh, fractions=(1.0, 0.25, 0.05)) -> list[Mesh]:
    """The mesh simplified to each fraction of its triangle count (1.0 gives the mesh itself).

    Examples
    --------
    >>> lods = levels_of_detail(city.buildings.mesh)  # doctest: +SKIP
    >>> [m.n_triangles for m in lods]  # doctest: +SKIP
    [4349, 1087, 217]
    """
    out = []
    for fraction in fractions:
        if not 0.0 < fraction <= 1.0:
            raise ValueError(f"level-of-detail fractions must be in (0, 1], got {fraction}")
        out.append(simplify(mesh, max(1, round(fraction * mesh.n_triangles))))
    return out
