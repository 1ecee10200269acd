"""The default synthetic city: a river town with every feature twin3d uses.

:func:`generate_city` lays out a street grid around a centre on a meandering
river (``generate_layout``), builds the valley terrain (``generate_terrain``),
puts one LoD1 building on each lot with a use, height and storeys drawn from
seeded per-use distributions, and adds roads, power and water networks with
the dependencies between them and the buildings (``generate_networks``).
The same ``(n_buildings, seed, name)`` always gives an identical city.
"""

from __future__ import annotations

import numpy as np

from twin3d.errors import InputError
from twin3d.model.buildings import Buildings, complete_table, empty_table, occupancy_parameters
from twin3d.model.city import City
from twin3d.model.extrude import extrude_convex
from twin3d.model.generate_layout import (
    CAMPUS,
    CENTRE,
    DISTRICTS,
    INDUSTRIAL,
    INNER,
    OUTER,
    PARK,
    Layout,
    city_radius_estimate,
    clear_of_river,
    plan_layout,
    spread,
)
from twin3d.model.generate_networks import building_load_mw, power_network, road_network, water_network
from twin3d.model.generate_terrain import River, make_river, make_terrain, river_layer
from twin3d.model.mesh import SURFACE_CODE, ContextLayer, Mesh
from twin3d.model.network import Dependencies
from twin3d.model.terrain import Terrain

MIN_BUILDINGS = 200                      # room for every critical use besides homes
CRS = "EPSG:25832"                       # ETRS89 / UTM zone 32N
CITY_CENTRE = (500_000.0, 5_700_000.0)   # on the zone's central meridian, about 51.4 N

DEFAULT_USE = {CENTRE: "commercial", INNER: "residential", OUTER: "residential",
               INDUSTRIAL: "industrial", CAMPUS: "public", PARK: "public"}
# footprint share of the lot's width and depth, (low, high)
FILL = {CENTRE: (0.65, 0.92), INNER: (0.5, 0.8), OUTER: (0.5, 0.8), INDUSTRIAL: (0.45, 0.85),
        CAMPUS: (0.45, 0.75), PARK: (0.5, 0.8)}
SCHOOL_FILL = (0.3, 0.55)                # schools keep a yard
HOUSE_DEPTH_M = (9.0, 14.0)
# height in metres: median, log-normal sigma, low, high
HEIGHT = {"house": (7.0, 0.2, 3.5, 12.0), "residential": (14.0, 0.3, 6.0, 30.0),
          "commercial": (20.0, 0.45, 6.0, 120.0), "industrial": (9.0, 0.3, 5.0, 20.0),
          "public": (14.0, 0.3, 7.0, 30.0), "hospital": (20.0, 0.25, 10.0, 40.0),
          "school": (10.0, 0.2, 7.0, 14.0), "fire_station": (8.0, 0.15, 6.0, 12.0),
          "ambulance_post": (6.0, 0.15, 4.0, 9.0), "police": (11.0, 0.2, 7.0, 18.0),
          "shelter": (9.0, 0.2, 6.0, 14.0)}
LOT_USES = ("fire_station", "ambulance_post", "police", "shelter")
IN_FLOODPLAIN = ("fire_station", "shelter")  # one of each is put in the floodplain where there is one


def facility_counts(n_buildings: int) -> dict[str, int]:
    """How many of each critical and public building a city of ``n_buildings`` has."""
    n = n_buildings
    return {"hospital": max(2, round(n / 4000)), "school": max(4, round(n / 400)),
            "fire_station": max(2, round(n / 2500)), "ambulance_post": max(2, round(n / 3000)),
            "police": max(2, round(n / 4000)), "shelter": max(4, round(n / 600)),
            "public": round(0.02 * n)}


