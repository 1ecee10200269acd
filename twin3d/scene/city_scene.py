"""A pyvista scene built once from a City, with per-results overlays updated in place.

The city's actors (hillshaded terrain, context layers, buildings in one actor, networks,
critical facilities, allocation arrows) are built once.  :meth:`CityScene.attach_results`
builds the overlays a results file has (water surface, heat, plume); :meth:`CityScene.apply_frame`
then shows a frame by writing into the existing VTK arrays only.  Layers can be hidden, and
:meth:`CityScene.legend` describes every coloured, visible layer for the app's legend panel
(the view itself has no scalar bars).
"""

from __future__ import annotations

import os

import numpy as np

from twin3d.model import USES, City, Mesh
from twin3d.scene.cameras import CAMERA_PRESETS, camera_views
from twin3d.scene.frames import (
    BUILDING_MODES,
    DAMAGE_CMAP,
    DEPTH_CMAP,
    DEPTH_RANGE_M,
    DIFFERENCE_CMAP,
    DIFFERENCE_TITLE,
    STATUS_COLOURS,
    STATUS_OK_COLOUR,
    BuildingDamage,
    status_names,
)
from twin3d.scene.palettes import (
    ARROW_COLOURS,
    DOWN_COLOUR,
    NETWORK_COLOURS,
    NETWORK_TITLES,
    OUT_OF_SERVICE_COLOUR,
    USE_COLOURS,
    USE_TITLES,
    WATER_CMAP,
    categorical_entry,
    continuous_entry,
    value_label,
)

__all__ = ["BUILDING_MODES", "CAMERA_PRESETS", "LAYER_COLOURS", "USE_COLOURS", "CityScene", "mesh_polydata"]

TERRAIN_DISPLAY_MAX = 256  # drawn terrain points per side, at most
LAYER_COLOURS = {"roads": (90, 90, 90), "water": (110, 160, 210), "vegetation": (120, 170, 100),
                 "landuse": (190, 200, 170)}
CONTEXT_TITLES = {"roads": "Streets (map)", "water": "Rivers and lakes", "vegetation": "Parks and trees",
                  "landuse": "Land use"}
STATUS_TITLES = {"flooded": "Flooded", "without_power": "Without power", "without_water": "Without water",
                 "down": "Facility down"}
OVERLAY_LAYERS = ("water", "heat", "plume")
# Names that results overlays use; a context layer of the same name is called "context_<name>".
RESERVED = ("terrain", "buildings", "water", "heat", "plume", "facilities", "allocation")
HIDDEN_AT_START = ("network_water",)  # water mains follow the streets: drawn over the road network, clutter


