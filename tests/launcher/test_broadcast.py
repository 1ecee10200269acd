"""The mirrored view without processes: what a presenter publishes, a follower applies."""

from __future__ import annotations

import numpy as np
import pytest

from twin3d_server.launcher.broadcast import apply_view, validate_view, view_of


@pytest.fixture
def two_apps(targets, request):
    from trame.app import get_server

    from tests.io.test_store import national_grid_city
    from twin3d.scenario.results import ResultsFile
    from twin3d_server.app import build_app
    from twin3d_server.context import AppOptions

    apps, opened = [], []
    for role, kiosk in (("planner", False), ("viewer", True)):
        results = ResultsFile(targets[1])
        opened.append(results)
        server = get_server(f"{request.node.name}-{role}", client_type="vue3")
        server, ctx = build_app(national_grid_city(), server, [results], AppOptions(kiosk=kiosk, role=role))
        server.state.ready()
        apps.append(ctx)
    yield apps
    for results in opened:
        results.close()


def test_follower_shows_the_presenters_frame_and_camera(two_apps):
    presenter, follower = two_apps
    presenter.panels["timeline"].data.time_index = 3
    presenter.state.flush()
    camera = presenter.scene.plotter.camera
    camera.position = (85_050.0, 446_900.0, 400.0)
    camera.focal_point = (85_050.0, 447_020.0, 0.0)
    view = validate_view(view_of(presenter))
    apply_view(follower, view)
    assert follower.panels["timeline"].data.time_index == 3 and follower.scene.frame == 3
    np.testing.assert_allclose(follower.scene.plotter.camera.position, camera.position, atol=1e-6)
    np.testing.assert_allclose(follower.scene.plotter.camera.focal_point, camera.focal_point, atol=1e-6)
    assert view["scenario_id"] == follower.panels["catalog"].data.scenario_id


@pytest.mark.parametrize("bad", [
    [], {"time_index": -1}, {"time_index": "3"}, {"time_index": True}, {"scenario_id": 5},
    {"scenario_id": "x" * 65}, {"camera": {"position": [0, 0]}}, {"camera": {"position": [0, 0, float("nan")]}},
    {"camera": {"view_angle": 500}}, {"camera": "above"},
])
def test_malformed_views_are_refused(bad):
    with pytest.raises(ValueError):
        validate_view(bad)


def test_an_unknown_scenario_leaves_the_followers_choice(two_apps):
    _, follower = two_apps
    before = follower.panels["catalog"].data.scenario_id
    apply_view(follower, validate_view({"scenario_id": "not-offered", "time_index": 2}))
    assert follower.panels["catalog"].data.scenario_id == before
    assert follower.panels["timeline"].data.time_index == 2


def test_the_presenter_notices_camera_moves(two_apps):
    from twin3d_server.launcher.broadcast import Presenter

    presenter = Presenter(two_apps[0], "unix:/nonexistent.sock", "ABCDEFGH", "s" * 43)
    calls = []
    presenter.changed = lambda **_: calls.append(1)
    two_apps[0].scene.plotter.camera.position = (85_000.0, 446_800.0, 300.0)
    assert calls
