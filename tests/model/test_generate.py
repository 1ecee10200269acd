"""The synthetic default city: plausible, deterministic, connected, and exercising every feature."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse.csgraph import connected_components

from twin3d.errors import InputError
from twin3d.model import CRITICAL_USES
from twin3d.model.buildings import occupancy_parameters
from twin3d.model.generate import facility_counts, generate_city
from twin3d.model.mesh import SURFACE_CODE


@pytest.fixture(scope="module")
def city():
    return generate_city(500, seed=3)


@pytest.fixture(scope="module")
def default_city():
    return generate_city()


def _boxes(city) -> np.ndarray:
    """Axis-aligned footprint box per building from its mesh: xmin, ymin, xmax, ymax."""
    m, n = city.buildings.mesh, len(city.buildings)
    v = m.vertices[m.triangles.reshape(-1)]
    f = np.repeat(m.triangle_feature, 3)
    lo = np.full((n, 2), np.inf)
    hi = np.full((n, 2), -np.inf)
    np.minimum.at(lo, f, v[:, :2])
    np.maximum.at(hi, f, v[:, :2])
    return np.hstack([lo, hi])


def _overlaps(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) mask of boxes with a shared interior."""
    return ((a[:, None, 0] < b[None, :, 2]) & (b[None, :, 0] < a[:, None, 2])
            & (a[:, None, 1] < b[None, :, 3]) & (b[None, :, 1] < a[:, None, 3]))


def _inside_triangles(points: np.ndarray, tri: np.ndarray) -> np.ndarray:
    """Whether each 2D point lies in any of the (m, 3, 2) triangles."""
    a, b, c = tri[:, 0], tri[:, 1], tri[:, 2]
    p = points[:, None, :]

    def cross(u, v, w):
        return (v[..., 0] - u[..., 0]) * (w[..., 1] - u[..., 1]) - (v[..., 1] - u[..., 1]) * (w[..., 0] - u[..., 0])

    d1, d2, d3 = cross(a, b, p), cross(b, c, p), cross(c, a, p)
    neg = (d1 < 0) | (d2 < 0) | (d3 < 0)
    pos = (d1 > 0) | (d2 > 0) | (d3 > 0)
    return np.any(~(neg & pos), axis=1)


def test_size_crs_and_national_grid_coordinates(city):
    assert len(city.buildings) == 500
    assert city.crs == "EPSG:25832"
    x0, y0, _, x1, y1, _ = city.bounds
    assert 490_000 < x0 < x1 < 510_000 and 5_690_000 < y0 < y1 < 5_710_000
    # the local float32 mesh keeps centimetres
    m = city.buildings.mesh
    back = m.local(city.origin).astype(np.float64) + city.origin
    assert np.abs(back - m.vertices).max() < 0.01


def test_heights_storeys_and_populations_plausible(city):
    t = city.buildings.table
    assert t["height"].min() >= 3.0 and t["height"].max() <= 120.0
    res = t["use"] == "residential"
    assert t["height"][res].min() >= 3.0 and t["height"][res].max() <= 30.0
    storey = np.array([occupancy_parameters()["uses"][u]["storey_height_m"] for u in t["use"]])
    assert np.array_equal(t["storeys"], np.maximum(1, np.round(t["height"] / storey)))
    assert t["population"].min() >= 0 and t["population"].max() <= 2000
    assert t["population_estimated"].all() and t["value_estimated"].all()
    boxes = _boxes(city)
    built_km2 = (boxes[:, 2].max() - boxes[:, 0].min()) * (boxes[:, 3].max() - boxes[:, 1].min()) / 1e6
    density = t["population"].sum() / built_km2
    assert 1_000 <= density <= 20_000
    assert np.all((t["footprint_area"] > 20) & (t["footprint_area"] < 10_000))


def test_every_critical_use_present_with_capacity(city):
    t = city.buildings.table
    counts = facility_counts(500)
    for use in CRITICAL_USES:
        assert (t["use"] == use).sum() == counts[use], use
    assert counts["hospital"] >= 2 and counts["fire_station"] >= 2 and counts["shelter"] >= 4
    beds = t["capacity"][t["use"] == "hospital"]
    assert np.all((beds >= 50) & (beds <= 1500))
    assert np.all(t["capacity"][t["use"] == "shelter"] > 20)
    assert np.all(t["capacity"][~np.isin(t["use"], ("hospital", "shelter"))] == 0)
    assert {"residential", "commercial", "industrial", "public"} <= set(t["use"])


