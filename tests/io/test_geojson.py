"""GeoJSON footprints: heights from common attributes, LoD1 solids, CRS handling, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from twin3d.errors import InputError
from twin3d.io.geojson import read_geojson
from twin3d.io.registry import reader_for
from twin3d.model.mesh import SURFACE_CODE

X0, Y0 = 85000.0, 447000.0
RD = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::28992"}}


def _rect(x, y, w, h, z=None):
    ring = [[x, y], [x + w, y], [x + w, y + h], [x, y + h], [x, y]]
    return [p + [z] for p in ring] if z is not None else ring


def _feature(coords, props, kind="Polygon", fid=None):
    f = {"type": "Feature", "geometry": {"type": kind, "coordinates": coords}, "properties": props}
    if fid is not None:
        f["id"] = fid
    return f


def _write(tmp_path: Path, features, crs=RD, name="b.geojson") -> Path:
    doc = {"type": "FeatureCollection", "features": features}
    if crs is not None:
        doc["crs"] = crs
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def _volume(mesh, feature):
    t = mesh.triangles[mesh.triangle_feature == feature]
    v = mesh.vertices - mesh.vertices.min(axis=0)
    return float(np.einsum("ij,ij->i", v[t[:, 0]], np.cross(v[t[:, 1]], v[t[:, 2]])).sum() / 6.0)


def _closed(mesh, feature) -> bool:
    t = mesh.triangles[mesh.triangle_feature == feature]
    edges = np.sort(np.concatenate([t[:, [0, 1]], t[:, [1, 2]], t[:, [2, 0]]]), axis=1)
    _, counts = np.unique(edges, axis=0, return_counts=True)
    return bool((counts == 2).all())


def test_polygon_with_hole_becomes_a_closed_outward_solid(tmp_path):
    outer = _rect(X0, Y0, 10.0, 20.0)
    hole = _rect(X0 + 4.0, Y0 + 9.0, 2.0, 2.0)[::-1]
    path = _write(tmp_path, [_feature([outer, hole], {"height": 9.0, "ground": 1.5, "name": "Hall"}, fid="h1")])
    city = read_geojson(path)
    b = city.buildings
    assert city.crs == "EPSG:28992" and "needs_projection" not in city.metadata
    assert len(b) == 1 and b.table["id"][0] == "h1"
    assert b.attributes[0] == {"height": 9.0, "ground": 1.5, "name": "Hall"}
    assert b.table["height"][0] == 9.0 and b.table["ground_elevation"][0] == 1.5
    assert b.table["footprint_area"][0] == pytest.approx(196.0, abs=1e-6)
    assert _volume(b.mesh, 0) == pytest.approx(196.0 * 9.0, rel=1e-9)  # positive: outward
    assert _closed(b.mesh, 0)
    assert b.mesh.vertices[:, 2].min() == 1.5 and b.mesh.vertices[:, 2].max() == 10.5
    codes = np.bincount(b.mesh.triangle_surface, minlength=4)
    assert codes[SURFACE_CODE["wall"]] == 2 * 8  # 4 outer + 4 hole edges, 2 triangles each
    assert codes[SURFACE_CODE["roof"]] == codes[SURFACE_CODE["ground"]] > 0
    np.testing.assert_array_equal(b.mesh.vertices.min(axis=0)[:2], [X0, Y0])  # float64 kept


@pytest.mark.parametrize("props, height, ground, storeys", [
    ({"measuredHeight": 12.5}, 12.5, 0.0, 4),
    ({"building:height": "14 m"}, 14.0, 0.0, 5),
    ({"building:levels": "4"}, 12.0, 0.0, 4),
    ({"storeys": 2, "z": -1.0}, 6.0, -1.0, 2),
    ({"h_dak_70p": 16.0, "h_maaiveld": 1.0}, 15.0, 1.0, 5),
    ({"b3_h_dak_max": 7.5, "b3_h_maaiveld": -0.5}, 8.0, -0.5, 3),
])
def test_height_from_common_attribute_names(tmp_path, props, height, ground, storeys):
    b = read_geojson(_write(tmp_path, [_feature([_rect(X0, Y0, 8.0, 8.0)], props)])).buildings
    assert b.table["height"][0] == pytest.approx(height)
    assert b.table["ground_elevation"][0] == pytest.approx(ground)
    assert b.table["storeys"][0] == storeys
    assert _volume(b.mesh, 0) == pytest.approx(64.0 * height, rel=1e-9)


def test_named_height_attribute_and_3d_ground(tmp_path):
    props = {"height": 99.0, "roof_h": 7.0}
    path = _write(tmp_path, [_feature([_rect(X0, Y0, 5.0, 5.0, z=2.25)], props)])
    b = read_geojson(path, height_attribute="roof_h").buildings
    assert b.table["height"][0] == 7.0 and b.table["ground_elevation"][0] == 2.25
    with pytest.raises(InputError, match="attribute 'missing'"):
        read_geojson(path, height_attribute="missing")


def test_multipolygon_is_one_building_and_non_buildings_are_skipped(tmp_path):
    multi = [[_rect(X0, Y0, 4.0, 4.0)], [_rect(X0 + 10.0, Y0, 3.0, 2.0)]]
    features = [
        _feature(multi, {"height": 5.0, "use": "school"}, kind="MultiPolygon", fid=7),
        _feature([X0, Y0], {"height": 3.0}, kind="Point"),
        _feature([[X0, Y0], [X0 + 5, Y0]], {}, kind="LineString"),
        _feature([_rect(X0 + 50, Y0, 5.0, 5.0)], {"name": "no height"}),
        {"type": "Feature", "geometry": None, "properties": None},
    ]
    city = read_geojson(_write(tmp_path, features))
    b = city.buildings
    assert len(b) == 1 and b.table["id"][0] == "7" and b.table["parts"][0] == 2
    assert b.table["use"][0] == "school"
    assert b.table["footprint_area"][0] == pytest.approx(22.0)
    assert _volume(b.mesh, 0) == pytest.approx(110.0, rel=1e-9)
    assert city.metadata["skipped"] == {"not_polygon": 3, "no_height": 1}


def test_wgs84_default_and_projection_keep_areas(tmp_path):
    from pyproj import Geod

    lon, lat = 4.3571, 52.0116  # Delft
    ring = _rect(lon, lat, 0.0003, 0.0002)
    path = _write(tmp_path, [_feature([ring], {"height": 10.0})], crs=None)
    geographic = read_geojson(path)
    assert geographic.crs == "EPSG:4326" and geographic.metadata["needs_projection"] is True
    city = read_geojson(path, to_crs="EPSG:28992")
    assert city.crs == "EPSG:28992" and "needs_projection" not in city.metadata
    geod_area = abs(Geod(ellps="WGS84").polygon_area_perimeter(*np.array(ring).T)[0])
    # RD New's scale error near Delft is < 1e-4; the footprint is ~20 m x 22 m
    assert city.buildings.table["footprint_area"][0] == pytest.approx(geod_area, rel=5e-4)
    x, y = city.buildings.mesh.vertices[:, 0], city.buildings.mesh.vertices[:, 1]
    assert 84_000 < x.min() < 86_000 and 446_000 < y.min() < 448_000
    explicit = read_geojson(path, crs="EPSG:4326", to_crs="EPSG:28992")
    assert explicit.buildings.equals(city.buildings)


def test_registry_sends_geojson_content_in_json_files_here(tmp_path):
    path = _write(tmp_path, [_feature([_rect(X0, Y0, 5.0, 5.0)], {"height": 3.0})], name="b.json")
    assert reader_for(path) is read_geojson


@pytest.mark.parametrize("content, reason", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "JSON object"),
    ('{"type": "Topology"}', "not a GeoJSON"),
    ('{"type": "FeatureCollection", "features": 3}', "features"),
    ('{"type": "FeatureCollection", "features": [1]}', "feature 0"),
    ('{"type": "FeatureCollection", "features": []}', "no Polygon"),
    (json.dumps({"type": "Feature", "properties": {"height": 3},
                 "geometry": {"type": "Polygon", "coordinates": [[["a", 0], [1, 0], [1, 1]]]}}), "numbers"),
    (json.dumps({"type": "Feature", "properties": {"height": 3},
                 "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0]]]}}), "at least 3"),
    (json.dumps({"type": "Feature", "properties": {"height": 3},
                 "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1e999, 0], [1, 1]]]}}), "finite"),
    (json.dumps({"type": "Feature", "properties": {"height": 3},
                 "geometry": {"type": "Polygon", "coordinates": 5}}), "coordinates"),
    (json.dumps({"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "EPSG:nope"}},
                 "features": []}), "coordinate reference system"),
])
def test_bad_geojson_raises_input_error(tmp_path, content, reason):
    path = tmp_path / "bad.geojson"
    path.write_text(content)
    with pytest.raises(InputError, match=reason) as err:
        read_geojson(path)
    assert "bad.geojson" in str(err.value)


def test_transform_out_of_domain_is_an_input_error(tmp_path):
    path = _write(tmp_path, [_feature([_rect(500.0, 500.0, 1.0, 1.0)], {"height": 3.0})], crs=None)
    with pytest.raises(InputError, match="b.geojson"):
        read_geojson(path, to_crs="EPSG:28992")
