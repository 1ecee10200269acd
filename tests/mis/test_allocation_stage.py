"""The allocation stage: hand-built cities with hand-computed needs, and the default river flood."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from tests.networks import dependencies, network
from twin3d.errors import InputError
from twin3d.mis.allocation_stage import (
    MAX_ASSIGNMENTS,
    STATUS_CODES,
    AllocationStage,
    load_values,
    place_depots,
    split_stock,
)
from twin3d.model import Buildings, City, complete_table
from twin3d.model.extrude import extrude_convex
from twin3d.scenario.pipeline import Frame

# road square: 0 -(1000 m street)- 1 -(1000 m arterial)- 2 ; 0 -(500 m street)- 3 -(2000 m arterial)- 2
XY = [[0.0, 0.0], [1000.0, 0.0], [1000.0, 1000.0], [0.0, 500.0]]
EDGES, KINDS, LENGTHS = [[0, 1], [1, 2], [0, 3], [3, 2]], ["street", "arterial", "street", "arterial"], \
    [1000.0, 1000.0, 500.0, 2000.0]
SIDE_M = 40.0  # 1600 m2 footprints


def square_city(uses, nodes) -> City:
    """One 40 m x 40 m, 6 m high building per use at road node ``nodes[i]``, linked to it."""
    c = np.asarray(XY)[nodes] + 30.0
    corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * SIDE_M / 2
    mesh = extrude_convex(c[:, None, :] + corners[None], np.zeros(len(c)), np.full(len(c), 6.0))
    buildings = complete_table(Buildings(mesh, {"id": [f"b{i}" for i in range(len(uses))], "use": list(uses)}))
    road = network("road", XY, ["intersection"] * 4, EDGES, KINDS, edge_length=LENGTHS)
    return City(buildings=buildings, networks={"road": road},
                dependencies=dependencies([("buildings", b, "road", n) for b, n in enumerate(nodes)]))


def scenario(**departments):
    return SimpleNamespace(spec={"response": {"departments": departments}})


def run_frame(stage, city, depth, flags, closed_edges=()):
    n = len(city.buildings)
    edge_ok = np.ones(4, bool)
    edge_ok[list(closed_edges)] = False
    frame = Frame(0, 0.0, {}, buildings={"max_depth": np.asarray(depth, np.float32)},
                  status=np.asarray(flags, np.uint8).reshape(n), networks={"road": (np.ones(4, bool), edge_ok)},
                  road_closed=~edge_ok)
    stage(frame, None)
    return dict(zip(stage.columns, frame.allocation.vector)), frame.allocation


def test_flooded_hospital_gets_pumps_from_the_fire_station():
    city = square_city(["fire_station", "hospital"], [0, 2])
    stage = AllocationStage(scenario(fire={"pumps": 6}), None, city)
    row, alloc = run_frame(stage, city, [0.0, 1.0], [0, 1])
    # 1.0 m on 1600 m2 = 1600 m3; 100 m3/h per pump for 6 h -> ceil(2.67) = 3 pumps
    assert row["pumps_demanded"] == 3 and row["pumps_deployed"] == 3 and row["pumps_unmet"] == 0
    assert row["pumps_available"] == 6 and row["fire_cost_eur"] == pytest.approx(3 * 450.0)
    assert row["status"] == STATUS_CODES["optimal"] and row["n_assignments"] == 1
    # hospital capacity (beds from the occupancy table) x 800 EUR + 50,000 EUR a day, 3 days avoided
    beds = city.buildings.table["capacity"][1]
    assert row["avoided_loss_eur"] == pytest.approx(3 * (800.0 * beds + 50000.0), rel=1e-9)
    depot_xy, site_xy = np.asarray(XY[0]) + 30.0, np.asarray(XY[2]) + 30.0
    np.testing.assert_allclose(alloc.assignments[0], [*depot_xy, *site_xy, 3, stage.kinds.index("pumps")],
                               atol=1e-6)
    assert np.isnan(alloc.assignments[1:]).all() and alloc.assignments.shape == (MAX_ASSIGNMENTS, 6)
    reason = alloc.reasons[0].decode()
    assert "fire station b0" in reason and "hospital b1" in reason and reason.startswith("3 pumps")
    # travel over node 3: 0.5 km at 30 km/h + 2 km at 50 km/h = 1.0 + 2.4 min (via node 1: 2.0 + 1.2)
    assert "3 min away" in reason


def test_closed_roads_leave_the_demand_unmet():
    city = square_city(["fire_station", "hospital"], [0, 2])
    stage = AllocationStage(scenario(fire={"pumps": 6}), None, city)
    row, alloc = run_frame(stage, city, [0.0, 1.0], [0, 1], closed_edges=[1, 3])  # node 2 cut off
    assert row["pumps_demanded"] == 3 and row["pumps_deployed"] == 0 and row["pumps_unmet"] == 3
    assert row["fire_cost_eur"] == 0 and np.isnan(alloc.assignments).all() and not alloc.reasons[0]
    row, _ = run_frame(stage, city, [0.0, 1.0], [0, 1], closed_edges=[1])  # a detour is left
    assert row["pumps_deployed"] == 3


def test_no_demand_skips_the_solver():
    city = square_city(["fire_station", "hospital", "residential"], [0, 2, 1])
    stage = AllocationStage(scenario(fire={"pumps": 6}), None, city)
    row, alloc = run_frame(stage, city, [0.0, 0.2, 0.2], [0, 0, 1])  # a flooded home is no pump demand
    assert row["status"] == STATUS_CODES["no_demand"] and row["n_demands"] == 0
    assert row["pumps_available"] == 6 and row["pumps_deployed"] == 0 and np.isnan(alloc.assignments).all()


def test_response_plan_counts_are_split_and_respected():
    city = square_city(["fire_station", "fire_station", "hospital", "school"], [0, 1, 2, 3])
    stage = AllocationStage(scenario(fire={"pumps": 5}), None, city)
    assert stage.stock["count"].tolist() == [3, 2]  # 5 over two stations, the remainder to the first
    # both facilities flooded 2 m deep: ceil(3200 / 600) = 6 pumps each, 12 demanded, 5 held
    row, alloc = run_frame(stage, city, [0, 0, 2.0, 2.0], [0, 0, 1, 1])
    assert row["pumps_demanded"] == 12 and row["pumps_deployed"] == 5 and row["pumps_unmet"] == 7
    assert np.nansum(alloc.assignments[:, 4]) == 5
    # the hospital's minimum service (half its pumps, 3) is met before the school gets any
    hospital = np.isclose(alloc.assignments[:, 2], XY[2][0] + 30.0)
    assert alloc.assignments[hospital, 4].sum() >= 3


def test_unmeetable_minimum_service_is_planned_without_it():
    city = square_city(["fire_station", "hospital"], [0, 2])
    stage = AllocationStage(scenario(fire={"pumps": 2}), None, city)
    row, _ = run_frame(stage, city, [0.0, 2.0], [0, 1])  # 6 pumps needed, at least 3, only 2 held
    assert row["status"] == STATUS_CODES["relaxed"] and row["pumps_deployed"] == 2


def test_generators_and_shelter_beds():
    city = square_city(["residential", "hospital", "shelter"], [1, 2, 3])
    city.buildings.table["population"][0] = 40.0
    stage = AllocationStage(scenario(health={"shelter_beds": 100}, utilities={"generators": 4}), None, city)
    row, alloc = run_frame(stage, city, [0.5, 0.0, 0.0], [1, 2, 0])
    # 1600 m2 x 2 storeys x 30 W/m2 = 96 kW -> one 250 kW generator; 25 % of 40 displaced -> 10 beds
    storeys = city.buildings.table["storeys"][1]
    assert row["generators_demanded"] == math.ceil(1600 * storeys * 30 / 1000 / 250)
    assert row["shelter_beds_demanded"] == 10 and row["shelter_beds_deployed"] == 10
    assert row["generators_deployed"] == row["generators_demanded"]
    depots = place_depots(city, ["health", "utilities"], load_values())
    assert depots.ids == ["health:b1", "health:b2", "utilities:b0"]  # no industrial, no substation: the
    # largest building (all are 1600 m2 here: the first)
    stock = split_stock({"health": {"shelter_beds": 100}, "utilities": {}}, ["health", "utilities"], depots,
                        load_values())
    assert stock["depot"].tolist() == [1] and stock["count"].tolist() == [100]  # beds only at the shelter


@pytest.mark.parametrize("text, reason", [
    ("[pumps]\npump_rate_m3_h = -1", "pumps.pump_rate_m3_h: must be a positive number"),
    ("not toml = = 1", "not valid TOML"),
])
def test_bad_values_raise_input_error(tmp_path, text, reason):
    good = load_values()
    path = tmp_path / "values.toml"
    path.write_text(text)
    with pytest.raises(InputError, match=reason):
        load_values(path)
    assert good["pumps"]["pump_rate_m3_h"] > 0


def test_default_river_flood_allocation(tmp_path, monkeypatch, taichi_cpu):
    from twin3d.config import asset
    from twin3d.mis.stages import STAGES
    from twin3d.scenario.results import ResultsFile
    from twin3d.scenario.runner import run_scenario

    monkeypatch.setenv("TWIN3D_CACHE_DIR", str(tmp_path))
    path = run_scenario(asset("scenarios", "river_flood_100y.toml"), quick=True, arch="cpu", progress=False,
                        stages=STAGES)
    with ResultsFile(path) as res:
        f = res.file
        columns = list(f["allocation"].attrs["columns"])
        alloc, rows, reasons = f["allocation"][()], f["allocation_assignments"][()], f["allocation_reasons"][()]
        kinds = list(f["allocation_assignments"].attrs["kinds"])
        n = res.n_frames
    col = {c: alloc[:, i] for i, c in enumerate(columns)}
    assert alloc.shape == (n, len(columns)) and rows.shape == (n, MAX_ASSIGNMENTS, 6)
    assert {"pumps_available", "shelter_beds_deployed", "fire_cost_eur", "objective_eur", "status"} <= set(columns)
    plan = {"pumps": 6, "sandbag_crews": 10, "ambulances": 8, "shelter_beds": 600, "generators": 4}
    for k, count in plan.items():
        assert np.all(col[f"{k}_available"] == count)
        assert np.all(col[f"{k}_deployed"] <= count) and np.all(col[f"{k}_deployed"] >= 0)
        np.testing.assert_array_equal(col[f"{k}_unmet"], col[f"{k}_demanded"] - col[f"{k}_deployed"])
        units = np.nansum(np.where(rows[..., 5] == kinds.index(k), rows[..., 4], 0.0), axis=1)
        np.testing.assert_array_equal(units, col[f"{k}_deployed"])  # fewer than 256 rows a frame here
    assert col["shelter_beds_demanded"].max() > 0 and col["shelter_beds_deployed"].max() > 0
    assert np.all(np.isfinite(rows[..., 4]).sum(axis=1) == col["n_assignments"])
    assert np.all((reasons != b"").sum(axis=1) == col["n_assignments"])
    cost = sum(col[f"{d}_cost_eur"] for d in ("fire", "health", "utilities"))
    np.testing.assert_allclose(cost, col["cost_eur"], rtol=1e-12)
