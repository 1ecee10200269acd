"""Exports: the view as PNG, the current frame as GLB (reloaded and counted), the KPIs as CSV."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest

from tests.io.test_store import national_grid_city
from tests.scene.test_frames import GRID, frame_depth, write_results
from twin3d.scenario.results import ResultsFile, ResultsLayout, ResultsWriter, finish
from twin3d.scene.export import frame_glb, kpi_csv, screenshot_png

KPIS = {"damage_eur": ("EUR", "Damage", None), "people_by_depth": ("persons", "People by depth", ("0.1-0.3 m", ">1 m")),
        "road_connectivity": ("%", "Road connectivity", None)}


def write_results_with_kpis(path, n_frames: int = 4):
    """Results over the national-grid city with three KPIs; frame k: damage 1000 k EUR, people
    (k, 2 k), road connectivity unknown (NaN) in frame 0, then 100 - k %."""
    layout = ResultsLayout(grid=GRID, elevation=np.full(GRID.shape, 1.5), fields=("depth",), n_buildings=2,
                           building_quantities=("max_depth",), mass_balance_columns=("volume",), kpis=KPIS)
    with ResultsWriter(path, layout, {"start": "2026-02-09T08:00:00", "city_path": "", "name": "kpi test"}) as w:
        for k in range(n_frames):
            w.append_frame(900.0 * k, {"depth": frame_depth(k)}, {"max_depth": np.zeros(2)}, np.zeros(1),
                           kpis={"damage_eur": 1000.0 * k, "people_by_depth": np.array([k, 2.0 * k]),
                                 "road_connectivity": np.nan if k == 0 else 100.0 - k})
    finish(path)
    return path


@pytest.fixture
def scene(tmp_path):
    from twin3d.scene.city_scene import CityScene

    results = ResultsFile(write_results(tmp_path / "results.h5"))
    s = CityScene(national_grid_city())
    s.attach_results(results)
    s.apply_frame(2)
    yield s
    results.close()


def test_screenshot_is_a_png_of_the_window_size(scene):
    import struct

    scene.plotter.window_size = (320, 200)
    png = screenshot_png(scene.plotter)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    assert struct.unpack(">II", png[16:24]) == (320, 200)


def _load(glb: bytes):
    import pygltflib

    gltf = pygltflib.GLTF2.load_from_bytes(glb)
    blob = gltf.binary_blob()

    def array(accessor_index: int, width: int, dtype) -> np.ndarray:
        acc = gltf.accessors[accessor_index]
        view = gltf.bufferViews[acc.bufferView]
        start = view.byteOffset + (acc.byteOffset or 0)
        return np.frombuffer(blob, dtype=dtype, count=acc.count * width, offset=start).reshape(acc.count, width)

    return gltf, array


def test_frame_glb_holds_the_city_and_the_wet_cells(scene):
    gltf, array = _load(frame_glb(scene))
    nodes = {n.name: n for n in gltf.nodes}
    triangles = {name: gltf.accessors[gltf.meshes[n.mesh].primitives[0].indices].count // 3
                 for name, n in nodes.items() if n.mesh is not None}
    # frame 2: a 6 x 3 band of wet cell centres draws 5 x 2 quads (the 1 cm puddle is dry)
    assert triangles["water"] == 2 * 5 * 2
    assert triangles["buildings"] == 24 and triangles["roads"] == 12
    assert triangles["terrain"] == 2 * 29 * 79
    origin = scene.city.origin
    assert gltf.asset.extras["twin3d_origin"] == origin.tolist() and gltf.asset.extras["frame"] == 2
    assert nodes["city"].translation == [origin[0], origin[2], -origin[1]]
    # positions back to the city CRS: y-up -> z-up, plus the origin
    prim = gltf.meshes[nodes["buildings"].mesh].primitives[0]
    xyz = array(prim.attributes.POSITION, 3, np.float32).astype(np.float64)
    city_xyz = np.stack([xyz[:, 0], -xyz[:, 2], xyz[:, 1]], axis=1) + origin
    mesh = scene.city.buildings.mesh
    np.testing.assert_allclose(city_xyz.min(axis=0), mesh.vertices.min(axis=0), atol=0.01)
    np.testing.assert_allclose(city_xyz.max(axis=0), mesh.vertices.max(axis=0), atol=0.01)
    building = array(prim.attributes._BUILDING, 1, np.float32).ravel()
    assert set(building.tolist()) == {0.0, 1.0}
    # the water surface sits at bed (1.5 m) + depth (1.5 m in frame 2's wet band)
    water = gltf.meshes[nodes["water"].mesh].primitives[0]
    z = array(water.attributes.POSITION, 3, np.float32)[:, 1] + origin[2]
    np.testing.assert_allclose(z, 3.0, atol=1e-4)


def test_frame_glb_reloads_with_twin3d_read(scene, tmp_path):
    from twin3d.io import read

    path = tmp_path / "frame.glb"
    path.write_bytes(frame_glb(scene))
    again = read(path)
    assert again.buildings.mesh.n_triangles == 24 + 12 + 2 * 29 * 79 + 20
    np.testing.assert_allclose(again.origin, scene.city.origin)


def test_kpi_csv_has_every_series_with_units(tmp_path):
    with ResultsFile(write_results_with_kpis(tmp_path / "kpi.h5")) as results:
        text = kpi_csv(results)
        damage = results.file["kpi/damage_eur"][()]
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["time_s", "clock", "damage_eur [EUR]", "people_by_depth: 0.1-0.3 m [persons]",
                       "people_by_depth: >1 m [persons]", "road_connectivity [%]"]
    assert len(rows) == 1 + 4
    assert rows[2][:2] == ["900.0", "2026-02-09T08:15:00"]
    assert [float(r[2]) for r in rows[1:]] == damage.tolist()
    assert rows[3][3:] == ["2.0", "4.0", "98.0"]
    assert rows[1][5] == ""  # unknown in frame 0
