"""KPIs on a six-building city computed by hand, weighted percentiles, connectivity, the default city."""

from __future__ import annotations

import time

import numpy as np
import pytest

from twin3d.errors import InputError
from twin3d.mis.kpis import (
    KPIS,
    FrameInputs,
    compute_kpis,
    kpi_layout,
    largest_component_share,
    stack_kpis,
    weighted_percentile,
)

INF = np.inf


@pytest.fixture
def table():
    """0-1 homes, 2 a shop, 3 a hospital, 4-5 shelters."""
    return {
        "use": np.array(["residential", "residential", "commercial", "hospital", "shelter", "shelter"],
                        dtype=object),
        "population": np.array([100.0, 50.0, 20.0, 30.0, 0.0, 0.0]),
        "elderly_share": np.array([0.2, 0.0, 0.0, 0.0, 0.0, 0.0]),
        "children_share": np.array([0.1, 0.4, 0.0, 0.0, 0.0, 0.0]),
        "capacity": np.array([0.0, 0.0, 0.0, 40.0, 60.0, 80.0]),
        "replacement_value": np.array([2.0e5, 1.0e5, 1.0e6, 5.0e6, 1.0e6, 1.0e6]),
    }


@pytest.fixture
def frame(table):
    return FrameInputs(
        table,
        max_depth=np.array([1.25, 0.2, 0.5, 0.0, 0.05, 0.15]),
        max_depth_so_far=np.array([1.25, 0.4, 0.5, 0.0, 0.05, 0.15]),
        temperature=np.array([31.0, 36.0, 29.0, 40.0, 20.0, 20.0]),
        building_power=np.array([True, False, True, False, True, True]),
        building_water=np.array([False, True, True, True, True, True]),
        facility_down=np.array([False, False, False, True, False, True]),
        response_time_min=np.array([5.0, 20.0, 12.0, 10.0, 3.0, INF]),
        road_connectivity=0.75,
    )


def test_flood_kpis_by_hand(frame):
    k = compute_kpis(frame)
    # flooded (>= 0.1 m): homes 0 and 1, the shop, shelter 5
    assert k["flooded_buildings"] == 4.0
    # 0.1-0.3 m: home 1 (50) + shelter 5 (nobody); 0.3-1 m: shop (20); > 1 m: home 0 (100)
    np.testing.assert_array_equal(k["people_by_depth"], [50.0, 20.0, 100.0])
    # deepest so far: 0.45 x 200k + 0.20 x 100k + 0.15 x 1M + 0 + 0.015 x 1M + 0.045 x 1M (shelters: commercial)
    assert k["damage_eur"] == pytest.approx(90_000 + 20_000 + 150_000 + 15_000 + 45_000, rel=1e-12)


def test_shelter_demand_against_capacity_by_hand(frame):
    # displaced: homes reached 1.25 m and 0.4 m so far -> 150; usable: shelter 4 (60 places) only,
    # shelter 5 is flooded (0.15 m) and down
    np.testing.assert_array_equal(compute_kpis(frame)["shelter_balance"], [150.0, 60.0, 90.0])


def test_service_kpis_by_hand(frame):
    k = compute_kpis(frame)
    np.testing.assert_array_equal(k["critical_facilities_down"], [1.0, 1.0])  # hospital, shelter
    assert k["population_without_power"] == pytest.approx(100 * 80 / 200, rel=1e-12)  # homes 1 + hospital
    assert k["population_without_water"] == pytest.approx(100 * 100 / 200, rel=1e-12)  # home 0
    assert k["road_connectivity"] == pytest.approx(75.0, rel=1e-12)


def test_response_time_kpis_by_hand(frame):
    k = compute_kpis(frame)
    # by time: 5 min (100 people), 10 (30), 12 (20), 20 (50); shelters house nobody.  Cumulative
    # 100, 130, 150, 200: half (100) is reached at 5 min, 95 % (190) at 20 min.
    assert k["response_time_median_min"] == 5.0
    assert k["response_time_p95_min"] == 20.0
    assert k["population_beyond_response_target"] == 50.0  # home 1 at 20 min


