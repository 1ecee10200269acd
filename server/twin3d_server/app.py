"""The trame app: a browser 3D view of the city (the web-app issue adds the panels)."""

from __future__ import annotations

from twin3d.config import load_settings
from twin3d.io.default_city import load_city


def build_app(city, server=None):
    """Compose the trame server: state, the remote 3D view and the layout."""
    from trame.app import get_server
    from trame.ui.vuetify3 import SinglePageLayout
    from trame.widgets import vtk as vtk_widgets
    from trame.widgets import vuetify3 as v3

    from twin3d.scene.city_scene import CityScene

    server = server or get_server("twin3d", client_type="vue3")
    scene = CityScene(city)
    state, ctrl = server.state, server.controller
    state.trame__title = f"twin3d — {city.name}"
    state.city_name = city.name
    state.n_buildings = len(city.buildings)
    with SinglePageLayout(server) as layout:
        layout.title.set_text("twin3d")
        with layout.toolbar:
            v3.VSpacer()
            v3.VChip("{{ city_name }} · {{ n_buildings }} buildings", size="small")
        with layout.content:
            with v3.VContainer(fluid=True, classes="pa-0 fill-height"):
                view = vtk_widgets.VtkRemoteView(scene.plotter.render_window, interactive_ratio=1)
                ctrl.view_update = view.update
                ctrl.view_reset_camera = view.reset_camera
    return server, scene


def serve(city: str | None = None, host: str | None = None, port: int | None = None,
          open_browser: bool = True) -> int:
    """Serve the app until interrupted; returns the exit code."""
    settings = load_settings()
    server, _ = build_app(load_city(city)[0])
    server.start(host=host or settings.host, port=port or settings.port, open_browser=open_browser)
    return 0
