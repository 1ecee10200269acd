"""Exposure: vulnerability weights, depth classes, heat and plume thresholds, displacement."""

from __future__ import annotations

import numpy as np
import pytest

from twin3d.mis import exposure


@pytest.fixture
def table():
    return {"use": np.array(["residential", "residential", "commercial"], dtype=object),
            "population": np.array([100.0, 50.0, 20.0]),
            "elderly_share": np.array([0.2, 0.0, 0.5]),
            "children_share": np.array([0.1, 0.4, np.nan])}


def test_vulnerability_weight_counts_elderly_twice_and_children_one_and_a_half(table):
    # 1 + 1.0 x 0.2 + 0.5 x 0.1 = 1.25;  1 + 0.5 x 0.4 = 1.2;  1 + 1.0 x 0.5 (missing children share) = 1.5
    np.testing.assert_allclose(exposure.vulnerability_weight(table), [1.25, 1.2, 1.5], rtol=1e-12)
    np.testing.assert_allclose(exposure.weighted_population(table), [125.0, 60.0, 30.0], rtol=1e-12)


def test_missing_population_counts_as_nobody():
    t = {"population": np.array([np.nan, -3.0, 7.0])}
    np.testing.assert_array_equal(exposure.population(t), [0.0, 0.0, 7.0])


def test_people_by_depth_class_uses_lower_inclusive_bounds():
    depth = np.array([0.05, 0.1, 0.29, 0.3, 0.99, 1.0, 3.0, np.nan])
    people = np.array([1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0])
    # [0.1, 0.3): 2 + 4;  [0.3, 1): 8 + 16;  >= 1: 32 + 64;  0.05 m and NaN in no class
    np.testing.assert_array_equal(exposure.population_by_depth_class(people, depth), [6.0, 24.0, 96.0])
    series = exposure.population_by_depth_class(people, np.stack([depth, np.zeros(8)]))
    np.testing.assert_array_equal(series, [[6.0, 24.0, 96.0], [0.0, 0.0, 0.0]])


def test_flooded_from_ten_centimetres():
    np.testing.assert_array_equal(exposure.flooded(np.array([0.0999, 0.1, 2.0, np.nan])),
                                  [False, True, True, False])


def test_heat_exposure_weights_vulnerable_groups(table):
    temperature = np.array([31.0, 36.0, 29.9])
    # weighted 125, 60, 30: > 30 degC -> 125 + 60;  > 35 degC -> 60
    np.testing.assert_allclose(exposure.heat_exposed(table, temperature), [185.0, 60.0], rtol=1e-12)
    series = exposure.heat_exposed(table, np.array([[31.0, 36.0, 29.9], [35.5, 20.0, np.nan]]))
    np.testing.assert_allclose(series, [[185.0, 60.0], [125.0, 125.0]], rtol=1e-12)


def test_plume_exposure_in_kilograms_per_cubic_metre(table):
    concentration = np.array([40e-9, 300e-9, np.nan])  # 40 and 300 ug/m3, outside the grid
    # thresholds 35 ug/m3 = 3.5e-8 kg/m3 and 250 ug/m3 = 2.5e-7 kg/m3, unweighted people
    np.testing.assert_allclose(exposure.plume_exposed(table, concentration), [150.0, 50.0], rtol=1e-12)
    assert exposure.PLUME_THRESHOLDS_KG_M3 == pytest.approx((35e-9, 250e-9), rel=1e-12)


def test_population_above_is_strict():
    np.testing.assert_array_equal(exposure.population_above(np.array([1.0, 2.0]), np.array([30.0, 30.001]),
                                                            (30.0,)), [2.0])


def test_displaced_are_residents_of_homes_flooded_to_thirty_centimetres(table):
    displaced = exposure.displaced_population(table, np.array([0.3, 0.29, 2.0]))
    np.testing.assert_array_equal(displaced, [100.0, 0.0, 0.0])  # the commercial building houses nobody
