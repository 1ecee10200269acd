"""Rasters onto the twin3d :class:`~twin3d.model.Grid`: terrain from .asc, GeoTIFF and other GDAL formats.

GDAL rasters are stored north-first (row 0 is the northernmost row); twin3d's
grid has row 0 in the south, so every reader here flips rows (and columns
for the rare east-to-west raster).  Rotated or sheared transforms and
non-square cells are rejected rather than resampled: resampling an elevation
model silently changes flood paths, so it is left to the user's GIS.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from twin3d.errors import InputError
from twin3d.io.atomic import atomic_path
from twin3d.model import City, Grid, Terrain

_ASC_NODATA = -9999.0


def crs_string(crs) -> str | None:
    """``"EPSG:NNNN"`` for a rasterio/pyproj CRS with an EPSG code, else its WKT, else None."""
    if crs is None or not str(crs):
        return None
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs.to_wkt()


def _grid_of(path: Path, transform, width: int, height: int) -> tuple[Grid, bool, bool]:
    """The Grid of a GDAL transform and whether rows / columns must be flipped."""
    a, b, c, d, e, f = (transform.a, transform.b, transform.c, transform.d, transform.e, transform.f)
    if b != 0.0 or d != 0.0:
        raise InputError(path, f"rotated or sheared raster (transform terms {b}, {d}) is not supported; "
                               "warp it to a north-up grid first")
    if not (a and e and math.isfinite(a) and math.isfinite(e)):
        raise InputError(path, "raster has no valid georeferencing (zero or infinite cell size)")
    if not math.isclose(abs(a), abs(e), rel_tol=1e-9):
        raise InputError(path, f"non-square cells ({abs(a)} x {abs(e)}) are not supported; "
                               "resample to square cells first")
    flip_cols, flip_rows = a < 0, e < 0
    x0 = c + a * width if flip_cols else c
    y0 = f + e * height if flip_rows else f
    return Grid(origin=(x0, y0), cell_size=abs(a), shape=(height, width)), flip_rows, flip_cols


def _read_band(path: Path, band: int) -> tuple[Grid, np.ndarray, str | None, float | None]:
    """Grid, float64 values (NaN where no data, rows going north), CRS and nodata of one band."""
    import rasterio
    from rasterio._err import CPLE_BaseError
    from rasterio.errors import RasterioError

    path = Path(path)
    if not path.is_file():
        raise InputError(path, "no such file")
    try:
        # AAIGrid otherwise reads decimal values as float32 and loses the written precision.
        with rasterio.Env(AAIGRID_DATATYPE="Float64"), rasterio.open(path) as src:
            if not 1 <= band <= src.count:
                raise InputError(path, f"band {band} does not exist (the raster has {src.count})")
            if src.transform.is_identity and not src.crs:
                raise InputError(path, "raster has no georeferencing")
            grid, flip_rows, flip_cols = _grid_of(path, src.transform, src.width, src.height)
            masked = src.read(band, masked=True)
            crs = crs_string(src.crs)
            nodata = src.nodatavals[band - 1]
    except (RasterioError, CPLE_BaseError, ValueError) as exc:
        raise InputError(path, f"not a readable raster: {str(exc).splitlines()[0]}") from exc
    values = masked.astype(np.float64).filled(np.nan)
    values[~np.isfinite(values)] = np.nan
    if flip_rows:
        values = values[::-1]
    if flip_cols:
        values = values[:, ::-1]
    return grid, np.ascontiguousarray(values), crs, None if nodata is None else float(nodata)


def read_raster(path: Path, band: int = 1) -> tuple[Grid, np.ndarray, str | None]:
    """Read one band of any GDAL raster onto a :class:`~twin3d.model.Grid`.

    Parameters
    ----------
    path : Path
        .asc, GeoTIFF or any other raster GDAL reads.
    band : int
        1-based band number.

    Returns
    -------
    grid, values, crs
        ``values`` is float64 of ``grid.shape`` with rows going north and NaN
        for no data; ``crs`` is ``"EPSG:NNNN"``, WKT or None.
    """
    grid, values, crs, _ = _read_band(path, band)
    return grid, values, crs


def read_terrain(path: Path, band: int = 1) -> Terrain:
    """Read an elevation raster as :class:`~twin3d.model.Terrain` (no-data as NaN, value kept)."""
    grid, values, _, nodata = _read_band(path, band)
    if not np.isfinite(values).any():
        raise InputError(path, "raster holds no valid elevation")
    return Terrain(grid=grid, elevation=values, nodata=nodata)


def read_terrain_city(path: Path, band: int = 1) -> City:
    """A :class:`~twin3d.model.City` holding only the terrain of an elevation raster.

    Examples
    --------
    >>> city = read_terrain_city(Path("dem.tif"))  # doctest: +SKIP
    >>> city.terrain.grid.shape, city.crs  # doctest: +SKIP
    ((195, 342), 'EPSG:27700')
    """
    path = Path(path)
    grid, values, crs, nodata = _read_band(path, band)
    if not np.isfinite(values).any():
        raise InputError(path, "raster holds no valid elevation")
    terrain = Terrain(grid=grid, elevation=values, nodata=nodata)
    return City(name=path.name.split(".")[0] or "terrain", crs=crs, terrain=terrain,
                metadata={"source": os.fspath(path)})


def _write_nodata(terrain: Terrain) -> float:
    """The no-data value to write: the terrain's own if usable, else -9999 (or below the data)."""
    nodata = terrain.nodata
    if nodata is None or not np.isfinite(nodata):
        nodata = _ASC_NODATA
    valid = terrain.elevation[terrain.valid]
    if valid.size and np.any(valid == nodata):
        nodata = float(np.floor(valid.min()) - 9999.0)
    return float(nodata)


