"""GeoJSON networks: nodes, snapping, generated junctions, lengths in metres, rejections."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from twin3d.errors import InputError
from twin3d.io.network_geojson import read_network_geojson

X0, Y0 = 500_000.0, 5_360_000.0  # UTM 32N (EPSG:25832), near 9 E 48.4 N


def point(pid, x, y, **props):
    return {"type": "Feature", "id": pid, "properties": props,
            "geometry": {"type": "Point", "coordinates": [X0 + x, Y0 + y]}}


def shift(coords):
    return [[X0 + x, Y0 + y, *z] for x, y, *z in coords]


def line(coords, kind="LineString", **props):
    geometry = shift(coords) if kind == "LineString" else [shift(part) for part in coords]
    return {"type": "Feature", "properties": props, "geometry": {"type": kind, "coordinates": geometry}}


def write(tmp_path: Path, features, **extra) -> Path:
    path = tmp_path / "net.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features, **extra}))
    return path


@pytest.fixture
def mains(tmp_path):
    return write(tmp_path, [
        point("S", 0, 0, kind="substation", capacity=40.0),
        point("T", 100, 0, kind="transformer"),
        line([[0.3, 0], [50, 10], [100, 0.2]], id="L1", capacity=5.0, cable="NA2XS2Y"),  # ends within 0.5 m
        line([[[100, 0], [100, 30]], [[100.2, 30], [130, 30]]], kind="MultiLineString", id="L2"),
        line([[130, 30], [160, 70]], id="L3"),  # starts at L2's loose end
        line([[0, 0.6], [0, -40]], id="L4"),  # 0.6 m from S: not snapped
    ])


def test_nodes_edges_and_snapping(mains):
    net = read_network_geojson(mains, "power", crs="EPSG:25832")
    assert list(net.node_id[:2]) == ["S", "T"]
    assert list(net.node_kind[:2]) == ["substation", "transformer"]
    assert net.node_capacity[0] == 40.0 and np.isnan(net.node_capacity[1])
    assert list(net.edge_id) == ["L1", "L2#0", "L2#1", "L3", "L4"]
    assert list(net.edge_kind) == ["line"] * 5
    assert net.edge_attributes[0] == {"id": "L1", "capacity": 5.0, "cable": "NA2XS2Y"}
    assert net.edge_capacity[0] == 5.0 and np.isnan(net.edge_capacity[1])
    name = dict(enumerate(net.node_id))
    ends = [(name[a], name[b]) for a, b in net.edges]
    # L2#0 ends and L2#1 starts 0.2 m apart: one generated junction; L3 starts there too.
    j_mid, j_end = ends[1][1], ends[2][1]
    assert ends[:4] == [("S", "T"), ("T", j_mid), (j_mid, j_end), (j_end, ends[3][1])]
    assert ends[4][0] not in ("S", "T")  # 0.6 m is beyond the 0.5 m tolerance
    assert net.n_nodes == 2 + 5  # generated: j_mid, j_end, L3's far end, L4's two ends
    generated = net.node_attributes[2:]
    assert all(a == {"generated": True} for a in generated)
    assert len(set(net.node_id)) == net.n_nodes


def test_ends_move_onto_their_nodes_and_lengths(mains):
    net = read_network_geojson(mains, "power", crs="EPSG:25832")
    v, off = net.edge_vertices, net.edge_offsets
    np.testing.assert_array_equal(v[off[:-1]], net.node_xyz[net.edges[:, 0]])
    np.testing.assert_array_equal(v[off[1:] - 1], net.node_xyz[net.edges[:, 1]])
    expected_l1 = math.hypot(50, 10) + math.hypot(50, 10)  # after snapping to S and T
    assert net.edge_length[0] == pytest.approx(expected_l1, rel=1e-12)
    assert net.edge_length[1:4] == pytest.approx([30.0, 30.0, 50.0], rel=1e-12)
    assert net.edge_length[4] == pytest.approx(40.6, abs=1e-6)


def test_tolerance_is_configurable(mains):
    net = read_network_geojson(mains, "power", crs="EPSG:25832", snap_tolerance_m=1.0)
    assert net.node_id[net.edges[4, 0]] == "S"  # 0.6 m now snaps
    strict = read_network_geojson(mains, "power", crs="EPSG:25832", snap_tolerance_m=0.0)
    assert strict.node_id[strict.edges[0, 0]] != "S"  # 0.3 m off: only exact ends join
    assert strict.node_id[strict.edges[1, 0]] == "T"  # exact


def test_geographic_lengths_are_geodesic_metres(mains):
    net = read_network_geojson(mains, "power", crs="EPSG:25832", to_crs="EPSG:4326")
    utm = read_network_geojson(mains, "power", crs="EPSG:25832")
    assert 8.9 < net.node_xyz[0, 0] < 9.1 and 48.3 < net.node_xyz[0, 1] < 48.5
    # UTM grid distances differ from ellipsoidal ones by the scale factor (0.9996 at the central meridian)
    np.testing.assert_allclose(net.edge_length, utm.edge_length / 0.9996, rtol=2e-4)
    assert net.edges.tolist() == utm.edges.tolist()


def test_feet_crs_lengths_in_metres(tmp_path):
    feet = write(tmp_path, [line([[0, 0], [1000, 0]], id="a")])
    net = read_network_geojson(feet, "road", crs="EPSG:2263")  # NAD83 / New York Long Island (ftUS)
    assert net.edge_length[0] == pytest.approx(1000 * 1200 / 3937, rel=1e-9)
    assert list(net.edge_kind) == ["road"] and list(net.node_kind) == ["junction", "junction"]


def test_crs_member_and_z(tmp_path):
    crs = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::25832"}}
    path = write(tmp_path, [point("P", 0, 0), line([[0, 0, 5.0], [3, 4, 7.0]], id="w")], crs=crs)
    net = read_network_geojson(path, "water")
    assert net.edge_length[0] == pytest.approx(5.0)
    assert net.edge_vertices[1, 2] == 7.0
    assert list(net.edge_kind) == ["pipe"]


def test_wgs84_default_and_projected_without_crs(tmp_path):
    lonlat = tmp_path / "ll.geojson"
    lonlat.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": {"type": "LineString",
                                                           "coordinates": [[7.80, 48.40], [7.81, 48.40]]}}]}))
    net = read_network_geojson(lonlat, "road")
    assert net.edge_length[0] == pytest.approx(740.0, rel=0.01)  # 0.01 deg of longitude at 48.4 N
    with pytest.raises(InputError, match="not longitude/latitude"):
        read_network_geojson(write(tmp_path, [line([[0, 0], [10, 0]])]), "road")


@pytest.mark.parametrize(("content", "message"), [
    ("{not json", "not valid JSON"),
    (json.dumps({"type": "Topology"}), "not a GeoJSON FeatureCollection"),
    (json.dumps({"type": "FeatureCollection", "features": []}), "no Point or LineString"),
    (json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": []}}]}),
     "'Polygon' is not a Point"),
    (json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": {"type": "LineString", "coordinates": [[1, 2]]}}]}),
     "at least 2 finite positions"),
    (json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": ["a", 2]}}]}),
     "not numeric"),
    (json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"capacity": "big"},
         "geometry": {"type": "Point", "coordinates": [1, 2]}}]}), "capacity 'big' is not a number"),
    (json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": 1, "properties": {}, "geometry": {"type": "Point", "coordinates": [1, 2]}},
        {"type": "Feature", "id": "1", "properties": {}, "geometry": {"type": "Point", "coordinates": [1, 3]}}]}),
     "duplicate node id '1'"),
    (json.dumps({"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "EPSG:0"}},
                 "features": []}), "unknown coordinate reference system"),
])
def test_bad_files_are_rejected(tmp_path, content, message):
    path = tmp_path / "bad.geojson"
    path.write_text(content)
    with pytest.raises(InputError, match=message) as err:
        read_network_geojson(path, "power")
    assert err.value.path == str(path)


def test_bad_arguments(mains):
    with pytest.raises(InputError, match="unknown network kind"):
        read_network_geojson(mains, "gas")
    with pytest.raises(InputError, match="snap tolerance"):
        read_network_geojson(mains, "power", crs="EPSG:25832", snap_tolerance_m=-1)


def test_many_ends_snap_vectorised(tmp_path):
    rng = np.random.default_rng(7)
    grid = np.stack(np.meshgrid(np.arange(30) * 100.0, np.arange(30) * 100.0), -1).reshape(-1, 2)
    nodes = [point(f"n{k}", x, y) for k, (x, y) in enumerate(grid)]
    a = rng.integers(0, len(grid), 2000)
    b = rng.integers(0, len(grid), 2000)
    jitter = rng.uniform(-0.3, 0.3, (2000, 2, 2))
    lines = [line([(grid[i] + jitter[k, 0]).tolist(), (grid[j] + jitter[k, 1]).tolist()], id=f"e{k}")
             for k, (i, j) in enumerate(zip(a, b, strict=True))]
    net = read_network_geojson(write(tmp_path, nodes + lines), "road", crs="EPSG:25832")
    assert net.n_nodes == len(grid)  # every end snapped; no junction generated
    np.testing.assert_array_equal(net.edges, np.column_stack([a, b]))
