"""Fragility thresholds and curves, and the hazard sampled at nodes and along edges."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.networks import network
from twin3d.errors import InputError
from twin3d.model import Grid
from twin3d.networks.fragility import FragilityTable, edge_hazard, failure_probability, node_hazard


def phi(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


@pytest.fixture(scope="module")
def table() -> FragilityTable:
    return FragilityTable.load()


def test_thresholds_of_the_packaged_table(table):
    # a substation fails above 0.3 m, a pump above 0.5 m, a road closes above 0.3 m
    assert table.fails("power.nodes", ["substation"] * 2, [0.30, 0.31]).tolist() == [False, True]
    assert table.fails("water.nodes", ["pump"] * 2, [0.50, 0.51]).tolist() == [False, True]
    assert table.fails("road.edges", ["street", "arterial"], [0.31, 0.29]).tolist() == [True, False]
    assert table.fails("buildings", ["residential", "hospital"], [0.16, 0.14]).tolist() == [True, False]
    # buried pipes and junctions never fail; unknown kinds take the group's default (0.3 m for power)
    assert not table.fails("water.edges", ["pipe", "main"], [10.0, 10.0]).any()
    assert table.fails("power.nodes", ["ring_main_unit"], [0.31]).tolist() == [True]


def test_lognormal_curve_against_hand_values(table):
    # feeder: median 0.4 m, beta 0.3 -> P = Phi(ln(d / 0.4) / 0.3)
    depth = np.array([0.2, 0.3, 0.4, 0.8])
    p = table.probability("power.nodes", ["feeder"] * 4, depth)
    expected = [phi(math.log(d / 0.4) / 0.3) for d in depth]
    np.testing.assert_allclose(p, expected, atol=1e-12)
    np.testing.assert_allclose(p, [0.010430, 0.168794, 0.5, 0.989569], atol=1e-6)
    assert table.fails("power.nodes", ["feeder"] * 2, [0.399, 0.4]).tolist() == [False, True]


def test_no_hazard_gives_zero_probability():
    p = failure_probability(np.array([np.nan, 0.0, -1.0, 5.0]), np.array([0.3, np.nan, 0.3, np.inf]),
                            np.array([np.nan, 0.4, np.nan, np.nan]), np.array([np.nan, 0.3, np.nan, np.nan]))
    assert p.tolist() == [0.0, 0.0, 0.0, 0.0]


def test_missing_group_never_fails(tmp_path):
    path = tmp_path / "roads_only.toml"
    path.write_text('[road.edges]\ndefault = { threshold_m = 0.2 }\n')
    t = FragilityTable.load(path)
    assert t.fails("road.edges", ["street"], [0.25]).tolist() == [True]
    assert t.fails("power.nodes", ["substation"], [9.0]).tolist() == [False]


@pytest.mark.parametrize("text, reason", [
    ("[power.nodes]\ndefault = { threshold_m = ", "not valid TOML"),
    ("[power.nodes]\nsubstation = { threshold_m = 0.3 }\n", "no 'default'"),
    ("[power.nodes]\ndefault = { threshold_m = 0.3, median_m = 0.4 }\n", "either threshold_m"),
    ("[power.nodes]\ndefault = { median_m = 0.4, beta = -1 }\n", "positive"),
    ("[power.nodes]\ndefault = { threshold_m = -0.1 }\n", ">= 0"),
    ("[power.nodes]\ndefault = { threshold_m = 'high' }\n", "must be a number"),
    ("[power.pipes]\ndefault = { threshold_m = 0.1 }\n", "'nodes' and 'edges'"),
    ("[gas.nodes]\ndefault = { threshold_m = 0.1 }\n", "unknown section"),
    ("[buildings]\ndefault = 0.3\n", "must be a table"),
])
def test_bad_files_raise_input_error(tmp_path, text, reason):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(InputError, match=reason) as err:
        FragilityTable.load(path)
    assert err.value.path == str(path)


def test_missing_file_raises_input_error(tmp_path):
    with pytest.raises(InputError, match="cannot read"):
        FragilityTable.load(tmp_path / "absent.toml")


GRID = Grid(origin=(100.0, 200.0), cell_size=2.0, shape=(2, 3))
DEPTH = np.array([[0.0, 0.1, 0.2],
                  [1.0, 1.1, 1.2]])  # row 0 is the southern row


def test_node_hazard_nearest_cell_and_outside():
    xyz = np.array([[101.0, 201.0, 0.0],    # cell (0, 0)
                    [105.9, 203.9, 5.0],    # cell (1, 2)
                    [104.0, 202.0, 0.0],    # on a corner: cell (1, 2)
                    [99.0, 201.0, 0.0],     # west of the grid
                    [np.nan, np.nan, 0.0]])
    np.testing.assert_array_equal(node_hazard(GRID, DEPTH, xyz), [0.0, 1.2, 1.2, np.nan, np.nan])


def test_edge_hazard_is_the_maximum_along_the_polyline():
    # straight edge along the southern row; an L-shaped edge up into the northern row;
    # an edge leaving the grid; an edge wholly outside
    net = network("road", [[100.5, 201.0], [105.5, 201.0], [101.0, 201.0], [200.0, 201.0], [0.0, 0.0],
                           [10.0, 0.0]], ["n"] * 6, [[0, 1], [2, 1], [2, 3], [4, 5]], ["street"] * 4)
    net.edge_vertices = np.array([[100.5, 201.0, 0], [105.5, 201.0, 0],
                                  [101.0, 201.0, 0], [103.0, 203.0, 0], [105.5, 201.0, 0],
                                  [101.0, 201.0, 0], [200.0, 201.0, 0], [0, 0, 0], [10, 0, 0]], dtype=float)
    net.edge_offsets = np.array([0, 2, 5, 7, 9])
    np.testing.assert_array_equal(edge_hazard(GRID, DEPTH, net), [0.2, 1.2, 0.2, np.nan])


def test_edge_hazard_catches_a_one_cell_peak():
    # a 1 m wide flooded cell between two dry end points: half-cell sampling must hit it
    grid = Grid(origin=(0.0, 0.0), cell_size=1.0, shape=(1, 10))
    depth = np.zeros((1, 10))
    depth[0, 7] = 0.8
    net = network("road", [[6.1, 0.5], [8.2, 0.5]], ["n"] * 2, [[0, 1]], ["street"])
    np.testing.assert_array_equal(edge_hazard(grid, depth, net), [0.8])


def test_depth_of_the_wrong_shape_raises_input_error():
    with pytest.raises(InputError, match="does not match the grid"):
        node_hazard(GRID, np.zeros((3, 2)), np.zeros((1, 3)))
