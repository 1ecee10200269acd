"""Map context for a 3D view: scale bar, north arrow, building search, flying the camera,
the data sources' attribution, and the CRS's readable name.

Pure functions of a VTK camera, a city and its buildings; nothing here renders.
"""

from __future__ import annotations

import math

import numpy as np

NICE_STEPS = (1.0, 2.0, 5.0)
SCALE_BAR_TARGET_PX = 120  # the longest a scale bar is drawn
NAME_KEYS = ("name", "naam", "label", "building_name", "Name", "NAME")
SYNTHETIC_ATTRIBUTION = "Synthetic city (twin3d)"
# (words to look for in the city's metadata, lower case) -> the attribution that source requires
KNOWN_SOURCES = (
    (("3dbag",), "© 3DBAG by TU Delft 3D geoinformation / 3DGI (CC BY 4.0)"),
    (("ordnance survey", "os mastermap", "os opendata", "os terrain"),
     "Contains OS data © Crown copyright and database right"),
    (("environment agency",), "Contains Environment Agency information © Environment Agency and/or database right"),
    (("openstreetmap",), "© OpenStreetMap contributors (ODbL)"),
    (("bgt", "kadaster"), "BGT © Kadaster (CC BY 4.0)"),
    (("ahn",), "AHN (CC0)"),
)


def nice_length(x: float) -> float:
    """The largest 1-2-5 number (…, 10, 20, 50, 100, …) not above ``x`` (> 0)."""
    if not x > 0 or not math.isfinite(x):
        raise ValueError(f"need a positive length, got {x}")
    decade = 10.0 ** math.floor(math.log10(x))
    return max(s * decade for s in NICE_STEPS if s * decade <= x * (1 + 1e-9))


def metres_per_pixel(camera, height_px: int) -> float:
    """Ground metres one screen pixel spans at the camera's focal point.

    Parameters
    ----------
    camera : vtkCamera
        Perspective (view angle) or parallel (parallel scale) projection.
    height_px : int
        The view's height in pixels.
    """
    if camera.GetParallelProjection():
        visible_m = 2.0 * camera.GetParallelScale()
    else:
        visible_m = 2.0 * camera.GetDistance() * math.tan(math.radians(camera.GetViewAngle()) / 2.0)
    return visible_m / max(int(height_px), 1)


def format_length(metres: float) -> str:
    """"500 m", "2 km", "0.5 m"."""
    if metres >= 1000:
        return f"{metres / 1000:g} km"
    return f"{metres:g} m"


def scale_bar(camera, height_px: int, target_px: int = SCALE_BAR_TARGET_PX) -> tuple[float, float, str]:
    """A scale bar for the view: ``(length_m, width_px, label)``, the length a 1-2-5 number
    and the bar at most ``target_px`` wide.

    Examples
    --------
    >>> from vtkmodules.vtkRenderingCore import vtkCamera
    >>> cam = vtkCamera(); cam.ParallelProjectionOn(); cam.SetParallelScale(500.0)
    >>> scale_bar(cam, 1000)  # 1 m per pixel: 120 px would be 120 m
    (100.0, 100.0, '100 m')
    """
    mpp = metres_per_pixel(camera, height_px)
    length = nice_length(target_px * mpp)
    return length, length / mpp, format_length(length)


def heading_deg(camera) -> float:
    """The camera's compass heading, degrees clockwise from north (the +y axis): where the
    view looks on the ground, or where the top of the screen points when looking straight down."""
    dop = np.array(camera.GetDirectionOfProjection(), dtype=np.float64)
    forward = dop[:2]
    if np.hypot(*forward) < 1e-3 * max(np.linalg.norm(dop), 1e-12):  # looking (almost) straight down
        forward = np.array(camera.GetViewUp(), dtype=np.float64)[:2]
    if np.hypot(*forward) < 1e-12:
        return 0.0
    return float(math.degrees(math.atan2(forward[0], forward[1])) % 360.0)


def north_arrow_deg(camera) -> float:
    """How far (degrees clockwise) a north arrow drawn on screen is turned from straight up."""
    return float((-heading_deg(camera)) % 360.0)


def crs_name(crs: str | None) -> str:
    """A readable name of the CRS ("ETRS89 / UTM zone 32N (EPSG:25832)"); "unknown CRS" when
    absent, the text itself when pyproj does not know it."""
    if not crs:
        return "unknown CRS"
    try:
        from pyproj import CRS

        parsed = CRS.from_user_input(crs)
    except Exception:  # noqa: BLE001 - a name for display only; any failure shows the text
        return str(crs)[:60]
    code = parsed.to_epsg()
    return f"{parsed.name} (EPSG:{code})" if code else parsed.name


