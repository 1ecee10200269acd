"""Cascades over hand-built networks (exact), the default city (plausible) and a 100k city (timed)."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from tests.conftest import data_path
from tests.networks import city, network
from twin3d.errors import InputError
from twin3d.model import City, Grid
from twin3d.networks.cascade import Cascade
from twin3d.networks.fragility import FragilityTable

# 100 m x 100 m of 10 m cells; cell (row, col) has its centre at (10 col + 5, 10 row + 5)
GRID = Grid(origin=(0.0, 0.0), cell_size=10.0, shape=(10, 10))
USES = ["residential"] * 5 + ["hospital"]


def power_net(tie_line: bool = False):
    # grid supply S -> substations A, B -> feeders F1, F2 (from A) and F3 (from B); optional tie A-B
    edges = [[0, 1], [0, 2], [1, 3], [1, 4], [2, 5]] + ([[2, 1]] if tie_line else [])
    return network("power", [[5, 95], [25, 75], [75, 75], [15, 55], [35, 55], [75, 55]],
                   ["grid_supply", "substation", "substation", "feeder", "feeder", "feeder"],
                   edges, ["hv_line", "hv_line", "mv_line", "mv_line", "mv_line"] + ["hv_line"] * tie_line)


def water_net():
    # reservoir R -> pump P -> J1 -> J2; separately tank T -> J3
    return network("water", [[5, 5], [15, 5], [35, 5], [55, 5], [85, 5], [95, 5]],
                   ["reservoir", "pump", "junction", "junction", "junction", "tank"],
                   [[0, 1], [1, 2], [2, 3], [5, 4]], ["trunk", "trunk", "pipe", "trunk"])


def road_net(loop: bool = True):
    # a square N0-N1-N2-N3 (closed by N3-N0 when loop) with a tail N1-N4
    edges = [[0, 1], [1, 2], [2, 3], [1, 4]] + ([[3, 0]] if loop else [])
    return network("road", [[45, 25], [65, 25], [65, 45], [45, 45], [85, 25]], ["intersection"] * 5,
                   edges, ["street"] * len(edges))


def hand_city(tie_line: bool = False, loop: bool = True) -> City:
    power = [3, 3, 4, 5, 5, 4]   # feeders of buildings b0..b5 (b5 is the hospital)
    water = [2, 3, 4, 4, 3, 2]   # junctions
    road = [0, 1, 4, 2, 3, 4]    # road nodes
    rows = [("buildings", b, layer, n) for layer, nodes in (("power", power), ("water", water), ("road", road))
            for b, n in enumerate(nodes)]
    rows.append(("water", 1, "power", 3))  # the pump is fed by F1
    return city(USES, [[10 * i + 5, 65] for i in range(6)],
                {"power": power_net(tie_line), "water": water_net(), "road": road_net(loop)}, rows)


def flood(*cells_depth) -> np.ndarray:
    depth = GRID.zeros()
    for (row, col), d in cells_depth:
        depth[row, col] = d
    return depth


@pytest.fixture(scope="module")
def cascade() -> Cascade:
    return Cascade(hand_city())


def test_dry_city_has_every_service(cascade):
    s = cascade.frame(GRID.zeros(), GRID, np.zeros(6))
    assert all(v.all() for v in (*s.node_ok.values(), *s.edge_ok.values()))
    assert s.status_flags().tolist() == [0] * 6


def test_flooded_substation_cuts_exactly_its_buildings_and_the_pump(cascade):
    s = cascade.frame(flood(((7, 2), 0.5)), GRID, [0.2, 0, 0, 0, 0, 0])  # substation A under 0.5 m
    assert s.power_node_ok.tolist() == [True, False, True, False, False, True]
    assert s.power_edge_ok.tolist() == [False, True, False, False, True]
    assert s.building_power.tolist() == [False, False, False, True, True, False]
    # the pump hangs on F1: the reservoir side (J1, J2) dries up, the tank side (J3) does not
    assert s.water_node_ok.tolist() == [True, False, False, False, True, True]
    assert s.building_water.tolist() == [False, False, True, True, False, False]
    assert s.facility_down.tolist() == [False] * 5 + [True]
    # flags: 1 flooded, 2 without power, 4 without water, 8 down
    assert s.status_flags().tolist() == [7, 6, 2, 0, 4, 14]
    assert s.status_flags().dtype == np.uint8


def test_substation_below_its_threshold_keeps_working(cascade):
    s = cascade.frame(flood(((7, 2), 0.3)), GRID)
    assert s.building_power.all() and not s.flooded.any()


@pytest.mark.parametrize("depth_m, water_out", [(0.45, False), (0.6, True)])
def test_flooded_pump_cuts_the_junctions_it_feeds(cascade, depth_m, water_out):
    s = cascade.frame(flood(((0, 1), depth_m)), GRID)
    assert s.node_failed["water"].tolist() == [False, water_out, False, False, False, False]
    assert s.building_water.tolist() == [not water_out, not water_out, True, True, not water_out,
                                         not water_out]
    assert s.building_power.all()


@pytest.mark.parametrize("cell, depth_m, lost", [
    ((5, 3), 0.5, "building_power"),        # feeder F2 (lognormal curve, median 0.4 m)
    ((0, 1), 0.6, "building_water"),        # the pump
    ((2, 7), 0.4, "building_road_access"),  # the road tail to the hospital's node N4
])
def test_hospital_down_when_any_service_is_lost(cascade, cell, depth_m, lost):
    s = cascade.frame(flood((cell, depth_m)), GRID)
    services = {k: getattr(s, k) for k in ("building_power", "building_water", "building_road_access")}
    assert not services[lost][5]
    assert all(v[5] for k, v in services.items() if k != lost)
    assert s.facility_down.tolist() == [False] * 5 + [True]  # b2, residential, is never "down"


def test_redundant_road_loop_keeps_access():
    depth = flood(((2, 5), 0.4))  # closes N0-N1
    with_loop = Cascade(hand_city(loop=True)).frame(depth, GRID)
    assert with_loop.building_road_access.all()
    assert with_loop.road_edge_ok.tolist() == [False, True, True, True, True]
    without = Cascade(hand_city(loop=False)).frame(depth, GRID)
    assert without.building_road_access.tolist() == [False, True, True, True, True, True]
    assert without.road_node_ok.tolist() == [False, True, True, True, True]  # N0 is cut from the main network


def test_redundant_power_tie_line_keeps_supply():
    lines_fail = FragilityTable({"power.edges": {"default": (0.3, math.nan, math.nan)}})
    depth = flood(((8, 1), 0.5))  # on line S-A only
    radial = Cascade(hand_city(tie_line=False), lines_fail).frame(depth, GRID)
    assert radial.building_power.tolist() == [False, False, False, True, True, False]
    meshed = Cascade(hand_city(tie_line=True), lines_fail).frame(depth, GRID)
    assert meshed.building_power.all() and meshed.building_water.all()
    assert meshed.power_edge_ok.tolist() == [False, True, True, True, True, True]


def test_absent_networks_give_service():
    c = city(USES, [[10 * i + 5, 65] for i in range(6)], {"road": road_net()},
             [("buildings", b, "road", n) for b, n in enumerate([0, 1, 4, 2, 3, 4])])
    s = Cascade(c).frame(flood(((2, 7), 0.4)), GRID)
    assert sorted(s.node_ok) == ["road"]
    assert s.building_power.all() and s.building_water.all()
    assert s.status_flags().tolist() == [0, 0, 0, 0, 0, 8]


def test_buildings_without_dependencies_use_the_nearest_node():
    # no rows: b0 at (44, 22) takes N0, b1 at (66, 44) takes N2; flooding N0 cuts b0 only
    c = city(["residential", "residential"], [[44, 22], [66, 44]], {"road": road_net()})
    s = Cascade(c).frame(flood(((2, 4), 0.5)), GRID)
    assert s.building_road_access.tolist() == [False, True]


def test_bad_inputs_raise_input_error(cascade):
    with pytest.raises(InputError, match="does not match the grid"):
        cascade.frame(np.zeros((3, 3)), GRID)
    with pytest.raises(InputError, match="6 buildings"):
        cascade.frame(GRID.zeros(), GRID, np.zeros(4))
    bad = hand_city()
    bad.dependencies.provider_index[0] = 99
    with pytest.raises(InputError, match="missing power index"):
        Cascade(bad)


def test_real_grids_are_fully_served_when_dry():
    from twin3d.io.epanet import read_epanet
    from twin3d.io.pandapower import read_pandapower

    water = read_epanet(data_path("networks", "water_epanet", "Net3.inp"))
    power = read_pandapower(data_path("networks", "power_pandapower", "mv_oberrhein.json"), to_crs="EPSG:25832")
    c = City(networks={"water": water, "power": power})
    grid = Grid(origin=(-1e7, -1e7), cell_size=1e5, shape=(200, 200))
    s = Cascade(c).frame(grid.zeros(), grid)
    # every Net3 node hangs on its river/lake sources through pipes and pumps; only pipe 330,
    # closed in the file, carries nothing
    assert s.water_node_ok.all()
    assert water.edge_id[~s.water_edge_ok].tolist() == ["330"]
    # the substations feed the whole MV grid, operated as open rings: its 6 lines with an
    # open line switch carry nothing, the other 175 lines and 2 transformers do
    assert s.power_node_ok.all()
    assert (~s.power_edge_ok).sum() == 6
    assert all(power.edge_attributes[k]["switch_open"] for k in np.flatnonzero(~s.power_edge_ok))


def outage_counts(c: City, cascade: Cascade, rise_m: float) -> tuple[int, int, int, int]:
    z = c.terrain.elevation
    depth = np.clip(np.nanmin(z) + rise_m - np.nan_to_num(z, nan=np.inf), 0.0, None)
    s = cascade.frame(depth, c.terrain.grid)
    return (int((~s.building_power).sum()), int((~s.building_water).sum()),
            int((~s.building_road_access).sum()), int(s.facility_down.sum()))


def test_default_city_outages_grow_with_the_water_level():
    from twin3d.io.default_city import load_city

    c = load_city(None)[0]
    cascade = Cascade(c)
    t0 = time.perf_counter()
    counts = np.array([outage_counts(c, cascade, rise) for rise in (0.0, 4.0, 8.0, 12.0, 16.0, 20.0, 24.0)])
    per_frame = (time.perf_counter() - t0) / len(counts)
    n = len(c.buildings)
    assert counts[0].tolist() == [0, 0, 0, 0]
    assert (np.diff(counts, axis=0) >= 0).all()      # more water, never fewer outages
    assert counts[-1, 0] == n and counts[-1, 2] > 0.9 * n
    assert counts[3, 0] > 0 and counts[3, 2] > 0     # partial outages in between
    assert per_frame < 0.5


def reach(n: int, edges: np.ndarray, keep: np.ndarray, sources: np.ndarray) -> np.ndarray:
    """Nodes reachable from sources over kept nodes (breadth-first, an independent check)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import breadth_first_order

    e = edges[keep[edges[:, 0]] & keep[edges[:, 1]]]
    virtual = np.column_stack([np.full(len(sources), n), sources])[keep[sources]]
    e = np.concatenate([e, virtual])
    g = coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(n + 1, n + 1))
    out = np.zeros(n + 1, dtype=bool)
    out[breadth_first_order(g, n, directed=False, return_predecessors=False)] = True
    return out[:n]


