"""Map context without a browser: scale bar, north arrow, coordinates, search, presets, links."""

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

    a = ResultsFile(write_results(tmp_path / "a.h5", start="2026-02-09T08:00:00+01:00"))
    b = ResultsFile(write_results(tmp_path / "b.h5"))
    server, ctx = build_app(national_grid_city(), get_server(request.node.name, client_type="vue3"), [a, b])
    server.state.ready()
    yield server, ctx
    a.close()
    b.close()


def test_scale_bar_for_a_known_camera():
    from vtkmodules.vtkRenderingCore import vtkCamera

    from twin3d.scene.maptools import nice_length, scale_bar

    cam = vtkCamera()
    cam.SetPosition(0, 0, 1000.0)
    cam.SetFocalPoint(0, 0, 0)
    cam.SetViewAngle(30.0)
    # visible height at the focal point: 2 * 1000 * tan(15 deg) = 535.9 m over 800 px = 0.670 m/px
    length, px, label = scale_bar(cam, 800, target_px=120)
    assert (length, label) == (50.0, "50 m")  # 120 px = 80.4 m -> 50 m
    assert px == pytest.approx(50.0 / (2 * 1000 * np.tan(np.radians(15)) / 800), rel=1e-9)
    assert [nice_length(x) for x in (0.7, 1.0, 3.9, 7.0, 1999.0)] == [0.5, 1.0, 2.0, 5.0, 1000.0]


def test_scale_bar_and_north_arrow_follow_the_camera(app):
    server, ctx = app
    m = ctx.panels["mapview"].data
    cam = ctx.scene.plotter.camera
    cam.SetFocalPoint(0, 0, 0)
    cam.SetPosition(0, 0, 500.0)
    cam.SetViewUp(0, 1, 0)  # looking down, north up
    server.state.flush()
    assert m.north_deg == pytest.approx(0.0)
    near = m.scale_px, m.scale_label
    cam.SetPosition(0, 0, 5000.0)
    cam.SetViewUp(1, 0, 0)  # east is up the screen: north points left (270 deg clockwise)
    server.state.flush()
    assert m.north_deg == pytest.approx(270.0)
    assert m.scale_label != near[1]


def test_click_shows_coordinates_and_does_not_consume_it(app):
    from twin3d.scene.picking import Pick

    server, ctx = app
    mapview = ctx.panels["mapview"]
    assert mapview.on_click in ctx._click_observers  # heard even when inspect consumes a building click
    pick = Pick("buildings", 0, np.array([85_000.123, 447_000.456, 9.5]))
    assert mapview.on_click(pick) is False  # the next listener (inspect) still gets the click
    assert mapview.data.pointer == "x 85 000.12 · y 447 000.46 · z 9.50 m (EPSG:7415)"
    assert "Amersfoort / RD New" in mapview.data.crs_name


def test_find_building_by_id_and_name_flies_there(app):
    server, ctx = app
    mapview = ctx.panels["mapview"]
    mapview.data.find_text = "zuid"
    server.state.flush()
    assert [m["value"] for m in mapview.data.find_matches] == [0]
    assert mapview.find("nl.2") == 1
    focal = np.array(ctx.scene.plotter.camera.GetFocalPoint()) + ctx.city.origin
    np.testing.assert_allclose(focal[:2], [85_102.501, 447_012.509], atol=0.01)
    assert mapview.find("nowhere") is None and "No building" in mapview.data.find_message


def test_presets_move_the_camera(app):
    server, ctx = app
    positions = []
    for name in ("overview", "district", "street"):
        ctx.ctrl.camera_preset_apply(name)
        positions.append(ctx.scene.plotter.camera.GetPosition())
    assert len({tuple(np.round(p, 3)) for p in positions}) == 3


def test_attribution_time_zone():
    from types import SimpleNamespace

    from twin3d.scene.maptools import SYNTHETIC_ATTRIBUTION, attribution
    from twin3d_server.logic.mapview import timezone_label

    city = national_grid_city()
    assert attribution(city) == ["Data: test"]
    city.metadata = {"generator": "twin3d.model.generate.generate_city"}
    assert attribution(city) == [SYNTHETIC_ATTRIBUTION]
    city.metadata = {"format": "CityJSON", "metadata": {"title": "3DBAG tile", "licence": "CC BY 4.0"}}
    assert attribution(city)[0].startswith("© 3DBAG")
    os_city = SimpleNamespace(metadata={"source": "/data/OS Terrain 50.asc"}, buildings=city.buildings)
    assert attribution(os_city) == ["Contains OS data © Crown copyright and database right"]
    assert [timezone_label(s) for s in ("2026-02-09T08:00:00+01:00", "2026-02-09T08:00:00Z",
                                        "2026-02-09T08:00:00")] == ["UTC+01:00", "UTC", ""]


def test_time_zone_of_active_results(app):
    server, ctx = app
    assert ctx.panels["mapview"].data.timezone == "UTC+01:00"


def test_link_round_trip_restores_the_view(app):
    from twin3d.scene.viewlink import ViewLink

    server, ctx = app
    mapview, catalog = ctx.panels["mapview"], ctx.panels["catalog"]
    ctx.ctrl.camera_preset_apply("district")
    ctx.panels["timeline"].data.time_index = 2
    server.state.flush()
    if hasattr(ctx.scene, "set_layer_visible"):
        ctx.scene.set_layer_visible("roads", False)
    query = mapview.view_link().to_query()
    link = ViewLink.from_query(query)
    assert link.scenario == "s0" and link.time_index == 2
    assert ViewLink.from_query(link.to_query()) == link
    # somewhere else entirely: another scenario, frame, camera and layers
    catalog.data.scenario_id = "s1"
    server.state.flush()
    ctx.ctrl.camera_preset_apply("street")
    if hasattr(ctx.scene, "set_layer_visible"):
        ctx.scene.set_layer_visible("roads", True)
    assert mapview.view_link() != link
    ctx.ctrl.link_apply("?" + query)
    server.state.flush()
    assert catalog.data.scenario_id == "s0" and ctx.scene.frame == 2
    assert mapview.view_link() == link
    assert mapview.data.share_query == query