def generate_city(n_buildings: int = 3000, seed: int = 0, name: str = "Riverton") -> City:
    """A deterministic synthetic river city of ``n_buildings`` LoD1 buildings in EPSG:25832.

    Parameters
    ----------
    n_buildings
        Number of buildings (at least 200); the city grows in area with it.
    seed
        Seed of every random draw; equal arguments give equal cities.
    name
        The city's name.

    Examples
    --------
    >>> city = generate_city(500, seed=1)
    >>> len(city.buildings), sorted(city.networks)
    (500, ['power', 'road', 'water'])
    """
    if isinstance(n_buildings, bool) or not isinstance(n_buildings, int | np.integer) or n_buildings < MIN_BUILDINGS:
        raise InputError(None, f"n_buildings must be an integer of at least {MIN_BUILDINGS}, got {n_buildings!r}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise InputError(None, f"seed must be a non-negative integer, got {seed!r}")
    n = int(n_buildings)
    rng = np.random.default_rng(int(seed))
    counts = facility_counts(n)
    river = make_river(CITY_CENTRE, city_radius_estimate(n), rng)
    layout = plan_layout(n, CITY_CENTRE, river, rng, {u: counts[u] for u in ("hospital", "school")})
    terrain = make_terrain(river, _street_bounds(layout), rng)
    buildings = _buildings(layout, river, terrain, rng, counts)
    t = buildings.table
    xy = _footprint_centres(buildings)
    roads, road_layer = road_network(layout, river, terrain)
    load = building_load_mw(t["use"], t["footprint_area"] * t["storeys"])
    power, feeder = power_network(xy, load, terrain, rng, max(2, round(n / 1500)))
    water = water_network(roads, terrain, t["population"], CITY_CENTRE, layout.radius_m, rng, n // 20000)
    deps = _dependencies(xy, feeder, roads, water, power)
    layers = {"roads": road_layer, "water": river_layer(river, terrain.grid),
              "vegetation": _park_layer(layout, river, terrain)}
    return City(name=name, crs=CRS, buildings=buildings, terrain=terrain,
                networks={"road": roads, "power": power, "water": water}, dependencies=deps,
                layers=layers, metadata={"generator": "twin3d.model.generate.generate_city",
                                         "n_buildings": n, "seed": int(seed)})


def _street_bounds(layout: Layout) -> tuple[float, float, float, float]:
    """Extent of the city's blocks plus one street spacing."""
    b = layout.block_interior[layout.block_in_city]
    pad = 150.0
    return (b[:, 0].min() - pad, b[:, 1].min() - pad, b[:, 2].max() + pad, b[:, 3].max() + pad)


def _footprint_centres(buildings: Buildings) -> np.ndarray:
    m = buildings.mesh
    n = len(buildings)
    count = np.bincount(m.triangle_feature, minlength=n)
    tri_centre = m.vertices[m.triangles].mean(axis=1)
    return np.stack([np.bincount(m.triangle_feature, weights=tri_centre[:, a], minlength=n) / count
                     for a in range(2)], axis=1)


def _assign_uses(layout: Layout, river: River, rng: np.random.Generator, counts: dict) -> np.ndarray:
    """Use of every lot: the district's default, campus uses, then spread critical facilities."""
    district = layout.lot_district
    use = np.array([DEFAULT_USE[d] for d in range(len(DISTRICTS))], dtype=object)[district]
    campus = layout.block_campus[layout.lot_block]
    use[campus != ""] = campus[campus != ""]
    rect = layout.lot_rect
    xy = np.column_stack([(rect[:, 0] + rect[:, 2]) / 2, (rect[:, 1] + rect[:, 3]) / 2])
    flood = np.abs(river.offset(xy[:, 0], xy[:, 1])) < river.floodplain_half_width
    for u in LOT_USES:  # a few uses, each spread over the city
        cand = np.flatnonzero(np.isin(district, (CENTRE, INNER)) & np.isin(use, ("residential", "commercial")))
        wet = np.flatnonzero(flood[cand])
        first = int(rng.choice(wet)) if u in IN_FLOODPLAIN and len(wet) else None
        use[cand[spread(xy[cand], counts[u], rng, first)]] = u
    cand = np.flatnonzero(np.isin(district, (CENTRE, INNER)) & np.isin(use, ("residential", "commercial")))
    use[rng.choice(cand, size=min(counts["public"], len(cand)), replace=False)] = "public"
    return use


def _footprints(layout: Layout, use: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One rectangle inside each lot, ``(n, 4, 2)`` counter-clockwise."""
    n = len(use)
    district = layout.lot_district
    lo = np.array([FILL[d][0] for d in range(len(DISTRICTS))])[district]
    hi = np.array([FILL[d][1] for d in range(len(DISTRICTS))])[district]
    school = use == "school"
    lo[school], hi[school] = SCHOOL_FILL
    draw = rng.random((5, n))
    rect = layout.lot_rect
    lot_w, lot_h = rect[:, 2] - rect[:, 0], rect[:, 3] - rect[:, 1]
    w = lot_w * (lo + (hi - lo) * draw[0])
    h = lot_h * (lo + (hi - lo) * draw[1])
    house = (district == OUTER) & (use == "residential")
    h[house] = np.minimum(lot_h[house], HOUSE_DEPTH_M[0] + np.diff(HOUSE_DEPTH_M)[0] * draw[2, house])
    front = 0.35 * draw[3]  # two-row blocks: buildings stand near their street
    two_rows = np.isin(district, (CENTRE, INNER, OUTER))
    fy = np.where(two_rows, np.where(layout.lot_row == 0, front, 1.0 - front), draw[3])
    x0 = rect[:, 0] + draw[4] * (lot_w - w)
    y0 = rect[:, 1] + fy * (lot_h - h)
    x0, y0, x1, y1 = (np.round(v, 2) for v in (x0, y0, x0 + w, y0 + h))
    return np.stack([np.column_stack([x0, y0]), np.column_stack([x1, y0]),
                     np.column_stack([x1, y1]), np.column_stack([x0, y1])], axis=1)


def _heights(layout: Layout, use: np.ndarray, xy: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Heights drawn per use (houses apart from flats); the centre's towers rise towards the middle."""
    kind = np.where((layout.lot_district == OUTER) & (use == "residential"), "house", use)
    params = np.array([HEIGHT[k] for k in kind])
    median, sigma, lo, hi = params.T
    r = np.hypot(xy[:, 0] - CITY_CENTRE[0], xy[:, 1] - CITY_CENTRE[1])
    tower = 0.1 * layout.radius_m + 150.0
    median = np.where(use == "commercial", 16.0 + 44.0 * np.exp(-((r / tower) ** 2)), median)
    height = median * np.exp(sigma * rng.standard_normal(len(use)))
    return np.round(np.clip(height, lo, hi), 1)


def _buildings(layout: Layout, river: River, terrain: Terrain, rng: np.random.Generator,
               counts: dict) -> Buildings:
    """The buildings: LoD1 solids standing on the terrain, with a completed table."""
    use = _assign_uses(layout, river, rng, counts)
    rings = _footprints(layout, use, rng)
    xy = rings.mean(axis=1)
    height = _heights(layout, use, xy, rng)
    ground = np.round(terrain.sample(rings[..., 0], rings[..., 1]).min(axis=1), 2)
    n = len(use)
    table = empty_table(n)
    table["id"] = np.char.add("bldg-", np.char.zfill(np.arange(n).astype(str), 6)).astype(object)
    table["use"] = use
    table["height"] = height
    table["ground_elevation"] = ground
    side = rings[:, 2] - rings[:, 0]
    table["footprint_area"] = side[:, 0] * side[:, 1]
    storey = np.array([occupancy_parameters()["uses"][u]["storey_height_m"] for u in use])
    table["storeys"] = np.maximum(1, np.round(height / storey)).astype(np.int32)
    names = np.array(DISTRICTS, dtype=object)[layout.lot_district]
    attributes = [{"district": d} for d in names]
    return complete_table(Buildings(extrude_convex(rings, ground, height), table, attributes))


def _dependencies(xy, feeder, roads, water, power) -> Dependencies:
    """Every building needs its feeder, nearest water junction and road node; every pump needs power."""
    from scipy.spatial import cKDTree

    n = len(xy)
    junction = np.flatnonzero(water.node_kind == "junction")
    water_node = junction[cKDTree(water.node_xyz[junction, :2]).query(xy)[1]]
    road_node = cKDTree(roads.node_xyz[:, :2]).query(xy)[1]
    pumps = np.flatnonzero(water.node_kind == "pump")
    feeders = np.flatnonzero(power.node_kind == "feeder")
    pump_power = feeders[cKDTree(power.node_xyz[feeders, :2]).query(water.node_xyz[pumps, :2])[1]]
    b = np.arange(n)
    return Dependencies(
        consumer_layer=np.array(["buildings"] * 3 * n + ["water"] * len(pumps), dtype=object),
        consumer_index=np.concatenate([b, b, b, pumps]),
        provider_layer=np.array(["power"] * n + ["water"] * n + ["road"] * n + ["power"] * len(pumps),
                                dtype=object),
        provider_index=np.concatenate([feeder, water_node, road_node, pump_power]))


def _park_layer(layout: Layout, river: River, terrain: Terrain, cells: int = 4) -> ContextLayer:
    """Parks: the park blocks clear of the river as patches draped on the terrain."""
    park = np.flatnonzero(layout.block_in_city & (layout.block_district == PARK))
    park = park[clear_of_river(layout.block_interior[park], river)]
    b = layout.block_interior[park]
    t = np.linspace(0.0, 1.0, cells + 1)
    gx = b[:, None, None, 0] + (b[:, 2] - b[:, 0])[:, None, None] * t[None, None, :]
    gy = b[:, None, None, 1] + (b[:, 3] - b[:, 1])[:, None, None] * t[None, :, None]
    gx, gy = np.broadcast_arrays(gx, gy)
    z = terrain.sample(gx, gy) + 0.05
    vertices = np.stack([gx, gy, z], axis=-1).reshape(-1, 3)
    k = (cells + 1) * np.arange(cells)[:, None] + np.arange(cells)[None, :]
    k = k.reshape(-1)
    quad = np.concatenate([np.stack([k, k + 1, k + cells + 2], 1), np.stack([k, k + cells + 2, k + cells + 1], 1)])
    per = (cells + 1) ** 2
    triangles = (quad[None] + (per * np.arange(len(park)))[:, None, None]).reshape(-1, 3)
    mesh = Mesh(vertices, triangles, np.repeat(np.arange(len(park)), len(quad)),
                np.full(len(triangles), SURFACE_CODE["other"]))
    ids = np.char.add("park-", np.arange(len(park)).astype(str)).astype(object)
    return ContextLayer("vegetation", mesh, ids, np.full(len(park), "park", dtype=object))
