"""Travel times over the road network, and buildings mapped onto network nodes.

:class:`RoadRouter` builds the road graph once as a CSR matrix of travel minutes
(edge length over the speed of its kind); a frame's closed edges are dropped from
it by a mask (no Python loop) and ``scipy.sparse.csgraph.dijkstra`` does the rest.
Default speeds (km/h) are urban limits: 30 on streets (the 30 km/h zones of
residential streets), 50 on arterials (the German/EU urban default), 30 for any
other kind; pass ``speeds_km_h`` to change them.
"""

from __future__ import annotations

import math

import numpy as np

from twin3d.errors import InputError
from twin3d.model import City, Network

DEFAULT_SPEEDS_KM_H = {"street": 30.0, "arterial": 50.0, "default": 30.0}
RESPONDER_USES = ("fire_station", "ambulance_post")


def building_centres(city: City) -> np.ndarray:
    """``(n, 2)`` footprint centre of every building (mean of its triangle centres); NaN without mesh."""
    n, m = len(city.buildings), city.buildings.mesh
    count = np.bincount(m.triangle_feature, minlength=n).astype(np.float64)
    centre = m.vertices[m.triangles].mean(axis=1) if m.n_triangles else np.zeros((0, 3))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.stack([np.bincount(m.triangle_feature, weights=centre[:, a], minlength=n) / count
                         for a in range(2)], axis=1)


