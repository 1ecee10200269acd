"""EPANET reader: counts against the files and the EPANET manual, SI conversion, rejections."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import data_path
from twin3d.errors import InputError
from twin3d.io import read
from twin3d.io.epanet import DESIGN_VELOCITY_M_S, read_epanet, read_epanet_city

FT, IN, GPM = 0.3048, 0.0254, 3.785411784e-3 / 60


def section_counts(path: Path) -> dict[str, int]:
    """Data rows per section, counted independently of the reader."""
    counts: dict[str, int] = {}
    section = None
    for line in path.read_text(encoding="utf-8").splitlines():
        text = line.split(";")[0].strip()
        if text.startswith("["):
            section = text.strip("[]").upper()
        elif text and section:
            counts[section] = counts.get(section, 0) + 1
    return counts


def kinds(values) -> dict[str, int]:
    names, n = np.unique(np.asarray(values, dtype=str), return_counts=True)
    return dict(zip(names.tolist(), n.tolist(), strict=True))


def test_net1_matches_the_epanet_manual():
    net = read_epanet(data_path("networks", "water_epanet", "Net1.inp"))
    assert net.kind == "water"
    assert kinds(net.node_kind) == {"junction": 9, "reservoir": 1, "tank": 1}
    assert kinds(net.edge_kind) == {"pipe": 12, "pump": 1}


@pytest.mark.parametrize("name", ["Net1.inp", "Net3.inp", "ky4.inp"])
def test_counts_match_the_file(name):
    path = data_path("networks", "water_epanet", name)
    counts = section_counts(path)
    net = read_epanet(path)
    expected_nodes = {"junction": counts.get("JUNCTIONS", 0), "reservoir": counts.get("RESERVOIRS", 0),
                      "tank": counts.get("TANKS", 0)}
    expected_edges = {"pipe": counts.get("PIPES", 0), "pump": counts.get("PUMPS", 0),
                      "valve": counts.get("VALVES", 0)}
    assert kinds(net.node_kind) == {k: v for k, v in expected_nodes.items() if v}
    assert kinds(net.edge_kind) == {k: v for k, v in expected_edges.items() if v}
    # polylines: both end points plus every [VERTICES] row
    assert len(net.edge_vertices) == 2 * net.n_edges + counts.get("VERTICES", 0)


def test_net3_and_ky4_published_sizes():
    net3 = read_epanet(data_path("networks", "water_epanet", "Net3.inp"))
    assert kinds(net3.node_kind) == {"junction": 92, "reservoir": 2, "tank": 3}
    assert kinds(net3.edge_kind) == {"pipe": 117, "pump": 2}
    ky4 = read_epanet(data_path("networks", "water_epanet", "ky4.inp"))
    assert kinds(ky4.node_kind) == {"junction": 959, "reservoir": 1, "tank": 4}
    assert kinds(ky4.edge_kind)["pipe"] == 1156


def test_net1_us_units_become_si():
    net = read_epanet(data_path("networks", "water_epanet", "Net1.inp"))
    pipe = list(net.edge_id).index("10")  # 10530 ft, 18 in
    assert net.edge_length[pipe] == pytest.approx(10530 * FT, rel=1e-12)
    assert net.edge_attributes[pipe]["diameter_m"] == pytest.approx(18 * IN, rel=1e-12)
    area = math.pi / 4 * (18 * IN) ** 2
    assert net.edge_capacity[pipe] == pytest.approx(DESIGN_VELOCITY_M_S * area, rel=1e-12)
    j11 = list(net.node_id).index("11")  # elevation 710 ft, demand 150 gpm
    assert net.node_xyz[j11, 2] == pytest.approx(710 * FT, rel=1e-12)
    assert net.node_attributes[j11]["demand_m3s"] == pytest.approx(150 * GPM, rel=1e-12)
    assert net.node_xyz[j11, :2] == pytest.approx([30.0, 70.0])
    pump = list(net.edge_kind).index("pump")  # one-point head curve at 1500 gpm
    assert net.edge_capacity[pump] == pytest.approx(1500 * GPM, rel=1e-12)
    assert net.edge_length[pump] == 0.0
    assert net.node_id[net.edges[pump, 0]] == "9" and net.node_id[net.edges[pump, 1]] == "10"
    # total pipe length: 10530 + 200 + 10 x 5280 ft
    assert net.edge_length.sum() == pytest.approx((10530 + 200 + 10 * 5280) * FT, rel=1e-12)


def test_net3_three_point_curves_give_the_middle_flow():
    net = read_epanet(data_path("networks", "water_epanet", "Net3.inp"))
    pumps = dict(zip(net.edge_id[net.edge_kind == "pump"], net.edge_capacity[net.edge_kind == "pump"],
                     strict=True))
    assert pumps["10"] == pytest.approx(2000 * GPM, rel=1e-12)
    assert pumps["335"] == pytest.approx(8000 * GPM, rel=1e-12)


def test_ky4_polylines_follow_vertices_and_interpolate_z():
    path = data_path("networks", "water_epanet", "ky4.inp")
    net = read_epanet(path)
    off, v = net.edge_offsets, net.edge_vertices
    np.testing.assert_array_equal(v[off[:-1]], net.node_xyz[net.edges[:, 0]])
    np.testing.assert_array_equal(v[off[1:] - 1], net.node_xyz[net.edges[:, 1]])
    k = list(net.edge_id).index("P-1")
    vertices = path.read_text().split("[VERTICES]")[1].split("[")[0]
    rows = [line.split() for line in vertices.splitlines() if line.split()[:1] == ["P-1"]]
    assert off[k + 1] - off[k] == len(rows) + 2
    expected = np.array([[float(x), float(y)] for _, x, y in rows])
    np.testing.assert_allclose(v[off[k] + 1:off[k + 1] - 1, :2], expected, rtol=0, atol=1e-9)
    z = v[off[k]:off[k + 1], 2]
    assert np.all((z >= min(z[0], z[-1]) - 1e-9) & (z <= max(z[0], z[-1]) + 1e-9))
    assert np.isfinite(v).all()


def test_non_ascii_ids_load():
    net = read_epanet(data_path("networks", "water_epanet", "tests_for_parsers", "latin1.inp"))
    assert "12\u00d9" in list(net.edge_id)
    assert net.n_edges == 13


def test_anytown_parallel_pumps_and_clock_time():
    city = read_epanet_city(data_path("networks", "water_epanet", "tests_for_parsers", "Anytown.inp"))
    net = city.networks["water"]
    assert (net.edge_kind == "pump").sum() == 3
    assert city.metadata["epanet"]["times_s"]["start_clocktime"] == 18 * 3600
    assert city.metadata["epanet"]["times_s"]["hydraulic_timestep"] == 60


def _line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if re.search(text, line))


@pytest.mark.parametrize(("name", "culprit"), [
    ("bad_syntax.inp", r"^\[FOO\]"),
    ("bad_times.inp", r"0:00:00:00"),
    ("bad_values.inp", r"\bnode1\b"),
])
def test_malformed_files_name_file_and_line(name, culprit):
    path = data_path("networks", "water_epanet", "tests_for_parsers", name)
    with pytest.raises(InputError) as err:
        read_epanet(path)
    assert err.value.path == str(path)
    assert f"line {_line_of(path, culprit)}:" in err.value.reason


def test_registry_reads_a_city():
    city = read(data_path("networks", "water_epanet", "Net1.inp"))
    assert city.name == "Net1" and city.networks["water"].n_nodes == 11
    assert city.metadata["epanet"]["flow_units"] == "GPM"
    assert city.metadata["epanet"]["times_s"]["duration"] == 24 * 3600


SMALL = """[TITLE]
small SI network
[JUNCTIONS]
 J1  12.5  10  ;
 J2  10.0