def mesh_polydata(mesh: Mesh, origin: np.ndarray):
    """A pyvista PolyData of a Mesh shifted to ``origin`` (float32 keeps centimetres)."""
    import pyvista as pv

    faces = np.hstack([np.full((mesh.n_triangles, 1), 3, dtype=np.int64), mesh.triangles]).ravel()
    poly = pv.PolyData(mesh.local(origin), faces)
    poly.cell_data["feature"] = mesh.triangle_feature
    return poly


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class CityScene:
    """The city's actors in one pyvista Plotter, off screen, ready for a remote view.

    Parameters
    ----------
    city : City
        The city to draw.
    plotter : pyvista.Plotter, optional
        Draw into this plotter instead of a new off-screen one.
    shader : bool
        Give the water surface the GLSL water shader (``shaders/water.glsl``).  vtk.js cannot
        run VTK shader replacements: pass ``False`` for client-side rendering.
    """

    def __init__(self, city: City, plotter=None, shader: bool = True):
        if not os.environ.get("DISPLAY"):  # headless: EGL (Mesa on the CPU) instead of X
            os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")
        import pyvista as pv

        from twin3d.scene.arrows import AllocationArrows
        from twin3d.scene.terrain import Ground

        self.city = city
        self.shader = shader
        self.plotter = plotter if plotter is not None else pv.Plotter(off_screen=True)
        self.plotter.set_background("#f4f4f0")
        # No multisampling: under software rendering (Mesa llvmpipe) 8x MSAA triples the cost
        # of every frame, and even FXAA adds ~45 ms at 1280x720 (twin3d bench app).
        self.plotter.render_window.SetMultiSamples(0)
        self.ground = Ground(city.terrain, city.origin)
        self.actors = {}
        self._titles: dict[str, str] = {}  # layer name -> title, in display order
        self._wanted: dict[str, bool] = {}  # what the user asked for, kept while a layer is unavailable
        self.buildings_poly = None
        self.building_colours = None
        self.building_mode = "depth"  # asked for; colour_mode is what the buildings show
        self.results = None
        self.results_b = None
        self.water = None
        self.overlays = {}  # "heat" / "plume" -> FieldOverlay
        self.networks = {}  # kind -> NetworkLines
        self.facilities = None
        self.frame = None
        self._damage = None
        self._status_flags: dict[int, str] = {}
        self._stale: set[str] = set()  # hidden overlays not updated for the current frame
        self._allocation_shown = False
        self._b_index = None
        self._difference_range = 1.0
        self._views = None
        self._use_legend = None
        self._listeners: list = []
        self._ds: dict = {}  # per-frame datasets of the attached results
        self._assignment_kinds: list[str] = []

        self._add_terrain()
        for name, layer in city.layers.items():
            if layer.mesh.n_triangles:
                key = f"context_{name}" if name in RESERVED or name.startswith("network_") else name
                colour = LAYER_COLOURS.get(name, (180, 180, 170))
                self._add_layer(key, CONTEXT_TITLES.get(name, name.replace("_", " ").capitalize()),
                                self.plotter.add_mesh(mesh_polydata(layer.mesh, city.origin), color=colour,
                                                      name=key))
        self._add_buildings()
        for name, title in (("water", "Flood water"), ("heat", "Heat"), ("plume", "Smoke plume")):
            self._titles[name] = title
            self._wanted[name] = True
        self._add_networks()
        self._add_facilities()
        self.arrows = AllocationArrows(city.origin, self.ground)
        self._add_layer("allocation", "Allocation arrows", self.arrows.add_to(self.plotter, "allocation"))
        self._sync_visibility()
        self.camera_preset("overview")

    def on_change(self, callback) -> None:
        """``callback()`` after what :meth:`layers` or :meth:`legend` report may have changed (results
        attached, a comparison, arrows of other kinds, the building mode, a layer shown or hidden)."""
        self._listeners.append(callback)

    def _changed(self) -> None:
        for callback in self._listeners:
            callback()

    # --- building the city's actors -----------------------------------------------------------
    def _add_layer(self, name: str, title: str, actor) -> None:
        self.actors[name] = actor
        self._titles[name] = title
        self._wanted.setdefault(name, name not in HIDDEN_AT_START)

    def _add_terrain(self) -> None:
        import pyvista as pv

        from twin3d.scene.terrain import terrain_rgb

        terrain = self.city.terrain
        if terrain is None:
            return
        g = terrain.grid
        z_full = np.nan_to_num(terrain.elevation, nan=float(np.nanmin(terrain.elevation)))
        rgb_full = terrain_rgb(z_full, g.cell_size)  # hillshade from the full-resolution DEM
        # Software rendering draws ~1 M triangles/s: the drawn surface samples the DEM at most
        # TERRAIN_DISPLAY_MAX points a side (the hazard grids and Ground.z keep the full DEM).
        step = max(1, int(np.ceil(max(z_full.shape) / TERRAIN_DISPLAY_MAX)))
        rows = np.unique(np.r_[np.arange(0, z_full.shape[0], step), z_full.shape[0] - 1])
        cols = np.unique(np.r_[np.arange(0, z_full.shape[1], step), z_full.shape[1] - 1])
        z, rgb = z_full[np.ix_(rows, cols)], rgb_full[np.ix_(rows, cols)]
        x = g.x_centers()[cols] - self.city.origin[0]
        y = g.y_centers()[rows] - self.city.origin[1]
        xx, yy = np.meshgrid(x, y)
        surf = pv.StructuredGrid(xx.astype(np.float32), yy.astype(np.float32),
                                 (z - self.city.origin[2]).astype(np.float32))
        surf.point_data["elevation"] = z.ravel(order="F")
        surf.point_data["colour"] = rgb.reshape(-1, 3, order="C")[np.arange(z.size).reshape(z.shape).ravel(order="F")]
        self._add_layer("terrain", "Terrain", self.plotter.add_mesh(surf, scalars="colour", rgb=True,
                                                                    name="terrain", lighting=False))

    def _add_buildings(self) -> None:
        b = self.city.buildings
        if not b.mesh.n_triangles:
            return
        from twin3d.scene.frames import BuildingColours

        poly = mesh_polydata(b.mesh, self.city.origin)
        use_index = {u: i for i, u in enumerate(USES)}
        building_use = np.array([use_index.get(u, 0) for u in b.table["use"]], dtype=np.uint8)
        palette = np.array([USE_COLOURS[u] for u in USES], dtype=np.uint8)
        poly.cell_data["colour"] = palette[building_use[b.mesh.triangle_feature]]
        self.buildings_poly = poly
        self._add_layer("buildings", "Buildings", self.plotter.add_mesh(poly, scalars="colour", rgb=True,
                                                                        name="buildings", smooth_shading=False))
        self.building_colours = BuildingColours(poly)

    def _add_networks(self) -> None:
        from twin3d.scene.networks import NetworkLines

        for kind, network in self.city.networks.items():
            lines = NetworkLines(network, self.city.origin, self.ground)
            if lines.empty:
                continue
            self.networks[kind] = lines
            name = f"network_{kind}"
            self._add_layer(name, NETWORK_TITLES.get(kind, f"{kind.capitalize()} network"),
                            lines.add_to(self.plotter, name))

    def _add_facilities(self) -> None:
        from twin3d.scene.facilities import FacilityGlyphs

        glyphs = FacilityGlyphs(self.city.buildings, self.city.origin)
        if glyphs.empty:
            return
        self.facilities = glyphs
        self._add_layer("facilities", "Critical facilities", glyphs.add_to(self.plotter, "facilities"))

    # --- results ---------------------------------------------------------------------------------
    def attach_results(self, results, building_mode: str | None = None) -> None:
        """Attach an open ``ResultsFile`` (or ``None``): (re)builds the overlays its fields need
        (water surface, heat, plume) once; frames are then shown with :meth:`apply_frame`.

        ``building_mode`` changes the buildings' colour mode; ``None`` keeps the current one.
        An attached comparison (:meth:`attach_difference`) is kept and re-aligned to the new grid.
        """
        from twin3d.scene.frames import WaterSurface
        from twin3d.scene.overlays import OVERLAYS, FieldOverlay, field_range

        if building_mode is not None:
            self._check_mode(building_mode)
            self.building_mode = building_mode
        for name in OVERLAY_LAYERS:  # a new results file: new grids, new overlays (not a tick)
            actor = self.actors.pop(name, None)
            if actor is not None:
                self.plotter.remove_actor(actor, render=False)
        self.water, self.overlays, self._damage, self._status_flags = None, {}, None, {}
        self._ds, self._assignment_kinds = {}, []
        self._stale.clear()
        self.results, self.frame = results, None
        self._allocation_shown = False
        self.arrows.update(np.zeros((0, 6)), [])
        if results is None:
            self._reset_frame_colours()
            self._sync_visibility()
            self._changed()
            return
        f = results.file
        b = f["buildings"]
        n = len(self.city.buildings)
        self._ds = self._frame_datasets(f)
        if "status" in b:
            self._status_flags = status_names(b["status"].attrs.get("flags", []))
        if "max_depth" in b and b["max_depth"].shape[1] == n:
            self._damage = BuildingDamage(b["max_depth"], self.city.buildings.table["use"])
        fields = f["fields"]
        elevation = f["grid/elevation"][()] if any(k in fields for k in ("depth", "temperature",
                                                                           "concentration")) else None
        if "depth" in fields:
            self.water = WaterSurface(results.grid, elevation, self.city.origin)
            self.actors["water"] = self.water.add_to(self.plotter)
            if self.shader:
                from twin3d.scene.water_shader import apply_water_shader

                apply_water_shader(self.actors["water"])
        for name, style in OVERLAYS.items():
            if style.field in fields:
                overlay = FieldOverlay(results.grid, elevation, self.city.origin, style,
                                       field_range(fields[style.field], style))
                self.overlays[name] = overlay
                self.actors[name] = overlay.add_to(self.plotter, name)
        if self.results_b is not None:
            self._align_difference()
        self._reset_frame_colours()
        self._sync_visibility()
        self._changed()

    def _frame_datasets(self, f) -> dict:
        """The per-frame datasets a tick reads, opened once (an HDF5 path lookup costs more than a row)."""
        n = len(self.city.buildings)
        ds = {name: f["fields"][name] for name in ("depth", "temperature", "concentration") if name in f["fields"]}
        for name in ("max_depth", "status"):
            if name in f["buildings"] and f["buildings"][name].shape[1] == n:
                ds[name] = f["buildings"][name]
        for kind in self.networks:
            for part in ("node_ok", "edge_ok"):
                if f"networks/{kind}/{part}" in f:
                    ds[f"{kind}/{part}"] = f[f"networks/{kind}/{part}"]
        if "allocation_assignments" in f:
            ds["assignments"] = f["allocation_assignments"]
            self._assignment_kinds = [_text(k) for k in ds["assignments"].attrs.get("kinds", [])]
        return ds

    def _row(self, name: str, k: int):
        """Row ``k`` of a per-frame dataset, or ``None`` when the results have none."""
        ds = self._ds.get(name)
        if ds is None:
            return None
        if k >= ds.shape[0]:
            ds.refresh()  # a live (SWMR) run appended frames since this handle looked
        return ds[k]

    def _reset_frame_colours(self) -> None:
        for lines in self.networks.values():
            lines.update(None, None)
        if self.facilities is not None:
            self.facilities.update(None, None)
        if self.building_colours is not None and self.building_colours.mode != "use":
            self.building_colours.apply("use")

    def apply_frame(self, k: int) -> None:
        """Show frame ``k``: one read per shown field and per-frame array, written in place
        (no actor or geometry is created)."""
        r = self.results
        if r is None:
            raise RuntimeError("attach_results() first")
        if not 0 <= k < r.n_frames:
            raise IndexError(f"frame {k} outside 0..{r.n_frames - 1}")
        self.frame = k
        self._update_water(k)
        for name in self.overlays:
            if self._shown(name):
                self._update_overlay(name, k)
            else:
                self._stale.add(name)
        mode_before, kinds_before = self.colour_mode, (self.arrows.shown_kinds.tolist(), self._available("allocation"))
        status = self._row("status", k)  # read once: buildings and facilities both use it
        self._colour_buildings(k, status)
        for kind, lines in self.networks.items():
            node_ok, edge_ok = self._row(f"{kind}/node_ok", k), self._row(f"{kind}/edge_ok", k)
            if node_ok is not None or edge_ok is not None:
                lines.update(node_ok, edge_ok)
        if self.facilities is not None:
            down = next((bit for bit, name in self._status_flags.items() if name == "down"), None)
            self.facilities.update(status, down)
        if "assignments" in self._ds:
            self._show_assignments(self._row("assignments", k), self._assignment_kinds)
        if self.water is not None and self.shader:
            from twin3d.scene.water_shader import set_ripple_time

            set_ripple_time(self.actors["water"], 0.8 * k)
        if (self.colour_mode, (self.arrows.shown_kinds.tolist(), self._available("allocation"))) != (
                mode_before, kinds_before):
            self._changed()

    def _update_water(self, k: int) -> None:
        if self.water is None:
            return
        depth = self._row("depth", k)
        if self.results_b is None:
            self.water.update(depth)
            return
        self.water.update_difference(depth, self._b_depth(k))

    def _update_overlay(self, name: str, k: int) -> None:
        overlay = self.overlays[name]
        overlay.update(self._row(overlay.style.field, k))
        self._stale.discard(name)

    # --- buildings -------------------------------------------------------------------------------
    @staticmethod
    def _check_mode(mode: str) -> None:
        if mode not in BUILDING_MODES:
            raise ValueError(f"unknown building colour mode {mode!r}; expected one of {BUILDING_MODES}")

    def set_building_mode(self, mode: str) -> None:
        """Colour buildings by ``mode`` ("use", "depth", "damage", "status"); the current frame is
        recoloured in place.  A mode the results cannot show (no depth, no status) shows use."""
        self._check_mode(mode)
        self.building_mode = mode
        if self.results is not None and self.frame is not None:
            self._colour_buildings(self.frame)
        elif self.building_colours is not None and self.building_colours.mode != "use":
            self.building_colours.apply("use")
        self._changed()

    @property
    def colour_mode(self) -> str:
        """The mode the buildings actually show ("use" until a frame has data for the asked mode)."""
        return self.building_colours.mode if self.building_colours is not None else "use"

    def _colour_buildings(self, k: int, status: np.ndarray | None = None) -> None:
        colours, mode = self.building_colours, self.building_mode
        if colours is None:
            return
        if mode == "depth" and "max_depth" in self._ds:
            colours.apply("depth", self._row("max_depth", k))
        elif mode == "damage" and self._damage is not None:
            colours.apply("damage", self._damage.at(k))
        elif mode == "status" and "status" in self._ds:
            colours.apply("status", self._row("status", k) if status is None else status, self._status_flags)
        elif colours.mode != "use":
            colours.apply("use")

    # --- allocation --------------------------------------------------------------------------------
    def show_allocation(self, assignments: np.ndarray, kinds) -> None:
        """Draw ``assignments`` (rows, 6: depot_x, depot_y, site_x, site_y in the city CRS, units,
        kind index into ``kinds``; NaN rows unused) as arrows, rewriting the one arrow actor."""
        before = (self._allocation_shown, tuple(self.arrows.kinds), tuple(self.arrows.shown_kinds))
        self._show_assignments(assignments, kinds)
        if before != (True, tuple(self.arrows.kinds), tuple(self.arrows.shown_kinds)):
            self._changed()  # the layer's availability or its legend changed

    def _show_assignments(self, assignments: np.ndarray, kinds) -> None:
        self.arrows.update(assignments, kinds)
        self._allocation_shown = True
        if "allocation" in self.actors:
            self.actors["allocation"].SetVisibility(self._shown("allocation"))

    # --- comparison ----------------------------------------------------------------------------------
    def attach_difference(self, results_b) -> None:
        """Compare with ``results_b``: the water surface then shows depth A(k) − B(k_b), k_b being B's
        last frame not after A's time, on a diverging map.  ``None`` restores the depth view."""
        self.results_b = results_b
        if results_b is None:
            self._b_index = None
            if self.water is not None:
                self.water.show("depth")
        else:
            self._align_difference()
        if self.results is not None and self.frame is not None:
            self._update_water(self.frame)
        self._changed()

    def _align_difference(self) -> None:
        """Map A's cells onto B's grid (nearest cell; outside B: -1) and fix the symmetric range."""
        a, b = self.results.grid if self.results is not None else None, self.results_b.grid
        if a is None or self.water is None:
            return
        x, y = np.meshgrid(a.x_centers(), a.y_centers())
        col = np.floor((x - b.origin[0]) / b.cell_size).astype(np.int64)
        row = np.floor((y - b.origin[1]) / b.cell_size).astype(np.int64)
        inside = (col >= 0) & (col < b.shape[1]) & (row >= 0) & (row < b.shape[0])
        self._b_index = np.where(inside, row * b.shape[1] + col, -1)
        tops = [float(r.file["fields/depth"].attrs.get("max", np.nan)) for r in (self.results, self.results_b)
                if "depth" in r.file["fields"]]
        top = max([t for t in tops if np.isfinite(t)], default=2.0)
        self._difference_range = float(np.clip(np.ceil(top) / 2.0, 0.5, 3.0))
        self.water.show("difference", self._difference_range)

    def frame_b(self, k: int) -> int | None:
        """B's frame shown with A's frame ``k``: the last one not after A's time (its first if none)."""
        b = self.results_b
        if b is None or not b.n_frames:
            return None
        t = self.results.times()[k]
        return int(np.clip(np.searchsorted(b.times(), t, side="right") - 1, 0, b.n_frames - 1))

    def _b_depth(self, k: int) -> np.ndarray:
        """B's depth at A's time ``k`` on A's grid (0 outside B or when B has no depth)."""
        kb = self.frame_b(k)
        if kb is None or "depth" not in self.results_b.file["fields"] or self._b_index is None:
            return np.zeros(self.results.grid.shape, np.float32)
        flat = np.asarray(self.results_b.field("depth", kb), dtype=np.float32).ravel()
        return np.where(self._b_index >= 0, flat[np.maximum(self._b_index, 0)], 0.0)

    # --- layers ------------------------------------------------------------------------------------
    def _available(self, name: str) -> bool:
        if name == "allocation":
            return self._allocation_shown and self.arrows.n_arrows > 0
        return name in self.actors

    def _shown(self, name: str) -> bool:
        return self._wanted.get(name, False) and self._available(name)

    def _sync_visibility(self) -> None:
        for name, actor in self.actors.items():
            actor.SetVisibility(self._shown(name))

    def layers(self) -> list[dict]:
        """Every layer: ``{"name", "title", "visible", "available"}``; ``visible`` is what was asked
        (an unavailable layer, e.g. heat in a flood run, is not drawn whatever it says)."""
        return [{"name": name, "title": title, "visible": bool(self._wanted[name]),
                 "available": self._available(name)} for name, title in self._titles.items()]

    def set_layer_visible(self, name: str, visible: bool) -> None:
        """Show or hide a layer; an overlay shown again catches up with the current frame."""
        if name not in self._titles:
            raise KeyError(f"no layer {name!r}; layers: {', '.join(self._titles)}")
        self._wanted[name] = bool(visible)
        if visible and name in self._stale and self.frame is not None:
            self._update_overlay(name, self.frame)
        if name in self.actors:
            self.actors[name].SetVisibility(self._shown(name))
        self._changed()

    # --- legend ------------------------------------------------------------------------------------
    def legend(self) -> list[dict]:
        """Legend entries for what is coloured and visible now: ``{"title", "units", "kind"
        ("continuous" | "categorical"), "stops": [{"colour": "#rrggbb", "label"}]}``."""
        out = []
        if self._shown("buildings"):
            out.append(self._buildings_legend())
        if self._shown("water"):
            if self.results_b is not None and self.water.showing == "difference":
                r = self._difference_range
                out.append(continuous_entry(DIFFERENCE_TITLE, "m", DIFFERENCE_CMAP, -r, r))
            else:
                lo, hi = DEPTH_RANGE_M
                labels = [value_label(v) for v in np.linspace(lo, hi, 5)]
                labels[-1] = f"≥{labels[-1]}"
                out.append(continuous_entry("Water depth", "m", WATER_CMAP, lo, hi, labels=labels))
        for name, overlay in self.overlays.items():
            if self._shown(name):
                from twin3d.scene.overlays import overlay_labels

                s = overlay.style
                out.append(continuous_entry(s.title, s.units, s.cmap, *overlay.range,
                                            labels=overlay_labels(s, overlay.range)))
        shown_networks = [k for k in self.networks if self._shown(f"network_{k}")]
        if shown_networks:
            items = [(NETWORK_COLOURS.get(k, (120, 120, 120)), f"{NETWORK_TITLES.get(k, k)}: in service")
                     for k in shown_networks]
            out.append(categorical_entry("Networks", [*items, (OUT_OF_SERVICE_COLOUR, "Out of service")]))
        if self._shown("facilities"):
            present = set(self.facilities.kind)
            kinds = [k for k in USES if k in present]
            items = [(USE_COLOURS[k], USE_TITLES[k]) for k in kinds]
            out.append(categorical_entry("Critical facilities", [*items, (DOWN_COLOUR, "Down")]))
        if self._shown("allocation"):
            items = [(ARROW_COLOURS[int(i) % len(ARROW_COLOURS)],
                      self.arrows.kinds[int(i)].replace("_", " ").capitalize()
                      if 0 <= int(i) < len(self.arrows.kinds) else f"kind {int(i)}")
                     for i in self.arrows.shown_kinds]
            out.append(categorical_entry("Allocation: depot → site", items))
        return out

    def _buildings_legend(self) -> dict:
        mode = self.colour_mode
        if mode == "depth":
            lo, hi = DEPTH_RANGE_M
            labels = [value_label(v) for v in np.linspace(lo, hi, 5)]
            labels[-1] = f"≥{labels[-1]}"
            return continuous_entry("Buildings: flood depth", "m", DEPTH_CMAP, lo, hi, labels=labels)
        if mode == "damage":
            return continuous_entry("Buildings: damage", "%", DAMAGE_CMAP, 0.0, 100.0)
        if mode == "status":
            names = set(self._status_flags.values())
            items = [(STATUS_OK_COLOUR, "No impact")]
            items += [(STATUS_COLOURS[n], STATUS_TITLES[n]) for n in STATUS_COLOURS if n in names]
            return categorical_entry("Buildings: status", items)
        if self._use_legend is None:  # the city's uses do not change: listed once
            present = set(np.asarray(self.city.buildings.table["use"], dtype=object).astype(str))
            self._use_legend = categorical_entry("Buildings: use", [(USE_COLOURS[u], USE_TITLES[u])
                                                                    for u in USES if u in present])
        return self._use_legend

    def image(self):
        """Render now and return the view as an RGB array (ny, nx, 3), e.g. for tests and exports."""
        self.plotter.render()
        return self.plotter.screenshot(return_img=True)

    # --- camera ------------------------------------------------------------------------------------
    def camera_preset(self, name: str) -> None:
        """Point the camera: "overview" (the whole city), "district" (an oblique view of the densest
        district) or "street" (eye height on a street, looking along it)."""
        if name not in CAMERA_PRESETS:
            raise ValueError(f"unknown camera preset {name!r}; expected one of {tuple(CAMERA_PRESETS)}")
        if self._views is None:
            self._views = camera_views(self)
        self._views[name].apply(self.plotter.camera)
        self.plotter.renderer.ResetCameraClippingRange()
        self.plotter.camera_set = True  # keep this framing on the first render
