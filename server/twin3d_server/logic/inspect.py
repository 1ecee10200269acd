"""Inspect logic: what a click on the view shows (the pick card) and the engineer tools.

A click on a building fills the pick card (attributes, hazard now, status, damage so far)
and outlines the building; a click on another actor (terrain, a context layer, a network)
shows that cell's data.  While measuring, clicks set the two ends of a distance instead.
The engineer tools (edges, wireframe, normals, clipping plane, level of detail, mesh
quality) change the scene's existing actors; nothing here runs on a timeline tick except
refreshing the card of the picked building.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field

from trame_server.utils.typed_state import TypedState

LOD_TITLES = ("Original mesh", "Simplified (25 % of triangles)", "Simplified (5 % of triangles)")
ATTRIBUTE_LABELS = {
    "use": "Use", "height": "Height (m)", "storeys": "Storeys", "population": "Population",
    "replacement_value": "Value (EUR)", "population_estimated": "Population estimated",
    "value_estimated": "Value estimated", "footprint_area": "Footprint (m²)",
    "ground_elevation": "Ground elevation (m)", "elderly_share": "Share aged 65+",
    "children_share": "Share aged 0-14", "capacity": "Capacity", "parts": "Parts",
}
HAZARD_LABELS = {"max_depth": "Water depth", "max_speed": "Flow speed", "temperature": "Temperature",
                 "concentration": "Concentration"}
STATUS_LABELS = {"flooded": "Flooded", "without_power": "Without power", "without_water": "Without water",
                 "down": "Down"}


@dataclass
class InspectState:
    pick_open: bool = False
    picked_kind: str = ""  # "building" or "cell"
    picked_id: str = ""
    picked_index: int = -1
    picked_title: str = ""
    attributes: list[dict] = field(default_factory=list)  # {"name", "value"}
    source: list[dict] = field(default_factory=list)
    hazard: list[dict] = field(default_factory=list)  # {"name", "value"}
    status: list[str] = field(default_factory=list)  # the flags set, as labels
    status_known: bool = False
    damage: str = ""
    cell_rows: list[dict] = field(default_factory=list)  # a non-building pick: {"name", "value"}
    # engineer tools
    edges: bool = False
    wireframe: bool = False
    normals: bool = False
    clip_enabled: bool = False
    clip_axis: str = "x"
    clip_position: float = 0.5
    measuring: bool = False
    measure_points: int = 0
    distance_text: str = ""
    lod: int = 0
    lod_items: list[dict] = field(default_factory=lambda: [{"title": t, "value": i} for i, t in enumerate(LOD_TITLES)])
    lod_triangles: int = 0
    lod_busy: bool = False  # a level is being simplified
    quality: dict = field(default_factory=dict)  # MeshQuality.as_dict() plus "shares"


def format_value(value) -> str:
    """A table value for the card: numbers rounded for reading, None as a dash."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 1e6 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def damage_text(damage: dict | None) -> str:
    """"EUR 123,911 (76 % at 3.10 m so far)" or a dash."""
    if not damage:
        return "—"
    depth = damage["max_depth_so_far_m"]
    where = f" at {depth:.2f} m so far" if depth is not None else ""
    eur = f"EUR {damage['eur']:,.0f}" if damage["eur"] is not None else "value unknown"
    return f"{eur} ({100 * damage['fraction']:.0f} %{where})"


