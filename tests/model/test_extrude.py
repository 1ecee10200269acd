"""LoD1 extrusion: closed solids with the right volume, areas and outward normals."""

from __future__ import annotations

import time

import numpy as np
import pytest

from twin3d.errors import InputError
from twin3d.model.extrude import extrude_footprints
from twin3d.model.mesh import SURFACE_CODE, Mesh


def _volumes(mesh: Mesh, n: int) -> np.ndarray:
    """Signed volume per feature by the divergence theorem (positive for outward normals)."""
    ref = mesh.vertices[mesh.triangles[:, 0]]  # per-triangle reference: keep float64 digits
    first = np.zeros(n, dtype=np.int64)
    first[mesh.triangle_feature[::-1]] = np.arange(mesh.n_triangles)[::-1]
    ref = ref[first][mesh.triangle_feature]  # one point per feature
    a, b, c = (mesh.vertices[mesh.triangles[:, k]] - ref for k in range(3))
    return np.bincount(mesh.triangle_feature, weights=np.einsum("ij,ij->i", a, np.cross(b, c)) / 6.0,
                       minlength=n)


def _normals(mesh: Mesh) -> np.ndarray:
    v = mesh.vertices
    a, b, c = (v[mesh.triangles[:, k]] for k in range(3))
    return np.cross(b - a, c - a)


def _is_watertight(mesh: Mesh) -> bool:
    """Every undirected edge used by exactly two triangles, once in each direction."""
    t = mesh.triangles
    directed = np.concatenate([t[:, [0, 1]], t[:, [1, 2]], t[:, [2, 0]]])
    undirected = np.sort(directed, axis=1)
    _, counts = np.unique(undirected, axis=0, return_counts=True)
    _, dir_counts = np.unique(directed, axis=0, return_counts=True)
    return bool(np.all(counts == 2) and np.all(dir_counts == 1))


def _rect(x0, y0, w, h):
    return np.array([[x0, y0], [x0 + w, y0], [x0 + w, y0 + h], [x0, y0 + h]])


BOX = _rect(500_000.25, 5_700_000.75, 12.0, 8.0)


@pytest.mark.parametrize("ring", [BOX, BOX[::-1], np.vstack([BOX, BOX[:1]]), np.vstack([BOX[::-1], BOX[-1:]])],
                         ids=["ccw", "cw", "ccw-closed", "cw-closed"])
def test_box_volume_normals_and_closure(ring):
    mesh = extrude_footprints([[ring]], np.array([41.5]), np.array([9.0]))
    assert mesh.n_vertices == 8 and mesh.n_triangles == 12
    assert _volumes(mesh, 1)[0] == pytest.approx(12.0 * 8.0 * 9.0, rel=1e-9)
    assert _is_watertight(mesh)
    normals = _normals(mesh)
    surf = mesh.triangle_surface
    assert np.all(normals[surf == SURFACE_CODE["roof"], 2] > 0)
    assert np.all(normals[surf == SURFACE_CODE["ground"], 2] < 0)
    walls = surf == SURFACE_CODE["wall"]
    assert walls.sum() == 8
    # outward: from the footprint centre towards the wall's centre
    centre = mesh.triangles[walls]
    wall_mid = mesh.vertices[centre].mean(axis=1)[:, :2] - BOX.mean(axis=0)
    assert np.all(np.einsum("ij,ij->i", normals[walls][:, :2], wall_mid) > 0)
    assert np.allclose(normals[walls][:, 2], 0.0)
    z = mesh.vertices[:, 2]
    assert z.min() == 41.5 and z.max() == 50.5


def test_hole_roof_area_and_volume():
    outer = _rect(0.0, 0.0, 30.0, 20.0)
    hole = _rect(10.0, 5.0, 10.0, 10.0)[::-1]  # any orientation
    mesh = extrude_footprints([[outer, hole]], np.array([3.0]), np.array([10.0]))
    n = _normals(mesh)
    roof = mesh.triangle_surface == SURFACE_CODE["roof"]
    floor = mesh.triangle_surface == SURFACE_CODE["ground"]
    assert 0.5 * n[roof, 2].sum() == pytest.approx(600.0 - 100.0, rel=1e-12)
    assert -0.5 * n[floor, 2].sum() == pytest.approx(500.0, rel=1e-12)
    assert _volumes(mesh, 1)[0] == pytest.approx(5000.0, rel=1e-9)
    assert _is_watertight(mesh)
    # the courtyard walls face into the hole
    walls = mesh.triangle_surface == SURFACE_CODE["wall"]
    mid = mesh.vertices[mesh.triangles[walls]].mean(axis=1)[:, :2]
    in_court = (np.abs(mid[:, 0] - 15.0) <= 5.0 + 1e-9) & (np.abs(mid[:, 1] - 10.0) <= 5.0 + 1e-9)
    towards_court = np.einsum("ij,ij->i", n[walls][:, :2], np.array([15.0, 10.0]) - mid) > 0
    assert in_court.sum() == 8 and np.all(towards_court[in_court]) and not towards_court[~in_court].any()


def test_concave_l_shape_and_mixed_batch():
    l_shape = np.array([[0, 0], [20, 0], [20, 10], [10, 10], [10, 20], [0, 20], [0, 0]], dtype=float)
    triangle = np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 4.0]]) + 100.0
    footprints = [[BOX], [l_shape], [triangle], [_rect(50, 50, 5, 5)]]
    mesh = extrude_footprints(footprints, np.zeros(4), np.array([3.0, 4.0, 5.0, 6.0]))
    vol = _volumes(mesh, 4)
    assert vol == pytest.approx([96 * 3.0, 300 * 4.0, 12 * 5.0, 25 * 6.0], rel=1e-9)
    assert _is_watertight(mesh)
    assert np.all(np.diff(mesh.triangle_feature) >= 0)  # ordered by building


def test_degenerate_footprint_gets_no_triangles():
    line = np.array([[0.0, 0.0], [5.0, 0.0], [10.0, 0.0]])
    mesh = extrude_footprints([[line], [BOX]], np.zeros(2), np.ones(2))
    assert set(np.unique(mesh.triangle_feature)) == {1}


@pytest.mark.parametrize("ground, height, reason", [
    (np.zeros(2), np.ones(1), "one ground"),
    (np.array([0.0]), np.array([0.0]), "height"),
    (np.array([np.nan]), np.array([3.0]), "ground elevation"),
])
def test_bad_input_raises_input_error(ground, height, reason):
    with pytest.raises(InputError, match=reason):
        extrude_footprints([[BOX]], ground, height)


def test_non_finite_coordinate_rejected():
    ring = BOX.copy()
    ring[2, 0] = np.inf
    with pytest.raises(InputError, match="not finite"):
        extrude_footprints([[ring]], np.zeros(1), np.ones(1))


def test_100k_rectangles_fast():
    rng = np.random.default_rng(1)
    n = 100_000
    xy = rng.uniform(0, 10_000, (n, 2)) + [500_000.0, 5_700_000.0]
    wh = rng.uniform(5, 30, (n, 2))
    rings = np.stack([xy, xy + [1, 0] * wh, xy + wh, xy + [0, 1] * wh], axis=1)
    footprints = [[r] for r in rings]
    start = time.perf_counter()
    mesh = extrude_footprints(footprints, rng.uniform(0, 50, n), rng.uniform(3, 60, n))
    elapsed = time.perf_counter() - start
    assert mesh.n_triangles == 12 * n
    assert elapsed < 3.0, f"{elapsed:.2f} s for {n} rectangles"
