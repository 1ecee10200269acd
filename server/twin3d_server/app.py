"""The trame app: a browser 3D view of the city (the web-app issue adds the panels)."""

from __future__ import annotations

from twin3d.config import load_settings
from twin3d.io.default_city import load_city


def build_app(city, server=None, results=None):
    """Compose the trame server: state, the remote 3D view, the layout and, with an open
    ``ResultsFile``, the timeline that plays it."""
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
    timeline = None
    if results is not None:
        from twin3d_server.timeline import TimelineLogic

        timeline = TimelineLogic(server, scene, results)
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
        if timeline is not None:
            with layout.footer:
                timeline_bar(v3, ctrl)
    server.timeline = timeline
    return server, scene


def timeline_bar(v3, ctrl) -> None:
    """The bottom bar: Play, Pause, Step, the Time slider, the simulated clock, the speed."""
    v3.VBtn("Play", click=ctrl.timeline_play, disabled=("playing",),
            aria_label="Play", prepend_icon="mdi-play", size="small", variant="tonal")
    v3.VBtn("Pause", click=ctrl.timeline_pause, disabled=("!playing",),
            aria_label="Pause", prepend_icon="mdi-pause", size="small", variant="tonal", classes="ml-1")
    v3.VBtn("Step", click=ctrl.timeline_step, aria_label="Step",
            prepend_icon="mdi-skip-next", size="small", variant="tonal", classes="ml-1")
    v3.VSlider(v_model_number=("time_index", 0), min=0, max=("Math.max(n_frames - 1, 0)",), step=1,
               label="Time", hide_details=True, density="compact", classes="mx-4",
               ticks=("Object.fromEntries(events.map(e => [e.index, e.label]))",),
               show_ticks=("events.length ? 'always' : false",))
    v3.VChip("{{ clock }}", size="small", id="timeline-clock", classes="mr-2")
    v3.VSelect(v_model_number=("speed", 1), items=("speeds",), label="Frames/s", aria_label="Speed",
               density="compact", hide_details=True, style="max-width: 110px")


def load_target(spec: str | None):
    """The city and (for a results file) the open ResultsFile to play."""
    from twin3d.model import City
    from twin3d.scenario.results import ResultsFile, is_results_file

    if not is_results_file(spec):
        return load_city(spec)[0], None
    results = ResultsFile(spec)
    city_path = results.file.attrs.get("city_path", "")
    city_path = city_path.decode() if isinstance(city_path, bytes) else str(city_path)
    city = load_city(city_path)[0] if city_path else City(name=results.path.stem)
    return city, results


def serve(city: str | None = None, host: str | None = None, port: int | None = None,
          open_browser: bool = True) -> int:
    """Serve the app until interrupted; returns the exit code."""
    settings = load_settings()
    loaded, results = load_target(city)
    server, _ = build_app(loaded, results=results)
    server.start(host=host or settings.host, port=port or settings.port, open_browser=open_browser)
    return 0
