"""Infrastructure networks as lines coloured by service state, one actor per network kind."""

from __future__ import annotations

import numpy as np

from twin3d.scene.palettes import NETWORK_COLOURS, OUT_OF_SERVICE_COLOUR

NETWORK_LIFT_M = {"road": 1.0, "water": 1.5, "power": 4.0}  # above the ground, so lines do not z-fight
PLAIN_NODE_KINDS = ("intersection", "junction")  # not drawn as points: every street corner would be one


class NetworkLines:
    """The edges (polylines) and notable nodes (points) of one network in one PolyData.

    Cells are the drawn nodes (vertices) first, then one polyline per edge; a cell ``colour``
    array (RGB) is rewritten in place by :meth:`update`; cell arrays ``edge`` and ``node`` name the
    network edge or node a cell draws (-1 for the other kind of cell).  Edges or nodes without coordinates are
    left out.

    Parameters
    ----------
    network : twin3d.model.Network
        The network (coordinates in the city CRS).
    origin : ndarray, shape (3,)
        The city origin meshes are shifted by.
    ground : twin3d.scene.terrain.Ground
        Ground heights: lines are drawn at ``max(z, ground) + lift``.
    """

    def __init__(self, network, origin: np.ndarray, ground):
        import pyvista as pv

        self.kind = network.kind
        self.ok_colour = np.array(NETWORK_COLOURS.get(network.kind, (120, 120, 120)), dtype=np.uint8)
        lift = NETWORK_LIFT_M.get(network.kind, 2.0)
        verts = np.asarray(network.edge_vertices, dtype=np.float64) - origin
        offsets = np.asarray(network.edge_offsets, dtype=np.int64)
        start, stop = offsets[:-1], offsets[1:]
        finite = np.isfinite(verts).all(axis=1)
        edge_ok_geom = np.array([finite[a:b].all() and b - a >= 2 for a, b in zip(start, stop, strict=True)],
                                dtype=bool)
        self.edge_index = np.flatnonzero(edge_ok_geom)  # drawn edge -> network edge
        nodes = np.asarray(network.node_xyz, dtype=np.float64) - origin
        notable = ~np.isin(np.asarray(network.node_kind, dtype=object).astype(str), PLAIN_NODE_KINDS)
        self.node_index = np.flatnonzero(notable & np.isfinite(nodes).all(axis=1))  # drawn node -> node
        node_pts = nodes[self.node_index]
        points = np.vstack([node_pts, verts[finite]]) if len(node_pts) else verts[finite]
        if len(points):
            g = ground.z(points[:, 0], points[:, 1])
            points[:, 2] = np.maximum(np.nan_to_num(points[:, 2], nan=-np.inf), g) + lift
        # vertex ids after dropping non-finite vertices
        new_id = np.cumsum(finite) - 1 + len(node_pts)
        lines = [np.r_[b - a, new_id[a:b]] for a, b in zip(start[self.edge_index], stop[self.edge_index],
                                                           strict=True)]
        cells = {}
        if len(node_pts):
            cells["verts"] = np.column_stack([np.ones(len(node_pts), np.int64), np.arange(len(node_pts))]).ravel()
        if lines:
            cells["lines"] = np.concatenate(lines)
        poly = pv.PolyData(points.astype(np.float32), **cells) if cells else pv.PolyData()
        poly.cell_data["colour"] = np.tile(self.ok_colour, (poly.n_cells, 1))
        # for picking: the network edge (or node) each cell draws, -1 where it draws the other
        poly.cell_data["edge"] = np.r_[np.full(len(node_pts), -1), self.edge_index].astype(np.int64)
        poly.cell_data["node"] = np.r_[self.node_index, np.full(len(self.edge_index), -1)].astype(np.int64)
        self.poly = poly
        self.colour = poly.cell_data["colour"]
        self.n_nodes_drawn = len(node_pts)
        self.actor = None

    @property
    def empty(self) -> bool:
        return self.poly.n_cells == 0

    def update(self, node_ok: np.ndarray | None, edge_ok: np.ndarray | None) -> None:
        """Colour the frame's state in place: in service in the kind's colour, out of service in
        ``OUT_OF_SERVICE_COLOUR``; ``None`` means all in service."""
        n = self.n_nodes_drawn
        node_state = np.ones(n, bool) if node_ok is None else np.asarray(node_ok, bool)[self.node_index]
        edge_state = (np.ones(len(self.edge_index), bool) if edge_ok is None
                      else np.asarray(edge_ok, bool)[self.edge_index])
        state = np.concatenate([node_state, edge_state])
        self.colour[:] = np.where(state[:, None], self.ok_colour, np.array(OUT_OF_SERVICE_COLOUR, np.uint8))
        self.poly.GetCellData().GetArray("colour").Modified()
        self.poly.Modified()

    def out_of_service(self) -> int:
        """How many drawn cells are currently out of service."""
        return int((np.asarray(self.colour) != self.ok_colour).any(axis=1).sum())

    def add_to(self, plotter, name: str):
        """Add the one actor (lines 3 px, node points 9 px); returns it."""
        self.actor = plotter.add_mesh(self.poly, scalars="colour", rgb=True, name=name, line_width=3,
                                      point_size=9, render_points_as_spheres=True, lighting=False)
        return self.actor
