"""Mesh tools: clean keeps per-triangle arrays aligned, normals, feature-preserving simplification."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import data_path
from twin3d.model.mesh import SURFACE_CODE, Mesh
from twin3d.model.meshtools import clean, levels_of_detail, simplify, vertex_normals

FAR = np.array([85000.0, 447000.0, 0.0])  # national-grid magnitudes


def _area(mesh: Mesh, feature: int | None = None) -> float:
    t = mesh.triangles if feature is None else mesh.triangles[mesh.triangle_feature == feature]
    v = mesh.vertices - mesh.vertices.min(axis=0)
    a, b, c = (v[t[:, k]] for k in range(3))
    return float(0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1).sum())


def _plane(n: int, size: float, offset, feature: int = 0) -> Mesh:
    """A flat n x n quad grid of ``size`` metres, 2 n^2 triangles, roof code."""
    x, y = np.meshgrid(np.linspace(0, size, n + 1), np.linspace(0, size, n + 1))
    v = np.column_stack([x.ravel(), y.ravel(), np.zeros(x.size)]) + offset
    i = (np.arange(n)[:, None] * (n + 1) + np.arange(n)).ravel()
    t = np.concatenate([np.column_stack([i, i + 1, i + n + 2]), np.column_stack([i, i + n + 2, i + n + 1])])
    return Mesh(v, t, np.full(len(t), feature), np.full(len(t), SURFACE_CODE["roof"]))


def _sphere(radius: float, offset, feature: int) -> Mesh:
    import open3d as o3d

    s = o3d.geometry.TriangleMesh.create_sphere(radius=radius, resolution=30)
    t = np.asarray(s.triangles)
    return Mesh(np.asarray(s.vertices) + offset, t, np.full(len(t), feature),
                np.full(len(t), SURFACE_CODE["wall"]))


def test_clean_removes_duplicates_and_degenerates_keeping_arrays_aligned():
    v = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [1, 0, 0],  # 4 duplicates 1
                  [2, 0, 0], [3, 0, 0]], dtype=np.float64) + FAR  # 5, 6 collinear with 1
    t = np.array([[0, 1, 2],   # kept (feature 0, roof)
                  [0, 4, 2],   # duplicate of the first once 4 -> 1 (same feature): dropped
                  [2, 0, 4],   # same vertex set, other order, same feature: dropped
                  [0, 2, 3],   # kept (feature 1, wall)
                  [1, 5, 6],   # zero area (collinear): dropped
                  [0, 1, 1],   # repeated vertex: dropped
                  [0, 2, 1]])  # same vertices as the first but in feature 2: kept (shared face)
    feature = np.array([0, 0, 0, 1, 1, 1, 2])
    surface = np.array([3, 3, 3, 2, 2, 2, 1])
    out = clean(Mesh(v, t, feature, surface))
    assert out.n_triangles == 3 and out.n_vertices == 4
    np.testing.assert_array_equal(out.triangle_feature, [0, 1, 2])
    np.testing.assert_array_equal(out.triangle_surface, [3, 2, 1])
    np.testing.assert_array_equal(out.vertices[out.triangles[1]], v[[0, 2, 3]])  # same corners
    assert _area(out) == pytest.approx(1.5, abs=1e-9)


def test_clean_keeps_a_clean_mesh_and_empties():
    m = _plane(4, 10.0, FAR)
    out = clean(m)
    assert out.n_triangles == m.n_triangles == 32 and out.n_vertices == 25
    np.testing.assert_array_equal(out.vertices[out.triangles], m.vertices[m.triangles])
    assert clean(Mesh()).n_triangles == 0


def test_vertex_normals_float32_unit_and_outward():
    s = _sphere(5.0, FAR, 0)
    n = vertex_normals(s, origin=FAR)
    assert n.dtype == np.float32 and n.shape == (s.n_vertices, 3)
    np.testing.assert_allclose(np.linalg.norm(n, axis=1), 1.0, atol=1e-6)
    radial = (s.vertices - FAR) / 5.0
    assert np.einsum("ij,ij->i", n, radial).min() > 0.99
    up = vertex_normals(_plane(3, 4.0, FAR))
    np.testing.assert_allclose(up, np.tile([0, 0, 1], (16, 1)), atol=1e-7)


def test_simplify_hits_the_target_keeps_features_area_and_precision():
    parts = [_plane(20, 30.0, FAR, 0), _sphere(5.0, FAR + [100, 0, 5], 1), _plane(2, 8.0, FAR + [0, 50, 0], 2)]
    mesh = Mesh.concat(parts, [0, 0, 0])
    n = mesh.n_triangles  # 800 + 1740 + 8
    out = simplify(mesh, n // 4)
    assert abs(out.n_triangles - n // 4) <= 0.05 * n // 4
    np.testing.assert_array_equal(np.unique(out.triangle_feature), [0, 1, 2])
    assert _area(out, 0) == pytest.approx(900.0, rel=1e-6)  # flat roof keeps its area exactly
    assert _area(out, 1) == pytest.approx(_area(mesh, 1), rel=0.05)  # sphere within 5 %
    assert _area(out, 2) == pytest.approx(64.0, rel=1e-9)  # 8 triangles, budget 2: flat, exact
    np.testing.assert_array_equal(out.triangle_surface[out.triangle_feature == 1], SURFACE_CODE["wall"])
    np.testing.assert_array_equal(out.triangle_surface[out.triangle_feature != 1], SURFACE_CODE["roof"])
    # float64 kept at x ~ 85,000 m: the plane's corners are still exactly where they were
    plane = out.vertices[np.unique(out.triangles[out.triangle_feature == 0])]
    np.testing.assert_array_equal(plane.min(axis=0), FAR)
    np.testing.assert_array_equal(plane.max(axis=0), FAR + [30.0, 30.0, 0.0])


def test_simplify_keeps_one_triangle_per_feature_when_the_budget_is_tight():
    mesh = Mesh.concat([_plane(3, 5.0, FAR + [20.0 * k, 0, 0], k) for k in range(10)], [0] * 10)
    out = simplify(mesh, 10)  # 180 triangles -> one per feature
    np.testing.assert_array_equal(np.bincount(out.triangle_feature, minlength=10), np.ones(10))
    out = simplify(mesh, 3)  # fewer than the features: still one each
    np.testing.assert_array_equal(np.unique(out.triangle_feature), np.arange(10))
    assert simplify(mesh, 1000) is mesh
    with pytest.raises(ValueError):
        simplify(mesh, 0)


def test_levels_of_detail_of_delft_buildings():
    from twin3d.io.meshfile import read_mesh

    mesh = read_mesh(data_path("mesh", "delft_3dfier", "testarea.obj")).buildings.mesh
    lods = levels_of_detail(mesh)
    counts = [m.n_triangles for m in lods]
    assert counts[0] == mesh.n_triangles == 4349
    # 160 LoD1 buildings of ~27 triangles: at 25 % and 5 % every building keeps >= 1 triangle
    assert counts[1] == pytest.approx(0.25 * 4349, rel=0.1)
    assert counts[2] == pytest.approx(0.05 * 4349, rel=0.1)
    for m in lods:
        np.testing.assert_array_equal(np.unique(m.triangle_feature), np.arange(160))
    # decimated buildings stay inside their original extent (to the millimetre)
    lo, hi = np.array(mesh.bounds()[:3]), np.array(mesh.bounds()[3:])
    assert (lods[2].vertices >= lo - 1e-3).all() and (lods[2].vertices <= hi + 1e-3).all()
    with pytest.raises(ValueError):
        levels_of_detail(mesh, (1.0, 0.0))
