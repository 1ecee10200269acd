"""Map context logic: scale bar, north arrow, clicked coordinates, building search, camera
presets, attribution, the scenario's time zone, and the shareable link (no layout here).

Controllers: ``camera_preset_apply(name)``, ``building_find(text)``, ``link_apply(query)``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from trame_server.utils.typed_state import TypedState

from twin3d.scene.cameras import CAMERA_PRESETS
from twin3d_server.logic.camera_watch import CameraWatch


@dataclass
class MapState:
    scale_label: str = ""
    scale_px: float = 0.0
    north_deg: float = 0.0  # clockwise turn of the north arrow
    crs_name: str = ""
    pointer: str = ""  # the last clicked point in the city CRS
    find_text: str = ""
    find_matches: list[dict] = field(default_factory=list)  # {value: building index, title}
    find_message: str = ""
    attribution: list[str] = field(default_factory=list)
    timezone: str = ""
    share_query: str = ""
    presets: list[dict] = field(default_factory=list)  # {value, title}
    preset: str = ""  # the last preset applied
    link_copied: bool = False  # set by the browser once the link is on the clipboard
    model_note: list[dict] = field(default_factory=list)  # {title, text}: what the model can and cannot tell


def timezone_label(start: str) -> str:
    """The time zone of an ISO start ("UTC+01:00", "UTC"); "" when the start names none."""
    try:
        t0 = dt.datetime.fromisoformat(str(start))
    except ValueError:
        return ""
    offset = t0.utcoffset()
    if offset is None:
        return ""
    minutes = int(offset.total_seconds() // 60)
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def coordinate_text(point, crs_label: str) -> str:
    """ "x 85 000.12 · y 447 000.46 · z 1.25 m (EPSG:7415)"."""
    x, y, z = (float(v) for v in point)
    return f"x {x:,.2f} · y {y:,.2f} · z {z:,.2f} m ({crs_label})".replace(",", " ")


HAZARD_WORDS = {"rain": "rain falling on the city", "inflow": "a river or sea flowing in",
                "breach": "a breach in a flood defence", "heatwave": "a heatwave",
                "release": "smoke or a gas released into the air"}


def _scenario_spec(results) -> dict:
    import tomllib

    text = results.file.attrs.get("scenario", "") if results is not None else ""
    text = text.decode() if isinstance(text, bytes) else str(text)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return {}


def model_note(results, city) -> list[dict]:
    """A plain-language note on what the model shown can and cannot tell (kiosk mode)."""
    spec = _scenario_spec(results)
    hazards = [HAZARD_WORDS[k] for k in spec.get("hazards", {}) if k in HAZARD_WORDS]
    if any(isinstance(b, dict) for b in spec.get("boundaries", {}).values()):
        hazards.insert(0, "a river or the sea rising at the edge of the city")
    cell = float(results.grid.cell_size) if results is not None else None
    times = results.times() if results is not None else []
    hours = float(times[-1]) / 3600.0 if len(times) else None
    what = " and ".join(hazards) if hazards else "a hazard event"
    grid = f"squares of {cell:g} m" if cell else "squares of a few metres"
    span = f" over {hours:.0f} hours" if hours else ""
    description = str(spec.get("description", "")).strip()
    inside = ("conditions inside buildings" if spec.get("kind") in ("heat", "release")
              else "flooding inside buildings, cellars or sewers beyond the drainage assumed")
    opening = (f"{description} " if description else "") + f"This shows what could happen if {what} happened{span}."
    return [
        {"title": "A planning scenario, not a forecast",
         "text": f"{opening} It helps compare ways to prepare; it does not predict what will happen "
                 "on a given day."},
        {"title": "What the model includes",
         "text": f"Water or heat moving over the ground, computed on {grid}; the {len(city.buildings):,} "
                 "buildings of the city and who lives or works in them; power, water and road networks "
                 "and the emergency services, where the scenario describes them."},
        {"title": "What it cannot tell",
         "text": f"Exact values at a single front door (anything smaller than {grid.split(' of ')[-1]} is "
                 f"averaged); {inside}; how people will actually behave."},
        {"title": "How certain it is",
         "text": "Rain amounts, river levels, the state of defences, building data and damage costs "
                 "are estimates. Read the numbers as an indication of size and of differences between "
                 "scenarios, not as exact values."},
    ]


class MapLogic:
    """Keeps the map-context state in step with the main view's camera and the active results."""

    def __init__(self, ctx):
        from twin3d.scene import maptools

        self.ctx = ctx
        self.typed = TypedState(ctx.state, MapState)
        self.data = self.typed.data
        city = ctx.city
        self.data.crs_name = maptools.crs_name(city.crs)
        self.data.attribution = maptools.attribution(city)
        self.data.presets = [{"value": k, "title": v} for k, v in CAMERA_PRESETS.items()]
        self._names = maptools.building_names(city.buildings)
        self.typed.bind_changes({self.typed.name.find_text: self.suggest})
        ctx.ctrl.camera_preset_apply = self.apply_preset
        ctx.ctrl.building_find = self.find
        ctx.ctrl.link_apply = self.apply_link
        ctx.on_click(self.on_click, observe=True)  # the readout hears every click, consumed or not
        ctx.on_results(self.on_results)
        ctx.ctrl.view_update.add(self.refresh_view_state)  # "poll the camera on render"
        self.camera_watch = CameraWatch(ctx.scene.plotter.camera, self._camera_moved)
        self.refresh_view_state()

    # --- camera-dependent state ----------------------------------------------------------
    def refresh_view_state(self) -> None:
        """Scale bar, north arrow and the shareable link for the camera as it is now."""
        from twin3d.scene import maptools

        camera = self.ctx.scene.plotter.camera
        height = self.ctx.scene.plotter.render_window.GetSize()[1]
        with self.ctx.state:
            _length, px, label = maptools.scale_bar(camera, height)
            self.data.scale_label, self.data.scale_px = label, round(px, 1)
            self.data.north_deg = round(maptools.north_arrow_deg(camera), 1)
            self.data.share_query = self.view_link().to_query()

    def _camera_moved(self) -> None:
        self.refresh_view_state()

    # --- results ---------------------------------------------------------------------
    def on_results(self, results) -> None:
        start = results.file.attrs.get("start", "") if results is not None else ""
        start = start.decode() if isinstance(start, bytes) else str(start)
        self.data.timezone = timezone_label(start) if results is not None else ""
        self.data.model_note = model_note(results, self.ctx.city)
        self.refresh_view_state()

    # --- coordinates -------------------------------------------------------------------
    def on_click(self, pick) -> bool:
        """Show where the click landed; never consumes the click."""
        if pick is not None and pick.point is not None:
            self.data.pointer = coordinate_text(pick.point, self.ctx.city.crs or "local")
        return False

    # --- search ----------------------------------------------------------------------
    def suggest(self, text) -> None:
        """Buildings matching the search text so far (id or name)."""
        from twin3d.scene.maptools import find_buildings

        ids = self.ctx.city.buildings.table["id"]
        found = find_buildings(self.ctx.city.buildings, text, names=self._names)
        self.data.find_matches = [{"value": int(i), "title": " · ".join(t for t in (str(ids[i]), self._names[i]) if t)}
                                  for i in found]

    def find(self, text=None) -> int | None:
        """Fly to the best match for ``text`` (default: the search field); returns its index.
        The inspect panel is told through ``show_building(i)`` where it offers one."""
        from twin3d.scene.maptools import building_focus, find_buildings, fly_to

        text = self.data.find_text if text is None else text
        if isinstance(text, dict):  # a suggestion picked from the list
            found = [int(text["value"])]
        elif isinstance(text, int):
            found = [text]
        elif not str(text or "").strip():  # cleared
            self.data.find_message = ""
            return None
        else:
            found = find_buildings(self.ctx.city.buildings, text, limit=1, names=self._names)
        if not found:
            self.data.find_message = f"No building matches “{text}”"
            return None
        i = found[0]
        centre, radius = building_focus(self.ctx.city, i)
        fly_to(self.ctx.scene.plotter.camera, centre, radius)
        self.ctx.scene.plotter.renderer.ResetCameraClippingRange()
        self.data.find_message = f"Building {self.ctx.city.buildings.table['id'][i]}"
        inspect = self.ctx.panels.get("inspect")
        if hasattr(inspect, "show_building"):
            inspect.show_building(i)
        self.ctx.request_render()
        return i

    # --- presets ---------------------------------------------------------------------
    def apply_preset(self, name: str) -> None:
        """Camera preset "overview", "district" or "street" (``CityScene.camera_preset``)."""
        self.ctx.scene.camera_preset(name)
        self.data.preset = name
        self.ctx.request_render()

    # --- shareable link ----------------------------------------------------------------
    def visible_layers(self) -> list[str]:
        scene = self.ctx.scene
        if hasattr(scene, "layers"):
            try:
                return [layer["name"] if isinstance(layer, dict) else str(layer)
                        for layer in scene.layers() if _visible(scene, layer)]
            except (TypeError, KeyError):
                pass
        return [n for n, a in scene.actors.items() if a.GetVisibility()]

    def view_link(self):
        """The :class:`~twin3d.scene.viewlink.ViewLink` of what the main view shows now."""
        from twin3d.scene.viewlink import ViewLink

        catalog = self.ctx.panels.get("catalog")
        scenario = getattr(getattr(catalog, "data", None), "scenario_id", "") if self.ctx.results is not None else ""
        scene = self.ctx.scene
        return ViewLink.of_view(scenario, self.ctx.frame, scene.plotter.camera, self.ctx.city.origin,
                                scene.building_mode, self.visible_layers())

    def apply_link(self, query: str) -> None:
        """Restore a view from a link's query: scenario, then time, camera, colours, layers."""
        from twin3d.scene.viewlink import ViewLink, apply_camera

        link = ViewLink.from_query(query)
        catalog = self.ctx.panels.get("catalog")
        if link.scenario and catalog is not None and link.scenario != catalog.data.scenario_id:
            if any(s["value"] == link.scenario for s in catalog.data.scenarios):
                catalog.data.scenario_id = link.scenario
                self.ctx.state.flush()  # the catalogue makes it the active results now
        if link.camera is not None:
            apply_camera(self.ctx.scene.plotter.camera, link.camera, self.ctx.city.origin)
            self.ctx.scene.plotter.renderer.ResetCameraClippingRange()
            self.data.preset = ""
        if link.colour:
            self._set_colour(link.colour)
        if link.layers is not None:
            self._set_layers(set(link.layers))
        timeline = self.ctx.panels.get("timeline")
        if link.time_index is not None and timeline is not None and self.ctx.results is not None:
            timeline.data.time_index = int(min(link.time_index, max(self.ctx.results.n_frames - 1, 0)))
            self.ctx.state.flush()
        self.ctx.request_render()
        self.refresh_view_state()

    def _set_colour(self, mode: str) -> None:
        from twin3d.scene.frames import BUILDING_MODES

        if mode not in BUILDING_MODES:
            return
        layers = self.ctx.panels.get("layers")
        scene = self.ctx.scene
        if hasattr(layers, "set_building_mode"):
            layers.set_building_mode(mode)
        elif hasattr(scene, "set_building_mode"):
            scene.set_building_mode(mode)
        else:
            scene.building_mode = mode
            if scene.frame is not None and scene.results is not None:
                scene.apply_frame(scene.frame)

    def _set_layers(self, visible: set[str]) -> None:
        scene = self.ctx.scene
        layers = self.ctx.panels.get("layers")
        if hasattr(scene, "layers") and hasattr(scene, "set_layer_visible"):
            setter = getattr(layers, "set_layer_visible", None) or scene.set_layer_visible
            for layer in scene.layers():
                setter(layer["name"], layer["name"] in visible)
            return
        for name, actor in scene.actors.items():
            actor.SetVisibility(name in visible)


def _visible(scene, layer) -> bool:
    if isinstance(layer, dict):
        return bool(layer.get("visible", True))
    actor = scene.actors.get(str(layer))
    return actor is not None and bool(actor.GetVisibility())
