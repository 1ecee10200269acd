"""OBJ / PLY / STL reading: one building per object, group or component; float64 kept; bad input."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import data_path
from twin3d.errors import InputError
from twin3d.io.meshfile import read_mesh
from twin3d.model.mesh import SURFACE_CODE

DELFT = ("mesh", "delft_3dfier", "testarea.obj")

# a 10 x 20 x 6 m box at national-grid coordinates, as 6 quads (outward, z up)
BOX_V = np.array([[0, 0, 0], [10, 0, 0], [10, 20, 0], [0, 20, 0],
                  [0, 0, 6], [10, 0, 6], [10, 20, 6], [0, 20, 6]], dtype=np.float64)
BOX_QUADS = [[1, 4, 3, 2], [5, 6, 7, 8], [1, 2, 6, 5], [2, 3, 7, 6], [3, 4, 8, 7], [4, 1, 5, 8]]
SHIFT = np.array([85012.343, 447455.577, 0.88])


def _box_obj(offset=SHIFT, base=0) -> str:
    lines = [f"v {float(x)!r} {float(y)!r} {float(z)!r}" for x, y, z in BOX_V + offset]
    lines += ["f " + " ".join(str(i + base) for i in q) for q in BOX_QUADS]
    return "\n".join(lines) + "\n"


def _write(tmp_path: Path, text: str | bytes, name: str = "m.obj") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def _parse_objects(path: Path) -> dict[str, np.ndarray]:
    """Independent plain-Python parse: the vertices each object's faces use (triangles only)."""
    verts, used, current = [], {}, None
    for line in path.read_text().splitlines():
        t = line.split()
        if t and t[0] == "v":
            verts.append([float(x) for x in t[1:4]])
        elif t and t[0] == "o":
            current = t[1]
        elif t and t[0] == "f":
            used.setdefault(current, []).extend(int(r.split("/")[0]) - 1 for r in t[1:])
    verts = np.array(verts)
    return {k: verts[sorted(set(v))] for k, v in used.items()}


def test_delft_obj_buildings_layers_and_exact_coordinates():
    path = data_path(*DELFT)
    start = time.perf_counter()
    city = read_mesh(path, crs="EPSG:7415")
    elapsed = time.perf_counter() - start
    assert elapsed < 5.0  # measured ~0.15 s on one core
    b = city.buildings
    # SOURCE.md: 570 objects, 28,619 triangles; 160 objects are Building/BuildingWall
    assert len(b) == 160
    n_layer_objects = sum(layer.n_features for layer in city.layers.values())
    assert len(b) + n_layer_objects == 570
    assert b.mesh.n_triangles + sum(layer.mesh.n_triangles for layer in city.layers.values()) == 28619
    assert sorted(city.layers) == ["bridges", "landuse", "roads", "vegetation", "water"]
    assert city.crs == "EPSG:7415"
    expected = _parse_objects(path)
    for k in (0, 57, 159):
        v = b.mesh.vertices[np.unique(b.mesh.triangles[b.mesh.triangle_feature == k])]
        ref = expected[b.table["id"][k]]
        # float64 all the way: identical to the text, so centimetres survive at x ~ 85,000 m
        np.testing.assert_array_equal(np.unique(v, axis=0), np.unique(ref, axis=0))
        assert b.table["height"][k] == pytest.approx(ref[:, 2].max() - ref[:, 2].min(), abs=1e-9)
    assert 84_800 < b.mesh.vertices[:, 0].min() and b.mesh.vertices[:, 1].max() < 447_700
    # z up: heights of 2-14 m, walls are the BuildingWall material
    assert 0 < np.nanmin(b.table["height"]) and np.nanmax(b.table["height"]) < 15
    assert np.count_nonzero(b.mesh.triangle_surface == SURFACE_CODE["wall"]) == 3066