def test_exposure_kpis_by_hand(frame):
    k = compute_kpis(frame)
    # weighted: home 0 100 x 1.25, home 1 50 x 1.2, hospital 30 x 1; > 30 degC all three, > 35 degC the last two
    np.testing.assert_allclose(k["heat_exposed_population"], [215.0, 90.0], rtol=1e-12)
    np.testing.assert_array_equal(k["plume_exposed_population"], [0.0, 0.0])  # no plume in this scenario


def test_missing_inputs_give_zero_exposure_and_unknown_services(table):
    k = compute_kpis(FrameInputs(table))
    assert k["flooded_buildings"] == 0.0 and k["damage_eur"] == 0.0
    np.testing.assert_array_equal(k["people_by_depth"], [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(k["heat_exposed_population"], [0.0, 0.0])
    np.testing.assert_array_equal(k["shelter_balance"], [0.0, 140.0, 0.0])
    for name in ("population_without_power", "population_without_water", "road_connectivity",
                 "response_time_median_min", "response_time_p95_min", "population_beyond_response_target"):
        assert np.isnan(k[name]), name
    assert np.isnan(k["critical_facilities_down"]).all() and k["critical_facilities_down"].shape == (2,)


def test_layout_matches_the_rows(table, frame):
    layout = kpi_layout(table)
    assert set(layout) == set(KPIS)
    assert layout["critical_facilities_down"] == ("facilities", "Critical facilities down", ("hospital", "shelter"))
    assert layout["damage_eur"][0] == "EUR" and layout["damage_eur"][2] is None
    assert layout["plume_exposed_population"][2] == (">35 ug/m3", ">250 ug/m3")
    for name, value in compute_kpis(frame).items():
        columns = layout[name][2]
        assert np.shape(value) == (() if columns is None else (len(columns),)), name
    series = stack_kpis([compute_kpis(frame), compute_kpis(FrameInputs(table))])
    assert series["damage_eur"].shape == (2,) and series["shelter_balance"].shape == (2, 3)


def test_weighted_percentile_by_hand():
    values = np.array([3.0, 1.0, INF, 2.0])
    weights = np.array([1.0, 1.0, 2.0, 0.0])  # the 2.0 entry carries no weight
    # sorted 1 (1), 3 (1), inf (2): cumulative 1, 2, 4 of 4
    assert weighted_percentile(values, weights, 0.25) == 1.0
    assert weighted_percentile(values, weights, 0.5) == 3.0
    assert weighted_percentile(values, weights, 0.51) == INF
    assert weighted_percentile(values, weights, 0.0) == 1.0
    assert np.isnan(weighted_percentile(values, np.zeros(4), 0.5))


@pytest.mark.parametrize("q", [0.1, 0.5, 0.95])
def test_weighted_percentile_equals_numpy_inverted_cdf(q):
    rng = np.random.default_rng(7)
    values, weights = rng.exponential(10.0, 500), rng.integers(1, 50, 500).astype(float)
    expected = np.percentile(values, 100 * q, weights=weights, method="inverted_cdf")
    assert weighted_percentile(values, weights, q) == pytest.approx(expected, rel=1e-12)


def test_largest_component_share_by_hand():
    edges = np.array([[0, 1], [1, 2], [2, 3], [4, 5]])
    is_open = np.ones(4, dtype=bool)
    assert largest_component_share(6, edges, is_open) == pytest.approx(4 / 6)
    assert largest_component_share(6, edges, np.array([True, False, True, True])) == pytest.approx(2 / 6)
    node_ok = np.array([True, True, False, True, True, True])  # node 2 closed splits 0-1 | 3
    assert largest_component_share(6, edges, is_open, node_ok) == pytest.approx(2 / 6)
    assert largest_component_share(3, np.zeros((0, 2)), np.zeros(0, dtype=bool)) == pytest.approx(1 / 3)
    assert largest_component_share(2, edges[:1], is_open[:1], np.zeros(2, dtype=bool)) == 0.0


@pytest.mark.parametrize(("kwargs", "reason"), [
    ({"max_depth": np.zeros(5)}, "expected \\(6,\\)"),
    ({"facility_down": np.zeros((6, 1), dtype=bool)}, "facility_down: shape"),
    ({"response_time_min": np.array([1, 2, np.nan, 4, 5, 6.0])}, "not NaN"),
    ({"response_time_min": np.array([1, 2, -3, 4, 5, 6.0])}, ">= 0"),
    ({"road_connectivity": 1.5}, "not a share"),
])
def test_bad_frame_inputs_raise_input_error(table, kwargs, reason):
    with pytest.raises(InputError, match=reason):
        FrameInputs(table, **kwargs)


def test_table_without_needed_columns_raises_input_error(table):
    del table["capacity"]
    with pytest.raises(InputError, match="lacks column"):
        FrameInputs(table)


def _independent_damage(table, depth_so_far):
    """Damage by another route: one np.interp per building over the issue's JRC table."""
    points = [0, 0.5, 1, 1.5, 2, 3, 4, 5, 6]
    res = [0, .25, .40, .50, .60, .75, .85, .95, 1.0]
    com = [0, .15, .30, .45, .55, .75, .90, 1.0, 1.0]
    ind = [0, .15, .27, .40, .52, .70, .85, 1.0, 1.0]
    curve = {"residential": res, "industrial": ind}
    return sum(np.interp(d, points, curve.get(u, com)) * v
               for u, d, v in zip(table["use"], np.nan_to_num(depth_so_far), table["replacement_value"]))


def test_default_city_flood_series():
    from twin3d.io.default_city import load_city

    city = load_city(None)[0]
    table, n = city.buildings.table, len(city.buildings)
    road = city.networks["road"]
    ground = table["ground_elevation"]
    level = np.array([44.0, 46.5, 47.5, 46.0])  # a water level rising and falling (m)
    depth = np.clip(level[:, None] - ground[None, :], 0.0, None)
    so_far = np.maximum.accumulate(depth, axis=0)
    population = np.nan_to_num(table["population"])
    start = time.perf_counter()
    frames = [compute_kpis(FrameInputs(table, max_depth=depth[t], max_depth_so_far=so_far[t],
                                       road_connectivity=largest_component_share(
                                           road.n_nodes, road.edges, np.ones(road.n_edges, bool))))
              for t in range(len(level))]
    per_frame_s = (time.perf_counter() - start) / len(level)
    series = stack_kpis(frames)
    flooded = depth >= 0.1
    np.testing.assert_array_equal(series["flooded_buildings"], flooded.sum(axis=1))
    np.testing.assert_allclose(series["people_by_depth"].sum(axis=1), flooded @ population, rtol=1e-12)
    assert series["flooded_buildings"][0] == 0 and series["flooded_buildings"][2] > 100
    np.testing.assert_allclose(series["damage_eur"], [_independent_damage(table, d) for d in so_far], rtol=1e-9)
    assert np.all(np.diff(series["damage_eur"]) >= 0) and series["damage_eur"][-1] > 1e6
    shelters = table["use"] == "shelter"
    assert series["shelter_balance"][0, 1] == pytest.approx(table["capacity"][shelters].sum())
    assert series["shelter_balance"][2, 0] <= population[table["use"] == "residential"].sum()
    np.testing.assert_array_equal(series["road_connectivity"], 100.0)
    assert series["critical_facilities_down"].shape == (4, 6)  # all six critical kinds are in the city
    assert per_frame_s < 0.05, f"{per_frame_s * 1e3:.1f} ms per frame for {n} buildings"
