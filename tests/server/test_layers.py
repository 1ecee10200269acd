"""The Layers & Legend panel's logic without a browser: state drives the scene's actors and colours."""

from __future__ import annotations

import numpy as np
import pytest

from tests.io.test_store import national_grid_city
from tests.scene.test_frames import write_results
from twin3d.scenario.results import ResultsFile


@pytest.fixture
def app(tmp_path, request):
    from trame.app import get_server

    from twin3d_server.app import build_app
    from twin3d_server.context import AppOptions

    results = ResultsFile(write_results(tmp_path / "results.h5"))
    kiosk = "kiosk" in request.node.name
    server, ctx = build_app(national_grid_city(), get_server(request.node.name, client_type="vue3"), [results],
                            AppOptions(kiosk=kiosk))
    server.state.ready()
    yield server, ctx
    results.close()


def titles(legend) -> list[str]:
    return [entry["title"] for entry in legend]


def test_layers_and_legend_state_follow_the_scene(app):
    server, ctx = app
    data = ctx.panels["layers"].data
    names = {layer["name"]: layer for layer in data.layers}
    assert {"terrain", "roads", "buildings", "water", "heat", "plume", "network_power", "facilities",
            "allocation"} <= set(names)
    assert names["water"]["available"] and not names["heat"]["available"] and not names["plume"]["available"]
    assert names["buildings"]["title"] == "Buildings"
    assert "buildings" in data.visible_layers and "water" in data.visible_layers
    assert {"Buildings: flood depth", "Water depth", "Networks", "Critical facilities"} <= set(titles(data.legend))
    for entry in data.legend:
        assert entry["kind"] in ("continuous", "categorical") and entry["stops"]
        assert all(s["colour"].startswith("#") and len(s["colour"]) == 7 for s in entry["stops"])


def test_unchecking_a_layer_hides_its_actor_and_its_legend(app):
    server, ctx = app
    logic, data, scene = ctx.panels["layers"], ctx.panels["layers"].data, ctx.scene
    data.visible_layers = [n for n in data.visible_layers if n != "water"]
    server.state.flush()
    assert not scene.actors["water"].GetVisibility()
    assert "Water depth" not in titles(data.legend)
    assert next(layer for layer in data.layers if layer["name"] == "water")["visible"] is False
    logic.set_layer_visible("water", True)  # what other panels (a shared link) call: applied at once
    assert scene.actors["water"].GetVisibility() and "Water depth" in titles(data.legend)
    assert "water" in data.visible_layers
    server.state.flush()
    assert scene.actors["water"].GetVisibility()
    logic.set_building_mode("status")
    assert scene.colour_mode == "status" and data.building_mode == "status"
    server.state.flush()
    assert scene.colour_mode == "status"


def test_building_mode_recolours_the_current_frame(app):
    from twin3d.scene.frames import STATUS_COLOURS

    server, ctx = app
    data, scene = ctx.panels["layers"].data, ctx.scene
    ctx.panels["timeline"].data.time_index = 2
    server.state.flush()
    colour = scene.buildings_poly.cell_data["colour"]
    feature = np.asarray(scene.buildings_poly.cell_data["feature"])
    data.building_mode = "status"
    server.state.flush()
    assert scene.colour_mode == "status"
    assert (colour[feature == 1] == STATUS_COLOURS["flooded"]).all()
    assert "Buildings: status" in titles(data.legend)
    data.building_mode = "damage"
    server.state.flush()
    assert scene.colour_mode == "damage" and "Buildings: damage" in titles(data.legend)
    data.building_mode = "use"
    server.state.flush()
    assert "Buildings: use" in titles(data.legend)
    use = next(e for e in data.legend if e["title"] == "Buildings: use")
    assert [s["label"] for s in use["stops"]] == ["Hospital", "School"]


def test_kiosk_viewers_may_change_layers(app):
    server, ctx = app
    assert not ctx.allowed("planner")
    data = ctx.panels["layers"].data
    data.visible_layers = [n for n in data.visible_layers if n != "terrain"]
    data.building_mode = "status"
    server.state.flush()
    assert not ctx.scene.actors["terrain"].GetVisibility() and ctx.scene.colour_mode == "status"


def test_no_results_leaves_only_the_city(app):
    server, ctx = app
    data = ctx.panels["layers"].data
    ctx.set_results(None)
    server.state.flush()
    names = {layer["name"]: layer for layer in data.layers}
    assert not names["water"]["available"] and not names["allocation"]["available"]
    assert "Water depth" not in titles(data.legend) and "Buildings: use" in titles(data.legend)


def test_legend_follows_scene_changes_made_elsewhere(app, tmp_path):
    """Another panel (the compare view) attaches a difference: the legend follows without being told."""
    server, ctx = app
    data = ctx.panels["layers"].data
    other = ResultsFile(write_results(tmp_path / "b.h5"))
    try:
        ctx.scene.attach_difference(other)
        assert "Depth difference A − B" in titles(data.legend) and "Water depth" not in titles(data.legend)
        ctx.scene.attach_difference(None)
        assert "Water depth" in titles(data.legend)
        rows = np.full((2, 6), np.nan)
        rows[0] = [85_000.0, 447_000.0, 85_050.0, 447_020.0, 2, 0]
        ctx.scene.show_allocation(rows, ["pumps"])  # the allocation panel's "optimise now"
        assert next(layer for layer in data.layers if layer["name"] == "allocation")["available"]
        assert "Allocation: depot → site" in titles(data.legend)
    finally:
        other.close()
