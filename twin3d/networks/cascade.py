"""Failure cascades over power, water and road networks, frame by frame.

Every frame: assets fail by fragility at the flood depth sampled at them
(:mod:`twin3d.networks.fragility`); then service is traced over the working part
of each network with ``scipy.sparse.csgraph.connected_components``, and
dependencies are applied until nothing changes (a fixpoint: a pump without power
stops, so water downstream of it stops, ...).  Definitions:

- A node is *usable* when it has not failed and, for each layer it depends on
  (``city.dependencies``), at least one of its providers there is served.  An edge
  is *passable* when it has not failed, is in service (not an open switch, an
  out-of-service element or a closed pipe) and both its end nodes are usable.
- *Served* (``node_ok``) nodes are usable nodes connected through passable edges
  to a working supply: power from nodes of kind grid_supply/ext_grid/grid/slack/
  source/generator, else (pandapower grids) from substations; water from reservoirs
  and tanks.  A network without any such node has no topology to trace, and every
  usable node counts as served.  An edge is ``edge_ok`` when passable and served.
  Water only passes a pump (node or EPANET pump link) when it is usable, so a pump
  without power or under water cuts what it feeds.
- Road: the *main road network* is the largest connected component (by nodes) of
  usable road nodes joined by passable road edges; a road node is served when it
  belongs to it.  A building has road access when its road node is served.
  Bridges are judged by the depth at their two ends, not over the river they span.
- Buildings map to nodes by their dependency rows, or to the nearest node when the
  city has no rows for that network (:func:`twin3d.networks.routing.building_nodes`);
  a building with several providers in one network needs one of them.  A building
  without a link, or a city without the network, has that service.
- A critical facility (:data:`twin3d.model.CRITICAL_USES`) without power, water or
  road access is down.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twin3d.errors import InputError
from twin3d.model import CRITICAL_USES, NETWORK_KINDS, City, Grid, Network
from twin3d.networks.fragility import (
    FragilityTable,
    cells_at,
    check_field,
    edge_samples,
    failure_probability,
    reduce_edges,
    sample_cells,
)
from twin3d.networks.routing import building_nodes

SUPPLY_KINDS = {"power": ("grid_supply", "ext_grid", "grid", "slack", "source", "generator"),
                "water": ("reservoir", "tank")}
FALLBACK_SUPPLY_KINDS = {"power": ("substation",)}
FLAG_BITS = {"flooded": 1, "without_power": 2, "without_water": 4, "down": 8}
STATUS_FLAGS = tuple(FLAG_BITS)  # bit i is 1 << i, the order the results file declares


@dataclass
class CascadeState:
    """The state of every network and building at one frame.

    ``node_ok``/``edge_ok`` (served), ``node_failed``/``edge_failed`` (by fragility)
    and ``edge_passable`` are dicts keyed by network kind; the building arrays have
    one entry per building.
    """

    node_ok: dict[str, np.ndarray]
    edge_ok: dict[str, np.ndarray]
    node_failed: dict[str, np.ndarray]
    edge_failed: dict[str, np.ndarray]
    edge_passable: dict[str, np.ndarray]
    building_power: np.ndarray
    building_water: np.ndarray
    building_road_access: np.ndarray
    facility_down: np.ndarray
    flooded: np.ndarray

    power_node_ok = property(lambda self: self.node_ok.get("power"))
    power_edge_ok = property(lambda self: self.edge_ok.get("power"))
    water_node_ok = property(lambda self: self.node_ok.get("water"))
    water_edge_ok = property(lambda self: self.edge_ok.get("water"))
    road_node_ok = property(lambda self: self.node_ok.get("road"))
    road_edge_ok = property(lambda self: self.edge_ok.get("road"))

    def road_closed_edges(self) -> np.ndarray | None:
        """Road edges a vehicle cannot use (failed, or at a failed node); None without roads."""
        passable = self.edge_passable.get("road")
        return None if passable is None else ~passable

    def status_flags(self) -> np.ndarray:
        """uint8 per building: 1 flooded, 2 without power, 4 without water, 8 down."""
        return (self.flooded * FLAG_BITS["flooded"] + ~self.building_power * FLAG_BITS["without_power"]
                + ~self.building_water * FLAG_BITS["without_water"]
                + self.facility_down * FLAG_BITS["down"]).astype(np.uint8)

    def networks(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """``{kind: (node_ok, edge_ok)}``, what the results file stores per frame."""
        return {k: (self.node_ok[k], self.edge_ok[k]) for k in self.node_ok}


@dataclass
class _Layer:
    """One network with its per-asset fragility parameters and static structure."""

    net: Network
    node_params: tuple[np.ndarray, np.ndarray, np.ndarray]
    edge_params: tuple[np.ndarray, np.ndarray, np.ndarray]
    in_service: np.ndarray
    bridge: np.ndarray
    supply: np.ndarray | None  # None: the largest component (roads)


def _in_service(net: Network) -> np.ndarray:
    """Edges in service by their attributes (one pass over the attribute dicts, once)."""
    return np.array([a.get("in_service", True) is not False and a.get("switch_open") is not True
                     and a.get("closed", True) is not False and str(a.get("status", "OPEN")).upper() != "CLOSED"
                     for a in net.edge_attributes], dtype=bool).reshape(net.n_edges)


def _supply(kind: str, net: Network) -> np.ndarray | None:
    if kind == "road":
        return None
    for kinds in (SUPPLY_KINDS.get(kind, ()), FALLBACK_SUPPLY_KINDS.get(kind, ())):
        mask = np.isin(net.node_kind.astype(str), kinds)
        if mask.any():
            return mask
    return np.ones(net.n_nodes, dtype=bool)


def _components(n: int, edges: np.ndarray) -> np.ndarray:
    """Connected-component label of every node of the graph given by an ``(m, 2)`` edge list."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(len(edges), dtype=np.int8), (edges[:, 0], edges[:, 1])), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def _any_served(n: int, consumer: np.ndarray, provider_served: np.ndarray) -> np.ndarray:
    """Consumers with at least one served provider, or with no provider row at all."""
    linked = np.bincount(consumer, minlength=n) > 0
    served = np.bincount(consumer, weights=provider_served.astype(np.float64), minlength=n) > 0
    return ~linked | served