class InspectLogic:
    """Binds the pick card and the engineer tools to the scene.

    Controllers: ``inspect_close``, ``inspect_building`` (show a building by table row),
    ``inspect_measure_clear``, ``inspect_quality`` (mesh quality of the buildings as drawn).
    """

    def __init__(self, ctx):
        from twin3d.scene.inspect_overlays import ClipPlane, Highlight, Measurement, NormalsOverlay

        self.ctx = ctx
        self.typed = TypedState(ctx.state, InspectState)
        self.data = self.typed.data
        scene = ctx.scene
        self.highlight = Highlight(scene)
        self.normals = NormalsOverlay(scene)
        self.measurement = Measurement(scene)
        self.clip = ClipPlane(scene)
        self.lods = None
        self._series = None
        if scene.buildings_poly is not None:
            from twin3d.scene.inspect_mesh import LevelsOfDetail

            self.lods = LevelsOfDetail(scene)
            self.data.lod_triangles = int(scene.buildings_poly.n_cells)
        n = self.typed.name
        self.typed.bind_changes({n.edges: self.on_edges, n.wireframe: self.on_edges, n.normals: self.on_normals,
                                 n.clip_enabled: self.on_clip, n.clip_axis: self.on_clip,
                                 n.clip_position: self.on_clip, n.measuring: self.on_measuring, n.lod: self.on_lod})
        ctx.ctrl.inspect_close = self.close
        ctx.ctrl.inspect_building = self.show_building
        ctx.ctrl.inspect_measure_clear = self.clear_measurement
        ctx.ctrl.inspect_quality = self.update_quality
        ctx.on_click(self.on_click)
        ctx.on_frame(self.on_frame)
        ctx.on_results(self.on_results)

    # --- clicks ----------------------------------------------------------------------------
    def on_click(self, pick) -> bool:
        """Measure while measuring; else a building fills the card (consumed), another actor's
        cell shows its data (not consumed: later panels may use the point too)."""
        if self.data.measuring:
            if pick.point is None:
                return True
            distance = self.measurement.add(pick.point)
            self.data.measure_points = len(self.measurement.points)
            self.data.distance_text = (f"{distance:,.1f} m" if distance is not None else "pick the second point")
            self.ctx.request_render()
            return True
        if pick.building is not None:
            self.show_building(pick.building)
            return True
        if pick.actor is not None:
            self.show_cell(pick)
        return False

    def show_building(self, index: int) -> None:
        """Fill the card with building ``index`` (a table row) and outline it."""
        from twin3d.scene.inspect import building_attributes

        index = int(index)
        row = building_attributes(self.ctx.city.buildings, index)
        self.data.picked_kind = "building"
        self.data.picked_index = index
        self.data.picked_id = row["id"]
        self.data.picked_title = f"Building {row['id']}"
        self.data.attributes = [{"name": label, "value": format_value(row[key])}
                                for key, label in ATTRIBUTE_LABELS.items()]
        self.data.source = [{"name": k, "value": format_value(v)} for k, v in row["source"].items()]
        self.data.cell_rows = []
        self._refresh_hazard()
        self.data.pick_open = True
        self.highlight.show(index)
        self.ctx.request_render()

    def show_cell(self, pick) -> None:
        """Fill the card with a picked cell of a non-building actor."""
        from twin3d.scene.picking import cell_attributes

        info = cell_attributes(self.ctx.scene, pick)
        rows = [{"name": "Actor", "value": str(pick.actor)}, {"name": "Cell", "value": format_value(pick.cell)}]
        if pick.point is not None:
            rows.append({"name": "Point (city CRS)", "value": ", ".join(f"{v:,.2f}" for v in pick.point)})
        rows += [{"name": k, "value": format_value(v) if not isinstance(v, list) else
                  ", ".join(format_value(x) for x in v)} for k, v in info["cell_data"].items()]
        feature = info["feature"] or {}
        rows += [{"name": k, "value": format_value(v)} for k, v in feature.items() if k != "attributes"]
        rows += [{"name": k, "value": format_value(v)} for k, v in feature.get("attributes", {}).items()]
        self.data.picked_kind = "cell"
        self.data.picked_index = -1
        self.data.picked_id = str(feature.get("id", ""))
        self.data.picked_title = f"{pick.actor} cell {pick.cell}"
        self.data.cell_rows = rows
        self.data.attributes, self.data.source, self.data.hazard, self.data.status = [], [], [], []
        self.data.damage = ""
        self.data.pick_open = True
        self.highlight.show(None)
        self.ctx.request_render()

    def _refresh_hazard(self) -> None:
        from twin3d.scene.inspect import BuildingSeries, building_report

        index, results = self.data.picked_index, self.ctx.results
        s = self._series
        if results is not None and (s is None or s.results is not results or s.index != index):
            self._series = BuildingSeries(results, index)  # read once per picked building, not per tick
        report = building_report(self.ctx.city.buildings, results, self.ctx.frame, index, series=self._series)
        self.data.hazard = [{"name": HAZARD_LABELS.get(k, k), "value": f"{format_value(v['value'])} {v['units']}"}
                            for k, v in report["hazard"].items()]
        status = report["status"]
        self.data.status_known = status is not None
        self.data.status = [STATUS_LABELS.get(f, f) for f in status["flags"]] if status else []
        self.data.damage = damage_text(report["damage"]) if self.ctx.results is not None else ""

    def close(self) -> None:
        """Close the card and remove the outline."""
        self.data.pick_open = False
        self.data.picked_index = -1
        self.data.picked_kind = ""
        self.highlight.show(None)
        self.ctx.request_render()

    def on_frame(self, k: int) -> None:
        if self.data.pick_open and self.data.picked_kind == "building":
            self._refresh_hazard()

    def on_results(self, results) -> None:
        if self.data.clip_enabled:  # the new results' overlays are new actors: clip them too
            self.on_clip()
        if self.data.pick_open and self.data.picked_kind == "building":
            self._refresh_hazard()

    # --- engineer tools ----------------------------------------------------------------------
    def on_edges(self, *_) -> None:
        from twin3d.scene.inspect_overlays import set_building_edges

        set_building_edges(self.ctx.scene, bool(self.data.edges), bool(self.data.wireframe))
        self.ctx.request_render()

    def on_normals(self, *_) -> None:
        self.normals.show(bool(self.data.normals))
        self.ctx.request_render()

    def on_clip(self, *_) -> None:
        self.clip.set(bool(self.data.clip_enabled), str(self.data.clip_axis or "x"),
                      float(self.data.clip_position or 0.0))
        self.ctx.request_render()

    def on_measuring(self, *_) -> None:
        if not self.data.measuring:
            self.clear_measurement()

    def clear_measurement(self) -> None:
        self.measurement.clear()
        self.data.measure_points = 0
        self.data.distance_text = ""
        self.ctx.request_render()

    def on_lod(self, *_) -> None:
        """Swap the buildings' mesh for a level of detail.  A level not simplified yet is made
        off the server loop (seconds for a large city), then shown if still asked for."""
        if self.lods is None:
            return
        level = int(self.data.lod or 0)
        if level in self.lods.polys:
            self._show_lod(level)
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # no server loop (logic tests): simplify here
            self._show_lod(level)
            return
        from trame.app import asynchronous

        self.data.lod_busy = True
        asynchronous.create_task(self._simplify_then_show(level))

    async def _simplify_then_show(self, level: int) -> None:
        try:
            await asyncio.to_thread(self.lods.poly, level)
        finally:
            with self.ctx.state:
                self.data.lod_busy = False
                if int(self.data.lod or 0) == level:
                    self._show_lod(level)

    def _show_lod(self, level: int) -> None:
        self.lods.show(level)
        self.data.lod_triangles = int(self.ctx.scene.buildings_poly.n_cells)
        self.highlight.show(self.highlight.building)
        if self.data.normals:
            self.normals.show(True)
        if self.data.quality:
            self.update_quality()
        self.ctx.request_render()

    def update_quality(self) -> None:
        """The aspect-ratio histogram and degenerate faces of the buildings as drawn."""
        from twin3d.scene.inspect_mesh import mesh_quality, polydata_triangles

        poly = self.ctx.scene.buildings_poly
        if poly is None:
            return
        quality = mesh_quality(*polydata_triangles(poly)).as_dict()
        top = max(quality["counts"]) or 1
        quality["shares"] = [round(100 * c / top, 1) for c in quality["counts"]]
        self.data.quality = quality
