"""CityJSON / CityJSONSeq reader: real files, expected figures, LoD choice, rejection of bad input.

Expected counts and bounds were computed independently of the reader, with plain
``json``: top-level Building objects counted, and the transformed vertices referenced
by the building geometries at each object's highest LoD (agreeing with
``metadata.geographicalExtent`` where a file has one for buildings only).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import DATA, data_path
from twin3d.errors import InputError
from twin3d.io.cityjson import read_cityjson, read_cityjsonseq
from twin3d.model.mesh import SURFACE_CODE

CJ = DATA / "cityjson"


def _files(*patterns: str) -> list[str]:
    return sorted(str(p.relative_to(CJ)) for pat in patterns for p in CJ.glob(pat) if p.name != "case.json")


def read(rel: str, **options):
    path = data_path("cityjson", *rel.split("/"))
    reader = read_cityjsonseq if path.name.endswith(".jsonl") else read_cityjson
    return reader(path, **options)


def triangle_areas(mesh) -> np.ndarray:
    v, t = mesh.vertices, mesh.triangles
    return 0.5 * np.linalg.norm(np.cross(v[t[:, 1]] - v[t[:, 0]], v[t[:, 2]] - v[t[:, 0]]), axis=1)


# ---------------------------------------------------------------- every real file

GOOD = _files("cjio/**/*.json", "3dbag/*.json*", "corpus/conformance/**/*.json*")
BAD = _files("corpus/invalid/*/*") + ["cjval/data/duplicate.json", "cjval/data/o.json",
                                      "cjval/data/noise1.city.json", "cjval/data/cube_20.jsonl"]


@pytest.mark.parametrize("rel", GOOD)
def test_every_valid_file_loads(rel):
    city = read(rel)
    b = city.buildings
    assert len(b.attributes) == len(b) == len(b.table["id"])
    assert np.isfinite(b.mesh.vertices).all()
    if len(b):
        assert (b.table["parts"] >= 1).all()


@pytest.mark.parametrize("rel", BAD)
def test_every_invalid_file_is_rejected(rel):
    path = data_path("cityjson", *rel.split("/"))
    with pytest.raises(InputError) as err:
        (read_cityjsonseq if path.name.endswith(".jsonl") else read_cityjson)(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


# ---------------------------------------------------------------- counts and bounds

EXPECTED = {  # file: (buildings, sum of max(1, BuildingParts) per building, bounds of building vertices)
    "cjio/delft.json": (160, 160, (84825.872, 447456.724, -0.34, 85056.513, 447624.074, 8.57)),
    "3dbag/cjseq_3dbag_b2.city.json": (2, 2, (84994.437625, 446535.536, -0.275998,
                                              85022.194625, 446562.148, 13.108002)),
    "3dbag/cjseq_3dbag_b2.city.jsonl": (2, 2, (84994.437625, 446535.536, -0.275998,
                                               85022.194625, 446562.148, 13.108002)),
    "cjio/cube.json": (1, 1, (0.0, 0.0, 0.0, 1.0, 1.0, 1.0)),
    "cjio/multi_lod.json": (10, 10, (153301.3999, 414163.473, 4.208, 153776.2829, 414688.436, 13.987)),
    "cjio/DH_01_subs.city.json": (4, 9, (78612.169, 457782.107, 3.451, 78695.679, 458154.974, 14.739)),
    "cjio/rotterdam/rotterdam_subset.json": (16, 16, (90454.189, 435614.88, 0.0, 91002.419, 436048.217, 18.29)),
}


@pytest.mark.parametrize("rel", sorted(EXPECTED))
def test_building_counts_and_bounds(rel):
    n, parts, bounds = EXPECTED[rel]
    city = read(rel)
    assert len(city.buildings) == n
    assert int(city.buildings.table["parts"].sum()) == parts
    np.testing.assert_allclose(city.buildings.mesh.bounds(), bounds, atol=1e-3)


# total surface area (outer rings minus holes, Newell) and xy area of downward faces,
# computed with plain json from the source polygons at each object's highest LoD
AREAS = {
    "3dbag/cjseq_3dbag_b2.city.json": (1527.1772614867127, 301.50246650088957),
    "cjio/delft.json": (26302.521836068598, 0.0),
    "cjio/rotterdam/rotterdam_subset.json": (10636.27783771767, 2187.967225499993),
    "cjio/DH_01_subs.city.json": (1730.834926113198, 247.81791100042756),
    "cjio/cube.json": (6.0, 1.0),
}


@pytest.mark.parametrize("rel", sorted(AREAS))
def test_triangulated_area_matches_source_polygons(rel):
    total, ground_xy = AREAS[rel]
    mesh = read(rel).buildings.mesh
    v, t = mesh.vertices, mesh.triangles
    nz = np.cross(v[t[:, 1]] - v[t[:, 0]], v[t[:, 2]] - v[t[:, 0]])[:, 2]
    assert triangle_areas(mesh).sum() == pytest.approx(total, rel=1e-5)
    assert 0.5 * np.clip(-nz, 0, None).sum() == pytest.approx(ground_xy, rel=1e-6, abs=1e-6)


def test_cityjson_and_cityjsonseq_give_the_same_buildings():
    a = read("3dbag/cjseq_3dbag_b2.city.json")
    b = read("3dbag/cjseq_3dbag_b2.city.jsonl")
    ia, ib = np.argsort(a.buildings.table["id"]), np.argsort(b.buildings.table["id"])
    assert list(a.buildings.table["id"][ia]) == list(b.buildings.table["id"][ib])
    for col in ("footprint_area", "height", "ground_elevation", "parts"):
        np.testing.assert_allclose(a.buildings.table[col][ia], b.buildings.table[col][ib], rtol=1e-12)
    np.testing.assert_allclose(a.buildings.mesh.bounds(), b.buildings.mesh.bounds(), rtol=0, atol=1e-9)
    assert a.buildings.mesh.n_triangles == b.buildings.mesh.n_triangles == 245
    assert a.crs == b.crs == "EPSG:7415"


def test_3dbag_semantics_attributes_and_table():
    city = read("3dbag/cjseq_3dbag_b2.city.json")
    b = city.buildings
    counts = np.bincount(b.mesh.triangle_surface, minlength=4)
    assert counts[SURFACE_CODE["ground"]] > 0 and counts[SURFACE_CODE["wall"]] > 0 and counts[SURFACE_CODE["roof"]] > 0
    row = list(b.table["id"]).index("NL.IMBAG.Pand.0503100000031927")
    attrs = b.attributes[row]
    assert attrs["b3_h_maaiveld"] == pytest.approx(b.table["ground_elevation"][row])  # 3DBAG ground level
    assert list(attrs["parts"]) == ["NL.IMBAG.Pand.0503100000031927-0"]
    assert attrs["parts"]["NL.IMBAG.Pand.0503100000031927-0"]["type"] == "BuildingPart"
    # footprint 145.69 + 155.81 m2 = the GroundSurface xy area computed from the source
    assert b.table["footprint_area"].sum() == pytest.approx(301.50246650088957, rel=1e-6)


def test_delft_context_layers_and_speed():
    start = time.perf_counter()
    city = read("cjio/delft.json")
    elapsed = time.perf_counter() - start
    assert elapsed < 3.0, f"delft.json took {elapsed:.2f} s"
    # 143 Road, 81 LandUse, 126 PlantCover, 3 WaterBody, 54 GenericCityObject + 3 Bridge
    assert {k: v.n_features for k, v in city.layers.items()} == {
        "roads": 143, "landuse": 81, "vegetation": 126, "water": 3, "other": 57}
    assert set(city.layers["other"].feature_kind) == {"GenericCityObject", "Bridge"}
    assert city.crs == "EPSG:7415"
    assert city.origin.tolist() == [84825.0, 447456.0, -1.0]
    assert city.bounds[:2] == pytest.approx((84616.468, 447422.999), abs=1e-3)  # metadata extent


# ---------------------------------------------------------------- LoD choice

@pytest.mark.parametrize("lod, zmax, n_triangles", [
    (None, 13.987, 348), ("2.2", 13.987, 348), ("2", 13.987, 348),
    ("1.2", 12.787, 180), ("1.3", 12.987, 224), ("1", 12.987, 224),  # "1": highest 1.x
    ("3", 13.987, 348),  # absent: highest below
    ("0", 12.787, 180),  # nothing below: the lowest there is
])
def test_lod_choice(lod, zmax, n_triangles):
    city = read("cjio/multi_lod.json", lod=lod)
    assert len(city.buildings) == 10
    assert city.buildings.mesh.bounds()[5] == pytest.approx(zmax, abs=1e-6)
    assert city.buildings.mesh.n_triangles == n_triangles


def test_bad_lod_argument_is_an_input_error():
    with pytest.raises(InputError, match="LoD"):
        read("cjio/cube.json", lod="high")


# ---------------------------------------------------------------- hand-made files

def write_city(tmp_path: Path, objects: dict, vertices: list, name: str = "c.city.json", **extra) -> Path:
    doc = {"type": "CityJSON", "version": "2.0", "transform": {"scale": [0.01, 0.01, 0.01],
                                                               "translate": [1000.0, 2000.0, 0.0]},
           "CityObjects": objects, "vertices": vertices, **extra}
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


SQUARE_WITH_HOLE = [[0, 1, 2, 3], [4, 5, 6, 7]]  # 10 m x 10 m with a 2 m x 2 m hole: 96 m2
XY_VERTICES = [[0, 0, 0], [1000, 0, 0], [1000, 1000, 0], [0, 1000, 0],
               [400, 400, 0], [400, 600, 0], [600, 600, 0], [600, 400, 0]]


def test_polygon_with_hole_triangulates_to_its_area(tmp_path):
    wall = [[x, 0, y] for x, _, y in [(v[0], 0, v[1]) for v in XY_VERTICES]]  # the same in the x-z plane
    geom = {"type": "MultiSurface", "lod": "2", "boundaries": [SQUARE_WITH_HOLE, [[8, 9, 10, 11], [12, 13, 14, 15]]],
            "semantics": {"surfaces": [{"type": "RoofSurface"}, {"type": "WallSurface"}], "values": [0, 1]}}
    path = write_city(tmp_path, {"b": {"type": "Building", "geometry": [geom]}}, XY_VERTICES + wall)
    mesh = read_cityjson(path).buildings.mesh
    areas = triangle_areas(mesh)
    roof = mesh.triangle_surface == SURFACE_CODE["roof"]
    assert areas[roof].sum() == pytest.approx(96.0, rel=1e-12)
    assert areas[~roof].sum() == pytest.approx(96.0, rel=1e-12)
    assert set(mesh.triangle_surface[~roof]) == {SURFACE_CODE["wall"]}
    # no triangle covers the hole's centre (1005, 2005)
    v, t = mesh.vertices, mesh.triangles[roof]
    centroid = v[t].mean(axis=1)
    assert not np.any((np.abs(centroid[:, 0] - 1005) < 0.5) & (np.abs(centroid[:, 1] - 2005) < 0.5))


def test_geometry_instance_applies_matrix_and_reference_point(tmp_path):
    templates = {"templates": [{"type": "MultiSurface", "lod": "1",
                                "boundaries": [[[0, 1, 2, 3]]]}],
                 "vertices-templates": [[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]]}
    scale2 = [2, 0, 0, 0, 0, 2, 0, 0, 0, 0, 2, 5, 0, 0, 0, 1]  # x2, then z + 5
    tree = {"type": "SolitaryVegetationObject",
            "geometry": [{"type": "GeometryInstance", "template": 0, "boundaries": [0],
                          "transformationMatrix": scale2}]}
    path = write_city(tmp_path, {"t": tree}, [[1000, 2000, 100]], **{"geometry-templates": templates})
    layer = read_cityjson(path).layers["vegetation"]
    assert layer.mesh.bounds() == pytest.approx((1010.0, 2020.0, 6.0, 1012.0, 2022.0, 6.0))
    assert triangle_areas(layer.mesh).sum() == pytest.approx(4.0)


def test_building_parts_merge_and_attributes(tmp_path):
    cube = {"type": "Solid", "lod": "1", "boundaries": [[[[0, 3, 2, 1]], [[4, 5, 6, 7]], [[0, 1, 5, 4]],
                                                         [[1, 2, 6, 5]], [[2, 3, 7, 6]], [[3, 0, 4, 7]]]]}
    v = [[0, 0, 0], [1000, 0, 0], [1000, 1000, 0], [0, 1000, 0],
         [0, 0, 600], [1000, 0, 600], [1000, 1000, 600], [0, 1000, 600]]
    objects = {
        "B": {"type": "Building", "children": ["P1", "P2"], "parents": ["G"],
              "attributes": {"measuredHeight": 7.5, "storeysAboveGround": "2", "function": "Hospital"},
              "geometry": [{"type": "MultiSurface", "lod": "0", "boundaries": [[[0, 1, 2, 3]]]}]},
        "P1": {"type": "BuildingPart", "parents": ["B"], "children": ["I"], "attributes": {"x": 1},
               "geometry": [cube]},
        "P2": {"type": "BuildingPart", "parents": ["B"], "geometry": [cube]},
        "I": {"type": "BuildingInstallation", "parents": ["P1"]},
        "G": {"type": "CityObjectGroup", "children": ["B"]},
        "R": {"type": "Road", "geometry": [{"type": "MultiSurface", "lod": "1", "boundaries": [[[0, 1, 2]]]}]},
    }
    city = read_cityjson(write_city(tmp_path, objects, v))
    b = city.buildings
    assert list(b.table["id"]) == ["B"] and b.table["parts"][0] == 2
    assert b.table["height"][0] == 7.5 and b.table["storeys"][0] == 2 and b.table["use"][0] == "hospital"
    assert b.mesh.n_triangles == 24  # two 12-triangle cubes; B's own LoD0 footprint left out
    assert b.attributes[0]["function"] == "Hospital"
    assert b.attributes[0]["parts"] == {"P1": {"type": "BuildingPart", "attributes": {"x": 1}},
                                        "P2": {"type": "BuildingPart", "attributes": {}},
                                        "I": {"type": "BuildingInstallation", "attributes": {}}}
    assert list(city.layers) == ["roads"] and city.layers["roads"].feature_id.tolist() == ["R"]
    assert city.layers["roads"].mesh.n_triangles == 1


@pytest.mark.parametrize("reference, crs", [
    ("urn:ogc:def:crs:EPSG::7415", "EPSG:7415"),
    ("https://www.opengis.net/def/crs/EPSG/0/7415", "EPSG:7415"),
    ("http://www.opengis.net/def/crs/EPSG/0/6677", "EPSG:6677"),
    ("EPSG:28992", "EPSG:28992"),
    (None, None),
])
def test_crs_from_reference_system(tmp_path, reference, crs):
    extra = {"metadata": {"referenceSystem": reference}} if reference else {}
    assert read_cityjson(write_city(tmp_path, {}, [], **extra)).crs == crs


def test_crs_of_real_files():
    assert read("cjio/delft.json").crs == "EPSG:7415"
    assert read("cjio/cube.json").crs is None


def test_cityjson_1_0_without_transform(tmp_path):
    doc = {"type": "CityJSON", "version": "1.0", "metadata": {"referenceSystem": "urn:ogc:def:crs:EPSG::2355"},
           "CityObjects": {"b": {"type": "Building", "geometry": [
               {"type": "MultiSurface", "lod": 2, "boundaries": [[[0, 1, 2]]]}]}},
           "vertices": [[0.5, 0.25, 1.0], [2.5, 0.25, 1.0], [0.5, 4.25, 1.0]]}
    path = tmp_path / "old.json"
    path.write_text(json.dumps(doc))
    city = read_cityjson(path)
    assert city.crs == "EPSG:2355"
    assert city.buildings.mesh.bounds() == (0.5, 0.25, 1.0, 2.5, 4.25, 1.0)


def test_headerless_and_pretty_printed_sequence(tmp_path):
    feature = {"type": "CityJSONFeature", "id": "f", "CityObjects": {"f": {"type": "Building", "geometry": [
        {"type": "MultiSurface", "lod": "1", "boundaries": [[[0, 1, 2]]]}]}}, "vertices": [[0, 0, 0], [2, 0, 0], [0, 2, 0]]}
    path = tmp_path / "s.city.jsonl"
    path.write_text(json.dumps(feature, indent=2) + "\n")
    city = read_cityjsonseq(path)
    assert len(city.buildings) == 1 and triangle_areas(city.buildings.mesh).sum() == pytest.approx(2.0)


# ---------------------------------------------------------------- rejection rules

def _valid_doc() -> dict:
    return {"type": "CityJSON", "version": "2.0",
            "transform": {"scale": [0.001, 0.001, 0.001], "translate": [0.0, 0.0, 0.0]},
            "CityObjects": {"b": {"type": "Building", "geometry": [
                {"type": "Solid", "lod": "1", "boundaries": [[[[0, 1, 2]], [[0, 2, 3]]]],
                 "semantics": {"surfaces": [{"type": "RoofSurface"}], "values": [[0, None]]}}]}},
            "vertices": [[0, 0, 0], [1000, 0, 0], [0, 1000, 0], [0, 0, 1000]]}


def _set(path: list, value):
    def edit(doc):
        node = doc
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        return doc
    return edit


GEOM = ["CityObjects", "b", "geometry", 0]
BAD_EDITS = {
    "wrong type": _set(["type"], "FeatureCollection"),
    "missing CityObjects": lambda d: {k: v for k, v in d.items() if k != "CityObjects"},
    "missing vertices": lambda d: {k: v for k, v in d.items() if k != "vertices"},
    "unsupported version": _set(["version"], "3.0"),
    "index out of range": _set([*GEOM, "boundaries"], [[[[0, 1, 4]]]]),
    "negative index": _set([*GEOM, "boundaries"], [[[[0, 1, -1]]]]),
    "float index": _set([*GEOM, "boundaries"], [[[[0, 1, 2.5]]]]),
    "solid as multisurface": _set([*GEOM, "boundaries"], [[[0, 1, 2]]]),
    "solid too deep": _set([*GEOM, "boundaries"], [[[[[0, 1, 2]]]]]),
    "string vertices": _set(["vertices"], [["0", "0", "0"]]),
    "two-coordinate vertex": _set(["vertices"], [[0, 0], [1, 1]]),
    "infinite vertex": _set(["vertices", 0], [1e400, 0, 0]),
    "huge integer vertex": _set(["vertices", 0], [2 ** 70, 0, 0]),
    "transform without scale": _set(["transform"], {"translate": [0, 0, 0]}),
    "zero scale": _set(["transform", "scale"], [0, 1, 1]),
    "string translate": _set(["transform", "translate"], ["a", 0, 0]),
    "missing parent": _set(["CityObjects", "b", "parents"], ["nobody"]),
    "missing child": _set(["CityObjects", "b", "children"], ["nobody"]),
    "object without type": _set(["CityObjects", "b"], {"geometry": []}),
    "unknown geometry": _set([*GEOM, "type"], "Blob"),
    "semantic index out of range": _set([*GEOM, "semantics", "values"], [[0, 5]]),
    "bad template reference": _set([*GEOM], {"type": "GeometryInstance", "template": 3, "boundaries": [0],
                                             "transformationMatrix": [1] * 16}),
    "top-level array": lambda d: [d],
}


@pytest.mark.parametrize("case", sorted(BAD_EDITS))
def test_bad_content_is_rejected(tmp_path, case):
    path = tmp_path / "bad.city.json"
    path.write_text(json.dumps(BAD_EDITS[case](_valid_doc())))
    with pytest.raises(InputError):
        read_cityjson(path)


def test_valid_base_document_loads(tmp_path):
    path = tmp_path / "ok.city.json"
    path.write_text(json.dumps(_valid_doc()))
    assert read_cityjson(path).buildings.mesh.n_triangles == 2


@pytest.mark.parametrize("text", [
    "", "   ", '{"type": "CityJSON", "version": "2.0", "CityObjects": {}, "vertices": [[NaN, 0, 0]]}',
    '{"type": "CityJSON", "version": "2.0", "CityObjects": {}, "vertices": [[Infinity, 0, 0]]}',
    '{"type": "CityJSON", "version": "2.0", "CityObjects": {}, "vertices": [[1e400, 0, 0]]}',
    '{"type": "CityJSON", "version": "2.0", "CityObjects": {}, "vertices": [[1e308, 0, 0]], '
    '"transform": {"scale": [10, 1, 1], "translate": [0, 0, 0]}}',  # overflows when transformed
    '{"type": "CityJSON", "type": "CityJSON", "version": "2.0", "CityObjects": {}, "vertices": []}',
    '{"type": "CityJSON", "version": "2.0", "CityObjects": {}, "vertices": []} {"x": 1}',
    "[" * 100000 + "]" * 100000,
])
def test_bad_json_is_rejected(tmp_path, text):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(InputError):
        read_cityjson(path)


def test_truncated_and_binary_files_are_rejected(tmp_path):
    whole = data_path("cityjson", "cjio", "delft.json").read_bytes()
    (tmp_path / "half.json").write_bytes(whole[: len(whole) // 2])
    (tmp_path / "bin.json").write_bytes(b"\xff\xfe\x00{" * 10)
    for name in ("half.json", "bin.json"):
        with pytest.raises(InputError):
            read_cityjson(tmp_path / name)


def test_sequence_rejects_bad_features(tmp_path):
    header = {"type": "CityJSON", "version": "2.0", "CityObjects": {}, "vertices": [],
              "transform": {"scale": [1, 1, 1], "translate": [0, 0, 0]}}
    feature = {"type": "CityJSONFeature", "id": "a", "CityObjects": {"a": {"type": "Building"}}, "vertices": []}
    cases = [[header, header], [header, {**feature, "type": "CityJSONFeatur"}],
             [header, feature, feature], [header, {**feature, "id": "zz"}]]
    for k, docs in enumerate(cases):
        path = tmp_path / f"s{k}.jsonl"
        path.write_text("\n".join(json.dumps(d) for d in docs) + "\n")
        with pytest.raises(InputError):
            read_cityjsonseq(path)
