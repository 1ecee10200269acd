"""The pick card and the engineer tools without a browser: clicks and state drive the scene."""

from __future__ import annotations

import numpy as np
import pytest

from tests.io.test_store import national_grid_city
from tests.scene.test_frames import write_results
from tests.scene.test_picking import ROOFS
from twin3d.scenario.results import ResultsFile
from twin3d.scene.picking import display_position


@pytest.fixture
def app(tmp_path, request):
    from trame.app import get_server

    from twin3d_server.app import build_app

    results = ResultsFile(write_results(tmp_path / "results.h5"))
    server, ctx = build_app(national_grid_city(), get_server(request.node.name, client_type="vue3"), [results])
    server.state.ready()
    ctx.scene.plotter.window_size = (400, 300)
    ctx.scene.plotter.render()
    yield server, ctx
    results.close()


def click_on(ctx, point) -> None:
    """What the view sends for a click on the pixel showing ``point`` (city CRS)."""
    x, y = display_position(ctx.scene, point)
    ctx.click({"type": "LeftButtonPress", "position": {"x": x, "y": y, "z": 0}})


def test_click_on_a_building_fills_the_card_and_follows_the_frame(app):
    server, ctx = app
    card = ctx.panels["inspect"].data
    click_on(ctx, ROOFS[1])
    server.state.flush()
    assert card.pick_open and card.picked_kind == "building"
    assert card.picked_id == "NL.2" and card.picked_index == 1
    assert {"name": "Use", "value": "hospital"} in card.attributes
    assert card.hazard == [{"name": "Water depth", "value": "0.00 m"}]
    assert card.status_known and card.status == []
    highlight = ctx.panels["inspect"].highlight
    assert highlight.actor.GetVisibility() and highlight.building == 1
    ctx.panels["timeline"].data.time_index = 2
    server.state.flush()
    assert card.hazard == [{"name": "Water depth", "value": "2.00 m"}]
    assert card.status == ["Flooded"]
    assert card.damage.startswith("EUR ") and "at 2.00 m so far" in card.damage
    server.controller.inspect_close()
    server.state.flush()
    assert not card.pick_open and not highlight.actor.GetVisibility()


def test_the_card_shows_the_id_picked_for_that_pixel(app):
    from twin3d.scene.picking import pick_at

    server, ctx = app
    card = ctx.panels["inspect"].data
    for building in (0, 1):
        x, y = display_position(ctx.scene, ROOFS[building])
        ctx.click({"position": {"x": x, "y": y}})
        expected = pick_at(ctx.scene, x, y).building
        assert card.picked_id == ctx.city.buildings.table["id"][expected]


def test_measuring_consumes_clicks_and_gives_the_distance(app):
    server, ctx = app
    card = ctx.panels["inspect"].data
    card.measuring = True
    server.state.flush()
    picks = []
    ctx.on_click(lambda pick: picks.append(pick) or True)  # a later listener: sees nothing while measuring
    click_on(ctx, ROOFS[0])
    assert card.measure_points == 1 and card.distance_text == "pick the second point"
    click_on(ctx, ROOFS[1])
    ends = ctx.panels["inspect"].measurement.points
    assert card.distance_text == f"{np.linalg.norm(ends[1] - ends[0]):,.1f} m"
    assert np.linalg.norm(ends[1] - ends[0]) == pytest.approx(np.linalg.norm(np.subtract(ROOFS[1], ROOFS[0])),
                                                              abs=2.0)
    assert not card.pick_open and picks == []
    card.measuring = False
    server.state.flush()
    assert card.distance_text == "" and not ctx.panels["inspect"].measurement.actor.GetVisibility()


def test_a_click_on_the_terrain_shows_its_cell_and_passes_on(app):
    from twin3d.scene.picking import pick_at

    server, ctx = app
    card = ctx.panels["inspect"].data
    width, height = ctx.scene.plotter.window_size
    terrain = next(((x, y) for x in range(0, width, 20) for y in range(0, height, 20)
                    if pick_at(ctx.scene, x, y).actor == "terrain"), None)
    assert terrain is not None
    later = []
    ctx.on_click(lambda pick: later.append(pick.actor) or True)
    ctx.click({"position": {"x": terrain[0], "y": terrain[1]}})
    assert later == ["terrain"]
    assert card.pick_open and card.picked_kind == "cell" and card.picked_title.startswith("terrain cell")
    assert any(row["name"] == "Point (city CRS)" for row in card.cell_rows)


def test_engineer_tools_change_the_existing_actors(app):
    server, ctx = app
    tools, scene = ctx.panels["inspect"].data, ctx.scene
    actor = scene.actors["buildings"]
    tools.edges = True
    server.state.flush()
    assert actor.GetProperty().GetEdgeVisibility()
    tools.wireframe = True
    server.state.flush()
    assert actor.GetProperty().GetRepresentationAsString() == "Wireframe"
    tools.normals = True
    server.state.flush()
    assert ctx.panels["inspect"].normals.actor.GetVisibility() and ctx.panels["inspect"].normals.n_arrows == 24
    tools.clip_enabled, tools.clip_axis, tools.clip_position = True, "y", 0.5
    server.state.flush()
    plane = ctx.panels["inspect"].clip.plane
    b = actor.GetBounds()
    assert actor.GetMapper().GetClippingPlanes().IsItemPresent(plane)
    assert plane.GetOrigin()[1] == pytest.approx(0.5 * (b[2] + b[3]))
    server.controller.inspect_quality()
    assert sum(tools.quality["counts"]) == 24 and tools.quality["degenerate"] == 0


def test_level_of_detail_keeps_the_actor_and_the_frame_colours(app):
    server, ctx = app
    tools, scene = ctx.panels["inspect"].data, ctx.scene
    actor = scene.actors["buildings"]
    assert tools.lod_triangles == 24
    tools.lod = 1
    server.state.flush()
    assert scene.actors["buildings"] is actor and actor.GetMapper().GetInput() is scene.buildings_poly
    assert 0 < tools.lod_triangles < 24
    ctx.panels["timeline"].data.time_index = 2  # the frame's colours go to the simplified mesh
    server.state.flush()
    from twin3d.scene.frames import depth_rgb

    feature = np.asarray(scene.buildings_poly.cell_data["feature"])
    expected = depth_rgb(np.array([0.0, 2.0]))[feature]
    np.testing.assert_array_equal(np.asarray(scene.buildings_poly.cell_data["colour"]), expected)
    tools.lod = 0
    server.state.flush()
    assert tools.lod_triangles == 24


def test_a_new_level_of_detail_is_simplified_off_the_server_loop(app):
    import asyncio
    import concurrent.futures

    server, ctx = app
    tools = ctx.panels["inspect"].data

    async def ask_for_level_1():
        tools.lod = 1
        server.state.flush()
        busy_at_once = tools.lod_busy
        for _ in range(600):
            if not tools.lod_busy:
                break
            await asyncio.sleep(0.05)
        return busy_at_once

    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # a loop of its own, as a served app has
        busy_at_once = pool.submit(asyncio.run, ask_for_level_1()).result(timeout=60)
    assert busy_at_once and not tools.lod_busy
    assert ctx.scene.buildings_poly is ctx.panels["inspect"].lods.polys[1]
    assert 0 < tools.lod_triangles < 24
