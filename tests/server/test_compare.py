"""Compare mode without a browser: one camera for two scenes, B at A's time, A - B, measures."""

from __future__ import annotations

import numpy as np
import pytest

from tests.io.test_store import national_grid_city
from tests.scene.test_frames import GRID, write_results
from twin3d.scenario.results import ResultsFile
from twin3d.scene.measures import CREST_RADIUS_M

BARRIER_SCENARIO = """
name = "with barrier"
[[strategy.barriers]]
label = "wall"
line = [[85010.0, 446995.0], [85010.0, 447045.0]]
height_m = 2.0
[[strategy.pumps]]
point = [85060.0, 447020.0]
rate_m3s = 1.0
"""


def _results_b(path):
    """B: frames every 900 s (A's are every 600 s), so B's frame at A's time is not A's index."""
    import h5py

    write_results(path, n_frames=3)
    with h5py.File(path, "r+") as f:
        f["time"][:] = [0.0, 900.0, 1800.0]
        f.attrs["scenario"] = BARRIER_SCENARIO
        f.attrs["name"] = "with barrier"
    return path


@pytest.fixture
def app(tmp_path, request):
    from trame.app import get_server

    from twin3d_server.app import build_app

    a = ResultsFile(write_results(tmp_path / "a.h5"))
    b = ResultsFile(_results_b(tmp_path / "b.h5"))
    server, ctx = build_app(national_grid_city(), get_server(request.node.name, client_type="vue3"), [a, b])
    server.state.ready()
    yield server, ctx, a, b
    a.close()
    b.close()


def test_moving_a_camera_moves_b(app):
    server, ctx, _a, _b = app
    compare = ctx.panels["compare"]
    cam_a, cam_b = ctx.scene.plotter.renderer.GetActiveCamera(), compare.scene_b.plotter.renderer.GetActiveCamera()
    assert cam_a is cam_b
    cam_a.SetPosition(10.0, -300.0, 200.0)
    cam_a.SetFocalPoint(20.0, 30.0, 0.0)
    np.testing.assert_allclose(cam_b.GetPosition(), (10.0, -300.0, 200.0))
    np.testing.assert_allclose(cam_b.GetFocalPoint(), (20.0, 30.0, 0.0))


def test_b_shows_its_frame_at_a_time(app):
    server, ctx, _a, b = app
    compare = ctx.panels["compare"]
    compare.data.enabled = True
    server.state.flush()
    assert compare.results_b is b and compare.data.title_b == "with barrier"
    expected = {0: 0, 1: 0, 2: 1}  # A at 0, 600, 1200 s; B has 0, 900, 1800 s
    for k, kb in expected.items():
        ctx.panels["timeline"].data.time_index = k
        server.state.flush()
        assert ctx.scene.frame == k
        assert compare.scene_b.frame == kb and compare.data.frame_b == kb
    image_b = compare.scene_b.plotter.screenshot(return_img=True)
    assert image_b.std() > 5


def test_difference_toggle_shows_a_minus_b(app):
    server, ctx, _a, b = app
    compare = ctx.panels["compare"]
    if not compare.data.difference_available:
        pytest.skip("the scene has no difference view yet")
    ctx.panels["timeline"].data.time_index = 2
    server.state.flush()
    compare.data.difference = True
    server.state.flush()
    assert compare.data.enabled and ctx.scene.results_b is b
    assert ctx.scene.water.showing == "difference"
    compare.data.enabled = False  # compare off: the difference goes too
    server.state.flush()
    assert not compare.data.difference and ctx.scene.results_b is None


def test_measures_drawn_with_each_scenario(app):
    server, ctx, _a, _b = app
    compare = ctx.panels["compare"]
    compare.data.enabled = True
    server.state.flush()
    assert compare.measures_a.n_barriers == 0 and not compare.measures_a.actors["barriers"].GetVisibility()
    walls, pumps = compare.measures_b.walls, compare.measures_b.pumps
    assert compare.data.measures_b == "1 barrier, 1 pump"
    assert walls.n_cells > 0 and pumps.n_cells > 0
    # the wall stands on the line, from the ground (1.25 m) to 2 m above it, a tube along its crest
    xyz = walls.points + ctx.city.origin
    np.testing.assert_allclose([xyz[:, 0].min(), xyz[:, 0].max()], [85010.0 - CREST_RADIUS_M, 85010.0 + CREST_RADIUS_M],
                               atol=1e-3)
    assert np.isclose(xyz[:, 2], 1.25, atol=1e-3).sum() == 2  # the wall's foot at both ends of the line
    assert xyz[:, 2].max() == pytest.approx(3.25 + CREST_RADIUS_M, abs=1e-3)


def test_compare_with_results_outside_the_catalogue(app, tmp_path):
    server, ctx, _a, _b = app
    compare = ctx.panels["compare"]
    run = ResultsFile(_results_b(tmp_path / "run.h5"))
    try:
        compare.compare_with(run)
        server.state.flush()
        assert compare.data.enabled and compare.results_b is run
        assert compare.data.extra_choices[0]["title"] == "with barrier"
        assert GRID.shape == tuple(run.grid.shape)
    finally:
        run.close()


def test_compare_with_a_catalogue_scenario_uses_its_entry(app):
    server, ctx, _a, b = app
    compare = ctx.panels["compare"]
    compare.compare_with(b)
    server.state.flush()
    assert compare.data.scenario_b == "s1" and compare.data.extra_choices == []
    assert compare.scene_b.frame == 0 and compare.data.title_b == "with barrier"
