"""The app's logic without a browser: the scene is built once from the city."""

from __future__ import annotations

import numpy as np

from tests.io.test_store import national_grid_city


def test_app_builds_city_scene_and_renders():
    from trame.app import get_server

    from twin3d_server.app import build_app

    city = national_grid_city()
    server, ctx = build_app(city, get_server("test_app_builds", client_type="vue3"))
    scene = ctx.scene
    server.state.ready()
    assert server.state.n_buildings == 2
    assert set(scene.actors) == {"terrain", "roads", "buildings", "network_power", "facilities", "allocation"}
    # meshes are shifted to the city origin: float32 keeps centimetres at national-grid scale
    points = scene.buildings_poly.points
    assert points.dtype == np.float32 and np.abs(points).max() < 1e3
    np.testing.assert_allclose(points.min(axis=0) + city.origin, [85_000.123, 447_000.456, 0.5], atol=0.005)
    image = scene.plotter.screenshot(return_img=True)
    assert image.std() > 5  # something was drawn, not a blank window
