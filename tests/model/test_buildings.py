"""Building table completion against hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from twin3d.model import Buildings, Mesh, complete_table
from twin3d.model.buildings import occupancy_parameters


def box_mesh(x0, y0, w, d, z0, h, feature):
    """A closed box as 12 triangles (outward), hand-written."""
    v = np.array([[x0, y0, z0], [x0 + w, y0, z0], [x0 + w, y0 + d, z0], [x0, y0 + d, z0]], float)
    v = np.vstack([v, v + [0, 0, h]])
    t = np.array([[0, 2, 1], [0, 3, 2], [4, 5, 6], [4, 6, 7], [0, 1, 5], [0, 5, 4], [1, 2, 6], [1, 6, 5],
                  [2, 3, 7], [2, 7, 6], [3, 0, 4], [3, 4, 7]])
    return Mesh(v, t, np.full(12, feature))


def two_buildings(**table):
    m = Mesh.concat([box_mesh(0, 0, 10, 20, 5.0, 9.0, 0), box_mesh(100, 0, 30, 30, 2.0, 12.0, 0)], [0, 1])
    return Buildings(m, {"id": np.array(["a", "b"], dtype=object), **table})


def test_geometry_columns_from_mesh():
    b = complete_table(two_buildings())
    np.testing.assert_allclose(b.table["footprint_area"], [200.0, 900.0])
    np.testing.assert_allclose(b.table["ground_elevation"], [5.0, 2.0])
    np.testing.assert_allclose(b.table["height"], [9.0, 12.0])


def test_estimates_follow_documented_rates_by_hand():
    b = complete_table(two_buildings(use=np.array(["residential", "hospital"], dtype=object)))
    # residential: 9 m / 3.0 m = 3 storeys; 200 m2 x 3 = 600 m2 floor x 2.5/100 = 15 people
    assert b.table["storeys"][0] == 3
    assert b.table["population"][0] == pytest.approx(15.0)
    assert b.table["replacement_value"][0] == pytest.approx(600 * 1100.0)
    # hospital: 12 m / 4.0 m = 3 storeys; 2700 m2 floor; beds 1.11/100 m2 -> floor(29.97) = 29
    assert b.table["storeys"][1] == 3
    assert b.table["capacity"][1] == 29
    assert b.table["population"][1] == pytest.approx(2700 * 0.03)
    assert b.table["population_estimated"].all() and b.table["value_estimated"].all()
    assert b.table["elderly_share"][0] == occupancy_parameters()["elderly_share"]


def test_source_values_are_kept_and_not_marked_estimated():
    b = complete_table(two_buildings(population=np.array([42.0, np.nan]), storeys=np.array([5, 0])))
    assert b.table["population"][0] == 42.0 and not b.table["population_estimated"][0]
    assert b.table["population_estimated"][1]
    assert b.table["storeys"][0] == 5
    assert b.table["population"][1] == pytest.approx(900 * 4 * 0.025)  # 12 m -> 4 storeys
