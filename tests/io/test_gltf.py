"""glTF 2.0 reader and writer, checked on the Khronos samples, the glTF-Validator corpus and real data."""

from __future__ import annotations

import base64
import itertools
import json
import struct
import warnings
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import DATA, data_path
from twin3d.errors import InputError
from twin3d.io import gltf_write as gltf_write_module
from twin3d.io.gltf import read_gltf
from twin3d.io.gltf_write import write_gltf
from twin3d.model import Buildings, City, Mesh, complete_table
from twin3d.model.buildings import COLUMNS

GLTF_SUFFIXES = (".gltf", ".glb")
KHRONOS = sorted(p for p in DATA.glob("gltf/khronos*/**/*") if p.suffix in GLTF_SUFFIXES)
VALIDATOR = sorted(p for p in DATA.glob("gltf/validator/**/*") if p.suffix in GLTF_SUFFIXES)


def _ids(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(DATA / "gltf")) for p in paths]


# -- an independent route to the expected geometry: JSON min/max boxes through node matrices -----
def _json_of(path: Path) -> dict:
    raw = path.read_bytes()
    if raw[:4] == b"glTF":
        (size,) = struct.unpack_from("<I", raw, 12)
        return json.loads(raw[20:20 + size])
    return json.loads(raw)


def _local(node: dict) -> np.ndarray:
    from scipy.spatial.transform import Rotation

    if "matrix" in node:
        return np.array(node["matrix"], dtype=float).reshape(4, 4, order="F")
    m = np.eye(4)
    m[:3, :3] = Rotation.from_quat(node.get("rotation", [0, 0, 0, 1])).as_matrix() @ np.diag(
        node.get("scale", [1, 1, 1]))
    m[:3, 3] = node.get("translation", [0, 0, 0])
    return m


def _mesh_nodes(doc: dict):
    """(node, world matrix) for each mesh node under the default scene, recursively."""
    def walk(i, parent):
        world = parent @ _local(doc["nodes"][i])
        if "mesh" in doc["nodes"][i]:
            yield doc["nodes"][i], world
        for c in doc["nodes"][i].get("children", []):
            yield from walk(c, world)

    for root in doc["scenes"][doc.get("scene", 0)]["nodes"]:
        yield from walk(root, np.eye(4))


def _expected(doc: dict) -> tuple[np.ndarray, int, int]:
    """Bounds (z-up) from accessor min/max corners, triangle count and mesh-node count."""
    corners, triangles, nodes = [], 0, 0
    for node, world in _mesh_nodes(doc):
        nodes += 1
        for prim in doc["meshes"][node["mesh"]]["primitives"]:
            acc = doc["accessors"][prim["attributes"]["POSITION"]]
            box = np.array(list(itertools.product(*zip(acc["min"], acc["max"]))))
            corners.append(box @ world[:3, :3].T + world[:3, 3])
            count = doc["accessors"][prim["indices"]]["count"] if "indices" in prim else acc["count"]
            triangles += count // 3
    xyz = np.concatenate(corners)
    zup = np.stack([xyz[:, 0], -xyz[:, 2], xyz[:, 1]], axis=1)
    return np.r_[zup.min(axis=0), zup.max(axis=0)], triangles, nodes


@pytest.mark.parametrize("path", KHRONOS, ids=_ids(KHRONOS))
def test_khronos_sample_matches_accessor_bounds(path):
    city = read_gltf(path)
    bounds, triangles, nodes = _expected(_json_of(path))
    assert city.buildings.mesh.n_triangles == triangles
    assert len(city.buildings) == nodes
    assert city.crs is None
    np.testing.assert_allclose(city.bounds, bounds, rtol=0, atol=1e-6 * max(1.0, np.abs(bounds).max()))


def test_khronos_samples_are_present():
    data_path("gltf", "khronos")
    assert len(KHRONOS) >= 10


