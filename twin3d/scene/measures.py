"""A scenario's strategy measures drawn with its results: barriers as walls, pumps as markers.

The geometry is built once per results file from the resolved scenario TOML the results
carry (root attribute ``scenario``), and written into the two actors that exist from the
start, so switching results never adds actors.
"""

from __future__ import annotations

import tomllib

import numpy as np

BARRIER_COLOUR = (40, 40, 40)  # near black: stands out on water (blue) and ground alike
PUMP_COLOUR = (230, 159, 0)  # Okabe-Ito orange: against the blue depth map for colour-blind viewers
PUMP_RADIUS_M = 4.0
PUMP_HEIGHT_M = 10.0
MIN_WALL_M = 0.5  # a barrier whose crest is at or below the ground is still drawn this high
CREST_RADIUS_M = 2.5  # a tube along the crest keeps a thin wall visible from afar


def strategy_of(results) -> dict:
    """The ``[strategy]`` table of the scenario a results file was run from ({} when the file
    carries no scenario, or it does not parse)."""
    if results is None:
        return {}
    text = results.file.attrs.get("scenario", "")
    text = text.decode() if isinstance(text, bytes) else str(text)
    try:
        return dict(tomllib.loads(text).get("strategy", {}))
    except tomllib.TOMLDecodeError:
        return {}


def ground_elevation(city, xy: np.ndarray) -> np.ndarray:
    """Terrain elevation (m, city CRS) under points ``xy`` (n, 2): the nearest terrain cell,
    or the city origin's height off the terrain or where it has no data."""
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    terrain = city.terrain
    fallback = float(city.origin[2])
    if terrain is None:
        return np.full(len(xy), fallback)
    g = terrain.grid
    col = np.floor((xy[:, 0] - g.origin[0]) / g.cell_size).astype(np.int64)
    row = np.floor((xy[:, 1] - g.origin[1]) / g.cell_size).astype(np.int64)
    inside = (row >= 0) & (row < g.shape[0]) & (col >= 0) & (col < g.shape[1])
    z = np.full(len(xy), fallback)
    z[inside] = terrain.elevation[row[inside], col[inside]]
    return np.where(np.isfinite(z), z, fallback)


def barrier_walls(strategy: dict, city):
    """One vertical wall (quads from the ground to the crest) per ``[[strategy.barriers]]``
    polyline, shifted to ``city.origin``; a ``pyvista.PolyData`` (empty without barriers)."""
    import pyvista as pv

    points, faces = [], []
    for barrier in strategy.get("barriers", []):
        line = np.asarray(barrier.get("line", []), dtype=np.float64).reshape(-1, 2)
        if len(line) < 2:
            continue
        ground = ground_elevation(city, line)
        if "crest_m" in barrier:
            top = np.maximum(float(barrier["crest_m"]), ground + MIN_WALL_M)
        else:
            top = ground + max(float(barrier.get("height_m", MIN_WALL_M)), MIN_WALL_M)
        base = sum(len(p) for p in points)
        n = len(line)
        points.append(np.vstack([np.column_stack([line, ground]), np.column_stack([line, top])]))
        for i in range(n - 1):  # quad: bottom i, bottom i+1, top i+1, top i
            faces.append([4, base + i, base + i + 1, base + n + i + 1, base + n + i])
    if not points:
        return pv.PolyData()
    local = (np.vstack(points) - city.origin).astype(np.float32)
    walls = pv.PolyData(local, np.asarray(faces, dtype=np.int64).ravel())
    crests = [pv.lines_from_points(p[len(p) // 2:] - city.origin).tube(radius=CREST_RADIUS_M, n_sides=8)
              for p in points]
    merged = walls.merge(crests).extract_surface(algorithm=None).triangulate()
    return pv.PolyData(merged.points.astype(np.float32), merged.faces)


def pump_markers(strategy: dict, city):
    """An upright cylinder standing on the ground at each ``[[strategy.pumps]]`` point,
    shifted to ``city.origin``; a ``pyvista.PolyData`` (empty without pumps)."""
    import pyvista as pv

    pumps = [p for p in strategy.get("pumps", []) if len(p.get("point", [])) >= 2]
    if not pumps:
        return pv.PolyData()
    xy = np.array([p["point"][:2] for p in pumps], dtype=np.float64)
    ground = ground_elevation(city, xy)
    parts = []
    for (x, y), z in zip(xy, ground, strict=True):
        centre = np.array([x, y, z + PUMP_HEIGHT_M / 2.0]) - city.origin
        parts.append(pv.Cylinder(center=centre, direction=(0, 0, 1), radius=PUMP_RADIUS_M,
                                 height=PUMP_HEIGHT_M, resolution=16).triangulate())
    merged = parts[0].merge(parts[1:]) if len(parts) > 1 else parts[0]
    return pv.PolyData(merged.points.astype(np.float32), merged.faces)


def _add_actor(plotter, poly, colour, name: str):
    """A plain VTK actor for ``poly`` (which may start empty, unlike ``plotter.add_mesh``), hidden."""
    from vtkmodules.vtkRenderingCore import vtkActor, vtkPolyDataMapper

    mapper = vtkPolyDataMapper()
    mapper.SetInputData(poly)
    actor = vtkActor()
    actor.SetMapper(mapper)
    actor.GetProperty().SetColor(*(c / 255.0 for c in colour))
    actor.SetVisibility(False)
    plotter.add_actor(actor, name=name, reset_camera=False, pickable=False, render=False)
    return actor


class StrategyMeasures:
    """The barriers and pumps of the shown results in one scene: two actors made once,
    their geometry replaced in place by :meth:`show`.

    Parameters
    ----------
    scene : CityScene
        The scene to draw into.  The two actors (``actors["barriers"]``, ``actors["pumps"]``)
        are not among ``scene.actors``: they follow the results, not the layer switches.
    """

    def __init__(self, scene):
        import pyvista as pv

        self.scene = scene
        self.walls = pv.PolyData()
        self.pumps = pv.PolyData()
        self.n_barriers = 0
        self.n_pumps = 0
        self.actors = {name: _add_actor(scene.plotter, poly, colour, f"strategy_{name}")
                       for name, poly, colour in (("barriers", self.walls, BARRIER_COLOUR),
                                                  ("pumps", self.pumps, PUMP_COLOUR))}

    def show(self, results) -> None:
        """Draw the measures of ``results`` (``None``: none)."""
        strategy = strategy_of(results)
        city = self.scene.city
        for poly, new, name in ((self.walls, barrier_walls(strategy, city), "barriers"),
                                (self.pumps, pump_markers(strategy, city), "pumps")):
            poly.copy_from(new, deep=True)
            poly.Modified()
            self.actors[name].SetVisibility(bool(poly.n_cells))
        self.n_barriers = len([b for b in strategy.get("barriers", []) if len(b.get("line", [])) >= 2])
        self.n_pumps = len([p for p in strategy.get("pumps", []) if len(p.get("point", [])) >= 2])