@pytest.mark.slow
def test_100k_city_frame_timing_and_correctness():
    from twin3d.model.generate import generate_city

    c = generate_city(100_000)
    t0 = time.perf_counter()
    cascade = Cascade(c)
    t_init = time.perf_counter() - t0
    z = c.terrain.elevation
    depth = np.clip(np.nanmin(z) + 10.0 - np.nan_to_num(z, nan=np.inf), 0.0, None)
    cascade.frame(depth, c.terrain.grid)  # the first frame on a grid also locates the samples
    t0 = time.perf_counter()
    s = cascade.frame(depth, c.terrain.grid)
    t_frame = time.perf_counter() - t0
    print(f"\n100k city: {len(c.buildings)} buildings, Cascade() {t_init:.3f} s, frame {t_frame:.3f} s")
    power, water = c.networks["power"], c.networks["water"]
    powered = reach(power.n_nodes, power.edges, ~s.node_failed["power"], np.flatnonzero(power.node_kind == "grid_supply"))
    b, feeder = c.dependencies.of("buildings", "power")
    np.testing.assert_array_equal(s.building_power[b], powered[feeder])
    pumps, pump_feeder = c.dependencies.of("water", "power")
    working = ~s.node_failed["water"]
    working[pumps] &= powered[pump_feeder]
    wet = reach(water.n_nodes, water.edges, working, np.flatnonzero(np.isin(water.node_kind, ["reservoir", "tank"])))
    b, junction = c.dependencies.of("buildings", "water")
    np.testing.assert_array_equal(s.building_water[b], wet[junction])
    assert 0 < (~s.building_power).sum() < len(c.buildings)
    assert t_frame < 5.0  # loose guard on a shared machine; the figure is printed