def test_box_variants_and_two_cubes_hand_checked():
    boxes = [read_gltf(data_path("gltf", *p)) for p in (
        ("khronos", "Box_glTF", "Box.gltf"), ("khronos", "Box_glTF-Embedded", "Box.gltf"),
        ("khronos", "Box_glTF-Binary", "Box.glb"), ("khronos_glb", "BoxInterleaved.glb"))]
    for box in boxes:  # external .bin, base64 data URI, GLB chunk, interleaved stride 24
        assert box.bounds == pytest.approx((-0.5, -0.5, -0.5, 0.5, 0.5, 0.5))
        np.testing.assert_array_equal(box.buildings.mesh.vertices, boxes[0].buildings.mesh.vertices)
        np.testing.assert_array_equal(box.buildings.mesh.triangles, boxes[0].buildings.mesh.triangles)
    cubes = read_gltf(data_path("gltf", "khronos", "TwoCubes.glb"))  # u8 indices, TRS nodes at x = +-2
    assert list(cubes.buildings.table["id"]) == ["CubeA", "CubeB"]
    assert cubes.bounds == pytest.approx((-3, -1, -1, 3, 1, 1), abs=1e-6)
    first = cubes.buildings.mesh.vertices[cubes.buildings.mesh.triangles[cubes.buildings.mesh.triangle_feature == 0]]
    assert first[..., 0].min() == pytest.approx(1.0, abs=1e-6)
    assert cubes.buildings.table["height"] == pytest.approx([2.0, 2.0], abs=1e-5)
    assert cubes.buildings.table["footprint_area"] == pytest.approx([4.0, 4.0], abs=1e-5)


def test_non_ascii_percent_encoded_buffer_name():
    path = data_path("gltf", "khronos", "EncodingTest", "Unicode ❤♻ Test.gltf")
    city = read_gltf(path)
    assert city.buildings.mesh.n_triangles == 2
    assert city.bounds == pytest.approx((0, 0, 0, 1, 0, 1))  # the y-up unit square stands up in z


def test_non_indexed_building_keeps_its_storeys():
    city = read_gltf(data_path("gltf", "misc", "no_indices_3storybuilding.glb"))
    b = city.buildings
    assert list(b.table["id"]) == ["floor_0", "floor_1", "floor_2"]
    assert np.bincount(b.mesh.triangle_feature).tolist() == [24, 24, 24]
    # the root node turns the z-up source into y-up; with our y-up -> z-up the floors stand at 0/3/6 m
    assert b.table["ground_elevation"] == pytest.approx([0, 3, 6], abs=1e-9)
    assert b.table["height"] == pytest.approx([3, 3, 3], abs=1e-9)
    assert city.bounds == pytest.approx((-23.207141876, -63.361408234, 0, 32.873001099, 0, 9), abs=1e-6)


def test_empty_nodes_give_an_empty_city():
    city = read_gltf(data_path("gltf", "misc", "empty_nodes.glb"))
    assert len(city.buildings) == 0 and city.bounds is None and city.crs is None


# -- the glTF-Validator corpus ------------------------------------------------------------------
# Errors that leave no faithful geometry: they must give InputError when they concern what the
# reader uses (buffers, views, accessors, meshes' POSITION/indices, the node tree, the root).
BREAKING = {
    "INVALID_JSON", "TYPE_MISMATCH", "UNDEFINED_PROPERTY", "UNRESOLVED_REFERENCE", "IO_ERROR",
    "INVALID_URI", "BUFFER_BYTE_LENGTH_MISMATCH", "BUFFER_MISSING_GLB_DATA", "BUFFER_VIEW_TOO_LONG",
    "ACCESSOR_TOO_LONG", "ACCESSOR_SMALL_BYTESTRIDE", "ACCESSOR_SPARSE_COUNT_OUT_OF_RANGE",
    "ACCESSOR_INDEX_OOB", "NODE_LOOP", "MESH_PRIMITIVE_INDICES_ACCESSOR_INVALID_FORMAT",
    "MESH_PRIMITIVE_ATTRIBUTES_ACCESSOR_INVALID_FORMAT",
}
GEOMETRY_POINTERS = ("/buffers", "/bufferViews", "/accessors", "/meshes", "/nodes", "/scenes")
NOT_GEOMETRY_PARTS = ("/material", "/targets", "/camera", "/skin", "/weights")


