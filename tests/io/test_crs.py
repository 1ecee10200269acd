"""CRS helpers: one spelling per CRS, transforms with x first, InputError for the unknown."""

from __future__ import annotations

import numpy as np
import pytest

from twin3d.errors import InputError
from twin3d.io.crs import check_area_of_use, is_geographic, normalise_crs, transform_xy


@pytest.mark.parametrize(("given", "expected"), [
    ("EPSG:25832", "EPSG:25832"),
    ("epsg:4326", "EPSG:4326"),
    (25832, "EPSG:25832"),
    ("https://www.opengis.net/def/crs/EPSG/0/7415", "EPSG:7415"),  # CityJSON
    ("http://www.opengis.net/def/crs/EPSG/0/28992", "EPSG:28992"),
    ("urn:ogc:def:crs:EPSG::27700", "EPSG:27700"),  # legacy GeoJSON
    ("+proj=utm +zone=32 +ellps=GRS80 +units=m +no_defs", "EPSG:25832"),
])
def test_normalise_to_epsg(given, expected):
    assert normalise_crs(given) == expected


def test_normalise_without_epsg_code_gives_wkt():
    wkt = normalise_crs("+proj=tmerc +lat_0=0 +lon_0=7.3 +k=1 +x_0=0 +y_0=0 +ellps=GRS80 +units=m")
    assert wkt.startswith("PROJCRS[") and "7.3" in wkt
    assert normalise_crs(wkt) == wkt  # stable


@pytest.mark.parametrize("empty", [None, "", "   "])
def test_unknown_crs_is_none(empty):
    assert normalise_crs(empty) is None


@pytest.mark.parametrize("bad", ["EPSG:999999", "not a crs", "urn:ogc:def:crs:EPSG::0"])
def test_bad_crs_raises_input_error(bad):
    with pytest.raises(InputError, match="unknown coordinate reference system") as err:
        normalise_crs(bad, path="city.json")
    assert err.value.path == "city.json"


def test_transform_lonlat_to_utm_and_back():
    # Offenburg town hall, about 7.9405 E, 48.4721 N: UTM 32N about (422 km, 5369 km)
    x, y = transform_xy([7.9405, np.nan], [48.4721, np.nan], "EPSG:4326", "EPSG:25832")
    assert x.dtype == np.float64 and x.shape == (2,)
    assert 421_000 < x[0] < 423_000 and 5_368_000 < y[0] < 5_370_000
    assert np.isnan(x[1]) and np.isnan(y[1])
    lon, lat = transform_xy(x[:1], y[:1], 25832, "EPSG:4326")
    assert lon[0] == pytest.approx(7.9405, abs=1e-9) and lat[0] == pytest.approx(48.4721, abs=1e-9)


def test_transform_same_crs_copies():
    x = np.array([1.0, 2.0])
    tx, ty = transform_xy(x, x, "EPSG:25832", "urn:ogc:def:crs:EPSG::25832")
    np.testing.assert_array_equal(tx, x)
    assert tx is not x


def test_transform_keeps_shape():
    x, y = np.full((2, 3), 7.8), np.full((2, 3), 48.4)
    tx, ty = transform_xy(x, y, "EPSG:4326", "EPSG:3857")
    assert tx.shape == (2, 3) and ty.shape == (2, 3)
    assert tx[0, 0] == pytest.approx(7.8 * 6378137 * np.pi / 180, rel=1e-12)


@pytest.mark.parametrize(("src", "dst", "message"), [
    ("EPSG:4326", "EPSG:999999", "unknown coordinate reference system"),
    ("nonsense", "EPSG:4326", "unknown coordinate reference system"),
    (None, "EPSG:4326", "needs both a source and a target CRS"),
])
def test_transform_bad_crs(src, dst, message):
    with pytest.raises(InputError, match=message):
        transform_xy([1.0], [2.0], src, dst)


def test_untransformable_coordinates():
    with pytest.raises(InputError, match="do not transform"):
        transform_xy([700.0], [48.0], "EPSG:4326", "EPSG:25832")
    with pytest.raises(InputError, match="differ in shape"):
        transform_xy([1.0, 2.0], [1.0], "EPSG:4326", "EPSG:25832")


def test_geographic_and_area_of_use():
    assert is_geographic("EPSG:4326") and not is_geographic("EPSG:25832")
    check_area_of_use([7.8], [48.4], "EPSG:25832")  # inside: no error
    check_area_of_use([12.5], [48.4], "EPSG:25832")  # within the 1 degree margin
    with pytest.raises(InputError, match="1 positions lie outside the area of use of EPSG:25832"):
        check_area_of_use([7.8, 48.4], [48.4, 7.8], "EPSG:25832")  # second point has swapped axes