class Cascade:
    """Network failure cascade of one city, with its sparse structures built once.

    Parameters
    ----------
    city
        The city: its ``networks`` (any of power, water, road), ``dependencies``
        and building ``use``.
    fragility
        The fragility table; default :meth:`FragilityTable.load`.

    Examples
    --------
    >>> from twin3d.io.default_city import load_city  # doctest: +SKIP
    >>> city = load_city(None)[0]  # doctest: +SKIP
    >>> cascade = Cascade(city)  # doctest: +SKIP
    >>> state = cascade.frame(depth, grid, building_max_depth)  # doctest: +SKIP
    >>> flags = state.status_flags()  # doctest: +SKIP
    """

    def __init__(self, city: City, fragility: FragilityTable | None = None):
        self.fragility = fragility if fragility is not None else FragilityTable.load()
        self.n_buildings = len(city.buildings)
        self.layers = {k: self._layer(k, n) for k, n in city.networks.items() if k in NETWORK_KINDS}
        use = np.asarray(city.buildings.table["use"], dtype=object)
        self.critical = np.isin(use, CRITICAL_USES)
        self.building_params = self.fragility.parameters("buildings", use)
        self.links = {k: self._building_links(city, k) for k in self.layers}
        self.node_deps = self._node_dependencies(city)
        self._grid: Grid | None = None
        self._cells: dict = {}

    def _layer(self, kind: str, net: Network) -> _Layer:
        bridge = np.array([a.get("bridge") is True for a in net.edge_attributes], dtype=bool).reshape(-1)
        return _Layer(net, self.fragility.parameters(f"{kind}.nodes", net.node_kind),
                      self.fragility.parameters(f"{kind}.edges", net.edge_kind), _in_service(net),
                      bridge, _supply(kind, net))

    def _building_links(self, city: City, kind: str) -> tuple[np.ndarray, np.ndarray]:
        net = self.layers[kind].net
        eligible = None
        if kind == "water" and (net.node_kind == "junction").any():
            eligible = net.node_kind == "junction"
        elif kind == "power":
            eligible = ~self.layers[kind].supply if not self.layers[kind].supply.all() else None
        b, node = building_nodes(city, kind, eligible)
        _check_rows(b, self.n_buildings, "buildings")
        _check_rows(node, net.n_nodes, kind)
        return b, node

    def _node_dependencies(self, city: City) -> list[tuple[str, str, np.ndarray, np.ndarray]]:
        """``(consumer_kind, provider_kind, consumer_index, provider_index)`` between present networks."""
        deps = city.dependencies
        out = []
        for c in self.layers:
            for p in self.layers:
                ci, pi = deps.of(c, p)
                if len(ci):
                    _check_rows(ci, self.layers[c].net.n_nodes, c)
                    _check_rows(pi, self.layers[p].net.n_nodes, p)
                    out.append((c, p, ci, pi))
        return out

    def _samples(self, grid: Grid) -> dict:
        """Cells of every node and edge sample on this grid (cached for the last grid)."""
        if grid != self._grid:
            self._cells = {k: (cells_at(grid, layer.net.node_xyz), *edge_samples(grid, layer.net))
                           for k, layer in self.layers.items()}
            self._grid = grid
        return self._cells

    def failures(self, depth, grid: Grid) -> tuple[dict, dict]:
        """``(node_failed, edge_failed)`` per network kind from the depth field on ``grid``."""
        depth = check_field(grid, depth)
        node_failed, edge_failed = {}, {}
        for kind, (node_cells, edge_cells, counts) in self._samples(grid).items():
            layer = self.layers[kind]
            node_depth = sample_cells(depth, node_cells)
            edge_depth = reduce_edges(sample_cells(depth, edge_cells), counts)
            ends = layer.net.edges[layer.bridge]
            edge_depth[layer.bridge] = np.fmax(node_depth[ends[:, 0]], node_depth[ends[:, 1]])
            node_failed[kind] = failure_probability(node_depth, *layer.node_params) >= 0.5
            edge_failed[kind] = failure_probability(edge_depth, *layer.edge_params) >= 0.5
        return node_failed, edge_failed

    def _serve(self, kind: str, usable: np.ndarray, edge_failed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(served nodes, passable edges)`` of one network given its usable nodes."""
        layer = self.layers[kind]
        e = layer.net.edges
        passable = ~edge_failed & layer.in_service & usable[e[:, 0]] & usable[e[:, 1]]
        label = _components(layer.net.n_nodes, e[passable])
        fed = np.zeros(label.max() + 1 if len(label) else 0, dtype=bool)
        if layer.supply is None:
            if usable.any():
                fed[np.argmax(np.bincount(label[usable]))] = True
        else:
            fed[label[layer.supply & usable]] = True
        return usable & fed[label], passable

    def propagate(self, node_failed: dict, edge_failed: dict) -> tuple[dict, dict, dict]:
        """``(served nodes, ok edges, passable edges)`` per kind after dependencies reach a fixpoint."""
        usable = {k: ~f for k, f in node_failed.items()}
        while True:
            traced = {k: self._serve(k, usable[k], edge_failed[k]) for k in self.layers}
            served = {k: s for k, (s, _) in traced.items()}
            new = {k: ~node_failed[k] for k in self.layers}
            for c, p, ci, pi in self.node_deps:
                new[c] &= _any_served(len(new[c]), ci, served[p][pi])
            if all(np.array_equal(new[k], usable[k]) for k in self.layers):
                break
            usable = {k: usable[k] & new[k] for k in self.layers}  # monotone: ends within n steps
        edge_ok = {k: p & served[k][self.layers[k].net.edges[:, 0]] for k, (_, p) in traced.items()}
        return served, edge_ok, {k: p for k, (_, p) in traced.items()}

    def _building_service(self, kind: str, served: dict) -> np.ndarray:
        if kind not in self.layers:
            return np.ones(self.n_buildings, dtype=bool)
        b, node = self.links[kind]
        return _any_served(self.n_buildings, b, served[kind][node])

    def frame(self, depth, grid: Grid, building_max_depth=None) -> CascadeState:
        """The cascade state at one frame.

        Parameters
        ----------
        depth
            ``(ny, nx)`` water depth (m) on ``grid``.
        grid
            The grid of ``depth``.
        building_max_depth
            Maximum depth (m) around each building (the results' ``/buildings/max_depth``
            row); a building is flooded when it fails by the ``[buildings]``
            fragility of its use.  None: no building counts as flooded.
        """
        node_failed, edge_failed = self.failures(depth, grid)
        served, edge_ok, passable = self.propagate(node_failed, edge_failed)
        power, water, road = (self._building_service(k, served) for k in ("power", "water", "road"))
        flooded = np.zeros(self.n_buildings, dtype=bool)
        if building_max_depth is not None:
            d = np.asarray(building_max_depth, dtype=np.float64).reshape(-1)
            if len(d) != self.n_buildings:
                raise InputError(None, f"building_max_depth has {len(d)} values for {self.n_buildings} buildings")
            flooded = failure_probability(d, *self.building_params) >= 0.5
        return CascadeState(served, edge_ok, node_failed, edge_failed, passable, power, water, road,
                            self.critical & ~(power & water & road), flooded)


def _check_rows(index: np.ndarray, n: int, layer: str) -> None:
    if len(index) and (index.min() < 0 or index.max() >= n):
        raise InputError(None, f"dependency refers to a missing {layer} index (valid 0..{n - 1})")