def test_quads_become_a_closed_outward_box_at_full_precision(tmp_path):
    city = read_mesh(_write(tmp_path, "o house\n" + _box_obj()))
    b = city.buildings
    assert len(b) == 1 and b.table["id"][0] == "house"
    assert b.mesh.n_triangles == 12
    assert b.table["footprint_area"][0] == pytest.approx(200.0, abs=1e-6)
    assert b.table["height"][0] == pytest.approx(6.0, abs=1e-9)
    assert b.table["ground_elevation"][0] == 0.88
    np.testing.assert_array_equal(b.mesh.vertices.min(axis=0), SHIFT)
    v, t = b.mesh.vertices - SHIFT, b.mesh.triangles
    volume = np.einsum("ij,ij->i", v[t[:, 0]], np.cross(v[t[:, 1]], v[t[:, 2]])).sum() / 6.0
    assert volume == pytest.approx(1200.0, rel=1e-12)


def test_concave_quad_and_pentagon_keep_their_area(tmp_path):
    text = ("v 0 0 0\nv 4 0 0\nv 1 1 0\nv 0 4 0\n"  # concave (arrow) quad, area 4
            "v 10 0 0\nv 14 0 0\nv 14 3 0\nv 12 1 0\nv 10 3 0\n"  # concave pentagon, area 8
            "g a\nf 1 2 3 4\ng b\nf 5 6 7 8 9\n")
    b = read_mesh(_write(tmp_path, text)).buildings
    np.testing.assert_array_equal(b.table["id"], ["a", "b"])
    np.testing.assert_allclose(b.table["footprint_area"], [4.0, 8.0], atol=1e-12)


def _slashed(line: str) -> str:
    """Face references in the v/vt/vn and v//vn forms."""
    refs = line.split()[1:]
    return "f " + " ".join(f"{r}/1/1" if k % 2 else f"{r}//1" for k, r in enumerate(refs))


def test_groups_negative_indices_and_slash_forms(tmp_path):
    right = _box_obj(np.array([30.0, 0, 0]), base=-9)  # faces use -8..-1: the 8 vertices just read
    right = "\n".join(_slashed(x) if x.startswith("f ") else x for x in right.splitlines())
    text = ("# two buildings as groups\nmtllib x.mtl\nvt 0 0\nvn 0 0 1\ns off\n"
            "g left\n" + _box_obj(np.zeros(3)) + "g right\n" + right + "\n")
    b = read_mesh(_write(tmp_path, text)).buildings
    np.testing.assert_array_equal(b.table["id"], ["left", "right"])
    assert b.mesh.n_triangles == 24
    np.testing.assert_allclose(b.table["footprint_area"], [200.0, 200.0])
    x_right = b.mesh.vertices[np.unique(b.mesh.triangles[b.mesh.triangle_feature == 1]), 0]
    assert (x_right.min(), x_right.max()) == (30.0, 40.0)


def test_obj_without_groups_splits_into_components(tmp_path):
    text = _box_obj(np.zeros(3)) + _box_obj(np.array([50.0, 0, 0]), base=8)
    b = read_mesh(_write(tmp_path, text)).buildings
    assert len(b) == 2
    np.testing.assert_allclose(b.table["height"], [6.0, 6.0])
    first = b.mesh.vertices[np.unique(b.mesh.triangles[b.mesh.triangle_feature == 0])]
    assert first[:, 0].max() == 10.0  # components numbered in file order


def _two_boxes_open3d(offset: np.ndarray):
    import open3d as o3d

    meshes = []
    for dx in (0.0, 40.0):
        box = o3d.geometry.TriangleMesh.create_box(10.0, 20.0, 6.0)
        box.translate(offset + np.array([dx, 0.0, 0.0]))
        meshes.append(box)
    return meshes[0] + meshes[1]


