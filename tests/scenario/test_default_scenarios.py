"""The default scenarios validate, and their quick profiles run to plausible results."""

from __future__ import annotations

import numpy as np
import pytest

from twin3d.config import asset
from twin3d.scenario.results import ResultsFile
from twin3d.scenario.spec import load_scenario

SCENARIOS = sorted(p.name for p in asset("scenarios").glob("*.toml"))


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("TWIN3D_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    yield
    mp.undo()


def run_quick(name: str):
    from twin3d.mis.stages import STAGES
    from twin3d.scenario.runner import run_scenario

    return ResultsFile(run_scenario(asset("scenarios", name), quick=True, arch="cpu", progress=False,
                                    stages=STAGES))


def test_there_are_the_default_scenarios():
    assert {"river_flood_100y.toml", "river_flood_100y_barrier.toml", "cloudburst.toml", "heatwave_3day.toml",
            "warehouse_fire_smoke.toml"} <= set(SCENARIOS)


@pytest.mark.parametrize("name", SCENARIOS)
def test_spec_is_valid_with_a_real_start(name):
    s = load_scenario(asset("scenarios", name))
    assert s.spec["start"].tzinfo is not None and s.output_times()[-1] == s.spec["time"]["duration_s"]


def test_river_flood_and_barrier(cache, taichi_cpu):
    with run_quick("river_flood_100y.toml") as base, run_quick("river_flood_100y_barrier.toml") as barrier:
        assert base.complete and barrier.complete
        mb = dict(zip(base.file["mass_balance"].attrs["columns"], base.file["mass_balance"][-1]))
        assert mb["relative_error"] < 1e-4
        flooded_base = np.nanmax(base.buildings("max_depth"), axis=0) > 0.1
        flooded_barrier = np.nanmax(barrier.buildings("max_depth"), axis=0) > 0.1
        assert flooded_base.sum() > 50
        assert flooded_barrier.sum() < flooded_base.sum()
        raised = barrier.file["grid/elevation"][()] - base.file["grid/elevation"][()]
        assert raised.max() > 0.5  # the barrier is in the simulated bed
        # the MIS stages wrote their frame outputs
        damage = base.file["kpi/damage_eur"][()]
        assert base.file["kpi/damage_eur"].attrs["units"] == "EUR" and np.all(np.diff(damage) >= 0)
        assert barrier.file["kpi/damage_eur"][-1] < damage[-1]
        status = base.file["buildings/status"][()]
        assert status.shape == (base.n_frames, 3000) and (status[-1] & 1).sum() > 0
        n_power = base.file["networks/power/node_ok"].shape[1]
        assert base.file["networks/power/node_ok"][0].all() and n_power > 0


def test_cloudburst_ponds_and_drains(cache, taichi_cpu):
    with run_quick("cloudburst.toml") as r:
        cols = list(r.file["mass_balance"].attrs["columns"])
        mb = r.file["mass_balance"][()]
        assert mb[-1, cols.index("rain")] > 0 and mb[-1, cols.index("drainage")] > 0
        assert mb[-1, cols.index("relative_error")] < 1e-4
        assert [e["kind"] for e in r.file["events"][()]] == [b"rain"]
        assert r.file["fields/depth"].attrs["max"] > 0.05


def test_heatwave_warms_the_city_above_the_background(cache, taichi_cpu):
    with run_quick("heatwave_3day.toml") as r:
        temp = r.buildings("temperature")
        spec = load_scenario(asset("scenarios", "heatwave_3day.toml")).spec
        times, values = spec["hazards"]["heatwave"]["background_c"]
        background = np.interp(r.times(), times, values)
        excess = np.nanmedian(temp, axis=1) - background
        assert excess[-1] > 0.2 and np.all(excess[1:] < 5.0)


def test_smoke_drifts_downwind(cache, taichi_cpu):
    with run_quick("warehouse_fire_smoke.toml") as r:
        c = r.field("concentration", r.n_frames - 1)
        mid = r.grid.nx // 2
        source_col = r.grid.cell_of(500290.0, 5700010.0)[1]
        east, west = c[:, source_col + 5:].sum(), c[:, : max(source_col - 5, 1)].sum()
        assert east > 100 * max(west, 1e-12) and mid > 0
        assert np.nanmax(r.buildings("concentration")) > 0
