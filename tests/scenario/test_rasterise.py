"""City and scenario geometry on the grid, checked on hand-made cases."""

from __future__ import annotations

import numpy as np

from tests.model.test_buildings import box_mesh
from twin3d.model import Buildings, City, Grid, Mesh, Terrain
from twin3d.scenario.rasterise import (
    building_cells,
    polygon_mask,
    polyline_mask,
    sample_max,
    sampling_pairs,
    terrain_on_grid,
)

GRID = Grid((1000.0, 2000.0), 2.0, (10, 12))  # 24 m x 20 m


def test_building_footprints_cover_cell_centres():
    mesh = Mesh.concat([box_mesh(1004.0, 2004.0, 4.0, 6.0, 0, 10, 0),   # cols 2-3, rows 2-4
                        box_mesh(1016.2, 2010.2, 0.5, 0.5, 0, 5, 0)], [0, 1])  # too small for a centre
    city = City(buildings=Buildings(mesh, {"id": np.array(["a", "b"], dtype=object)}))
    ids = building_cells(city, GRID)
    assert (ids == 0).sum() == 2 * 3
    assert set(zip(*np.nonzero(ids == 0))) == {(r, c) for r in (2, 3, 4) for c in (2, 3)}
    assert (ids == 1).sum() == 0
    centroid = np.array([-1, 5 * 12 + 8])
    cells, owners = sampling_pairs(ids, 2, centroid)
    ring = cells[owners == 0]
    assert len(ring) == 6 + (5 * 4 - 6)  # footprint + one-cell ring
    assert cells[owners == 1].tolist() == [5 * 12 + 8]
    depth = np.zeros(GRID.shape)
    depth[1, 1] = 0.7  # diagonal neighbour of the footprint
    depth[5, 8] = 0.2
    np.testing.assert_allclose(sample_max(depth, cells, owners, 2), [0.7, 0.2])


def test_polyline_mask_is_watertight_on_diagonals():
    mask = polyline_mask(GRID, [(1000.5, 2000.5), (1019.5, 2019.5)])
    # 4-connected path from one end to the other: no diagonal gaps
    from scipy.ndimage import label

    labels, n = label(mask)  # default structure: 4-connectivity
    assert n == 1 and mask[0, 0] and mask[9, 9]


def test_polygon_mask_area():
    mask = polygon_mask(GRID, [(1000, 2000), (1010, 2000), (1010, 2010), (1000, 2010)])
    assert mask.sum() == 25 and mask[:5, :5].all()


def test_terrain_resampled_and_gaps_filled():
    t = Terrain(Grid((1000.0, 2000.0), 1.0, (20, 24)), np.full((20, 24), 3.0))
    t.elevation[0, 0] = np.nan
    z = terrain_on_grid(t, GRID)
    assert z.shape == GRID.shape and np.all(z == 3.0)