def _breaks_geometry(message: dict) -> bool:
    if message["severity"] != 0:
        return False
    if message["code"].startswith("GLB_"):
        return True
    pointer = message.get("pointer", "")
    if message["code"] not in BREAKING:
        return False
    if pointer in ("", "/"):
        return True
    if pointer.startswith("/meshes") and "/attributes/" in pointer:
        return pointer.endswith("/POSITION")
    return pointer.startswith(GEOMETRY_POINTERS) and not any(p in pointer for p in NOT_GEOMETRY_PARTS)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("path", VALIDATOR, ids=_ids(VALIDATOR))
def test_validator_file_loads_or_gives_input_error(path):
    report = json.loads(path.with_name(path.name + ".report.json").read_text())
    messages = report["issues"]["messages"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            city = read_gltf(path)
        except InputError as exc:
            city, error = None, exc
    if any(_breaks_geometry(m) for m in messages):
        assert city is None, f"expected InputError for {[m['code'] for m in messages]}"
    elif report["issues"]["numErrors"] == 0:
        # valid files load, unless their geometry sits in a .gltf buffer that has no uri (no data)
        if city is None:
            assert "no uri" in error.reason, error.reason
    if city is None:
        assert str(path) in str(error) and "\n" not in str(error)


def test_validator_corpus_is_present():
    data_path("gltf", "validator")
    assert len(VALIDATOR) >= 150


@pytest.mark.timeout(60)
def test_mutated_glb_never_raises_another_exception(tmp_path):
    raw = data_path("gltf", "khronos", "Box_glTF-Binary", "Box.glb").read_bytes()
    rng = np.random.default_rng(7)
    variants = [raw[:n] for n in range(0, len(raw), 13)]
    for _ in range(300):
        data = bytearray(raw)
        for pos in rng.integers(0, len(raw), rng.integers(1, 4)):
            data[pos] = rng.integers(0, 256)
        variants.append(bytes(data))
    outcomes = {"city": 0, "error": 0}
    for k, data in enumerate(variants):
        path = tmp_path / f"fuzz_{k}.glb"
        path.write_bytes(data)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                read_gltf(path)
            outcomes["city"] += 1
        except InputError:
            outcomes["error"] += 1
        finally:
            path.unlink()
    assert outcomes["error"] >= len(raw) // 13  # every truncation is refused


# -- small hand-made files -----------------------------------------------------------------------
SQUARE = np.array([[0, 0, 0], [1, 0, 0], [1, 0, -1], [0, 0, -1]], dtype=np.float32)  # y-up, z-up normal


def _make_gltf(tmp_path: Path, positions=SQUARE, indices=None, mode=4, node=None, index_type=5125,
               **doc_extra) -> Path:
    """A one-node .gltf with a base64 buffer: POSITION then (optionally) indices."""
    blob = np.asarray(positions, dtype=np.float32).tobytes()
    accessors = [{"bufferView": 0, "componentType": 5126, "count": len(positions), "type": "VEC3"}]
    views = [{"buffer": 0, "byteOffset": 0, "byteLength": len(blob)}]
    primitive = {"attributes": {"POSITION": 0}, "mode": mode}
    if indices is not None:
        ind = np.asarray(indices, dtype={5121: "<u1", 5123: "<u2", 5125: "<u4"}[index_type]).tobytes()
        views.append({"buffer": 0, "byteOffset": len(blob), "byteLength": len(ind)})
        accessors.append({"bufferView": 1, "componentType": index_type, "count": len(indices),
                          "type": "SCALAR"})
        primitive["indices"] = 1
        blob += ind
    doc = {"asset": {"version": "2.0"}, "scene": 0, "scenes": [{"nodes": [0]}],
           "nodes": [node if node is not None else {"mesh": 0}], "meshes": [{"primitives": [primitive]}],
           "accessors": accessors, "bufferViews": views,
           "buffers": [{"byteLength": len(blob),
                        "uri": "data:application/octet-stream;base64," + base64.b64encode(blob).decode()}]}
    doc.update(doc_extra)
    path = tmp_path / "case.gltf"
    path.write_text(json.dumps(doc))
    return path


def test_strip_and_fan_become_consistently_wound_triangles(tmp_path):
    strip = read_gltf(_make_gltf(tmp_path, indices=[0, 1, 3, 2], mode=5)).buildings.mesh
    assert strip.triangles.tolist() == [[0, 1, 3], [1, 2, 3]]  # odd triangle: v1, v3, v2
    fan = read_gltf(_make_gltf(tmp_path, indices=[0, 1, 2, 3], mode=6)).buildings.mesh
    assert fan.triangles.tolist() == [[1, 2, 0], [2, 3, 0]]
    for mesh in (strip, fan):
        a, b, c = (mesh.vertices[mesh.triangles[:, k]] for k in range(3))
        normals = np.cross(b - a, c - a)
        np.testing.assert_allclose(normals[:, 2], [1.0, 1.0])  # both up after y-up -> z-up
        assert mesh.bounds() == pytest.approx((0, 0, 0, 1, 1, 0))


def test_u8_u16_indices_and_non_indexed_agree(tmp_path):
    meshes = [read_gltf(_make_gltf(tmp_path, indices=[0, 1, 2, 0, 2, 3], index_type=t)).buildings.mesh
              for t in (5121, 5123, 5125)]
    for mesh in meshes:
        np.testing.assert_array_equal(mesh.triangles, [[0, 1, 2], [0, 2, 3]])
    loose = read_gltf(_make_gltf(tmp_path, positions=SQUARE[[0, 1, 2, 0, 2, 3]])).buildings
    assert loose.table["footprint_area"][0] == pytest.approx(1.0)


def test_trs_node_transform_and_extras(tmp_path):
    from scipy.spatial.transform import Rotation

    q = Rotation.from_euler("xyz", [30, 45, 60], degrees=True).as_quat()
    node = {"mesh": 0, "name": "town hall", "translation": [10, 20, 30], "rotation": q.tolist(),
            "scale": [2, 3, 4], "extras": {"use": "public", "floors": 3}}
    city = read_gltf(_make_gltf(tmp_path, indices=[0, 1, 2, 0, 2, 3], node=node,
                                meshes=[{"primitives": [{"attributes": {"POSITION": 0}, "indices": 1}],
                                         "extras": {"source": "survey", "floors": 1}}]))
    yup = Rotation.from_quat(q).apply(SQUARE * [2, 3, 4]) + [10, 20, 30]
    np.testing.assert_allclose(city.buildings.mesh.vertices, yup[:, [0, 2, 1]] * [1, -1, 1], atol=1e-5)
    assert city.buildings.table["id"][0] == "town hall"
    assert city.buildings.attributes[0] == {"source": "survey", "floors": 3, "use": "public"}


def test_sparse_accessor_overrides_base_values(tmp_path):
    moved = np.array([5.0, 6.0, 7.0], dtype=np.float32)
    blob = SQUARE.tobytes() + np.array([2], "<u4").tobytes() + moved.tobytes()
    path = _make_gltf(tmp_path)
    doc = json.loads(path.read_text())
    doc["buffers"][0] = {"byteLength": len(blob),
                         "uri": "data:application/octet-stream;base64," + base64.b64encode(blob).decode()}
    doc["bufferViews"] += [{"buffer": 0, "byteOffset": 48, "byteLength": 4},
                           {"buffer": 0, "byteOffset": 52, "byteLength": 12}]
    doc["accessors"][0]["sparse"] = {"count": 1, "indices": {"bufferView": 1, "componentType": 5125},
                                     "values": {"bufferView": 2}}
    path.write_text(json.dumps(doc))
    mesh = read_gltf(path).buildings.mesh
    np.testing.assert_allclose(mesh.vertices[2], [5.0, -7.0, 6.0])


@pytest.mark.parametrize(("case", "reason"), [
    ({"indices": [0, 1, 4]}, "index 4 >= vertex count 4"),
    ({"positions": np.where(np.eye(4, 3) == 1, np.nan, SQUARE)}, "NaN"),
    ({"extensionsRequired": ["KHR_draco_mesh_compression"]}, "unsupported extension"),
    ({"node": {"mesh": 0, "rotation": [0, 0, 0, 0]}}, "zero quaternion"),
    ({"node": {"mesh": 0, "children": [0]}}, "own child"),
    ({"asset": {"version": "1.0"}}, "version"),
    ({"buffers": [{"byteLength": 64, "uri": "data:application/octet-stream;base64,AAAA"}]}, "fewer than"),
    ({"buffers": [{"byteLength": 48, "uri": "missing%20file.bin"}]}, "missing file.bin"),
    ({"bufferViews": [{"buffer": 0, "byteOffset": 8, "byteLength": 48}]}, "does not fit buffer"),
    ({"accessors": [{"bufferView": 0, "componentType": 5126, "count": 5, "type": "VEC3"}]}, "does not fit"),
    ({"accessors": [{"bufferView": 0, "componentType": 5126, "type": "VEC3"}]}, "'count' is missing"),
    ({"accessors": [{"bufferView": 0, "componentType": 5130, "count": 4, "type": "VEC3"}]}, "VEC3 FLOAT"),
])
def test_bad_files_give_one_input_error(tmp_path, case, reason):
    with pytest.raises(InputError, match=reason.replace("(", r"\(")):
        read_gltf(_make_gltf(tmp_path, **case))


def test_json_with_nan_literal_is_refused(tmp_path):
    path = _make_gltf(tmp_path, node={"mesh": 0, "translation": [0, 0, 0]})
    path.write_text(path.read_text().replace('"translation": [0, 0, 0]', '"translation": [NaN, 0, 0]'))
    with pytest.raises(InputError, match="invalid JSON"):
        read_gltf(path)


# -- writer ----------------------------------------------------------------------------------------
def _read_obj(path: Path) -> City:
    """A deliberately tiny OBJ parse (v / f / o lines), independent of twin3d's own readers."""
    vertices, faces, features, feature = [], [], [], 0
    for line in path.read_text().splitlines():
        if line.startswith("v "):
            vertices.append([float(x) for x in line.split()[1:4]])
        elif line.startswith("f "):
            faces.append([int(t.split("/")[0]) - 1 for t in line.split()[1:4]])
            features.append(feature)
        elif line.startswith("o "):
            feature += 1 if faces else 0
    n = max(features) + 1
    table = {"id": np.array([f"obj{i}" for i in range(n)], dtype=object)}
    attrs = [{"source": "3dfier", "rank": i, "score": np.float32(0.5), "missing": float("nan")} for i in range(n)]
    buildings = complete_table(Buildings(Mesh(vertices, faces, features), table, attrs))
    return City(name="delft", crs="EPSG:7415", buildings=buildings)


def _assert_same_city(city: City, back: City, tol: float) -> None:
    a, b = city.buildings, back.buildings
    assert back.buildings.mesh.n_triangles == a.mesh.n_triangles
    np.testing.assert_allclose(back.bounds, city.bounds, rtol=0, atol=tol)
    corners = a.mesh.vertices[a.mesh.triangles] - b.mesh.vertices[b.mesh.triangles]
    assert np.abs(corners).max() < tol
    np.testing.assert_array_equal(b.mesh.triangle_feature, a.mesh.triangle_feature)
    assert list(b.table["id"]) == list(a.table["id"])
    np.testing.assert_array_equal(back.origin, city.origin)
    assert back.crs == city.crs and back.name == city.name


@pytest.mark.parametrize("suffix", GLTF_SUFFIXES)
def test_national_grid_city_round_trips_to_a_millimetre(tmp_path, suffix):
    city = _read_obj(data_path("mesh", "delft_3dfier", "testarea.obj"))
    assert city.bounds[0] > 84000 and city.bounds[1] > 446000
    out = tmp_path / f"delft{suffix}"
    write_gltf(city, out)
    back = read_gltf(out)
    _assert_same_city(city, back, tol=1e-3)
    assert back.buildings.attributes[3] == {"source": "3dfier", "rank": 3, "score": 0.5, "missing": None}
    for col in COLUMNS:  # the table travels exactly in node extras
        np.testing.assert_array_equal(back.buildings.table[col], city.buildings.table[col])


def test_glb_structure_per_building_nodes_with_bounds(tmp_path):
    import pygltflib

    city = _read_obj(data_path("mesh", "delft_3dfier", "testarea.obj"))
    out = tmp_path / "delft.glb"
    write_gltf(city, out)
    gltf = pygltflib.GLTF2.load(str(out))  # an independent reader of our output
    blob = gltf.binary_blob()
    assert len(gltf.nodes) == len(city.buildings) + 1
    root = gltf.nodes[gltf.scenes[gltf.scene].nodes[0]]
    assert root.translation == pytest.approx([city.origin[0], city.origin[2], -city.origin[1]])
    assert gltf.asset.extras["twin3d_origin"] == city.origin.tolist()
    for mesh in gltf.meshes[:50]:
        acc = gltf.accessors[mesh.primitives[0].attributes.POSITION]
        view = gltf.bufferViews[acc.bufferView]
        xyz = np.frombuffer(blob, "<f4", acc.count * 3, view.byteOffset + acc.byteOffset).reshape(-1, 3)
        assert acc.min == xyz.min(axis=0).tolist() and acc.max == xyz.max(axis=0).tolist()
    assert gltf.nodes[1].name == "obj0" and gltf.nodes[1].extras["rank"] == 0


def test_big_city_is_written_in_chunks_with_a_building_attribute(tmp_path, monkeypatch):
    monkeypatch.setattr(gltf_write_module, "PER_NODE_LIMIT", 100)
    monkeypatch.setattr(gltf_write_module, "CHUNK_BUILDINGS", 64)
    city = _read_obj(data_path("mesh", "delft_3dfier", "testarea.obj"))
    out = tmp_path / "delft.glb"
    write_gltf(city, out)
    doc = _json_of(out)
    n = len(city.buildings)
    assert len(doc["meshes"]) == -(-n // 64)
    assert all("_BUILDING" in m["primitives"][0]["attributes"] for m in doc["meshes"])
    back = read_gltf(out)
    _assert_same_city(city, back, tol=1e-3)
    assert back.buildings.attributes == [
        {k: (None if k == "missing" else float(v) if k == "score" else v) for k, v in a.items()}
        for a in city.buildings.attributes]


@pytest.mark.parametrize("path", KHRONOS[:4] + KHRONOS[-3:], ids=_ids(KHRONOS[:4] + KHRONOS[-3:]))
def test_khronos_sample_round_trips(tmp_path, path):
    city = read_gltf(path)
    out = tmp_path / "again.glb"
    write_gltf(city, out)
    _assert_same_city(city, read_gltf(out), tol=1e-5)


def test_empty_city_and_refused_city(tmp_path):
    write_gltf(City(), tmp_path / "empty.glb")
    assert len(read_gltf(tmp_path / "empty.glb").buildings) == 0
    bad = City(buildings=Buildings(Mesh([[0, 0, np.nan], [1, 0, 0], [0, 1, 0]], [[0, 1, 2]], [0]),
                                   {"id": np.array(["a"], dtype=object)}))
    with pytest.raises(InputError, match="NaN"):
        write_gltf(bad, tmp_path / "bad.glb")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.glb"]  # nothing half-written
