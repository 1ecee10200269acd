"""Server-side picking: the building under a pixel, and the data of any picked cell."""

from __future__ import annotations

import numpy as np
import pytest

from tests.io.test_store import national_grid_city
from twin3d.scene.picking import Pick, cell_attributes, display_position, pick_at

# Roof centres (city CRS) of the national-grid city's two buildings: NL.1 (10 x 20 m, 9 m tall
# from 0.5 m) and NL.2 (5 x 5 m, 30 m tall from 0.7 m).
ROOFS = {0: (85_005.123, 447_010.456, 9.5), 1: (85_102.501, 447_012.509, 30.7)}


@pytest.fixture(scope="module")
def scene():
    from twin3d.scene.city_scene import CityScene

    s = CityScene(national_grid_city())
    s.plotter.window_size = (400, 300)
    s.plotter.render()
    return s


@pytest.mark.parametrize("building", [0, 1])
def test_pixel_of_a_roof_picks_that_building(scene, building):
    x, y = display_position(scene, ROOFS[building])
    assert 0 <= x < 400 and 0 <= y < 300
    pick = pick_at(scene, x, y)
    assert pick.actor == "buildings" and pick.building == building
    # the picked point lies on the roof, in the city CRS
    np.testing.assert_allclose(pick.point, ROOFS[building], atol=1.5)
    assert pick.as_dict()["building"] == building


def test_helper_actors_do_not_take_the_pick(scene):
    from twin3d.scene.inspect_overlays import Highlight, Measurement

    highlight, measure = Highlight(scene), Measurement(scene)
    highlight.show(1)
    measure.add(np.array(ROOFS[1]))
    measure.add(np.array(ROOFS[0]))
    scene.plotter.render()
    pick = pick_at(scene, *display_position(scene, ROOFS[1]))
    assert pick.actor == "buildings" and pick.building == 1
    highlight.show(None)
    measure.clear()


def test_pick_follows_the_drawn_mesh_when_it_is_swapped(scene):
    from twin3d.scene.city_scene import mesh_polydata

    actor = scene.actors["buildings"]
    original = actor.GetMapper().GetInput()
    moved = mesh_polydata(scene.city.buildings.mesh, scene.city.origin)
    moved.cell_data["feature"] = 1 - np.asarray(moved.cell_data["feature"])  # the two buildings swap ids
    actor.GetMapper().SetInputData(moved)
    try:
        assert pick_at(scene, *display_position(scene, ROOFS[0])).building == 1
    finally:
        actor.GetMapper().SetInputData(original)
    assert pick_at(scene, *display_position(scene, ROOFS[0])).building == 0


def test_background_pixel_picks_nothing(scene):
    scene.plotter.camera.position = (0.0, 0.0, -5000.0)  # look away from the city
    scene.plotter.camera.focal_point = (0.0, 0.0, -10000.0)
    try:
        pick = pick_at(scene, 200, 150)
        assert pick == Pick(None, None, None)
        assert cell_attributes(scene, pick)["cell_data"] == {}
    finally:
        scene.plotter.view_isometric()
        scene.plotter.reset_camera(bounds=scene.actors["buildings"].GetBounds())
        scene.plotter.render()


def test_cell_attributes_of_a_context_layer(scene):
    info = cell_attributes(scene, Pick("roads", None, None, 3))
    assert info["cell_data"]["feature"] == 0
    assert info["feature"] == {"layer": "roads", "id": "r1", "kind": "Road", "attributes": {}}


def test_cell_attributes_of_a_network_edge_and_node(scene):
    edge = np.asarray(scene.actors["network_power"].GetMapper().GetInput().GetCellData().GetArray("edge"))
    line = int(np.flatnonzero(np.asarray(edge) == 0)[0])
    info = cell_attributes(scene, Pick("network_power", None, None, line))
    assert info["feature"]["id"] == "l" and info["feature"]["from"] == "s" and info["feature"]["to"] == "f"
    assert info["feature"]["length_m"] == pytest.approx(50.0)  # (30, 40) m apart
    assert info["feature"]["capacity"] == 10.0
    node = int(np.flatnonzero(np.asarray(edge) == -1)[0])  # the substation and feeder are drawn as points
    assert cell_attributes(scene, Pick("network_power", None, None, node))["feature"]["kind"] in ("substation",
                                                                                                 "feeder")
