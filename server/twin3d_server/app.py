"""The trame app: compose the scene, the panels' logic and the layout (no behaviour here).

Each panel is a logic class (``logic/<panel>.py``, the only code that calls the library)
and a UI module (``ui/<panel>.py``, widgets only), joined through the shared
:class:`~twin3d_server.context.AppContext`.
"""

from __future__ import annotations

from twin3d.config import load_settings
from twin3d.io.default_city import load_city
from twin3d_server.context import AppContext, AppOptions

DRAWER_WIDTH = {"left": 290, "right": 420}


def build_app(city, server=None, targets=(), options: AppOptions | None = None):
    """Compose the trame server for ``city``.

    ``targets`` are what the scenario picker offers: open ``ResultsFile`` objects, results
    file paths or scenario files (the catalogue runs or reuses those).  Returns
    ``(server, ctx)``; ``ctx.panels`` holds the panels' logic objects by name.
    """
    from trame.app import get_server

    from twin3d.scene.city_scene import CityScene
    from twin3d_server.logic.allocation import AllocationLogic
    from twin3d_server.logic.authoring import AuthoringLogic
    from twin3d_server.logic.catalog import CatalogLogic
    from twin3d_server.logic.compare import CompareLogic
    from twin3d_server.logic.decisions import DecisionLogic
    from twin3d_server.logic.export import ExportLogic
    from twin3d_server.logic.inspect import InspectLogic
    from twin3d_server.logic.kpis import KpiLogic
    from twin3d_server.logic.layers import LayersLogic
    from twin3d_server.logic.mapview import MapLogic
    from twin3d_server.logic.timeline import TimelineLogic

    server = server or get_server("twin3d", client_type="vue3")
    options = options or AppOptions()
    ctx = AppContext(server, CityScene(city, shader=not options.client_render), options)
    ctx.ctrl.view_press, ctx.ctrl.view_release = ctx.press, ctx.release
    state = server.state
    state.trame__title = f"twin3d — {city.name}"
    state.city_name = city.name
    state.n_buildings = len(city.buildings)
    state.kiosk = ctx.options.kiosk
    state.can_edit = ctx.allowed("planner")
    ctx.panels = {"timeline": TimelineLogic(ctx), "layers": LayersLogic(ctx), "kpis": KpiLogic(ctx),
                  "allocation": AllocationLogic(ctx), "decisions": DecisionLogic(ctx),
                  "authoring": AuthoringLogic(ctx), "inspect": InspectLogic(ctx),
                  "compare": CompareLogic(ctx), "mapview": MapLogic(ctx), "export": ExportLogic(ctx)}
    ctx.panels["catalog"] = CatalogLogic(ctx, targets)  # last: it sets the first results
    _layout(ctx)
    return server, ctx


def _layout(ctx) -> None:
    from trame.ui.vuetify3 import VAppLayout
    from trame.widgets import html
    from trame.widgets import vuetify3 as v3

    from twin3d_server.ui import (
        allocation,
        authoring,
        catalog,
        compare,
        decisions,
        export,
        inspect,
        kiosk,
        kpis,
        layers,
        mapview,
        timeline,
    )

    with VAppLayout(ctx.server, full_height=True) as layout:
        with v3.VAppBar(density="compact", elevation=1):
            html.Div("twin3d", classes="text-h6 mx-4 text-no-wrap")
            catalog.scenario_picker(ctx)
            compare.compare_toggle(ctx)
            v3.VSpacer()
            mapview.map_tools(ctx)
            export.export_menu(ctx)
            if ctx.options.client_render:  # say what browser (vtk.js) rendering lacks
                v3.VChip("Browser rendering: no water shader; compare views move separately",
                         size="small", color="warning", classes="ml-2", prepend_icon="mdi-information")
            v3.VChip("{{ city_name }} · {{ n_buildings }} buildings", size="small", classes="ml-2")
        with v3.VNavigationDrawer(location="left", width=(_drawer_width("left"),), permanent=True):
            layers.layers_panel(ctx)
            inspect.engineer_panel(ctx)
        with v3.VNavigationDrawer(location="right", width=(_drawer_width("right"),), permanent=True):
            kiosk.kiosk_note(ctx)
            kpis.kpi_panel(ctx)
            allocation.allocation_panel(ctx)
            decisions.decision_panel(ctx)
            authoring.authoring_panel(ctx)
        with v3.VMain():
            with html.Div(style="display: flex; height: 100%; min-height: 60vh;", id="views"):
                with html.Div(style="flex: 1; position: relative;", id="view-a"):
                    _view(ctx, ctx.scene, "view")
                    mapview.map_overlays(ctx)
                    inspect.pick_card(ctx)
                compare.compare_view(ctx)
        with v3.VFooter(app=True, height=56, classes="d-flex align-center px-3"):
            timeline.timeline_bar(ctx)
    return layout


