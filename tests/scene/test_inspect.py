"""Building inspection: attributes, hazard now, status bits and damage so far from a results file."""

from __future__ import annotations

import numpy as np
import pytest

from tests.io.test_store import national_grid_city
from tests.scene.test_frames import write_results
from twin3d.mis.damage import default_curves
from twin3d.scenario.results import ResultsFile
from twin3d.scene.inspect import building_attributes, building_report, decode_status

FLAG_BITS = {1: "flooded", 2: "without_power", 4: "without_water", 8: "down"}


@pytest.fixture
def results(tmp_path):
    r = ResultsFile(write_results(tmp_path / "results.h5"))
    yield r
    r.close()


def test_attributes_are_the_table_row_and_the_source_attributes():
    city = national_grid_city()
    row = building_attributes(city.buildings, 0)
    assert row["id"] == "NL.1" and row["use"] == "school" and row["index"] == 0
    assert row["height"] == pytest.approx(9.0)
    assert row["source"] == {"bouwjaar": 1970, "naam": "Zuid é"}
    assert row["population"] == pytest.approx(float(city.buildings.table["population"][0]))
    assert isinstance(row["population_estimated"], bool)
    with pytest.raises(IndexError):
        building_attributes(city.buildings, 2)


@pytest.mark.parametrize(("bits", "names"), [(0, []), (1, ["flooded"]), (6, ["without_power", "without_water"]),
                                             (15, ["flooded", "without_power", "without_water", "down"])])
def test_status_bits_decode_to_flag_names(bits, names):
    assert decode_status(bits, FLAG_BITS) == names


def test_report_follows_the_frame(results):
    city = national_grid_city()
    # building 1 (a hospital) has max_depth 0, 1, 2 m in frames 0, 1, 2 and is flooded from frame 1
    first = building_report(city.buildings, results, 0, 1)
    assert first["hazard"] == {"max_depth": {"value": 0.0, "units": "m"}}
    assert first["status"]["flags"] == [] and "down" in first["status"]["known"]
    assert first["damage"]["fraction"] == 0.0 and first["damage"]["eur"] == 0.0
    last = building_report(city.buildings, results, 2, 1)
    assert last["hazard"]["max_depth"]["value"] == pytest.approx(2.0)
    assert last["status"] == {"bits": 1, "flags": ["flooded"], "known": list(FLAG_BITS.values())}
    curves = default_curves()
    curve = curves.curve_of(np.array(["hospital"], dtype=object))[0]
    fraction = np.interp(2.0, curves.depth_m[curve], curves.fraction[curve])
    value = float(city.buildings.table["replacement_value"][1])
    assert last["damage"]["fraction"] == pytest.approx(fraction)
    assert last["damage"]["eur"] == pytest.approx(fraction * value, rel=1e-9)
    assert last["damage"]["max_depth_so_far_m"] == pytest.approx(2.0)


def test_damage_keeps_the_deepest_water_so_far(tmp_path):
    from twin3d.model import Grid
    from twin3d.scenario.results import ResultsLayout, ResultsWriter

    grid = Grid((84990.0, 446990.0), 10.0, (2, 2))
    layout = ResultsLayout(grid=grid, elevation=np.zeros(grid.shape), fields=("depth",), n_buildings=2,
                           building_quantities=("max_depth",), mass_balance_columns=("volume",))
    with ResultsWriter(tmp_path / "r.h5", layout, {"start": "2026-02-09T08:00:00"}) as writer:
        for k, d in enumerate((0.5, 1.5, 0.2)):  # the water rises, then falls
            writer.append_frame(600.0 * k, {"depth": np.zeros(grid.shape)}, {"max_depth": np.array([0.0, d])},
                                np.zeros(1))
    with ResultsFile(tmp_path / "r.h5") as r:
        report = building_report(national_grid_city().buildings, r, 2, 1)
    assert report["hazard"]["max_depth"]["value"] == pytest.approx(0.2)
    assert report["damage"]["max_depth_so_far_m"] == pytest.approx(1.5)
    assert report["status"] is None  # this run wrote no status bits


def test_without_results_only_the_attributes():
    report = building_report(national_grid_city().buildings, None, None, 0)
    assert report["attributes"]["id"] == "NL.1"
    assert report["hazard"] == {} and report["status"] is None and report["damage"] is None


def test_series_of_a_run_still_computing_reads_new_frames(tmp_path):
    from twin3d.model import Grid
    from twin3d.scenario.results import ResultsLayout, ResultsWriter
    from twin3d.scene.inspect import BuildingSeries

    grid = Grid((84990.0, 446990.0), 10.0, (2, 2))
    layout = ResultsLayout(grid=grid, elevation=np.zeros(grid.shape), fields=("depth",), n_buildings=2,
                           building_quantities=("max_depth", "max_speed"), mass_balance_columns=("volume",))
    with ResultsWriter(tmp_path / "live.h5", layout, {"start": "2026-02-09T08:00:00"}) as writer:
        def frame(k):
            writer.append_frame(600.0 * k, {"depth": np.zeros(grid.shape)},
                                {"max_depth": np.array([0.0, 0.5 * k]), "max_speed": np.array([0.0, 0.1 * k])},
                                np.zeros(1))
        frame(0)
        frame(1)
        results = ResultsFile(tmp_path / "live.h5")
        series = BuildingSeries(results, 1)
        assert series.n_frames == 2 and series.names == ["max_depth", "max_speed"]
        frame(2)
        results.refresh()
        report = building_report(national_grid_city().buildings, results, 2, 1, series=series)
        assert report["hazard"]["max_speed"] == {"value": pytest.approx(0.2), "units": "m/s"}
        assert series.n_frames == 3 and report["damage"]["max_depth_so_far_m"] == pytest.approx(1.0)
        results.close()
