"""Engineer tools: mesh quality, face normals, levels of detail, outline, measurement, clipping."""

from __future__ import annotations

import numpy as np
import pytest

from tests.io.test_store import national_grid_city
from twin3d.scene.inspect_mesh import LevelsOfDetail, face_normals, mesh_quality, triangle_aspect_ratio


@pytest.fixture
def scene():
    from twin3d.scene.city_scene import CityScene

    return CityScene(national_grid_city())


def test_aspect_ratio_matches_vtk_mesh_quality():
    import pyvista as pv
    from vtkmodules.vtkFiltersVerdict import vtkMeshQuality

    rng = np.random.default_rng(3)
    vertices = rng.uniform(0, 10, (60, 3))
    triangles = rng.choice(60, (40, 3), replace=True)
    triangles = triangles[(triangles[:, 0] != triangles[:, 1]) & (triangles[:, 1] != triangles[:, 2])
                          & (triangles[:, 0] != triangles[:, 2])]
    poly = pv.PolyData(vertices, np.hstack([np.full((len(triangles), 1), 3), triangles]).ravel())
    quality = vtkMeshQuality()
    quality.SetInputData(poly)
    quality.SetTriangleQualityMeasureToAspectRatio()
    quality.Update()
    expected = pv.wrap(quality.GetOutput()).cell_data["Quality"]
    np.testing.assert_allclose(triangle_aspect_ratio(vertices, triangles), expected, rtol=1e-9)


def test_quality_histogram_counts_every_triangle_and_the_degenerate_ones():
    v = np.array([[0, 0, 0], [1, 0, 0], [0.5, 3 ** 0.5 / 2, 0], [2, 0, 0], [0, 10, 0]], dtype=float)
    t = np.array([[0, 1, 2], [0, 1, 3], [0, 0, 2], [0, 1, 4]])  # equilateral, collinear, repeated, thin
    q = mesh_quality(v, t)
    assert q.n_triangles == 4 and q.degenerate == 2
    assert sum(q.counts) == 4 and q.counts[0] == 1 and q.counts[-1] == 2
    assert q.median == pytest.approx(np.median(triangle_aspect_ratio(v, t[[0, 3]])))
    assert q.as_dict()["labels"][0] == "1–1.5"


def test_box_faces_have_unit_outward_normals(scene):
    centres, normals = face_normals(scene.buildings_poly)
    assert len(centres) == 24
    np.testing.assert_allclose(np.linalg.norm(normals, axis=1), 1.0, atol=1e-6)
    b = scene.city.buildings.mesh
    local = b.local(scene.city.origin)
    box_centres = np.array([local[b.triangles[b.triangle_feature == f].ravel()].mean(axis=0) for f in (0, 1)])
    nearest = np.argmin(np.linalg.norm(centres[:, None, :] - box_centres[None], axis=2), axis=1)
    assert (np.einsum("ij,ij->i", centres - box_centres[nearest], normals) > 0).all()  # outward
    assert (normals[:, 2] > 0.99).sum() == 4  # two roof triangles per box, pointing up
    assert len(face_normals(scene.buildings_poly, max_glyphs=5)[0]) <= 5


def test_level_of_detail_swaps_the_input_of_the_same_actor(scene):
    from twin3d.scene.frames import depth_rgb

    actor = scene.actors["buildings"]
    lods = LevelsOfDetail(scene, fractions=(1.0, 0.5))
    scene.building_colours.apply("depth", np.array([0.0, 2.0]))
    lods.show(1)
    poly = actor.GetMapper().GetInput()
    assert scene.actors["buildings"] is actor and poly is scene.buildings_poly
    assert 0 < poly.GetNumberOfCells() <= 12
    feature = np.asarray(scene.buildings_poly.cell_data["feature"])
    assert set(feature.tolist()) == {0, 1}  # no building lost
    colour = np.array(scene.buildings_poly.cell_data["colour"])
    np.testing.assert_array_equal(colour, depth_rgb(np.array([0.0, 2.0]))[feature])  # the colours carried over
    assert scene.building_colours.mode == "depth"
    scene.building_colours.apply("use")  # the colour modes now write into the simplified mesh
    assert not np.array_equal(np.asarray(scene.buildings_poly.cell_data["colour"]), colour)
    lods.show(0)
    assert actor.GetMapper().GetInput().GetNumberOfCells() == 24
    with pytest.raises(ValueError):
        lods.show(2)


def test_highlight_outlines_the_building(scene):
    from twin3d.scene.inspect_overlays import Highlight

    h = Highlight(scene)
    h.show(1)
    assert h.actor.GetVisibility() and not h.actor.GetPickable()
    b = scene.city.buildings.mesh
    local = b.local(scene.city.origin)[b.triangles[b.triangle_feature == 1].ravel()]
    np.testing.assert_allclose(np.array(h.poly.bounds).reshape(3, 2).T, [local.min(0), local.max(0)], atol=1e-3)
    assert h.poly.n_cells == 12  # a box's 12 edges, no diagonals
    h.show(None)
    assert not h.actor.GetVisibility()


def test_measurement_distance_and_restart(scene):
    from twin3d.scene.inspect_overlays import Measurement

    m = Measurement(scene)
    assert m.add(np.array([85_000.0, 447_000.0, 1.0])) is None
    assert m.add(np.array([85_030.0, 447_040.0, 1.0])) == pytest.approx(50.0)
    assert m.poly.n_points == 2 and m.poly.n_lines == 1
    assert m.add(np.array([85_000.0, 447_000.0, 13.0])) is None  # a third click starts over
    m.clear()
    assert not m.actor.GetVisibility()


def test_clip_plane_on_the_mappers(scene):
    from twin3d.scene.inspect_overlays import ClipPlane

    clip = ClipPlane(scene)
    clip.set(True, "x", 0.25)
    b = scene.actors["buildings"].GetBounds()
    assert clip.plane.GetOrigin()[0] == pytest.approx(b[0] + 0.25 * (b[1] - b[0]))
    for name in ("buildings", "terrain", "roads", "network_power"):
        assert scene.actors[name].GetMapper().GetClippingPlanes().IsItemPresent(clip.plane)
    clip.set(True, "z", 1.0)
    assert clip.plane.GetNormal() == (0.0, 0.0, -1.0)
    assert scene.actors["buildings"].GetMapper().GetClippingPlanes().GetNumberOfItems() == 1
    clip.set(False)
    assert not scene.actors["buildings"].GetMapper().GetClippingPlanes().IsItemPresent(clip.plane)


def test_clip_plane_cuts_the_rendered_city(scene):
    from twin3d.scene.inspect_overlays import ClipPlane

    scene.plotter.window_size = (320, 240)
    before = scene.image()
    ClipPlane(scene).set(True, "x", 0.3)  # west of NL.2: the taller building disappears
    after = scene.image()
    changed = (np.abs(before.astype(int) - after.astype(int)).sum(axis=2) > 30).mean()
    assert changed > 0.01