def _write_asc(terrain: Terrain, target: Path, nodata: float) -> None:
    g = terrain.grid
    header = (f"ncols {g.nx}\nnrows {g.ny}\nxllcorner {g.origin[0]!r}\nyllcorner {g.origin[1]!r}\n"
              f"cellsize {g.cell_size!r}\nNODATA_value {nodata!r}")
    rows = np.where(terrain.valid, terrain.elevation, nodata)[::-1]
    np.savetxt(target, rows, fmt="%.17g", delimiter=" ", header=header, comments="")


def _write_prj(path: Path, crs: str) -> None:
    from pyproj import CRS
    from pyproj.enums import WktVersion

    wkt = CRS.from_user_input(crs).to_wkt(WktVersion.WKT1_ESRI)
    with atomic_path(path.with_suffix(".prj")) as tmp:
        tmp.write_text(wkt)


def _write_tif(terrain: Terrain, target: Path, nodata: float, crs: str | None) -> None:
    import rasterio
    from rasterio.transform import from_origin

    g = terrain.grid
    x0, _, _, y1 = g.bounds
    rows = np.where(terrain.valid, terrain.elevation, nodata)[::-1]
    profile = {"driver": "GTiff", "width": g.nx, "height": g.ny, "count": 1, "dtype": "float64",
               "transform": from_origin(x0, y1, g.cell_size, g.cell_size), "nodata": nodata,
               "crs": crs, "compress": "deflate", "predictor": 3}
    with rasterio.open(target, "w", **profile) as dst:
        dst.write(np.ascontiguousarray(rows), 1)


def write_terrain(terrain: Terrain, path: Path, crs: str | None = None) -> None:
    """Write terrain to .asc (with a .prj when ``crs`` is given) or GeoTIFF (.tif/.tiff), atomically.

    Values are written as float64 (``%.17g`` text for .asc), so reading the file
    back gives the same elevations; NaN cells get the terrain's no-data value
    (-9999 when it has none).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".asc", ".tif", ".tiff"):
        raise InputError(path, "terrain can be written as .asc, .tif or .tiff only")
    if crs is not None:
        from pyproj import CRS
        from pyproj.exceptions import CRSError

        try:
            CRS.from_user_input(crs)
        except CRSError as exc:
            raise InputError(path, f"unknown CRS {crs!r}") from exc
    nodata = _write_nodata(terrain)
    with atomic_path(path) as tmp:
        if suffix == ".asc":
            _write_asc(terrain, tmp, nodata)
        else:
            _write_tif(terrain, tmp, nodata, crs)
    if suffix == ".asc" and crs is not None:
        _write_prj(path, crs)
