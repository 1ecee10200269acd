"""The export menu's logic without a browser: PNG, GLB and CSV of what the session shows."""

from __future__ import annotations

import csv
import io

import pytest

from tests.io.test_store import national_grid_city
from tests.scene.test_export import write_results_with_kpis
from twin3d.scenario.results import ResultsFile


@pytest.fixture
def app(tmp_path, request):
    from trame.app import get_server

    from twin3d_server.app import build_app
    from twin3d_server.context import AppOptions

    results = ResultsFile(write_results_with_kpis(tmp_path / "kpi.h5"))
    server, ctx = build_app(national_grid_city(), get_server(request.node.name, client_type="vue3"), [results],
                            AppOptions(kiosk=True))  # exports show what a viewer sees: kiosk sessions may export
    server.state.ready()
    yield server, ctx
    results.close()


def test_file_stem_names_city_scenario_and_frame(app):
    server, ctx = app
    data = ctx.panels["export"].data
    assert data.stem == "Delft-ish-kpi_test-frame000" and data.has_kpis
    ctx.panels["timeline"].data.time_index = 3
    server.state.flush()
    assert data.stem == "Delft-ish-kpi_test-frame003"


def test_exports_return_the_files(app):
    import pygltflib

    server, ctx = app
    ctx.panels["timeline"].data.time_index = 3  # four wet columns of cell centres: 5 x 3 quads
    server.state.flush()
    ctx.scene.plotter.window_size = (300, 200)
    png = server.controller.export_screenshot()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    gltf = pygltflib.GLTF2.load_from_bytes(server.controller.export_glb())
    nodes = {n.name: n for n in gltf.nodes}
    assert {"city", "buildings", "terrain", "water"} <= set(nodes)
    assert gltf.accessors[gltf.meshes[nodes["water"].mesh].primitives[0].indices].count == 3 * 2 * 15
    assert gltf.asset.extras["frame"] == 3 and gltf.asset.extras["time_s"] == 2700.0
    rows = list(csv.reader(io.StringIO(server.controller.export_kpis())))
    assert rows[0][:3] == ["time_s", "clock", "damage_eur [EUR]"] and len(rows) == 5


def test_the_menu_calls_registered_triggers(app):
    server, ctx = app
    logic = ctx.panels["export"]
    for name, method in (("export_screenshot", logic.screenshot), ("export_glb", logic.glb),
                         ("export_kpis", logic.kpis)):
        assert server.trigger_name(method) == name
