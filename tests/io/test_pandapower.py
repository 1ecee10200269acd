"""pandapower reader: counts and lengths against the raw JSON, CRS transforms, old formats, rejections."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import data_path
from twin3d.errors import InputError
from twin3d.io.pandapower import read_pandapower


def raw_tables(path: Path) -> dict[str, dict]:
    """Each table of a pandapower file as a split-orient dict, decoded independently."""
    obj = json.loads(path.read_text())["_object"]
    return {k: json.loads(v["_object"]) for k, v in obj.items()
            if isinstance(v, dict) and v.get("_class") == "DataFrame"}


def column(table: dict, name: str) -> list:
    k = table["columns"].index(name)
    return [row[k] for row in table["data"]]


@pytest.mark.parametrize("name", ["mv_oberrhein.json", "lv_schutterwald.json", "case9.json", "case33bw.json"])
def test_counts_match_the_raw_json(name):
    path = data_path("networks", "power_pandapower", name)
    raw = raw_tables(path)
    net = read_pandapower(path)
    assert net.kind == "power"
    assert net.n_nodes == len(raw["bus"]["data"])
    assert (net.edge_kind == "line").sum() == len(raw["line"]["data"])
    assert (net.edge_kind == "transformer").sum() == len(raw["trafo"]["data"]) + 2 * len(raw["trafo3w"]["data"])
    fed = set(column(raw["ext_grid"], "bus")) | set(column(raw["trafo"], "hv_bus"))
    assert set(net.node_id[net.node_kind == "substation"]) == {str(b) for b in fed}


def test_published_sizes():
    mv = read_pandapower(data_path("networks", "power_pandapower", "mv_oberrhein.json"))
    assert (mv.n_nodes, (mv.edge_kind == "line").sum(), (mv.edge_kind == "transformer").sum()) == (179, 181, 2)
    lv = read_pandapower(data_path("networks", "power_pandapower", "lv_schutterwald.json"))
    assert lv.n_nodes == 2940


@pytest.mark.parametrize("name", ["mv_oberrhein.json", "lv_schutterwald.json"])
def test_lengths_and_capacities(name):
    path = data_path("networks", "power_pandapower", name)
    raw = raw_tables(path)
    net = read_pandapower(path)
    line = raw["line"]
    ids = [f"line:{k}" for k in line["index"]]
    where = [list(net.edge_id).index(i) for i in ids]
    np.testing.assert_allclose(net.edge_length[where], np.array(column(line, "length_km")) * 1000.0, rtol=1e-12)
    vn = dict(zip(raw["bus"]["index"], column(raw["bus"], "vn_kv"), strict=True))
    expected = [math.sqrt(3) * vn[f] * i * df * par for f, i, df, par in zip(
        column(line, "from_bus"), column(line, "max_i_ka"), column(line, "df"), column(line, "parallel"),
        strict=True)]
    np.testing.assert_allclose(net.edge_capacity[where], expected, rtol=1e-12)
    trafo = net.edge_kind == "transformer"
    np.testing.assert_allclose(net.edge_capacity[trafo], column(raw["trafo"], "sn_mva"), rtol=1e-12)
    assert (net.edge_length[trafo] == 0).all()


def test_oberrhein_in_utm32():
    from pyproj import Transformer

    path = data_path("networks", "power_pandapower", "mv_oberrhein.json")
    wgs = read_pandapower(path)
    utm = read_pandapower(path, to_crs="EPSG:25832")
    # Offenburg area, around 48.4 N 7.8 E: UTM zone 32 eastings ~400-425 km, northings ~5.35-5.37 Mm
    assert np.all((utm.node_xyz[:, 0] > 400_000) & (utm.node_xyz[:, 0] < 425_000))
    assert np.all((utm.node_xyz[:, 1] > 5_350_000) & (utm.node_xyz[:, 1] < 5_375_000))
    x, y = Transformer.from_crs(4326, 25832, always_xy=True).transform(wgs.node_xyz[:, 0], wgs.node_xyz[:, 1])
    np.testing.assert_allclose(utm.node_xyz[:, :2], np.column_stack([x, y]), rtol=0, atol=1e-6)
    bus0 = json.loads(column(raw_tables(path)["bus"], "geo")[0])["coordinates"]
    assert wgs.node_xyz[0, :2] == pytest.approx(bus0, abs=1e-12)


@pytest.mark.parametrize(("name", "tolerance"), [("mv_oberrhein.json", 0.01), ("lv_schutterwald.json", 0.01)])
def test_projected_geometry_agrees_with_length_km(name, tolerance):
    net = read_pandapower(data_path("networks", "power_pandapower", name), to_crs="EPSG:25832")
    v, off = net.edge_vertices, net.edge_offsets
    along = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(v[:, :2], axis=0), axis=1))])
    drawn = along[off[1:] - 1] - along[off[:-1]]
    line = net.edge_kind == "line"
    ratio = drawn[line] / net.edge_length[line]
    assert abs(np.median(ratio) - 1.0) < tolerance  # measured: 1.0023 (MV), 0.9996 (LV)


def test_open_switches_are_marked():
    path = data_path("networks", "power_pandapower", "lv_schutterwald.json")
    sw = raw_tables(path)["switch"]
    opened = {e for e, et, c in zip(column(sw, "element"), column(sw, "et"), column(sw, "closed"), strict=True)
              if et == "l" and not c}
    net = read_pandapower(path)
    marked = {int(i.split(":")[1]) for i, a in zip(net.edge_id, net.edge_attributes, strict=True)
              if a.get("switch_open")}
    assert marked == opened and len(marked) > 0


def test_case9_schematic_coordinates():
    path = data_path("networks", "power_pandapower", "case9.json")
    net = read_pandapower(path)
    assert np.isfinite(net.node_xyz).all()
    with pytest.raises(InputError, match="outside the area of use of EPSG:25832"):
        read_pandapower(path, to_crs="EPSG:25832")


LINE = '{"type": "LineString", "coordinates": [%s]}'


def frame(columns: list[str], rows: list[list], index: list[int] | None = None) -> dict:
    body = {"columns": columns, "index": index if index is not None else list(range(len(rows))), "data": rows}
    return {"_module": "pandas.core.frame", "_class": "DataFrame", "_object": json.dumps(body)}


def grid(**tables) -> dict:
    base = {
        "bus": frame(["name", "vn_kv", "in_service"], [["hv", 110.0, True], ["mv", 20.0, True],
                                                       ["a", 20.0, True], ["b", 20.0, True]], [10, 11, 12, 13]),
        "line": frame(["name", "std_type", "from_bus", "to_bus", "length_km", "max_i_ka", "df", "parallel",
                       "in_service"], [["l0", "t", 11, 12, 1.5, 0.4, 1.0, 2, True]]),
        "trafo": frame(["name", "std_type", "hv_bus", "lv_bus", "sn_mva", "vn_hv_kv", "vn_lv_kv", "in_service"],
                       [["t0", "x", 10, 11, 40.0, 110.0, 20.0, True]]),
        "ext_grid": frame(["name", "bus"], [["grid", 10]]),
        "switch": frame(["bus", "element", "et", "closed", "name"], [[12, 13, "b", False, "coupler"]]),
        "load": frame(["bus", "p_mw", "scaling", "in_service"], [[12, 0.5, 1.0, True], [12, 0.25, 2.0, True],
                                                                 [13, 9.0, 1.0, False]]),
    }
    return {"_module": "pandapower.auxiliary", "_class": "pandapowerNet", "_object": base | tables}


def write(tmp_path: Path, doc) -> Path:
    path = tmp_path / "grid.json"
    path.write_text(json.dumps(doc))
    return path


def test_synthetic_grid_without_geodata(tmp_path):
    net = read_pandapower(write(tmp_path, grid()))
    assert list(net.node_id) == ["10", "11", "12", "13"]
    assert list(net.node_kind) == ["substation", "bus", "bus", "bus"]
    assert net.node_capacity[0] == 40.0 and np.isnan(net.node_capacity[1:]).all()
    assert net.node_attributes[2]["load_mw"] == pytest.approx(1.0)  # 0.5 + 0.25 x 2; out of service ignored
    assert list(net.edge_kind) == ["line", "transformer", "switch"]
    assert net.edge_capacity[0] == pytest.approx(math.sqrt(3) * 20.0 * 0.4 * 2)
    assert net.edge_length[0] == 1500.0
    assert net.edge_attributes[2] == {"name": "coupler", "closed": False}
    assert np.isnan(net.node_xyz[:, :2]).all() and (net.node_xyz[:, 2] == 0).all()
    with pytest.raises(InputError, match="no geodata for 4 of 4 buses"):
        read_pandapower(write(tmp_path, grid()), to_crs="EPSG:25832")


def test_old_geodata_tables_and_columns_orient(tmp_path):
    geo = {"bus_geodata": frame(["x", "y"], [[7.80, 48.40], [7.81, 48.40], [7.82, 48.41], [7.83, 48.41]],
                                [10, 11, 12, 13]),
           "line_geodata": frame(["coords"], [[[[7.81, 48.40], [7.815, 48.405], [7.82, 48.41]]]])}
    doc = grid(**geo)
    split = json.loads(doc["_object"]["trafo"]["_object"])
    doc["_object"]["trafo"]["_object"] = json.dumps(  # orient="columns", as older pandapower wrote
        {c: {str(i): row[k] for i, row in zip(split["index"], split["data"], strict=True)}
         for k, c in enumerate(split["columns"])})
    net = read_pandapower(write(tmp_path, doc), to_crs="EPSG:25832")
    assert net.edge_offsets[1] == 3  # the line keeps its three positions
    assert np.all((net.node_xyz[:, 0] > 400_000) & (net.node_xyz[:, 0] < 430_000))
    assert net.edge_capacity[1] == 40.0


def test_geo_column_as_objects(tmp_path):
    bus = frame(["name", "vn_kv", "geo"], [["a", 20.0, {"type": "Point", "coordinates": [7.8, 48.4]}],
                                           ["b", 20.0, json.dumps({"type": "Point", "coordinates": [7.9, 48.4]})]])
    line = frame(["from_bus", "to_bus", "length_km", "max_i_ka", "geo"], [[0, 1, 7.4, 0.3, None]])
    net = read_pandapower(write(tmp_path, {"bus": bus, "line": line}))
    np.testing.assert_allclose(net.edge_vertices[:, :2], [[7.8, 48.4], [7.9, 48.4]], rtol=0, atol=1e-12)


@pytest.mark.parametrize(("doc", "message"), [
    ("not json", "not valid JSON"),
    ({"_class": "pandapowerNet", "_object": {"line": {}}}, "not a pandapower network"),
    ([1, 2, 3], "not a pandapower network"),
    ({"bus": frame(["vn_kv"], [])}, "no buses"),
    ({"bus": frame(["vn_kv"], [[1.0], [1.0]], [3, 3])}, "duplicate bus index"),
    ({"bus": frame(["vn_kv"], [[1.0]]), "line": frame(["from_bus", "to_bus", "length_km"], [[0, 7, 1.0]])},
     "line to_bus refers to unknown bus 7"),
    ({"bus": frame(["vn_kv"], [["high"]])}, "column 'vn_kv' is not numeric"),
    ({"bus": frame(["vn_kv", "geo"], [[1.0, "{oops"]])}, "bus 0: geo is not GeoJSON"),
    ({"bus": frame(["vn_kv", "geo"], [[1.0, '{"type": "Point", "coordinates": ["a", 1]}']])}, "not numeric"),
    ({"bus": {"_object": "[1, 2]"}}, "is not a DataFrame"),
    ({"bus": frame(["vn_kv"], [[1.0], [2.0]]),
      "line": frame(["from_bus", "to_bus", "length_km"], [[0, 1, -1.0]])}, "length_km must be finite and >= 0"),
    ({"bus": frame(["vn_kv"], [[1.0], [2.0]]),
      "line": frame(["from_bus", "to_bus", "length_km", "geo"], [[0, 1, 1.0, None], [0, 1, 1.0, LINE % "[1, 2]"]])},
     "line 1: a line needs at least two positions"),
    ({"bus": frame(["vn_kv"], [[1.0], [2.0]]),
      "line": frame(["from_bus", "to_bus", "length_km", "geo"], [[0, 1, 1.0, LINE % '[1, 2], [3, "a"]']])},
     "line 0: coordinates are not numeric"),
    ({"bus": frame(["vn_kv", "geo"], [[1.0, None], [1.0, LINE % "[1, 2], [3, 4]"]])}, "bus 1: geo is not a GeoJSON Point"),
])
def test_bad_grids_are_rejected(tmp_path, doc, message):
    path = tmp_path / "bad.json"
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    with pytest.raises(InputError, match=message) as err:
        read_pandapower(path)
    assert err.value.path == str(path)
