"""A grid array as a GeoTIFF in memory (rasterio)."""

from __future__ import annotations

import numpy as np


def grid_geotiff(values: np.ndarray, grid, crs: str = "", tags: dict | None = None) -> bytes:
    """``values`` on ``grid`` (rows north from ``grid.origin``) as GeoTIFF bytes.

    The raster is north-up (rows flipped), float32, with NaN as nodata, the affine transform of
    the grid and ``crs`` when the results name one (e.g. ``EPSG:25832``).
    """
    import rasterio
    from rasterio.io import MemoryFile
    from rasterio.transform import from_origin

    ny, nx = grid.shape
    x0, y0 = grid.origin
    transform = from_origin(x0, y0 + ny * grid.cell_size, grid.cell_size, grid.cell_size)
    data = np.flipud(np.asarray(values, dtype=np.float32))
    profile = {"driver": "GTiff", "width": nx, "height": ny, "count": 1, "dtype": "float32",
               "transform": transform, "nodata": np.nan, "compress": "deflate"}
    if crs:
        try:
            profile["crs"] = rasterio.crs.CRS.from_user_input(crs)
        except rasterio.errors.CRSError:
            pass
    with MemoryFile() as memfile:
        with memfile.open(**profile) as dst:
            dst.write(data, 1)
            if tags:
                dst.update_tags(**tags)
        return memfile.read()