def test_no_overlaps_with_buildings_or_roads(city):
    boxes = _boxes(city)
    hit = _overlaps(boxes, boxes)
    np.fill_diagonal(hit, False)
    assert not hit.any()
    roads = city.layers["roads"].mesh
    tri = roads.vertices[roads.triangles][:, :, :2]
    road_boxes = np.hstack([tri.min(axis=1), tri.max(axis=1)])
    assert not _overlaps(boxes, road_boxes).any()


def test_buildings_stand_on_terrain_out_of_the_river(city):
    boxes = _boxes(city)
    s = np.linspace(0.0, 1.0, 3)
    gx = boxes[:, None, None, 0] + (boxes[:, 2] - boxes[:, 0])[:, None, None] * s[None, :, None]
    gy = boxes[:, None, None, 1] + (boxes[:, 3] - boxes[:, 1])[:, None, None] * s[None, None, :]
    points = np.stack(np.broadcast_arrays(gx, gy), axis=-1).reshape(-1, 2)
    water = city.layers["water"].mesh
    assert not _inside_triangles(points, water.vertices[water.triangles][:, :, :2]).any()
    corners = np.stack([boxes[:, [0, 1]], boxes[:, [2, 1]], boxes[:, [2, 3]], boxes[:, [0, 3]]], axis=1)
    ground = city.terrain.sample(corners[..., 0], corners[..., 1]).min(axis=1)
    t = city.buildings.table
    assert np.abs(t["ground_elevation"] - ground).max() <= 0.005
    m = city.buildings.mesh
    zmin = np.full(len(t["id"]), np.inf)
    np.minimum.at(zmin, m.triangle_feature, m.vertices[m.triangles[:, 0], 2])
    assert np.allclose(zmin, t["ground_elevation"])


def test_river_valley_slopes_downstream_and_floods_critical_sites(city):
    water = city.layers["water"].mesh.vertices
    order = np.argsort(water[:, 0])
    centre = water.reshape(-1, 2, 3).mean(axis=1)  # ribbon: right and left bank per station
    drop = centre[0, 2] - centre[-1, 2]
    assert drop == pytest.approx(0.0008 * (centre[-1, 0] - centre[0, 0]), rel=1e-6)  # 0.8 m/km
    # the channel bed under the river's centreline falls eastward at the valley's slope
    bed = city.terrain.sample(centre[:, 0], centre[:, 1])
    ok = np.isfinite(bed)
    slope = np.polyfit(centre[ok, 0] - centre[ok, 0].mean(), bed[ok], 1)[0]
    assert slope == pytest.approx(-0.0008, rel=0.1)
    assert np.all(bed[ok] < np.interp(centre[ok, 0], water[order, 0], water[order, 2]))  # under water
    boxes = _boxes(city)
    t = city.buildings.table
    critical = np.isin(t["use"], CRITICAL_USES)
    cx = (boxes[:, 0] + boxes[:, 2]) / 2
    freeboard = t["ground_elevation"] - np.interp(cx, water[order, 0], water[order, 2])
    # some critical buildings lie within 2.5 m of the river's level: a flood reaches them
    assert (freeboard[critical] < 2.5).sum() >= 2
    assert freeboard.min() > 0.0  # but none stands below the normal water level


def test_networks_connected_with_plausible_kinds(city):
    for kind, net in city.networks.items():
        n_parts, _ = connected_components(net.adjacency(), directed=False)
        assert n_parts == 1, kind
        assert net.kind == kind
    road = city.networks["road"]
    assert set(road.edge_kind) == {"street", "arterial"}
    assert set(road.edge_capacity[road.edge_kind == "arterial"]) == {1800.0}
    assert set(road.edge_capacity[road.edge_kind == "street"]) == {800.0}
    bridge = np.array([a["bridge"] for a in road.edge_attributes])
    assert bridge.sum() >= 1
    water = city.networks["water"]
    assert {"junction", "pump", "reservoir", "tank"} <= set(water.node_kind)
    power = city.networks["power"]
    assert {"grid_supply", "substation", "feeder"} <= set(power.node_kind)
    assert np.all(power.node_capacity > 0) and np.all(water.edge_capacity > 0)


