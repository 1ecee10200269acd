"""Authoring a strategy without a browser: clicks on the view become a scenario that extends
the shown one, which is validated, run in the background and compared with its baseline."""

from __future__ import annotations

import time
import tomllib
from pathlib import Path

import numpy as np
import pytest

from twin3d.config import assets_dir

BASELINE = assets_dir() / "scenarios" / "river_flood_100y.toml"
BARRIER = assets_dir() / "scenarios" / "river_flood_100y_barrier.toml"


@pytest.fixture(scope="module")
def flood_app(tmp_path_factory):
    """The default city serving the quick 100-year river flood (run once for the module)."""
    from trame.app import get_server

    from twin3d.io.default_city import load_city
    from twin3d_server.app import build_app

    mp = pytest.MonkeyPatch()
    mp.setenv("TWIN3D_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    mp.setenv("TWIN3D_QUICK_RUNS", "1")
    city = load_city(None)[0]
    server, ctx = build_app(city, get_server("test_authoring_flood_app", client_type="vue3"), [BASELINE])
    server.state.ready()
    catalog = ctx.panels["catalog"]
    wait_for(server, catalog, lambda: ctx.results is not None and ctx.results.complete)
    yield server, ctx
    catalog.shutdown()
    mp.undo()


def wait_for(server, catalog, predicate, timeout_s=300.0):
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"timed out; statuses {catalog.data.scenarios}"
        catalog.poll()
        server.state.flush()
        time.sleep(0.1)


def barrier_line() -> np.ndarray:
    return np.array(tomllib.loads(BARRIER.read_text())["strategy"]["barriers"][0]["line"])


def display_xy(ctx, xy: np.ndarray) -> list[tuple[float, float]]:
    """Display pixels (VTK's, origin lower left) of ground points ``xy`` (city CRS)."""
    from vtkmodules.vtkRenderingCore import vtkCoordinate

    from twin3d.scene.measures import ground_elevation

    renderer = ctx.scene.plotter.renderer
    local = np.column_stack([xy, ground_elevation(ctx.city, xy)]) - ctx.city.origin
    out = []
    for p in local:
        c = vtkCoordinate()
        c.SetCoordinateSystemToWorld()
        c.SetValue(*map(float, p))
        out.append(c.GetComputedDoubleDisplayValue(renderer))
    return out


class CompareRecorder:
    def __init__(self):
        self.calls = []

    def compare_with(self, results):
        self.calls.append(results)


def test_clicks_become_a_barrier_scenario_that_runs_and_is_compared(flood_app, monkeypatch):
    server, ctx = flood_app
    authoring, catalog = ctx.panels["authoring"], ctx.panels["catalog"]
    baseline = ctx.results
    recorder = CompareRecorder()
    monkeypatch.setitem(ctx.panels, "compare", recorder)
    target = barrier_line()

    ctx.scene.plotter.render()
    server.controller.authoring_draw_barrier()
    for x, y in display_xy(ctx, target):
        ctx.click({"position": {"x": x, "y": y}})
    server.state.flush()
    drawn = np.array(authoring.data.points)[:, :2]
    assert drawn.shape == (4, 2)
    # the picked points are where the clicks were aimed (a roof in front of the ground point moves one)
    assert np.abs(drawn - target).max() < 50.0 and np.median(np.abs(drawn - target)) < 2.0
    assert authoring.actor.GetVisibility() and authoring.sketch.n_points == 4 and authoring.sketch.n_lines == 1

    authoring.data.crest_mode = "level"
    authoring.data.crest_level_m = 50.5
    authoring.data.scenario_name = "North bank wall"
    path = Path(server.controller.authoring_save_run())
    assert not authoring.data.error, authoring.data.message
    assert path.parent == Path(ctx_cache()) / "scenarios" and path.name == "north-bank-wall.toml"
    doc = tomllib.loads(path.read_text())
    assert doc["extends"] == str(BASELINE.resolve()) and doc["name"] == "North bank wall"
    (barrier,) = doc["strategy"]["barriers"]
    np.testing.assert_allclose(barrier["line"], drawn, atol=0.01)  # city CRS, as clicked
    assert barrier["crest_m"] == 50.5

    from twin3d.scenario.spec import load_scenario

    scenario = load_scenario(path)
    assert scenario.spec["boundaries"]["east"] == "open"  # inherited from the baseline
    key = authoring.data.new_key
    assert catalog.entries[key].title == "North bank wall"
    wait_for(server, catalog, lambda: catalog.entries[key].run.done)
    new = catalog.results_of(key)
    assert catalog.entries[key].status == "complete" and new.complete
    assert ctx.results is new and recorder.calls == [baseline]
    raised = new.file["grid/elevation"][()] - baseline.file["grid/elevation"][()]
    assert raised.max() > 0.5  # the barrier cells stand higher than the ground they were on
    assert ctx.panels["authoring"].data.measures == []


def ctx_cache() -> str:
    import os

    return os.environ["TWIN3D_CACHE_DIR"]


def test_point_outside_the_grid_is_refused_with_one_line(flood_app):
    server, ctx = flood_app
    authoring = ctx.panels["authoring"]
    from twin3d.scene.picking import Pick

    server.controller.authoring_place_pump()
    x0, y0, x1, y1 = ctx.results.grid.bounds
    assert authoring.on_click(Pick("terrain", None, np.array([x1 + 500.0, y1 + 500.0, 40.0])))
    authoring.data.scenario_name = "Far pump"
    assert server.controller.authoring_save_run() is None
    assert authoring.data.error and "outside the grid" in authoring.data.message
    assert "\n" not in authoring.data.message
    assert not (Path(ctx_cache()) / "scenarios" / "far-pump.toml").exists()
    server.controller.authoring_clear()


def test_viewer_may_not_author(flood_app, monkeypatch):
    from twin3d.scene.picking import Pick
    from twin3d_server.context import NotAllowed

    server, ctx = flood_app
    authoring = ctx.panels["authoring"]
    monkeypatch.setattr(ctx.options, "role", "viewer")
    for action in (server.controller.authoring_draw_barrier, server.controller.authoring_save_run,
                   server.controller.authoring_undo_point):
        with pytest.raises(NotAllowed):
            action()
    authoring.data.mode = "barrier"  # a stale client state cannot draw either
    assert not authoring.on_click(Pick("terrain", None, np.array([499300.0, 5700100.0, 45.0])))
    assert authoring.data.points == []
    authoring.data.mode = ""


def test_results_file_without_its_scenario_file_is_extended_through_its_resolved_base(flood_app, request):
    """A results file given as is: its resolved scenario is written next to the new one and
    extended; a pump and a road closure land in their own arrays."""
    from trame.app import get_server

    from twin3d.scenario.spec import load_scenario
    from twin3d.scene.picking import Pick
    from twin3d_server.app import build_app

    _, ctx0 = flood_app
    server, ctx = build_app(ctx0.city, get_server(request.node.name, client_type="vue3"), [ctx0.results.path])
    server.state.ready()
    authoring = ctx.panels["authoring"]
    server.controller.authoring_place_pump()
    authoring.on_click(Pick("terrain", None, np.array([499600.0, 5700300.0, 46.0])))
    authoring.data.pump_rate_m3s = 2.5
    server.controller.authoring_close_road()
    for xy in ([499500.0, 5700200.0], [499700.0, 5700200.0]):
        authoring.on_click(Pick("roads", None, np.array([*xy, 45.0])))
    authoring.data.scenario_name = "Pump and closure"
    path = Path(server.controller.authoring_save_run())
    doc = tomllib.loads(path.read_text())
    base = Path(doc["extends"])
    assert base.parent == path.parent and base.name == f"{ctx0.results.path.stem}-base.toml"
    assert doc["strategy"]["pumps"] == [{"label": "pump 1", "point": [499600.0, 5700300.0], "rate_m3s": 2.5}]
    assert doc["strategy"]["road_closures"][0]["line"] == [[499500.0, 5700200.0], [499700.0, 5700200.0]]
    assert load_scenario(path).name == "Pump and closure"
    ctx.panels["catalog"].shutdown()
