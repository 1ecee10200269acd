"""Raster reading onto the Grid convention (rows going north), writing and round trips."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import data_path
from twin3d.errors import InputError
from twin3d.io.raster import read_raster, read_terrain, read_terrain_city, write_terrain
from twin3d.model import Grid, Terrain

NEWCASTLE = ("dem", "newcastle_2m", "topography", "NewcastleCentreDEM_2m.img")


def _asc(tmp_path: Path, text: str, name: str = "t.asc") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


SMALL_ASC = """ncols 3
nrows 2
xllcorner 1000.0
yllcorner 2000.0
cellsize 5.0
NODATA_value -9999
7.5 8 9
1 -9999 3.25
"""


def test_first_asc_line_is_the_northernmost_row(tmp_path):
    grid, values, crs = read_raster(_asc(tmp_path, SMALL_ASC))
    assert grid == Grid(origin=(1000.0, 2000.0), cell_size=5.0, shape=(2, 3))
    assert crs is None
    # the file's first data line is the northern row -> our row ny-1
    np.testing.assert_array_equal(values[1], [7.5, 8.0, 9.0])
    np.testing.assert_array_equal(values[0], [1.0, np.nan, 3.25])
    assert values.dtype == np.float64


def test_a_north_point_finds_the_first_line_value(tmp_path):
    terrain = read_terrain(_asc(tmp_path, SMALL_ASC))
    assert terrain.nodata == -9999.0
    assert np.isnan(terrain.elevation[0, 1])
    # a point in the north-west cell (x 1000-1005, y 2005-2010) holds the file's first value
    assert terrain.grid.cell_of(1002.5, 2007.5) == (1, 0)
    assert terrain.elevation[terrain.grid.cell_of(1002.5, 2007.5)] == 7.5
    assert terrain.elevation[terrain.grid.cell_of(1012.0, 2001.0)] == 3.25


def test_xllcenter_header_gives_the_corner_origin(tmp_path):
    text = SMALL_ASC.replace("xllcorner 1000.0", "xllcenter 1002.5").replace("yllcorner 2000.0",
                                                                              "yllcenter 2002.5")
    grid, _, _ = read_raster(_asc(tmp_path, text))
    assert grid.origin == pytest.approx((1000.0, 2000.0), abs=1e-9)


def test_newcastle_dem_shape_cells_bounds_and_crs():
    path = data_path(*NEWCASTLE)
    # expected values read independently from the ArcGIS metadata beside the raster
    meta = path.with_name(path.name + ".xml").read_text()
    west = float(re.search(r"<westBL[^>]*>([-\d.]+)</westBL>", meta).group(1))
    south = float(re.search(r"<southBL[^>]*>([-\d.]+)</southBL>", meta).group(1))
    sizes = [int(s) for s in re.findall(r"<dimSize[^>]*>(\d+)</dimSize>", meta)]
    assert sizes == [342, 195]  # columns (type 002 = x), then rows
    city = read_terrain_city(path)
    terrain = city.terrain
    assert city.crs == "EPSG:27700"
    assert terrain.grid.shape == (195, 342)  # (ny, nx): 342 columns west-east, 195 rows
    assert terrain.grid.cell_size == 2.0
    assert terrain.grid.origin == pytest.approx((west, south), abs=1e-5)
    assert terrain.grid.bounds[2:] == pytest.approx((west + 684.0, south + 390.0), abs=1e-5)
    assert terrain.nodata == -9999.0
    assert terrain.valid.all()
    # SOURCE.md: z 43.44-81.74 m
    assert np.nanmin(terrain.elevation) == pytest.approx(43.44, abs=0.01)
    assert np.nanmax(terrain.elevation) == pytest.approx(81.74, abs=0.01)


def test_newcastle_rows_go_north():
    import rasterio

    path = data_path(*NEWCASTLE)
    terrain = read_terrain(path)
    with rasterio.open(path) as src:
        north_first = src.read(1).astype(np.float64)
        # a point in the north-east corner cell, through GDAL's own index()
        x, y = src.bounds.right - 1.0, src.bounds.top - 1.0
        r, c = src.index(x, y)
    np.testing.assert_array_equal(terrain.elevation, north_first[::-1])
    assert terrain.grid.cell_of(x, y) == (terrain.grid.ny - 1, terrain.grid.nx - 1)
    assert terrain.elevation[terrain.grid.cell_of(x, y)] == north_first[r, c]


@pytest.mark.parametrize("suffix", [".asc", ".tif"])
def test_round_trip_is_exact(tmp_path, suffix):
    rng = np.random.default_rng(3)
    grid = Grid(origin=(424520.123, 565146.456), cell_size=2.0, shape=(7, 11))
    z = 40.0 + rng.random(grid.shape) * 40.0
    z[3, 4] = np.nan
    terrain = Terrain(grid=grid, elevation=z, nodata=-9999.0)
    out = tmp_path / f"dem{suffix}"
    write_terrain(terrain, out, crs="EPSG:27700")
    back = read_terrain_city(out)
    assert back.terrain.equals(terrain)
    assert back.crs == "EPSG:27700"
    assert not list(tmp_path.glob("*.part"))


def test_round_trip_keeps_the_newcastle_dem(tmp_path):
    terrain = read_terrain(data_path(*NEWCASTLE))
    for suffix in (".asc", ".tif"):
        write_terrain(terrain, tmp_path / f"n{suffix}")
        assert read_terrain(tmp_path / f"n{suffix}").equals(terrain)


def test_no_data_without_a_value_is_written_as_minus_9999(tmp_path):
    terrain = Terrain(Grid((0.0, 0.0), 1.0, (2, 2)), np.array([[1.0, np.nan], [2.0, 3.0]]))
    write_terrain(terrain, tmp_path / "a.asc")
    text = (tmp_path / "a.asc").read_text()
    assert "NODATA_value -9999.0" in text
    back = read_terrain(tmp_path / "a.asc")
    assert back.nodata == -9999.0 and np.isnan(back.elevation[0, 1]) and back.elevation[0, 0] == 1.0


def _tif(path: Path, transform, data: np.ndarray) -> Path:
    import rasterio

    with rasterio.open(path, "w", driver="GTiff", width=data.shape[1], height=data.shape[0], count=1,
                       dtype="float64", transform=transform, crs="EPSG:28992") as dst:
        dst.write(data, 1)
    return path


def test_south_up_raster_is_not_flipped(tmp_path):
    from rasterio.transform import Affine

    data = np.arange(6.0).reshape(2, 3)
    path = _tif(tmp_path / "s.tif", Affine(1.0, 0, 10.0, 0, 1.0, 20.0), data)
    grid, values, crs = read_raster(path)
    assert grid.origin == (10.0, 20.0) and crs == "EPSG:28992"
    np.testing.assert_array_equal(values, data)


@pytest.mark.parametrize("transform, reason", [
    ((1.0, 0.2, 0.0, 0.0, -1.0, 10.0), "rotated or sheared"),
    ((1.0, 0.0, 0.0, 0.0, -2.0, 10.0), "non-square"),
])
def test_rotated_and_non_square_rasters_are_rejected(tmp_path, transform, reason):
    from rasterio.transform import Affine

    path = _tif(tmp_path / "r.tif", Affine(*transform), np.ones((2, 2)))
    with pytest.raises(InputError, match=reason):
        read_raster(path)


@pytest.mark.parametrize("content", [
    b"\x00\x01\x02garbage\xff" * 10,
    b"ncols 3\nnrows 2\nxllcorner 0\nyllcorner 0\ncellsize 1\n1 2\n",
    b"ncols 2\nnrows 1\nxllcorner 0\nyllcorner 0\ncellsize 1\nNODATA_value -1\n-1 -1\n",
])
def test_bad_rasters_raise_input_error(tmp_path, content):
    path = tmp_path / "bad.asc"
    path.write_bytes(content)
    with pytest.raises(InputError, match="bad.asc"):
        read_terrain(path)


def test_missing_band_and_missing_file(tmp_path):
    path = _asc(tmp_path, SMALL_ASC)
    with pytest.raises(InputError, match="band 2"):
        read_raster(path, band=2)
    with pytest.raises(InputError, match="no such file"):
        read_raster(tmp_path / "nope.tif")


def test_write_rejects_unknown_format_and_crs(tmp_path):
    terrain = Terrain(Grid((0.0, 0.0), 1.0, (1, 1)), np.ones((1, 1)))
    with pytest.raises(InputError, match="asc"):
        write_terrain(terrain, tmp_path / "t.png")
    with pytest.raises(InputError, match="CRS"):
        write_terrain(terrain, tmp_path / "t.tif", crs="EPSG:999999999")
    assert not list(tmp_path.iterdir())
