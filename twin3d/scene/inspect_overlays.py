"""Engineer overlays on a CityScene, each one actor made once and then updated in place:
the picked building's outline, face-normal arrows, a distance measurement, and a clipping
plane shared by the scene's mappers.  None of them is pickable, so clicks go through them.
"""

from __future__ import annotations

import numpy as np

HIGHLIGHT_COLOUR = (255, 0, 255)  # magenta: in no building or depth palette
MEASURE_COLOUR = (20, 20, 20)
NORMALS_COLOUR = (213, 94, 0)
NORMAL_LENGTH_M = (2.0, 25.0)  # arrow length: 0.4 % of the buildings' extent, within these bounds
CLIP_AXES = ("x", "y", "z")


def _helper_actor(scene, name: str, poly, **kwargs):
    actor = scene.plotter.add_mesh(poly, name=name, reset_camera=False, **kwargs)
    actor.SetPickable(False)
    actor.SetVisibility(False)
    return actor


def _placeholder():
    """One point at the origin: pyvista plots no empty mesh; the actor starts hidden anyway."""
    import pyvista as pv

    return pv.PolyData(np.zeros((1, 3), dtype=np.float32))


def _replace(target, source) -> None:
    """Put ``source``'s geometry into ``target`` (the dataset an actor draws), keeping the object."""
    target.ShallowCopy(source)
    target.Modified()


class Highlight:
    """The picked building's outline (its feature edges), in one actor drawn on top."""

    NAME = "highlight"

    def __init__(self, scene):

        self.scene = scene
        self.poly = _placeholder()
        self.actor = _helper_actor(scene, self.NAME, self.poly, color=HIGHLIGHT_COLOUR, line_width=4,
                                   lighting=False)
        self.building: int | None = None

    def show(self, building: int | None) -> None:
        """Outline ``building`` (a table row) in the buildings as drawn now; None hides it."""
        import pyvista as pv

        self.building = building
        poly = self.scene.buildings_poly
        if building is None or poly is None:
            self.actor.SetVisibility(False)
            return
        cells = np.flatnonzero(np.asarray(poly.cell_data["feature"]) == building)
        if not len(cells):
            self.actor.SetVisibility(False)
            return
        part = poly.extract_cells(cells).extract_surface(algorithm="dataset_surface")
        edges = part.extract_feature_edges(feature_angle=30, boundary_edges=True, feature_edges=True,
                                           manifold_edges=False, non_manifold_edges=True)
        _replace(self.poly, edges if edges.n_cells else pv.PolyData(part.points))
        self.actor.SetVisibility(True)


class NormalsOverlay:
    """Arrows along the buildings' face normals (a sub-sample), one glyph actor."""

    NAME = "normals"

    def __init__(self, scene):

        self.scene = scene
        self.poly = _placeholder()
        self.actor = _helper_actor(scene, self.NAME, self.poly, color=NORMALS_COLOUR)
        self._source = None
        self.n_arrows = 0

    def show(self, visible: bool) -> None:
        """Show or hide the arrows; they are (re)computed when the buildings' mesh changed."""
        if visible and self._source is not self.scene.buildings_poly:
            self._update()
        self.actor.SetVisibility(bool(visible) and self.n_arrows > 0)

    def arrow_length_m(self) -> float:
        """Long enough to see over the whole city, short enough for one building."""
        b = np.array(self.scene.buildings_poly.bounds, dtype=np.float64).reshape(3, 2)
        return float(np.clip(0.004 * np.linalg.norm(b[:, 1] - b[:, 0]), *NORMAL_LENGTH_M))

    def _update(self) -> None:
        import pyvista as pv

        from twin3d.scene.inspect_mesh import face_normals

        self._source = self.scene.buildings_poly
        centres, normals = face_normals(self._source)
        seeds = pv.PolyData(centres)
        seeds.point_data["normal"] = normals
        arrows = seeds.glyph(orient="normal", scale=False, factor=self.arrow_length_m(),
                             geom=pv.Arrow(tip_length=0.35, tip_radius=0.12, shaft_radius=0.04))
        _replace(self.poly, arrows)
        self.n_arrows = len(centres)


