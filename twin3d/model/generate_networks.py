"""Infrastructure of the synthetic city: roads (with bridges), power and water networks.

Roads follow the street grid of the layout: intersections are nodes, street
segments are edges, a few north-south streets cross the river on bridges.
Power comes from a grid supply point through substations (one per cluster of
buildings) to feeders (one per quarter around each substation).  Water mains
run under the streets, fed from a hill-top reservoir and an elevated tank
through pumps.
"""

from __future__ import annotations

import numpy as np

from twin3d.model.generate_layout import Layout, kmeans, spread
from twin3d.model.generate_terrain import River
from twin3d.model.mesh import SURFACE_CODE, ContextLayer, Mesh
from twin3d.model.network import Network
from twin3d.model.terrain import Terrain

ROAD_CAPACITY_VEH_H = {"street": 800.0, "arterial": 1800.0}
RIBBON_SEGMENTS = 8
PIPE_DIAMETER_M = {"pipe": 0.15, "main": 0.40, "trunk": 0.60}
PIPE_VELOCITY_M_S = 1.5
WATER_USE_M3_PER_PERSON_DAY = 0.15
PEAK_FACTOR = 2.5
MAINS_DEPTH_M = 1.5
# specific peak electrical load per m2 of gross floor area, W/m2
LOAD_W_PER_M2 = {"residential": 15.0, "commercial": 40.0, "industrial": 60.0, "public": 30.0,
                 "hospital": 80.0, "school": 20.0, "fire_station": 25.0, "ambulance_post": 25.0,
                 "police": 30.0, "shelter": 15.0}


def _ids(prefix: str, n: int) -> np.ndarray:
    return np.char.add(prefix, np.arange(n).astype(str)).astype(object)


