"""Critical facilities as glyphs (one merged mesh, one actor) coloured per kind, or "down"."""

from __future__ import annotations

import numpy as np

from twin3d.model import CRITICAL_USES
from twin3d.scene.palettes import DOWN_COLOUR, USE_COLOURS

GLYPH_RADIUS_M = 7.0
GLYPH_HEIGHT_M = 16.0
GLYPH_GAP_M = 4.0  # between the roof and the glyph's tip


def facility_colours() -> dict[str, tuple[int, int, int]]:
    """The colour of each critical use (the buildings' use palette)."""
    return {u: USE_COLOURS[u] for u in CRITICAL_USES}


def _pin(resolution: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """A downward cone ("map pin") with its tip at the origin: points (m, 3) and triangles (k, 3)."""
    angle = np.linspace(0.0, 2 * np.pi, resolution, endpoint=False)
    ring = np.column_stack([GLYPH_RADIUS_M * np.cos(angle), GLYPH_RADIUS_M * np.sin(angle),
                            np.full(resolution, GLYPH_HEIGHT_M)])
    points = np.vstack([[0.0, 0.0, 0.0], ring, [0.0, 0.0, GLYPH_HEIGHT_M]])
    i = np.arange(resolution)
    j = (i + 1) % resolution
    sides = np.column_stack([np.zeros(resolution, np.int64), j + 1, i + 1])
    top = np.column_stack([np.full(resolution, resolution + 1), i + 1, j + 1])
    return points, np.vstack([sides, top])


class FacilityGlyphs:
    """One pin above the roof of every critical facility, in a single PolyData.

    Parameters
    ----------
    buildings : twin3d.model.Buildings
        The city's buildings (their table's ``use`` and mesh).
    origin : ndarray, shape (3,)
        The city origin meshes are shifted by.
    """

    def __init__(self, buildings, origin: np.ndarray):
        import pyvista as pv

        use = np.asarray(buildings.table["use"], dtype=object).astype(str)
        self.building = np.flatnonzero(np.isin(use, CRITICAL_USES))  # glyph -> building index
        self.kind = use[self.building]
        colours = facility_colours()
        self.kind_colour = np.array([colours[k] for k in self.kind], dtype=np.uint8).reshape(-1, 3)
        tips = self._tips(buildings, origin)
        template, tris = _pin()
        n, m = len(self.building), len(template)
        points = (tips[:, None, :] + template[None, :, :]).reshape(-1, 3)
        faces = (tris[None, :, :] + (np.arange(n) * m)[:, None, None]).reshape(-1, 3)
        poly = pv.PolyData(points.astype(np.float32),
                           np.column_stack([np.full(len(faces), 3), faces]).ravel() if len(faces) else None)
        self.cells_per_glyph = len(tris)
        cell_glyph = np.repeat(np.arange(n), len(tris))
        self._cell_glyph = cell_glyph
        self.poly = poly
        self.colour = np.zeros((0, 3), np.uint8)
        if n:  # a city without facilities has no glyph actor (VTK arrays cannot be empty here)
            poly.cell_data["facility"] = cell_glyph
            poly.cell_data["building"] = self.building[cell_glyph]
            poly.cell_data["colour"] = self.kind_colour[cell_glyph]
            self.colour = poly.cell_data["colour"]
        self.down = np.zeros(n, dtype=bool)
        self.actor = None

    def _tips(self, buildings, origin) -> np.ndarray:
        """Local position of each glyph's tip: above the centre of its building's roof."""
        mesh = buildings.mesh
        tips = np.zeros((len(self.building), 3))
        if not len(self.building):
            return tips
        tri_b = np.asarray(mesh.triangle_feature)
        vert_b = np.full(len(mesh.vertices), -1, dtype=np.int64)
        vert_b[np.asarray(mesh.triangles).ravel()] = np.repeat(tri_b, 3)
        local = np.asarray(mesh.vertices, dtype=np.float64) - origin
        for i, b in enumerate(self.building):  # a few dozen facilities, built once
            v = local[vert_b == b]
            if len(v):
                tips[i] = (*(v[:, :2].min(axis=0) + v[:, :2].max(axis=0)) / 2, v[:, 2].max() + GLYPH_GAP_M)
        return tips

    @property
    def empty(self) -> bool:
        return len(self.building) == 0

    def update(self, status: np.ndarray | None, down_bit: int | None) -> None:
        """Recolour in place: glyphs whose building's ``status`` has ``down_bit`` turn ``DOWN_COLOUR``."""
        if status is None or down_bit is None or self.empty:
            down = np.zeros(len(self.building), dtype=bool)
        else:
            down = (np.asarray(status).astype(np.int64)[self.building] & int(down_bit)) != 0
        self.down = down
        rgb = np.where(down[:, None], np.array(DOWN_COLOUR, np.uint8), self.kind_colour)
        self.colour[:] = rgb[self._cell_glyph]
        self.poly.GetCellData().GetArray("colour").Modified()
        self.poly.Modified()

    def add_to(self, plotter, name: str):
        """Add the one actor; returns it."""
        self.actor = plotter.add_mesh(self.poly, scalars="colour", rgb=True, name=name, smooth_shading=False)
        return self.actor
