"""Putting a city and a scenario's geometry onto the simulation Grid.

Everything here returns numpy arrays on the Grid convention (rows north); rasterio's
rasteriser works north-first, so its rows are flipped on the way out.
"""

from __future__ import annotations

import numpy as np

from twin3d.model import City, Grid, Terrain
from twin3d.physics.sources import line_cells


def _transform(grid: Grid):
    from rasterio.transform import from_origin

    x0, _, _, y1 = grid.bounds
    return from_origin(x0, y1, grid.cell_size, grid.cell_size)


def burn(grid: Grid, shapes, fill: int = -1, dtype="int32") -> np.ndarray:
    """Rasterise ``(geojson_geometry, value)`` pairs; a cell takes the value whose shape covers its centre."""
    from rasterio.features import rasterize

    shapes = list(shapes)
    if not shapes:
        return np.full(grid.shape, fill, dtype=dtype)
    out = rasterize(shapes, out_shape=grid.shape, transform=_transform(grid), fill=fill, dtype=dtype)
    return out[::-1].copy()


def polygon_mask(grid: Grid, polygon) -> np.ndarray:
    """Cells whose centres lie inside a polygon ``[(x, y), ...]``."""
    ring = [tuple(map(float, p)) for p in polygon]
    ring.append(ring[0])
    return burn(grid, [({"type": "Polygon", "coordinates": [ring]}, 1)], fill=0, dtype="uint8") > 0


def polyline_mask(grid: Grid, line) -> np.ndarray:
    """Cells a polyline ``[(x, y), ...]`` passes through (connected: water cannot slip between)."""
    mask = np.zeros(grid.shape, dtype=bool)
    for p0, p1 in zip(line[:-1], line[1:]):
        rows, cols = line_cells(grid, p0, p1)
        mask[rows, cols] = True
    # close diagonal gaps: a step from (r, c) to (r+1, c+1) also takes (r+1, c)
    diag = mask[:-1, :-1] & mask[1:, 1:] & ~mask[1:, :-1] & ~mask[:-1, 1:]
    anti = mask[:-1, 1:] & mask[1:, :-1] & ~mask[:-1, :-1] & ~mask[1:, 1:]
    mask[1:, :-1] |= diag
    mask[1:, 1:] |= anti
    return mask


def terrain_on_grid(terrain: Terrain, grid: Grid) -> np.ndarray:
    """Terrain resampled bilinearly at the grid's cell centres; gaps take the nearest valid value."""
    from scipy.ndimage import distance_transform_edt

    xx, yy = np.meshgrid(grid.x_centers(), grid.y_centers())
    z = terrain.sample(xx, yy)
    gaps = ~np.isfinite(z)
    if gaps.all():
        raise ValueError("the terrain does not cover the grid")
    if gaps.any():
        idx = distance_transform_edt(gaps, return_distances=False, return_indices=True)
        z = z[tuple(idx)]
    return z


def building_cells(city: City, grid: Grid) -> np.ndarray:
    """``(ny, nx)`` int32: the building index whose footprint covers each cell centre, else -1.

    Footprints are the xy projection of each building's upward-facing triangles.
    """
    mesh = city.buildings.mesh
    if not mesh.n_triangles:
        return np.full(grid.shape, -1, dtype=np.int32)
    v = mesh.vertices[mesh.triangles]  # (m, 3, 3)
    nz = ((v[:, 1, 0] - v[:, 0, 0]) * (v[:, 2, 1] - v[:, 0, 1])
          - (v[:, 1, 1] - v[:, 0, 1]) * (v[:, 2, 0] - v[:, 0, 0]))
    up = nz > 1e-9
    x0, y0, x1, y1 = grid.bounds
    inside = ((v[:, :, 0].max(axis=1) > x0) & (v[:, :, 0].min(axis=1) < x1)
              & (v[:, :, 1].max(axis=1) > y0) & (v[:, :, 1].min(axis=1) < y1))
    keep = np.flatnonzero(up & inside)
    tri = v[keep][:, :, :2]
    ring = np.concatenate([tri, tri[:, :1]], axis=1).tolist()
    shapes = (({"type": "Polygon", "coordinates": [r]}, int(b))
              for r, b in zip(ring, mesh.triangle_feature[keep]))
    return burn(grid, shapes)


def sampling_pairs(ids: np.ndarray, n_buildings: int, centroid_cells: np.ndarray,
                   ring_cells: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Flat cell indices and building indices of the cells that sample each building's hazard.

    A building's sample is the ring of non-building cells within ``ring_cells`` of its
    footprint (where water stands against its walls), plus its footprint cells (where
    heat and plumes are read).  A building too small to own a cell samples the cell of
    its centroid (``centroid_cells``: flat indices, -1 outside the grid).
    """
    ny, nx = ids.shape
    flat = ids.ravel()
    cells, owners = [np.flatnonzero(flat >= 0)], [flat[flat >= 0]]
    padded = np.pad(ids, ring_cells, constant_values=-1)
    free = ids < 0
    for di in range(-ring_cells, ring_cells + 1):
        for dj in range(-ring_cells, ring_cells + 1):
            if di == 0 and dj == 0:
                continue
            shifted = padded[ring_cells + di: ring_cells + di + ny, ring_cells + dj: ring_cells + dj + nx]
            hit = free & (shifted >= 0)
            cells.append(np.flatnonzero(hit))
            owners.append(shifted[hit])
    has_cells = np.zeros(n_buildings, dtype=bool)
    has_cells[ids[ids >= 0]] = True
    small = np.flatnonzero(~has_cells & (centroid_cells >= 0))
    cells.append(centroid_cells[small])
    owners.append(small)
    pairs = np.unique(np.stack([np.concatenate(owners), np.concatenate(cells)]), axis=1)
    return pairs[1].astype(np.int64), pairs[0].astype(np.int64)


def sample_max(values: np.ndarray, cells: np.ndarray, owners: np.ndarray, n: int) -> np.ndarray:
    """Per-building maximum of a field over its sampling cells (NaN where it has none)."""
    out = np.full(n, -np.inf)
    np.maximum.at(out, owners, values.ravel()[cells])
    out[np.isneginf(out)] = np.nan
    return out


def sample_mean(values: np.ndarray, cells: np.ndarray, owners: np.ndarray, n: int) -> np.ndarray:
    """Per-building mean of a field over its sampling cells (NaN where it has none)."""
    total = np.bincount(owners, weights=values.ravel()[cells], minlength=n)
    count = np.bincount(owners, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)