def _drawer_width(side: str) -> str:
    """A drawer's width: fixed on a laptop, growing with the screen beyond 2560 CSS px (a 4K wall
    display), as the type does."""
    return f"Math.round({DRAWER_WIDTH[side]} * Math.max(1, Math.min(1.5, window.innerWidth / 2560)))"


def _view(ctx, scene, name: str):
    """The 3D view of ``scene``: server-rendered (default) or vtk.js (``--client-render``).
    Sets ``ctrl.<name>_update`` / ``ctrl.<name>_reset_camera``; a press and release in place is a click (``ctx.click``)."""
    from trame.widgets import vtk as vtk_widgets

    kind = vtk_widgets.VtkLocalView if ctx.options.client_render else vtk_widgets.VtkRemoteView
    extra = {} if ctx.options.client_render else {"interactive_ratio": 1}
    event = "[utils.vtk.event($event)]"
    view = kind(scene.plotter.render_window, interactor_events=("events", ["LeftButtonPress", "LeftButtonRelease"]),
                LeftButtonPress=(ctx.ctrl.view_press, event), LeftButtonRelease=(ctx.ctrl.view_release, event), **extra)
    setattr(ctx.ctrl, f"{name}_update", view.update)
    setattr(ctx.ctrl, f"{name}_reset_camera", view.reset_camera)
    return view


def serve(targets=(), host: str | None = None, port: int | None = None, open_browser: bool = True,
          kiosk: bool = False, client_render: bool = False) -> int:
    """Serve the app until interrupted; returns the exit code.

    ``targets``: city files/recipes, results files and scenario files, in any order; with no
    city the default city is used, and with no results or scenarios its default scenarios.
    With a users file (or the trusted-header mode) every request and websocket is signed in
    (docs/security.md); without one the app is served to the loopback address only, to one
    local planner.
    """
    from twin3d.errors import InputError
    from twin3d_server.logic.catalog import split_targets
    from twin3d_server.web import install, load_web_settings

    settings, web = load_settings(), load_web_settings()
    host, port = host or settings.host, port or settings.port
    signed_in = bool(web.users_file or web.trusted_header)
    if not signed_in and not _loopback(host):
        raise InputError(None, f"serving on {host} needs sign-in: set TWIN3D_USERS_FILE and add a user "
                               "(twin3d users add NAME --role planner), or serve on 127.0.0.1")
    city_spec, entries = split_targets(targets)
    city = load_city(city_spec)[0]
    server, ctx = build_app(city, targets=entries, options=AppOptions(kiosk=kiosk, client_render=client_render))
    if signed_in:
        install(server, web, ctx)
    mode = "sign-in required" if signed_in else "local single-user mode, no sign-in"
    print(f"twin3d serving {city.name} at http://{host}:{port}/ ({mode})", flush=True)
    server.start(host=host, port=port, open_browser=open_browser)
    return 0


def _loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
