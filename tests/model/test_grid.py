from __future__ import annotations

import numpy as np
import pytest

from twin3d.model import Grid, Terrain


def test_grid_convention_rows_go_north():
    g = Grid(origin=(500_000.0, 5_700_000.0), cell_size=2.0, shape=(3, 4))
    assert g.bounds == (500_000.0, 5_700_000.0, 500_008.0, 5_700_006.0)
    assert g.cell_of(500_000.5, 5_700_000.5) == (0, 0)  # lower-left cell
    assert g.cell_of(500_007.9, 5_700_005.9) == (2, 3)  # upper-right: last row is northernmost
    assert g.cell_of(499_999.0, 5_700_000.0) == (-1, -1)
    np.testing.assert_array_equal(g.y_centers(), 5_700_000.0 + np.array([1.0, 3.0, 5.0]))


@pytest.mark.parametrize("kwargs", [dict(cell_size=0), dict(cell_size=-1), dict(shape=(0, 3)),
                                    dict(origin=(np.nan, 0))])
def test_grid_rejects_nonsense(kwargs):
    base = dict(origin=(0.0, 0.0), cell_size=1.0, shape=(2, 2))
    with pytest.raises(ValueError):
        Grid(**{**base, **kwargs})


def test_terrain_bilinear_sample_of_a_plane_is_exact():
    g = Grid((100.0, 200.0), 5.0, (10, 12))
    z = 3.0 + 0.1 * (g.x_centers()[None, :] - 100) + 0.2 * (g.y_centers()[:, None] - 200)
    t = Terrain(g, z)
    x = np.array([110.0, 150.3, 140.0])
    y = np.array([210.0, 230.7, 240.0])
    np.testing.assert_allclose(t.sample(x, y), 3.0 + 0.1 * (x - 100) + 0.2 * (y - 200), atol=1e-12)
    assert np.isnan(t.sample(90.0, 210.0))