def building_nodes(city: City, layer: str, eligible: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(building_index, node_index)`` pairs linking buildings to nodes of network ``layer``.

    The city's dependency rows ``("buildings", b) -> (layer, node)`` when it has any;
    otherwise each building with a footprint goes to its nearest ``eligible`` node
    with coordinates (cKDTree on x, y).  Empty when the network is absent.
    """
    from scipy.spatial import cKDTree

    net = city.networks.get(layer)
    if net is None:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    b, node = city.dependencies.of("buildings", layer)
    if len(b):
        return b, node
    ok = np.isfinite(net.node_xyz[:, :2]).all(axis=1)
    if eligible is not None:
        ok &= eligible
    xy = building_centres(city)
    located = np.flatnonzero(np.isfinite(xy).all(axis=1))
    candidates = np.flatnonzero(ok)
    if not len(candidates) or not len(located):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    nearest = cKDTree(net.node_xyz[candidates, :2]).query(xy[located])[1]
    return located, candidates[nearest]


def building_road_nodes(city: City) -> np.ndarray:
    """The road node of every building (its first dependency, else the nearest); -1 where none."""
    out = np.full(len(city.buildings), -1, dtype=np.int64)
    b, node = building_nodes(city, "road")
    out[b[::-1]] = node[::-1]  # the first row of each building wins
    return out


class RoadRouter:
    """Shortest travel times (minutes) over a road network, with edges closed per frame.

    Parameters
    ----------
    road_network
        The road :class:`~twin3d.model.Network` (undirected; ``edge_length`` in m).
    speeds_km_h
        Speed per edge kind, with ``"default"`` for other kinds; merged over
        :data:`DEFAULT_SPEEDS_KM_H`.

    Examples
    --------
    >>> net = Network("road", ["a", "b", "c"], np.zeros((3, 3)), ["x"] * 3, [[0, 1], [1, 2]],
    ...               ["e0", "e1"], ["street", "arterial"], edge_length=[500.0, 1000.0])
    >>> RoadRouter(net).travel_times_min([0]).round(2).tolist()
    [[0.0, 1.0, 2.2]]
    """

    def __init__(self, road_network: Network, speeds_km_h: dict[str, float] | None = None):
        speeds = {**DEFAULT_SPEEDS_KM_H, **(speeds_km_h or {})}
        for kind, v in speeds.items():
            if isinstance(v, bool) or not isinstance(v, int | float) or not 0 < v < math.inf:
                raise InputError(None, f"speed for road kind {kind!r} must be a positive number, got {v!r}")
        self.network = road_network
        self.n_nodes = road_network.n_nodes
        kinds = road_network.edge_kind.astype(str)
        names, inverse = np.unique(kinds, return_inverse=True)
        speed = np.array([speeds.get(k, speeds["default"]) for k in names], dtype=np.float64)[inverse]
        length = np.nan_to_num(np.asarray(road_network.edge_length, dtype=np.float64), nan=np.inf)
        self.edge_minutes = length / (speed.reshape(-1) * 1000.0 / 60.0)
        e = road_network.edges
        rows, cols = np.r_[e[:, 0], e[:, 1]], np.r_[e[:, 1], e[:, 0]]
        order = np.lexsort((cols, rows))
        self._rows, self._cols = rows[order], cols[order]
        self._edge = np.r_[np.arange(len(e)), np.arange(len(e))][order]

    def graph(self, closed_edges: np.ndarray | None = None):
        """The CSR matrix of travel minutes without the closed edges (and edges of unknown length)."""
        from scipy.sparse import csr_matrix

        minutes = self.edge_minutes[self._edge]
        keep = np.isfinite(minutes)
        if closed_edges is not None:
            closed = np.asarray(closed_edges, dtype=bool).reshape(-1)
            if len(closed) != len(self.edge_minutes):
                raise InputError(None, f"closed-edge mask has {len(closed)} entries for "
                                       f"{len(self.edge_minutes)} road edges")
            keep &= ~closed[self._edge]
        indptr = np.r_[0, np.cumsum(np.bincount(self._rows[keep], minlength=self.n_nodes))]
        return csr_matrix((minutes[keep], self._cols[keep], indptr), shape=(self.n_nodes, self.n_nodes))

    def _sources(self, sources_node_idx) -> np.ndarray:
        src = np.asarray(sources_node_idx, dtype=np.int64).reshape(-1)
        if len(src) and (src.min() < 0 or src.max() >= self.n_nodes):
            raise InputError(None, f"source node index out of range 0..{self.n_nodes - 1}")
        return src

    def travel_times_min(self, sources_node_idx, closed_edges_mask: np.ndarray | None = None) -> np.ndarray:
        """``(n_sources, n_nodes)`` shortest travel minutes from each source; inf when unreachable."""
        from scipy.sparse.csgraph import dijkstra

        src = self._sources(sources_node_idx)
        if not len(src):
            return np.zeros((0, self.n_nodes))
        return dijkstra(self.graph(closed_edges_mask), directed=True, indices=src).reshape(len(src), -1)

    def nearest_times_min(self, sources_node_idx, closed_edges_mask: np.ndarray | None = None) -> np.ndarray:
        """``(n_nodes,)`` minutes from the nearest source (one multi-source Dijkstra); inf when none."""
        from scipy.sparse.csgraph import dijkstra

        src = np.unique(self._sources(sources_node_idx))
        if not len(src):
            return np.full(self.n_nodes, np.inf)
        return dijkstra(self.graph(closed_edges_mask), directed=True, indices=src, min_only=True)


def response_times_min(city: City, router: RoadRouter, closed_edges: np.ndarray | None = None,
                       from_uses: tuple[str, ...] = RESPONDER_USES,
                       extra_source_nodes: np.ndarray | None = None) -> np.ndarray:
    """Minutes from the nearest responder to every building; inf when unreachable.

    Responders are the buildings whose use is in ``from_uses`` (at their road
    node) plus ``extra_source_nodes`` (road nodes of depots, for instance).
    Buildings map to road nodes by :func:`building_road_nodes`.
    """
    road_node = building_road_nodes(city)
    use = np.asarray(city.buildings.table["use"], dtype=object)
    src = road_node[np.isin(use, list(from_uses)) & (road_node >= 0)]
    if extra_source_nodes is not None:
        src = np.r_[src, np.asarray(extra_source_nodes, dtype=np.int64).reshape(-1)]
    node_minutes = router.nearest_times_min(src, closed_edges)
    if not router.n_nodes:
        return np.full(len(road_node), np.inf)
    return np.where(road_node >= 0, node_minutes[np.maximum(road_node, 0)], np.inf)
