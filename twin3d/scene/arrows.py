"""Allocation arrows from depots to sites: one actor whose geometry is rewritten in place."""

from __future__ import annotations

import numpy as np

from twin3d.scene.palettes import ARROW_COLOURS

ARROW_CAPACITY = 256  # rows of /allocation_assignments
ARC_SEGMENTS = 12
LIFT_M = 2.0  # arrows start and end this far above the ground
DROP_M = 40.0  # a resource used where it is stored: a vertical arrow falling onto the site


def arrow_template(segments: int = ARC_SEGMENTS) -> np.ndarray:
    """Triangles (k, 3) of one arrow over its ``2 (segments + 1) + 3`` points: a ribbon along an
    arc (points 2i left, 2i + 1 right) and a head (base left, base right, tip)."""
    i = np.arange(segments)
    a, b, c, d = 2 * i, 2 * i + 1, 2 * i + 2, 2 * i + 3
    ribbon = np.vstack([np.column_stack([a, b, d]), np.column_stack([a, d, c])])
    base = 2 * (segments + 1)
    return np.vstack([ribbon, [[base, base + 1, base + 2]]])


class AllocationArrows:
    """Arrows for the rows of an assignments table, colour per kind, in one PolyData.

    Parameters
    ----------
    origin : ndarray, shape (3,)
        The city origin (assignment coordinates are in the city CRS).
    ground : twin3d.scene.terrain.Ground
        Ground heights at depots and sites.
    capacity : int
        How many arrows the geometry holds; more rows grow it (outside a tick only).
    """

    def __init__(self, origin: np.ndarray, ground, capacity: int = ARROW_CAPACITY):
        self.origin = np.asarray(origin, dtype=np.float64)
        self.ground = ground
        self.tris = arrow_template()
        self.points_per_arrow = 2 * (ARC_SEGMENTS + 1) + 3
        self.poly = None
        self.kinds: list[str] = []
        self.shown_kinds: np.ndarray = np.zeros(0, dtype=np.int64)
        self.n_arrows = 0
        self.actor = None
        self._allocate(capacity)

    def _allocate(self, capacity: int) -> None:
        import pyvista as pv

        self.capacity = int(capacity)
        p, t = self.points_per_arrow, self.tris
        faces = (t[None] + (np.arange(self.capacity) * p)[:, None, None]).reshape(-1, 3)
        poly = pv.PolyData(np.zeros((self.capacity * p, 3), np.float32),
                           np.column_stack([np.full(len(faces), 3), faces]).ravel())
        poly.cell_data["colour"] = np.zeros((len(faces), 3), np.uint8)
        poly.cell_data["kind"] = np.full(len(faces), -1, np.int16)
        if self.poly is None:
            self.poly = poly
        else:  # same PolyData object (the actor keeps it), larger arrays
            self.poly.copy_from(poly)
        self.colour = self.poly.cell_data["colour"]
        self.kind = self.poly.cell_data["kind"]

    def update(self, assignments: np.ndarray, kinds) -> None:
        """Rewrite the arrows for ``assignments`` (rows, 6): depot_x, depot_y, site_x, site_y (city CRS),
        units, kind index into ``kinds``; NaN rows are unused.  Unused arrows collapse to a point."""
        a = np.asarray(assignments, dtype=np.float64).reshape(-1, 6)
        a = a[np.isfinite(a[:, :4]).all(axis=1)]
        if len(a) > self.capacity:
            self._allocate(len(a))
        self.kinds = [k.decode() if isinstance(k, bytes) else str(k) for k in kinds]
        n = len(a)
        pts = np.zeros((self.capacity, self.points_per_arrow, 3))
        if n:
            pts[:n] = self._arrows(a)
            pts[n:] = pts[0, 0]  # unused: degenerate, on an arrow's start so bounds stay in the city
        kind = np.full(self.capacity, -1, np.int64)
        kind[:n] = np.nan_to_num(a[:, 5], nan=0).astype(np.int64)
        palette = np.array(ARROW_COLOURS, dtype=np.uint8)
        per_cell = np.repeat(kind, len(self.tris))
        self.poly.points[:] = pts.reshape(-1, 3).astype(np.float32)
        self.colour[:] = np.where(per_cell[:, None] >= 0, palette[per_cell % len(palette)], 0)
        self.kind[:] = per_cell
        self.n_arrows = n
        self.shown_kinds = np.unique(kind[:n])
        self.poly.GetPoints().Modified()
        for name in ("colour", "kind"):
            self.poly.GetCellData().GetArray(name).Modified()
        self.poly.Modified()

    def _arrows(self, a: np.ndarray) -> np.ndarray:
        """Points (n, points_per_arrow, 3) in the local frame."""
        n, s = len(a), ARC_SEGMENTS
        start = np.column_stack([a[:, 0] - self.origin[0], a[:, 1] - self.origin[1], np.zeros(n)])
        end = np.column_stack([a[:, 2] - self.origin[0], a[:, 3] - self.origin[1], np.zeros(n)])
        start[:, 2] = self.ground.z(start[:, 0], start[:, 1]) + LIFT_M
        end[:, 2] = self.ground.z(end[:, 0], end[:, 1]) + LIFT_M
        span = end[:, :2] - start[:, :2]
        length = np.hypot(span[:, 0], span[:, 1])
        drop = length < 1.0  # stored at the site: fall onto it from above
        start[drop] = end[drop] + [0.0, 0.0, DROP_M]
        side = np.zeros((n, 3))
        side[~drop, 0] = -span[~drop, 1] / length[~drop]
        side[~drop, 1] = span[~drop, 0] / length[~drop]
        side[drop, 0] = 1.0
        reach = np.where(drop, DROP_M, length)
        width = np.clip(0.02 * reach, 2.0, 8.0)
        head = np.clip(0.18 * reach, 6.0, 60.0)
        arc = np.where(drop, 0.0, 0.15 * length + 5.0)
        t_head = 1.0 - head / np.maximum(reach, 1e-9)
        t = np.linspace(0.0, 1.0, s + 1)[None, :] * t_head[:, None]  # (n, s+1) along the shaft

        def along(tt):
            p = start[:, None, :] + tt[..., None] * (end - start)[:, None, :]
            p[..., 2] += 4.0 * arc[:, None] * tt * (1.0 - tt)
            return p

        centre = along(t)
        half = (width / 2)[:, None, None] * side[:, None, :]
        ribbon = np.stack([centre - half, centre + half], axis=2).reshape(n, 2 * (s + 1), 3)
        base = along(t_head[:, None])[:, 0]
        hw = (1.4 * width)[:, None] * side
        head_pts = np.stack([base - hw, base + hw, end], axis=1)
        return np.concatenate([ribbon, head_pts], axis=1)

    def add_to(self, plotter, name: str):
        """Add the one actor; returns it."""
        self.actor = plotter.add_mesh(self.poly, scalars="colour", rgb=True, name=name, smooth_shading=False,
                                      lighting=False)
        return self.actor
