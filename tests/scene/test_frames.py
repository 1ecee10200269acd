"""Frames shown in place: the water surface and building colours follow the results."""

from __future__ import annotations

import numpy as np
import pytest

from tests.io.test_store import national_grid_city
from twin3d.model import Grid
from twin3d.scenario.results import ResultsFile, ResultsLayout, ResultsWriter, finish

GRID = Grid((84990.0, 446990.0), 10.0, (6, 16))
FLAGS = ("flooded", "without_power", "without_water", "down")


def frame_depth(k: int) -> np.ndarray:
    """Frame k: water rising from the west, k + 1 columns wet at 0.5 (k + 1) m; one puddle below 2 cm."""
    depth = np.zeros(GRID.shape, dtype=np.float32)
    depth[:, : k + 1] = 0.5 * (k + 1)
    depth[0, -1] = 0.01
    return depth


def write_results(path, n_frames: int = 3, complete: bool = True, start: str = "2026-02-09T08:00:00"):
    """A small results file over the national-grid city's two buildings."""
    layout = ResultsLayout(grid=GRID, elevation=np.full(GRID.shape, 1.5), fields=("depth",), n_buildings=2,
                           building_quantities=("max_depth",), mass_balance_columns=("volume",),
                           status_flags=FLAGS)
    writer = ResultsWriter(path, layout, {"start": start, "city_path": ""})
    for k in range(n_frames):
        writer.append_frame(600.0 * k, {"depth": frame_depth(k)}, {"max_depth": np.array([0.0, 1.0 * k])},
                            np.zeros(1), status=np.array([0, 1 if k else 0], dtype=np.uint8))
    writer.add_event(600.0, "breach", "Dike breach")
    writer.close()
    if complete:
        finish(path)
    return path


@pytest.fixture
def scene_with_results(tmp_path):
    from twin3d.scene.city_scene import CityScene

    results = ResultsFile(write_results(tmp_path / "results.h5"))
    scene = CityScene(national_grid_city())
    scene.attach_results(results)
    yield scene
    results.close()


def test_apply_frame_writes_water_in_place(scene_with_results):
    scene = scene_with_results
    water = scene.water
    points_before = scene.water.surface.GetPoints().GetData()
    depth_before = water.surface.GetPointData().GetArray("depth")
    actors_before = dict(scene.actors)
    for k in range(3):
        scene.apply_frame(k)
        assert water.surface.GetPoints().GetData() is points_before
        assert water.surface.GetPointData().GetArray("depth") is depth_before
        assert scene.actors == actors_before
        # points are in pyvista (Fortran) order over (ny, nx); back to grid order
        z = water.surface.points[:, 2].reshape(GRID.shape, order="F")
        depth = np.asarray(water.depth).reshape(GRID.shape, order="F")
        expected = frame_depth(k)
        expected[expected < 0.02] = 0.0
        np.testing.assert_allclose(depth, expected, atol=1e-6)
        np.testing.assert_allclose(z, 1.5 + expected, atol=1e-4)  # bed 1.5 m, origin z 0
        # dry cells are blanked: a 6 x (k + 1) wet band draws 5 x k quads, the puddle none
        assert water.visible_cells() == 5 * k


def test_water_points_sit_on_the_results_grid(scene_with_results):
    water = scene_with_results.water
    origin = scene_with_results.city.origin
    xy = water.surface.points[:, :2] + origin[:2]
    np.testing.assert_allclose(xy.min(axis=0), [84995.0, 446995.0], atol=1e-3)  # first cell centre
    np.testing.assert_allclose(xy.max(axis=0), [84995.0 + 150.0, 446995.0 + 50.0], atol=1e-3)


def test_building_colours_follow_max_depth(scene_with_results):
    from twin3d.scene.frames import depth_rgb

    scene = scene_with_results
    colour = scene.buildings_poly.cell_data["colour"]
    feature = np.asarray(scene.buildings_poly.cell_data["feature"])
    scene.apply_frame(2)  # max_depth [0, 2] m
    np.testing.assert_array_equal(colour[feature == 0], np.broadcast_to(depth_rgb(np.array([0.0]))[0], colour[feature == 0].shape))
    np.testing.assert_array_equal(colour[feature == 1], np.broadcast_to(depth_rgb(np.array([2.0]))[0], colour[feature == 1].shape))
    # deeper is darker in the sequential map
    assert depth_rgb(np.array([2.0])).sum() < depth_rgb(np.array([0.0])).sum() - 200


def test_status_and_use_modes(scene_with_results):
    from twin3d.scene.frames import STATUS_COLOURS

    scene = scene_with_results
    colour = scene.buildings_poly.cell_data["colour"]
    feature = np.asarray(scene.buildings_poly.cell_data["feature"])
    use_colour = np.array(colour, copy=True)
    scene.building_mode = "status"
    scene.apply_frame(1)
    assert (colour[feature == 1] == STATUS_COLOURS["flooded"]).all()
    scene.building_colours.apply("use")
    np.testing.assert_array_equal(colour, use_colour)
    with pytest.raises(ValueError):
        scene.building_colours.apply("rainbow")