[RESERVOIRS]
 R1  50
[TANKS]
 T1  20  2  1  5  8
[PIPES]
 P1  R1  J1  1000  300  100
 P2  J1  J2  250.5  150  0.1  0  CV
[VALVES]
 V1  J2  T1  100  PRV  30
[PUMPS]
{pumps}
[CURVES]
 C1  0  60
 C1  50  45
 C1  100  20
[DEMANDS]
 J2  4
 J2  1   ; a second category
[OPTIONS]
 Units  LPS
[COORDINATES]
 J1  {x1}  {y1}
 J2  {x2}  {y1}
 R1  {x0}  {y1}
 T1  {x2}  {y2}
[VERTICES]
 P2  {xm}  {y1}
[END]
"""


def small(tmp_path: Path, name: str = "small.inp", pumps: str = "", **overrides) -> Path:
    coords = {"x0": 500000, "x1": 501000, "x2": 501250.5, "xm": 501100, "y1": 5360000, "y2": 5360100}
    text = SMALL.format(pumps=pumps, **(coords | overrides))
    path = tmp_path / name
    path.write_text(text)
    return path


def test_si_units_and_vertices(tmp_path):
    net = read_epanet(small(tmp_path, pumps=" PU1 R1 J1 HEAD C1"))
    ids = list(net.edge_id)
    assert net.edge_length[ids.index("P1")] == 1000.0
    assert net.edge_attributes[ids.index("P1")]["diameter_m"] == pytest.approx(0.3)
    assert net.edge_attributes[ids.index("P2")]["status"] == "CV"
    assert net.edge_capacity[ids.index("V1")] == pytest.approx(1.5 * math.pi / 4 * 0.1**2)
    assert net.edge_capacity[ids.index("PU1")] == pytest.approx(0.050)  # 50 LPS, middle point
    j = list(net.node_id)
    assert net.node_attributes[j.index("J1")]["demand_m3s"] == pytest.approx(0.010)
    assert net.node_attributes[j.index("J2")]["demand_m3s"] == pytest.approx(0.005)  # [DEMANDS] sum
    assert net.node_xyz[j.index("R1"), 2] == 50.0
    k = ids.index("P2")
    poly = net.edge_vertices[net.edge_offsets[k]:net.edge_offsets[k + 1]]
    assert poly[:, 0] == pytest.approx([501000, 501100, 501250.5])
    assert poly[1, 2] == pytest.approx(12.5 + (10.0 - 12.5) * 100 / 250.5)  # z along the pipe


def test_to_crs_transforms_coordinates(tmp_path):
    from pyproj import Transformer

    net = read_epanet(small(tmp_path), crs="EPSG:25832", to_crs="EPSG:4326")
    lon, lat = Transformer.from_crs(25832, 4326, always_xy=True).transform(501000, 5360000)
    j1 = list(net.node_id).index("J1")
    assert net.node_xyz[j1, :2] == pytest.approx([lon, lat], abs=1e-12)
    assert 8.9 < lon < 9.1 and 48.3 < lat < 48.5
    city = read_epanet_city(small(tmp_path), crs="EPSG:25832")
    assert city.crs == "EPSG:25832"
    with pytest.raises(InputError, match="needs crs"):
        read_epanet(small(tmp_path), to_crs="EPSG:4326")


@pytest.mark.parametrize(("edit", "message"), [
    (lambda t: t.replace(" T1  {x2}  {y2}\n", ""), r"line 9: 1 nodes have no \[COORDINATES\].*tank 'T1'"),
    (lambda t: t.replace(" J2  10.0", " J1  10.0"), r"line 5: duplicate node id 'J1'"),
    (lambda t: t.replace("1000  300", "1km  300"), r"line 11: length '1km' is not a number"),
    (lambda t: t.replace("250.5  150", "250.5  -150"), r"line 12: .*must be > 0"),
    (lambda t: t.replace("[TITLE]", "stray\n[TITLE]"), r"line 1: data before the first"),
    (lambda t: t.replace("Units  LPS", "Units  GALLONS"), r"line \d+: unknown flow units"),
    (lambda t: t.replace("{pumps}", " PU1 R1 J1 HEAD C9"), r"undefined head curve 'C9'"),
    (lambda t: t.replace("{pumps}", " PU1 R1 J1 SPEED 1"), r"neither a head curve nor a power"),
    (lambda t: t.replace(" P2  {xm}", " P9  {xm}"), r"\[VERTICES\] for undefined link 'P9'"),
    (lambda t: t.replace(" J2  4", " J7  4"), r"demand for undefined junction 'J7'"),
    (lambda t: t.replace("PRV  30", "XYZ  30"), r"unknown type 'XYZ'"),
    (lambda t: t.replace(" T1  20  2  1  5  8", " T1  20  9  1  5  8"), r"tank levels"),
    (lambda t: t.replace("[OPTIONS]", "[TIMES]\n Duration 24:00:00:00\n[OPTIONS]"), r"invalid time"),
    (lambda t: t.replace("[OPTIONS]", "[TIMES]\n Duration 3 fortnights\n[OPTIONS]"), r"invalid time"),
    (lambda t: t.replace("[OPTIONS]", "[TIMES]\n Lunch 1:00\n[OPTIONS]"), r"unknown \[TIMES\] keyword"),
])
def test_bad_content_is_rejected_with_its_line(tmp_path, edit, message):
    path = tmp_path / "bad.inp"
    coords = {"x0": 0, "x1": 10, "x2": 20, "xm": 15, "y1": 0, "y2": 5}
    path.write_text(edit(SMALL).format(pumps="", **coords))
    with pytest.raises(InputError, match=message) as err:
        read_epanet(path)
    assert err.value.path == str(path)


def test_valid_time_spellings(tmp_path):
    times = "[TIMES]\n Duration 2 days\n Hydraulic Timestep 30 min\n Quality Timestep 90 SEC\n" \
            " Pattern Timestep 1.5\n Report Start 1:30:30\n Start ClockTime 12:30 PM\n Statistic AVERAGED\n"
    path = tmp_path / "t.inp"
    path.write_text(SMALL.replace("[OPTIONS]", times + "[OPTIONS]").format(
        pumps="", x0=0, x1=1, x2=2, xm=1.5, y1=0, y2=1))
    got = read_epanet_city(path).metadata["epanet"]["times_s"]
    assert got == {"duration": 172800.0, "hydraulic_timestep": 1800.0, "quality_timestep": 90.0,
                   "pattern_timestep": 5400.0, "report_start": 5430.0, "start_clocktime": 45000.0,
                   "statistic": "AVERAGED"}


@pytest.mark.parametrize("content", [b"", b"\x00\x01\x02binary", b"just some text\n"])
def test_not_an_inp_file(tmp_path, content):
    path = tmp_path / "x.inp"
    path.write_bytes(content)
    with pytest.raises(InputError):
        read_epanet(path)


def test_latin1_bytes_decode(tmp_path):
    path = small(tmp_path)
    path.write_bytes(path.read_bytes().replace(b"small SI network", "r\u00e9seau".encode("latin-1")))
    city = read_epanet_city(path)
    assert city.metadata["epanet"]["title"] == "r\u00e9seau"