def _road_pairs(layout: Layout) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unique street segments around the city's blocks as node-key pairs, and each key's (i, j)."""
    nlx = len(layout.streets.lines(0)[0])
    nbx = nlx - 1
    blocks = np.flatnonzero(layout.block_in_city)
    bi, bj = blocks % nbx, blocks // nbx

    def key(i, j):
        return j * nlx + i

    a = np.concatenate([key(bi, bj), key(bi, bj + 1), key(bi, bj), key(bi + 1, bj)])
    b = np.concatenate([key(bi + 1, bj), key(bi + 1, bj + 1), key(bi, bj + 1), key(bi + 1, bj + 1)])
    pairs = np.unique(np.stack([a, b], axis=1), axis=0)
    return pairs, pairs % nlx, pairs // nlx


def _bridges(pairs, ii, jj, wet, north, layout: Layout) -> np.ndarray:
    """Node-key pairs of bridges: on arterial north-south streets the river cuts (at least two)."""
    x_lines, arterial = layout.streets.lines(0)
    vertical = ii[:, 0] == ii[:, 1]
    cut = vertical & (wet[:, 0] | wet[:, 1] | (north[:, 0] != north[:, 1]))
    lines = np.unique(ii[cut, 0])
    ranked = lines[np.lexsort((np.abs(x_lines[lines] - layout.streets.centre[0]), ~arterial[lines]))]
    n_bridges = max(2, int(arterial[lines].sum()))
    bridges = []
    for i in ranked:  # one iteration per street line, not per building
        on = vertical & (ii[:, 0] == i)
        dry_south = on & ~wet[:, 0] & ~north[:, 0]
        dry_north = on & ~wet[:, 1] & north[:, 1]
        if dry_south.any() and dry_north.any() and len(bridges) < n_bridges:
            bridges.append((pairs[dry_south, 0].max(), pairs[dry_north, 1].min()))
    return np.array(bridges, dtype=np.int64).reshape(-1, 2)


def road_network(layout: Layout, river: River, terrain: Terrain) -> tuple[Network, ContextLayer]:
    """The road network (intersections, street segments, bridges) and its ribbons layer."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    (x_lines, x_art), (y_lines, y_art) = layout.streets.lines(0), layout.streets.lines(1)
    pairs, ii, jj = _road_pairs(layout)
    offset = river.offset(x_lines[ii], y_lines[jj])
    wet = np.abs(offset) < river.half_width + 10.0
    north = offset > 0
    dry = ~wet.any(axis=1) & (north[:, 0] == north[:, 1])
    bridges = _bridges(pairs, ii, jj, wet, north, layout)
    pairs = np.concatenate([pairs[dry], bridges])
    is_bridge = np.r_[np.zeros(dry.sum(), bool), np.ones(len(bridges), bool)]
    keys, edges = np.unique(pairs, return_inverse=True)
    edges = edges.reshape(-1, 2)
    n = len(keys)
    graph = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    main = label == np.argmax(np.bincount(label))
    keep_edge = main[edges[:, 0]]
    new_index = np.cumsum(main) - 1
    keys, edges, is_bridge = keys[main], new_index[edges[keep_edge]], is_bridge[keep_edge]
    nlx = len(x_lines)
    xy = np.column_stack([x_lines[keys % nlx], y_lines[keys // nlx]])
    xyz = np.column_stack([xy, np.round(terrain.sample(xy[:, 0], xy[:, 1]), 3)])
    i, j = keys % nlx, keys // nlx
    along_x = j[edges[:, 0]] == j[edges[:, 1]]
    arterial = np.where(along_x, y_art[j[edges[:, 0]]], x_art[i[edges[:, 0]]])
    kind = np.where(arterial, "arterial", "street").astype(object)
    net = Network("road", _ids("road-n", len(keys)), xyz, np.full(len(keys), "intersection", dtype=object),
                  edges, _ids("road-e", len(edges)), kind,
                  edge_capacity=np.where(arterial, ROAD_CAPACITY_VEH_H["arterial"], ROAD_CAPACITY_VEH_H["street"]),
                  edge_attributes=[{"bridge": bool(b)} for b in is_bridge] if len(edges) else [])
    width = np.where(arterial, 24.0, 12.0)
    return net, _road_layer(net, width, is_bridge, terrain)


def _road_layer(net: Network, width: np.ndarray, is_bridge: np.ndarray, terrain: Terrain) -> ContextLayer:
    """Flat ribbons along the street segments, draped on the terrain (bridges straight)."""
    s = RIBBON_SEGMENTS
    p0, p1 = net.node_xyz[net.edges[:, 0]], net.node_xyz[net.edges[:, 1]]
    t = np.linspace(0.0, 1.0, s + 1)[None, :, None]
    centre = p0[:, None, :] + (p1 - p0)[:, None, :] * t                       # (m, s+1, 3)
    d = (p1 - p0)[:, :2] / np.linalg.norm((p1 - p0)[:, :2], axis=1)[:, None]
    left = np.stack([-d[:, 1], d[:, 0]], axis=1)[:, None, :] * (width[:, None, None] / 2)
    draped = terrain.sample(centre[..., 0], centre[..., 1])
    z = np.where(is_bridge[:, None], centre[..., 2], np.where(np.isnan(draped), centre[..., 2], draped)) + 0.1
    side = np.stack([centre[..., :2] - left, centre[..., :2] + left], axis=2)  # (m, s+1, 2, 2)
    vertices = np.concatenate([side, np.broadcast_to(z[:, :, None, None], side.shape[:3] + (1,))], axis=3)
    k = 2 * np.arange(s)
    quad = np.concatenate([np.stack([k, k + 2, k + 3], axis=1), np.stack([k, k + 3, k + 1], axis=1)])
    m = net.n_edges
    triangles = (quad[None] + (2 * (s + 1) * np.arange(m))[:, None, None]).reshape(-1, 3)
    mesh = Mesh(vertices.reshape(-1, 3), triangles, np.repeat(np.arange(m), len(quad)),
                np.full(len(triangles), SURFACE_CODE["TrafficArea"]))
    kind = np.where(is_bridge, "bridge", net.edge_kind).astype(object)
    return ContextLayer("roads", mesh, net.edge_id.copy(), kind)


def building_load_mw(use: np.ndarray, floor_area_m2: np.ndarray) -> np.ndarray:
    """Peak electrical load per building, MW."""
    rate = np.vectorize(LOAD_W_PER_M2.get, otypes=[np.float64])(use)
    return floor_area_m2 * rate / 1e6


def power_network(xy: np.ndarray, load_mw: np.ndarray, terrain: Terrain, rng: np.random.Generator,
                  n_substations: int) -> tuple[Network, np.ndarray]:
    """Grid supply -> substations -> feeders; returns the network and each building's feeder node."""
    from scipy.sparse.csgraph import minimum_spanning_tree
    from scipy.spatial import cKDTree

    k = min(n_substations, len(xy))
    subs = kmeans(xy, k, rng)
    cluster = cKDTree(subs).query(xy)[1]
    rel = xy - subs[cluster]
    sector = np.floor((np.arctan2(rel[:, 1], rel[:, 0]) + np.pi) / (np.pi / 2)).astype(np.int64) % 4
    feeder_key, feeder_of = np.unique(cluster * 4 + sector, return_inverse=True)
    count = np.bincount(feeder_of)
    feeder_xy = np.stack([np.bincount(feeder_of, weights=xy[:, a]) / count for a in range(2)], axis=1)
    feeder_sub = feeder_key // 4
    feeder_mva = np.ceil(1.25 * np.bincount(feeder_of, weights=load_mw) * 2) / 2
    sub_mva = np.ceil(1.25 * np.bincount(feeder_sub, weights=feeder_mva, minlength=k) / 5) * 5
    source_xy = xy.min(axis=0) + [-300.0, 0.0]
    source_xy[1] = xy[:, 1].max() + 300.0
    near = np.argsort(np.hypot(*(subs - source_xy).T))[:2]
    mst = minimum_spanning_tree(np.hypot(*(subs[:, None, :] - subs[None, :, :]).transpose(2, 0, 1))).tocoo()
    hv = np.concatenate([np.stack([np.zeros(len(near), np.int64), 1 + near], axis=1),
                         np.stack([1 + mst.row, 1 + mst.col], axis=1)]).astype(np.int64)
    mv = np.stack([1 + feeder_sub, 1 + k + np.arange(len(feeder_key))], axis=1)
    node_xy = np.concatenate([source_xy[None], subs, feeder_xy])
    kind = np.array(["grid_supply"] + ["substation"] * k + ["feeder"] * len(feeder_key), dtype=object)
    z = np.round(terrain.sample(node_xy[:, 0], node_xy[:, 1]), 3)
    cap = np.concatenate([[sub_mva.sum()], sub_mva, feeder_mva])
    net = Network("power", _ids("power-n", len(node_xy)), np.column_stack([node_xy, z]), kind,
                  np.concatenate([hv, mv]), _ids("power-e", len(hv) + len(mv)),
                  np.array(["hv_line"] * len(hv) + ["mv_line"] * len(mv), dtype=object),
                  node_capacity=cap, edge_capacity=np.r_[np.full(len(hv), sub_mva.max()), feeder_mva])
    return net, 1 + k + feeder_of


def water_network(roads: Network, terrain: Terrain, population: np.ndarray, city_centre, radius_m: float,
                  rng: np.random.Generator, n_boosters: int) -> Network:
    """Mains under the streets, a hill-top reservoir and an elevated tank feeding them through pumps."""
    peak_m3_s = population.sum() * WATER_USE_M3_PER_PERSON_DAY / 86400.0 * PEAK_FACTOR
    xyz = roads.node_xyz - [0.0, 0.0, MAINS_DEPTH_M]
    kind = np.full(roads.n_nodes, "junction", dtype=object)
    edge_kind = np.where(roads.edge_kind == "arterial", "main", "pipe").astype(object)
    edges = roads.edges.copy()
    reservoir = _summit(terrain, city_centre, radius_m + 150.0, np.inf)
    tank = _summit(terrain, city_centre, 0.0, 0.9 * radius_m)
    new_xyz, new_kind, new_edges = [], [], []
    for site, site_kind in ((reservoir, "reservoir"), (tank, "tank")):  # two supply points
        j = int(np.argmin(np.hypot(*(xyz[:, :2] - site[:2]).T)))
        pump = site + 0.1 * (xyz[j] - site)
        base = len(xyz) + len(new_xyz)
        new_xyz += [site, pump]
        new_kind += [site_kind, "pump"]
        new_edges += [(base, base + 1), (base + 1, j)]
    xyz = np.concatenate([xyz, np.array(new_xyz)])
    kind = np.concatenate([kind, np.array(new_kind, dtype=object)])
    edges = np.concatenate([edges, np.array(new_edges)])
    edge_kind = np.concatenate([edge_kind, np.full(len(new_edges), "trunk", dtype=object)])
    xyz, kind, edges, edge_kind = _boosters(xyz, kind, edges, edge_kind, n_boosters, rng)
    diameter = np.vectorize(PIPE_DIAMETER_M.get, otypes=[np.float64])(edge_kind)
    pumps = kind == "pump"
    cap = np.where(pumps, np.round(0.6 * peak_m3_s, 4), np.nan)  # two supply points share the peak
    return Network("water", _ids("water-n", len(xyz)), xyz, kind, edges, _ids("water-e", len(edges)), edge_kind,
                   node_capacity=cap, edge_capacity=np.pi * diameter**2 / 4 * PIPE_VELOCITY_M_S)


def _summit(terrain: Terrain, centre, r_min: float, r_max: float) -> np.ndarray:
    """The highest terrain cell at a distance in ``[r_min, r_max)`` from the centre, as (x, y, z)."""
    g = terrain.grid
    x, y = g.x_centers() - centre[0], g.y_centers() - centre[1]
    r2 = x[None, :] ** 2 + y[:, None] ** 2
    z = np.where((r2 >= r_min**2) & (r2 < r_max**2), terrain.elevation, -np.inf)
    row, col = np.unravel_index(int(np.argmax(z)), z.shape)
    return np.array([x[col] + centre[0], y[row] + centre[1], terrain.elevation[row, col]])


def _boosters(xyz, kind, edges, edge_kind, n_boosters: int, rng: np.random.Generator):
    """Booster pumps in the middle of mains spread over the city (each main split in two)."""
    mains = np.flatnonzero(edge_kind == "main")
    if n_boosters <= 0 or not len(mains):
        return xyz, kind, edges, edge_kind
    mid = (xyz[edges[mains, 0]] + xyz[edges[mains, 1]]) / 2
    split = mains[spread(mid[:, :2], n_boosters, rng)]
    pump = len(xyz) + np.arange(len(split))
    xyz = np.concatenate([xyz, (xyz[edges[split, 0]] + xyz[edges[split, 1]]) / 2])
    kind = np.concatenate([kind, np.full(len(split), "pump", dtype=object)])
    tail = np.stack([pump, edges[split, 1]], axis=1)
    edges = edges.copy()
    edges[split, 1] = pump
    return xyz, kind, np.concatenate([edges, tail]), np.concatenate([edge_kind, edge_kind[split]])
