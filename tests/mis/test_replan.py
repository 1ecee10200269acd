"""Planning a stored frame again: hand-checkable needs on a four-node road square."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from tests.mis.test_allocation_stage import square_city
from twin3d.errors import InputError
from twin3d.mis.allocation_stage import STATUS_CODES
from twin3d.mis.replan import Replanner, scenario_spec
from twin3d.model import Grid

GRID = Grid((-100.0, -100.0), 50.0, (26, 26))  # covers the square with dry cells: no road fails


def stored_frames(depth, flags) -> SimpleNamespace:
    """What Replanner reads of a results file: one frame of building depth and status flags."""
    buildings = {"max_depth": np.asarray([depth], np.float32), "status": np.asarray([flags], np.uint8)}
    return SimpleNamespace(n_frames=1, path=Path("results.h5"), grid=GRID,
                           file={"buildings": buildings, "fields": {}})


@pytest.fixture
def flooded_hospital():
    # a fire station at node 0 and a hospital at node 2 under 1.0 m of water (flag 1: flooded)
    city = square_city(["fire_station", "hospital"], [0, 2])
    planner = Replanner(city, {"response": {"departments": {"fire": {"pumps": 6}}}}, GRID)
    return planner, stored_frames([0.0, 1.0], [0, 1])


def test_the_scenario_inventory_gives_the_stages_plan(flooded_hospital):
    planner, results = flooded_hospital
    plan = planner.solve(results, 0)
    row = plan.row()
    # 1.0 m on 1600 m2 = 1600 m3; 100 m3/h per pump for 6 h -> ceil(2.67) = 3 pumps, all sent
    assert (row["pumps_available"], row["pumps_demanded"], row["pumps_deployed"], row["pumps_unmet"]) == (6, 3, 3, 0)
    assert plan.status == "optimal" and row["status"] == STATUS_CODES["optimal"]
    assert row["fire_cost_eur"] == pytest.approx(3 * 450.0)
    assert len(plan.reasons) == 1 and plan.reasons[0].startswith("3 pumps from fire station b0 to hospital b1")
    np.testing.assert_allclose(plan.assignments[0, :4], [30.0, 30.0, 1030.0, 1030.0])
    assert plan.solve_time_s > 0 and plan.inventory == {"fire": {"pumps": 6}}


def test_an_edited_inventory_is_planned(flooded_hospital):
    planner, results = flooded_hospital
    row = planner.solve(results, 0, {"fire": {"pumps": 2}}).row()
    # two pumps meet the hospital's minimum service (half of 3, rounded up): optimal, one unmet
    assert (row["pumps_available"], row["pumps_deployed"], row["pumps_unmet"]) == (2, 2, 1)
    assert row["status"] == STATUS_CODES["optimal"]
    row = planner.solve(results, 0, {"fire": {"pumps": 1}}).row()
    assert row["pumps_deployed"] == 1 and row["status"] == STATUS_CODES["relaxed"]
    assert planner.solve(results, 0).row()["pumps_available"] == 6  # the scenario's counts again


@pytest.mark.parametrize("inventory, reason", [
    ({"police": {"pumps": 1}}, "unknown department 'police'"),
    ({"fire": {"boats": 1}}, "unknown kind 'boats'"),
    ({"fire": {"pumps": -1}}, "whole number >= 0"),
    ({"fire": {"pumps": 1.5}}, "whole number >= 0"),
])
def test_bad_inventories_are_refused(flooded_hospital, inventory, reason):
    planner, results = flooded_hospital
    with pytest.raises(InputError, match=reason):
        planner.solve(results, 0, inventory)


def test_scenario_spec_reads_the_stored_toml():
    results = SimpleNamespace(path=Path("r.h5"), file=SimpleNamespace(attrs={
        "scenario": '[response.departments.fire]\npumps = 6\n'}))
    assert scenario_spec(results) == {"response": {"departments": {"fire": {"pumps": 6}}}}
    results.file.attrs["scenario"] = "pumps = ["
    with pytest.raises(InputError, match="not TOML"):
        scenario_spec(results)