def _metadata_text(value) -> str:
    if isinstance(value, dict):
        return " ".join(f"{k} {_metadata_text(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return " ".join(_metadata_text(v) for v in value)
    return str(value)


def _find_key(meta, keys: tuple[str, ...]):
    if isinstance(meta, dict):
        for k, v in meta.items():
            if k.lower() in keys and isinstance(v, str | int | float) and str(v):
                return str(v)
        for v in meta.values():
            found = _find_key(v, keys)
            if found:
                return found
    return None


def attribution(city) -> list[str]:
    """The on-screen credits the city's data sources require, derived from its metadata
    (``attribution``; ``source`` / ``datasetTitle`` with ``licence`` / ``license``; known
    providers such as 3DBAG or Ordnance Survey named anywhere in it) and from 3DBAG's
    building attributes (``b3_*``).  The generated default city credits itself."""
    meta = city.metadata or {}
    if "generator" in meta and "twin3d" in str(meta["generator"]):
        return [SYNTHETIC_ATTRIBUTION]
    out = []
    explicit = _find_key(meta, ("attribution",))
    if explicit:
        out.append(explicit)
    text = _metadata_text(meta).lower()
    attrs = city.buildings.attributes
    if attrs and any(k.startswith("b3_") for k in attrs[0]):
        text += " 3dbag"
    out += [credit for words, credit in KNOWN_SOURCES if any(w in text for w in words)]
    if not out:
        source = _find_key(meta, ("source", "datasettitle", "title"))
        licence = _find_key(meta, ("licence", "license", "datasetlicence", "datasetlicense"))
        if source or licence:
            name = str(source).replace("\\", "/").rsplit("/", 1)[-1] if source else "city data"
            out.append(f"Data: {name}" + (f" ({licence})" if licence else ""))
    return list(dict.fromkeys(out))


def building_names(buildings) -> list[str]:
    """Each building's name from its source attributes ("name", "naam", ...), or ""."""
    names = []
    for attrs in buildings.attributes:
        names.append(next((str(attrs[k]) for k in NAME_KEYS if attrs.get(k) not in (None, "")), ""))
    return names


def find_buildings(buildings, text: str, limit: int = 8, names: list[str] | None = None) -> list[int]:
    """Indices of buildings whose id or name matches ``text``: exact id first, then ids and
    names containing it (case-insensitive), at most ``limit``."""
    query = str(text or "").strip().lower()
    if not query:
        return []
    ids = np.asarray(buildings.table["id"]).astype(str)
    names = names if names is not None else building_names(buildings)
    lower_ids = np.char.lower(ids)
    exact = np.flatnonzero(lower_ids == query).tolist()
    contains = np.flatnonzero(np.char.find(lower_ids, query) >= 0).tolist()
    named = [i for i, n in enumerate(names) if n and query in n.lower()]
    return list(dict.fromkeys(exact + contains + named))[:limit]


def building_focus(city, i: int) -> tuple[np.ndarray, float]:
    """The centre (local coordinates, shifted to ``city.origin``) and radius (m) of building ``i``."""
    mesh = city.buildings.mesh
    tri = mesh.triangles[mesh.triangle_feature == i]
    if not len(tri):
        raise ValueError(f"building {i} has no geometry")
    pts = mesh.vertices[np.unique(tri)] - city.origin
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    return (lo + hi) / 2.0, float(np.linalg.norm(hi - lo) / 2.0)


def fly_to(camera, centre, radius_m: float, min_distance_m: float = 120.0) -> None:
    """Aim ``camera`` at ``centre`` from its current direction, far enough to see ``radius_m``
    around it (at least ``min_distance_m``)."""
    dop = np.array(camera.GetDirectionOfProjection(), dtype=np.float64)
    half = math.radians(camera.GetViewAngle()) / 2.0
    distance = max(radius_m * 3.0 / max(math.tan(half), 1e-3) / 2.0, min_distance_m)
    centre = np.asarray(centre, dtype=np.float64)
    camera.SetFocalPoint(*centre)
    camera.SetPosition(*(centre - dop * distance))
    if camera.GetParallelProjection():
        camera.SetParallelScale(max(radius_m * 1.5, min_distance_m / 2.0))