def _ascii_stl(v: np.ndarray, t: np.ndarray) -> str:
    facets = []
    for tri in t:
        corners = "".join(f"      vertex {x!r} {y!r} {z!r}\n" for x, y, z in v[tri].tolist())
        facets.append(f"  facet normal 0 0 0\n    outer loop\n{corners}    endloop\n  endfacet\n")
    return "solid boxes\n" + "".join(facets) + "endsolid boxes\n"


@pytest.mark.parametrize("name, ascii_", [("b.ply", False), ("b.ply", True), ("b.stl", False),
                                          ("b.stl", True)])
def test_ply_and_stl_one_building_per_component(tmp_path, name, ascii_):
    import open3d as o3d

    mesh = _two_boxes_open3d(np.array([100.0, 200.0, 3.0]))
    mesh.compute_triangle_normals()
    path = tmp_path / name
    if name.endswith(".stl") and ascii_:  # open3d writes binary STL only
        path.write_text(_ascii_stl(np.asarray(mesh.vertices), np.asarray(mesh.triangles)))
    else:
        assert o3d.io.write_triangle_mesh(str(path), mesh, write_ascii=ascii_)
    city = read_mesh(path, crs="EPSG:28992")
    b = city.buildings
    assert len(b) == 2 and city.crs == "EPSG:28992"
    assert b.mesh.n_triangles == 24
    np.testing.assert_allclose(b.table["footprint_area"], [200.0, 200.0], rtol=1e-6)
    np.testing.assert_allclose(b.table["height"], [6.0, 6.0], rtol=1e-6)
    np.testing.assert_allclose(b.table["ground_elevation"], [3.0, 3.0])


def test_ply_keeps_float64_coordinates(tmp_path):
    import open3d as o3d

    mesh = _two_boxes_open3d(SHIFT + 0.004)
    path = tmp_path / "d.ply"
    assert o3d.io.write_triangle_mesh(str(path), mesh)
    b = read_mesh(path).buildings
    np.testing.assert_allclose(b.mesh.vertices.min(axis=0), SHIFT + 0.004, atol=1e-9)


@pytest.mark.parametrize("name, content, reason", [
    ("e.obj", b"", "empty"),
    ("n.obj", b"v 0 0 0\nv 1 0 0\nv 0 1 0\n", "no faces"),
    ("nan.obj", b"v nan 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n", "NaN"),
    ("inf.obj", b"v 1e999 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n", "NaN or infinity"),
    ("r.obj", b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 4\n", "out of range"),
    ("z.obj", b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 0 1 2\n", "out of range"),
    ("neg.obj", b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf -1 -2 -4\n", "out of range"),
    ("g.obj", b"v 0 0 0\nhello world\n", "line 2"),
    ("x.obj", b"v 0 zero 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n", "not numbers"),
    ("s.obj", b"v 0 0\n", "line 1"),
    ("f.obj", b"v 0 0 0\nv 1 0 0\nf 1 2\n", "at least 3"),
    ("a.obj", b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 b 3\n", "not integers"),
    ("bin.obj", bytes(range(256)) * 8, "binary"),
    ("bin.ply", bytes(range(256)) * 8, "PLY"),
    ("bin.stl", b"\x00" * 80 + (5).to_bytes(4, "little") + b"\x01" * 60, "size"),
    ("short.stl", b"\x00" * 40, "STL"),
    ("trunc.ply", b"ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\n"
                  b"property float z\nelement face 1\nproperty list uchar int vertex_indices\n"
                  b"end_header\n0 0 0\n1 0 0\n", "no faces"),
    ("m.xyz", b"1 2 3\n", "must be"),
])
def test_bad_mesh_files_raise_input_error(tmp_path, name, content, reason):
    path = _write(tmp_path, content, name)
    with pytest.raises(InputError, match=reason) as err:
        read_mesh(path)
    assert name in str(err.value)


def test_unknown_crs_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="coordinate reference system"):
        read_mesh(_write(tmp_path, _box_obj()), crs="EPSG:not-a-code")
