"""Coordinate reference systems: one spelling for a CRS, and x/y transforms (pyproj, imported lazily)."""

from __future__ import annotations

import os
import re
from functools import lru_cache

import numpy as np

from twin3d.errors import InputError

# OGC URLs and URNs as written by CityJSON and old GeoJSON, e.g.
# "https://www.opengis.net/def/crs/EPSG/0/7415" or "urn:ogc:def:crs:EPSG::25832".
_OGC_EPSG = re.compile(r"^(?:https?://www\.opengis\.net/def/crs/EPSG/[^/]*/|urn:ogc:def:crs:EPSG:[^:]*:)(\d+)$",
                       re.IGNORECASE)


def _parse_crs(text: str | int, path: str | os.PathLike | None = None):
    """A ``pyproj.CRS`` for anything pyproj understands; InputError otherwise."""
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    spec = text.strip() if isinstance(text, str) else text
    if isinstance(spec, str) and (m := _OGC_EPSG.match(spec)):
        spec = f"EPSG:{m.group(1)}"
    try:
        return CRS.from_user_input(spec)
    except (CRSError, TypeError, ValueError) as exc:
        raise InputError(path, f"unknown coordinate reference system {str(text)[:80]!r}") from exc


@lru_cache(maxsize=64)
def _normalise_cached(text: str | int) -> str:
    crs = _parse_crs(text)
    code = crs.to_epsg()
    return f"EPSG:{code}" if code is not None else crs.to_wkt()


def normalise_crs(text: str | int | None, path: str | os.PathLike | None = None) -> str | None:
    """One spelling for a CRS: ``"EPSG:NNNN"`` when it has an EPSG code, else its WKT.

    Parameters
    ----------
    text
        Anything pyproj understands (``"EPSG:25832"``, ``25832``, WKT, PROJ
        strings, OGC URLs/URNs); ``None`` or an empty string means unknown.
    path
        The file the CRS came from, named in the error.

    Returns
    -------
    str or None
        ``"EPSG:NNNN"``, WKT, or None for an unknown CRS.

    Raises
    ------
    InputError
        When pyproj does not understand ``text``.

    Examples
    --------
    >>> normalise_crs("urn:ogc:def:crs:EPSG::25832")
    'EPSG:25832'
    """
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    try:
        return _normalise_cached(text.strip() if isinstance(text, str) else text)
    except InputError as exc:
        raise InputError(path, exc.reason) from None


def is_geographic(crs: str, path: str | os.PathLike | None = None) -> bool:
    """True when ``crs`` has angular (longitude/latitude) coordinates."""
    return bool(_parse_crs(crs, path).is_geographic)


@lru_cache(maxsize=32)
def _transformer(src: str, dst: str):
    from pyproj import Transformer

    return Transformer.from_crs(_parse_crs(src), _parse_crs(dst), always_xy=True)


def transform_xy(x, y, src: str | int, dst: str | int,
                 path: str | os.PathLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Transform coordinates from ``src`` to ``dst`` with x = easting/longitude first.

    Parameters
    ----------
    x, y
        Array-likes of the same shape; NaN passes through as NaN.
    src, dst
        CRSs as accepted by :func:`normalise_crs`.
    path
        The file the coordinates came from, named in errors.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        float64 arrays of the input shape.

    Raises
    ------
    InputError
        For an unknown CRS, or finite coordinates that do not transform
        (outside the CRS's domain).

    Examples
    --------
    >>> x, y = transform_xy([7.8], [48.4], "EPSG:4326", "EPSG:25832")
    >>> 400_000 < x[0] < 500_000
    True
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.shape != y.shape:
        raise InputError(path, f"x and y differ in shape: {x.shape} and {y.shape}")
    src_n, dst_n = normalise_crs(src, path), normalise_crs(dst, path)
    if src_n is None or dst_n is None:
        raise InputError(path, "a coordinate transform needs both a source and a target CRS")
    if src_n == dst_n:
        return x.copy(), y.copy()
    tx, ty = _transformer(src_n, dst_n).transform(x, y, errcheck=False)
    tx = np.asarray(tx, dtype=np.float64).reshape(x.shape)
    ty = np.asarray(ty, dtype=np.float64).reshape(y.shape)
    bad = np.isfinite(x) & np.isfinite(y) & ~(np.isfinite(tx) & np.isfinite(ty))
    if bad.any():
        k = int(np.flatnonzero(bad.reshape(-1))[0])
        raise InputError(path, f"{int(bad.sum())} coordinates do not transform from {src_n} to "
                               f"{dst_n} (first: {float(x.reshape(-1)[k])}, {float(y.reshape(-1)[k])})")
    return tx, ty


def check_area_of_use(lon, lat, crs: str | int, path: str | os.PathLike | None = None,
                      margin_deg: float = 1.0) -> None:
    """Refuse WGS84 positions that lie outside where ``crs`` is meant to be used.

    Catches schematic coordinates taken for longitude/latitude and swapped
    axes before they become a projection far away.  The area of use is
    widened by ``margin_deg``; a CRS without one accepts everything.

    Raises
    ------
    InputError
        Naming how many positions lie outside and the first of them.
    """
    area = _parse_crs(normalise_crs(crs, path), path).area_of_use
    if area is None:
        return
    lon, lat = np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    west, south, east, north = area.bounds
    if west > east:  # the area crosses the antimeridian
        east += 360.0
        lon = np.where(lon < west - margin_deg, lon + 360.0, lon)
    out = ~((lon >= west - margin_deg) & (lon <= east + margin_deg)
            & (lat >= south - margin_deg) & (lat <= north + margin_deg))
    out &= np.isfinite(lon) & np.isfinite(lat)
    if out.any():
        k = int(np.flatnonzero(out.reshape(-1))[0])
        raise InputError(path, f"{int(out.sum())} positions lie outside the area of use of "
                               f"{normalise_crs(crs, path)} ({area.name.split(':')[0][:60]}); the first is lon "
                               f"{float(lon.reshape(-1)[k]):.6g}, lat {float(lat.reshape(-1)[k]):.6g}")