def test_bridges_cross_the_river(city):
    road = city.networks["road"]
    bridge = np.flatnonzero([a["bridge"] for a in road.edge_attributes])
    water = city.layers["water"].mesh.vertices
    order = np.argsort(water[:, 0])
    ends = road.node_xyz[road.edges[bridge]]
    river_y = np.interp(ends[:, 0, 0], water[order, 0], water[order, 1])
    assert np.all((ends[:, 0, 1] - river_y) * (ends[:, 1, 1] - river_y) < 0)


def test_dependencies(city):
    t = city.buildings.table
    deps = city.dependencies
    n = len(t["id"])
    for provider, kinds in (("power", {"feeder"}), ("water", {"junction"}), ("road", {"intersection"})):
        consumer, node = deps.of("buildings", provider)
        assert np.array_equal(np.sort(consumer), np.arange(n)), provider  # every building served
        assert set(city.networks[provider].node_kind[node]) == kinds
    hospitals = set(np.flatnonzero(t["use"] == "hospital"))
    for provider in ("power", "water", "road"):
        assert hospitals <= set(deps.of("buildings", provider)[0])
    pumps, supply = deps.of("water", "power")
    water, power = city.networks["water"], city.networks["power"]
    assert set(pumps) == set(np.flatnonzero(water.node_kind == "pump"))
    assert set(power.node_kind[supply]) == {"feeder"}
    # a building's road node is its nearest intersection: a block or two away (more by the river)
    consumer, node = deps.of("buildings", "road")
    centre = _boxes(city).reshape(-1, 2, 2).mean(axis=1)
    gap = city.networks["road"].node_xyz[node, :2] - centre[consumer]
    assert np.hypot(gap[:, 0], gap[:, 1]).max() < 300.0


def test_context_layers(city):
    assert set(city.layers) == {"roads", "water", "vegetation"}
    for layer in city.layers.values():
        assert layer.mesh.n_triangles > 0
        assert layer.mesh.triangle_feature.max() < layer.n_features
    roads = city.layers["roads"]
    assert roads.n_features == city.networks["road"].n_edges
    assert set(roads.feature_kind) <= {"street", "arterial", "bridge"}


def test_deterministic_and_seed_dependent(city):
    again = generate_city(500, seed=3)
    assert city.equals(again)
    other = generate_city(500, seed=4)
    assert not city.equals(other)
    assert not np.array_equal(city.buildings.table["height"], other.buildings.table["height"])
    assert not np.array_equal(city.terrain.elevation, other.terrain.elevation)


def test_default_city(default_city):
    c = default_city
    assert c.name == "Riverton" and len(c.buildings) == 3000
    assert c.buildings.mesh.n_triangles == 12 * 3000  # closed boxes
    assert np.isin(CRITICAL_USES, c.buildings.table["use"]).all()
    x0, y0, x1, y1 = c.terrain.grid.bounds
    assert c.terrain.grid.cell_size == 5.0
    assert 2_000 < x1 - x0 < 6_000 and 2_000 < y1 - y0 < 6_000
    for net in c.networks.values():
        assert connected_components(net.adjacency(), directed=False)[0] == 1


def test_city_grows_with_buildings(city, default_city):
    def area(c):
        b = c.buildings.mesh.bounds()
        return (b[3] - b[0]) * (b[4] - b[1])

    assert area(default_city) > 3 * area(city)


@pytest.mark.parametrize("kwargs", [{"n_buildings": 199}, {"n_buildings": 500.5}, {"seed": -1},
                                    {"n_buildings": True}])
def test_bad_arguments(kwargs):
    with pytest.raises(InputError):
        generate_city(**kwargs)


def test_roofs_face_up(city):
    m = city.buildings.mesh
    a, b, c = (m.vertices[m.triangles[:, k]] for k in range(3))
    nz = np.cross(b - a, c - a)[:, 2]
    assert np.all(nz[m.triangle_surface == SURFACE_CODE["roof"]] > 0)
