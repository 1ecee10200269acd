"""The strategy's road closures reach routing."""

from __future__ import annotations

import numpy as np

from twin3d.mis.stages import road_closures
from twin3d.model import Grid, Network


def test_road_closures_by_line_and_by_id():
    grid = Grid((0.0, 0.0), 5.0, (20, 20))
    road = Network("road", ["a", "b", "c", "d"], [[10, 10, 0], [90, 10, 0], [90, 90, 0], [10, 90, 0]],
                   ["x"] * 4, [[0, 1], [1, 2], [2, 3], [3, 0]], ["s", "e", "n", "w"], ["street"] * 4)
    spec = {"strategy": {"road_closures": [{"line": [[50.0, 0.0], [50.0, 30.0]]}, {"edges": ["n"]}]}}
    np.testing.assert_array_equal(road_closures(spec, grid, road), [True, False, True, False])
    assert road_closures({}, grid, road) is None
