"""A pyvista scene built once from a City: buildings by use, terrain, context layers."""

from __future__ import annotations

import os

import numpy as np

from twin3d.model import USES, City, Mesh

# Calm, colour-blind-safe palette (Okabe-Ito based) per building use, RGB 0-255.
USE_COLOURS = {
    "residential": (221, 204, 170), "commercial": (86, 180, 233), "industrial": (153, 153, 153),
    "public": (0, 158, 115), "hospital": (213, 94, 0), "school": (240, 228, 66),
    "fire_station": (204, 51, 17), "ambulance_post": (230, 159, 0), "police": (0, 114, 178),
    "shelter": (204, 121, 167),
}
LAYER_COLOURS = {"roads": (90, 90, 90), "water": (110, 160, 210), "vegetation": (120, 170, 100),
                 "landuse": (190, 200, 170)}


def mesh_polydata(mesh: Mesh, origin: np.ndarray):
    """A pyvista PolyData of a Mesh shifted to ``origin`` (float32 keeps centimetres)."""
    import pyvista as pv

    faces = np.hstack([np.full((mesh.n_triangles, 1), 3, dtype=np.int64), mesh.triangles]).ravel()
    poly = pv.PolyData(mesh.local(origin), faces)
    poly.cell_data["feature"] = mesh.triangle_feature
    return poly


class CityScene:
    """The city's actors in one pyvista Plotter, off screen, ready for a remote view."""

    def __init__(self, city: City, plotter=None):
        if not os.environ.get("DISPLAY"):  # headless: EGL (Mesa on the CPU) instead of X
            os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")
        import pyvista as pv

        self.city = city
        self.plotter = plotter if plotter is not None else pv.Plotter(off_screen=True)
        self.plotter.set_background("#f4f4f0")
        self.actors = {}
        self.buildings_poly = None
        self.results = None
        self.water = None
        self.building_colours = None
        self.building_mode = "use"
        self.frame = None
        self._add_terrain()
        for name, layer in city.layers.items():
            if layer.mesh.n_triangles:
                colour = LAYER_COLOURS.get(name, (180, 180, 170))
                self.actors[name] = self.plotter.add_mesh(mesh_polydata(layer.mesh, city.origin),
                                                          color=colour, name=name)
        self._add_buildings()
        self.plotter.view_isometric()
        focus = self.actors.get("buildings")  # frame the built-up area, not the terrain margin
        self.plotter.reset_camera(bounds=focus.GetBounds() if focus is not None else None)
        self.plotter.camera_set = True  # keep this framing on the first render

    def _add_buildings(self) -> None:
        b = self.city.buildings
        if not b.mesh.n_triangles:
            return
        poly = mesh_polydata(b.mesh, self.city.origin)
        use_index = {u: i for i, u in enumerate(USES)}
        building_use = np.array([use_index.get(u, 0) for u in b.table["use"]], dtype=np.uint8)
        palette = np.array([USE_COLOURS[u] for u in USES], dtype=np.uint8)
        poly.cell_data["colour"] = palette[building_use[b.mesh.triangle_feature]]
        self.buildings_poly = poly
        self.actors["buildings"] = self.plotter.add_mesh(poly, scalars="colour", rgb=True,
                                                         name="buildings", smooth_shading=False)
        from twin3d.scene.frames import BuildingColours

        self.building_colours = BuildingColours(poly)

    def attach_results(self, results, building_mode: str = "depth") -> None:
        """Attach an open ``ResultsFile``: creates the water surface actor once (when the
        results have a depth field); frames are then shown with :meth:`apply_frame`."""
        from twin3d.scene.frames import WaterSurface, status_names

        self.results = results
        self.building_mode = building_mode
        b = results.file["buildings"]
        self._status_flags = status_names(b["status"].attrs.get("flags", [])) if "status" in b else {}
        if "depth" in results.file["fields"] and self.water is None:
            elevation = results.file["grid/elevation"][()]
            self.water = WaterSurface(results.grid, elevation, self.city.origin)
            self.actors["water"] = self.water.add_to(self.plotter)

    def apply_frame(self, k: int) -> None:
        """Show frame ``k``: one read per visible field and per-building array, written in place."""
        r = self.results
        if r is None:
            raise RuntimeError("attach_results() first")
        if not 0 <= k < r.n_frames:
            raise IndexError(f"frame {k} outside 0..{r.n_frames - 1}")
        if self.water is not None:
            self.water.update(r.field("depth", k))
        self._colour_buildings(k)
        self.frame = k

    def _colour_buildings(self, k: int) -> None:
        colours, mode = self.building_colours, self.building_mode
        if colours is None:
            return
        b = self.results.file["buildings"]
        n = len(self.city.buildings)
        if mode == "depth" and "max_depth" in b and b["max_depth"].shape[1] == n:
            colours.apply("depth", b["max_depth"][k])
        elif mode == "status" and "status" in b and b["status"].shape[1] == n:
            colours.apply("status", b["status"][k], self._status_flags)
        elif colours.mode != "use":
            colours.apply("use")

    def _add_terrain(self) -> None:
        import pyvista as pv

        terrain = self.city.terrain
        if terrain is None:
            return
        g = terrain.grid
        x = g.x_centers() - self.city.origin[0]
        y = g.y_centers() - self.city.origin[1]
        xx, yy = np.meshgrid(x, y)
        z = np.nan_to_num(terrain.elevation, nan=float(np.nanmin(terrain.elevation)))
        surf = pv.StructuredGrid(xx.astype(np.float32), yy.astype(np.float32),
                                 (z - self.city.origin[2]).astype(np.float32))
        surf.point_data["elevation"] = z.ravel(order="F")
        lo, hi = float(z.min()), float(z.max())
        pad = 0.4 * (hi - lo) + 1.0  # keep the colour map's dark ends off the ground
        self.actors["terrain"] = self.plotter.add_mesh(surf, scalars="elevation", cmap="gist_earth",
                                                       clim=(lo - pad, hi + pad), show_scalar_bar=False,
                                                       name="terrain")