class Measurement:
    """A distance between two picked points: a line with its end points, one actor."""

    NAME = "measurement"

    def __init__(self, scene):

        self.scene = scene
        self.poly = _placeholder()
        self.actor = _helper_actor(scene, self.NAME, self.poly, color=MEASURE_COLOUR, line_width=3,
                                   point_size=10, render_points_as_spheres=True, lighting=False)
        self.points: list[np.ndarray] = []  # city CRS

    def add(self, point: np.ndarray) -> float | None:
        """Add a point (city CRS); returns the distance (m) once two are set, and starts over
        with this point when two were set already."""
        if len(self.points) == 2:
            self.points = []
        self.points.append(np.asarray(point, dtype=np.float64).reshape(3))
        self._draw()
        return self.distance()

    def distance(self) -> float | None:
        """The 3D distance (m) between the two points, None until both are set."""
        if len(self.points) < 2:
            return None
        return float(np.linalg.norm(self.points[1] - self.points[0]))

    def clear(self) -> None:
        self.points = []
        self._draw()

    def _draw(self) -> None:
        import pyvista as pv

        if not self.points:
            self.actor.SetVisibility(False)
            return
        local = (np.array(self.points) - self.scene.city.origin).astype(np.float32)
        poly = pv.PolyData(local, lines=[2, 0, 1] if len(local) == 2 else None)
        poly.verts = np.hstack([[1, i] for i in range(len(local))])
        _replace(self.poly, poly)
        self.actor.SetVisibility(True)


class ClipPlane:
    """One vtkPlane on the mappers of the scene's actors (all of them, or ``names``), moved in place.

    ``position`` is the fraction (0-1) of the buildings' extent along ``axis`` where the
    plane stands; the side beyond it (larger x, y or z) is cut away.  Actors added later
    (a new results file's overlays) get the plane at the next :meth:`set`.
    """

    def __init__(self, scene, names: tuple[str, ...] | None = None):
        from vtkmodules.vtkCommonDataModel import vtkPlane

        self.scene = scene
        self.names = names
        self.plane = vtkPlane()
        self.enabled = False
        self.axis = "x"
        self.position = 0.5

    def _mappers(self):
        names = self.scene.actors if self.names is None else [n for n in self.names if n in self.scene.actors]
        return [self.scene.actors[n].GetMapper() for n in names]

    def bounds(self) -> tuple[float, ...]:
        actor = self.scene.actors.get("buildings") or self.scene.actors.get("terrain")
        return actor.GetBounds() if actor is not None else self.scene.plotter.renderer.ComputeVisiblePropBounds()

    def set(self, enabled: bool, axis: str = "x", position: float = 0.5) -> None:
        """Place the plane across ``axis`` at ``position`` and switch it on or off."""
        if axis not in CLIP_AXES:
            raise ValueError(f"clip axis {axis!r}; expected one of {CLIP_AXES}")
        self.axis, self.position = axis, float(np.clip(position, 0.0, 1.0))
        i = CLIP_AXES.index(axis)
        b = self.bounds()
        origin = [0.5 * (b[0] + b[1]), 0.5 * (b[2] + b[3]), 0.5 * (b[4] + b[5])]
        origin[i] = b[2 * i] + self.position * (b[2 * i + 1] - b[2 * i])
        normal = [0.0, 0.0, 0.0]
        normal[i] = -1.0  # vtk keeps the side the normal points to
        self.plane.SetOrigin(origin)
        self.plane.SetNormal(normal)
        self.plane.Modified()
        for mapper in self._mappers():
            has = mapper.GetClippingPlanes() is not None and mapper.GetClippingPlanes().IsItemPresent(self.plane)
            if enabled and not has:
                mapper.AddClippingPlane(self.plane)
            elif not enabled and has:
                mapper.RemoveClippingPlane(self.plane)
        self.enabled = bool(enabled)

    def origin_city(self) -> np.ndarray:
        """The plane's origin in the city CRS."""
        return np.array(self.plane.GetOrigin()) + self.scene.city.origin


def set_building_edges(scene, edges: bool, wireframe: bool) -> None:
    """Buildings drawn with their triangle edges, or as a wireframe (same actor)."""
    actor = scene.actors.get("buildings")
    if actor is None:
        return
    prop = actor.GetProperty()
    if wireframe:
        prop.SetRepresentationToWireframe()
    else:
        prop.SetRepresentationToSurface()
    prop.SetEdgeVisibility(bool(edges) and not wireframe)
    prop.SetEdgeColor(0.15, 0.15, 0.15)
