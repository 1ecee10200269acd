"""GeoJSON building footprints extruded to LoD1 solids.

Polygon and MultiPolygon features with a height become buildings; other
geometries (points, lines: networks, amenities) are not buildings and are left
to their own readers.  The height comes from ``height_attribute`` when given,
else from the first of the common attribute names present:

* height above ground: ``height``, ``measuredHeight``, ``building:height``, ...;
* absolute roof elevation (3DBAG ``h_dak_70p``, ``h_dak_max``, ``h_dak_50p``, also
  with the ``b3_`` prefix), minus the ground elevation;
* storeys (``building:levels``, ``storeys``, ...) x 3 m.

The ground elevation is a ``ground``/``z``/``h_maaiveld`` attribute, else the
lowest z of a 3D exterior ring, else 0.  Features without a usable height are
skipped and counted in ``city.metadata["skipped"]``.

The CRS is the ``crs`` argument, else the legacy ``crs`` member
(``urn:ogc:def:crs:EPSG::NNNN``), else EPSG:4326 as RFC 7946 says.  Geographic
coordinates cannot be extruded into metres: pass ``to_crs`` (a projected CRS)
to transform the footprints first; a city left in degrees is flagged with
``metadata["needs_projection"] = True``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from twin3d.errors import InputError
from twin3d.model import USES, Buildings, City, complete_table, empty_table

RELATIVE_HEIGHT_NAMES = ("height", "measuredHeight", "measured_height", "building:height", "Height",
                         "HEIGHT", "bldg_height", "relative_height")
ABSOLUTE_ROOF_NAMES = ("h_dak_70p", "h_dak_max", "h_dak_50p", "b3_h_dak_70p", "b3_h_dak_max", "b3_h_dak_50p")
STOREY_NAMES = ("building:levels", "storeys", "storeysAboveGround", "levels", "num_floors")
GROUND_NAMES = ("ground", "z", "ground_elevation", "h_maaiveld", "b3_h_maaiveld")
STOREY_HEIGHT_M = 3.0
_NUMBER = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(?:m|metres|meters)?\s*$")


def _number(value) -> float | None:
    """A finite float from a number or a string such as ``"12.5"`` or ``"12 m"``; else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        v = float(value)
    elif isinstance(value, str) and (m := _NUMBER.match(value)):
        v = float(m.group(1))
    else:
        return None
    return v if np.isfinite(v) else None


def _first(props: dict, names: tuple[str, ...]) -> float | None:
    for name in names:
        if (v := _number(props.get(name))) is not None:
            return v
    return None


def _height(props: dict, ground: float, attribute: str | None) -> tuple[float | None, int]:
    """Height above ground and storeys (0 if not given) of one feature."""
    storeys = _first(props, STOREY_NAMES)
    storeys_i = int(round(storeys)) if storeys is not None and storeys >= 1 else 0
    if attribute is not None:
        v = _number(props.get(attribute))
        if v is not None and attribute.removeprefix("b3_").startswith("h_dak"):
            v -= ground
        elif v is not None and attribute in STOREY_NAMES:
            storeys_i, v = int(round(v)), v * STOREY_HEIGHT_M
        return v, storeys_i
    if (v := _first(props, RELATIVE_HEIGHT_NAMES)) is not None:
        return v, storeys_i
    if (v := _first(props, ABSOLUTE_ROOF_NAMES)) is not None:
        return v - ground, storeys_i
    return (storeys_i * STOREY_HEIGHT_M if storeys_i else None), storeys_i


def _ring(path: Path, coords, where: str) -> tuple[np.ndarray, float | None]:
    """A (k, 2) float64 ring and its lowest z (None for 2D positions)."""
    try:
        positions = [[float(c) for c in p] for p in coords]
    except (TypeError, ValueError):
        raise InputError(path, f"{where}: ring positions must be arrays of numbers") from None
    if len(positions) < 3 or any(len(p) < 2 for p in positions):
        raise InputError(path, f"{where}: a ring needs at least 3 positions of 2 or 3 numbers")
    xy = np.array([p[:2] for p in positions], dtype=np.float64)
    z = [p[2] for p in positions if len(p) >= 3]
    if not np.isfinite(xy).all() or not np.isfinite(z).all():
        raise InputError(path, f"{where}: ring coordinates are not finite")
    return xy, (min(z) if len(z) == len(positions) else None)


def _polygons(path: Path, geometry: dict, where: str) -> list[tuple[list[np.ndarray], float | None]]:
    """The polygons of a (Multi)Polygon geometry: (rings, lowest exterior z)."""
    kind, coords = geometry.get("type"), geometry.get("coordinates")
    if not isinstance(coords, list):
        raise InputError(path, f"{where}: {kind} has no coordinates array")
    polys = [coords] if kind == "Polygon" else coords
    out = []
    for p, poly in enumerate(polys):
        if not isinstance(poly, list) or not poly:
            raise InputError(path, f"{where}: polygon {p} has no rings")
        rings = [_ring(path, r, f"{where}, polygon {p}") for r in poly]
        out.append(([r[0] for r in rings], rings[0][1]))
    return out


def _features(path: Path) -> tuple[list, dict]:
    from twin3d.io.registry import load_json

    doc = load_json(path)
    if not isinstance(doc, dict):
        raise InputError(path, "a GeoJSON document must be a JSON object")
    kind = doc.get("type")
    if kind == "FeatureCollection":
        features = doc.get("features")
        if not isinstance(features, list):
            raise InputError(path, "FeatureCollection has no 'features' array")
    elif kind == "Feature":
        features = [doc]
    elif kind in ("Polygon", "MultiPolygon"):
        features = [{"type": "Feature", "geometry": doc, "properties": {}}]
    else:
        raise InputError(path, f"not a GeoJSON FeatureCollection, Feature or Polygon (type {kind!r})")
    return features, doc


def _source_crs(path: Path, doc: dict, crs: str | None) -> str:
    from twin3d.io.crs import normalise_crs

    if crs is not None:
        return normalise_crs(crs, path)
    member = doc.get("crs")
    if isinstance(member, dict):
        name = (member.get("properties") or {}).get("name")
        if isinstance(name, str):
            if name.upper().endswith("CRS84"):
                return "EPSG:4326"
            return normalise_crs(name, path)
    return "EPSG:4326"


def _feature_id(feature: dict, props: dict, index: int) -> str:
    for value in (feature.get("id"), props.get("id"), props.get("identificatie")):
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            return str(value)
    return f"feature-{index}"


def _collect(path: Path, features: list, height_attribute: str | None) -> tuple[list, dict]:
    """Buildings as (id, props, polygons, ground, height, storeys); counts of skipped features."""
    rows, skipped = [], {"not_polygon": 0, "no_height": 0}
    for i, feature in enumerate(features):
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            raise InputError(path, f"feature {i} is not a GeoJSON Feature object")
        geometry = feature.get("geometry")
        props = feature.get("properties") or {}
        if not isinstance(props, dict):
            raise InputError(path, f"feature {i}: properties must be an object")
        if not isinstance(geometry, dict) or geometry.get("type") not in ("Polygon", "MultiPolygon"):
            skipped["not_polygon"] += 1
            continue
        polygons = _polygons(path, geometry, f"feature {i}")
        zs = [z for _, z in polygons if z is not None]
        ground = _first(props, GROUND_NAMES)
        ground = ground if ground is not None else (min(zs) if zs else 0.0)
        height, storeys = _height(props, ground, height_attribute)
        if height is None or height <= 0 or not polygons:
            skipped["no_height"] += 1
            continue
        rows.append((_feature_id(feature, props, i), props, polygons, ground, height, storeys))
    return rows, skipped


def _project(path: Path, rows: list, src: str, dst: str) -> None:
    """Transform every ring of every building from ``src`` to ``dst`` in one call (in place)."""
    from twin3d.io.crs import transform_xy

    rings = [r for row in rows for rings, _ in row[2] for r in rings]
    xy = np.concatenate(rings)
    x, y = transform_xy(xy[:, 0], xy[:, 1], src, dst, path)
    out = np.column_stack([x, y])
    ends = np.cumsum([len(r) for r in rings])
    moved = iter(np.split(out, ends[:-1]))
    for row in rows:
        for rings_of_polygon, _ in row[2]:
            rings_of_polygon[:] = [next(moved) for _ in rings_of_polygon]


def _buildings(path: Path, rows: list) -> Buildings:
    from twin3d.model.extrude import extrude_footprints
    from twin3d.model.mesh import Mesh

    owner = np.repeat(np.arange(len(rows)), [len(r[2]) for r in rows])
    footprints = [rings for row in rows for rings, _ in row[2]]
    ground = np.array([r[3] for r in rows])[owner]
    height = np.array([r[4] for r in rows])[owner]
    try:
        parts = extrude_footprints(footprints, ground, height)
    except InputError as exc:
        raise InputError(path, exc.reason) from None
    mesh = Mesh(parts.vertices, parts.triangles, owner[parts.triangle_feature], parts.triangle_surface)
    table = empty_table(len(rows))
    table["id"] = np.array([r[0] for r in rows], dtype=object)
    table["ground_elevation"] = np.array([r[3] for r in rows], dtype=np.float64)
    table["height"] = np.array([r[4] for r in rows], dtype=np.float64)
    table["storeys"] = np.array([r[5] for r in rows], dtype=np.int32)
    table["parts"] = np.bincount(owner, minlength=len(rows)).astype(np.int32)
    uses = [r[1].get("use", r[1].get("building")) for r in rows]
    table["use"] = np.array([u if u in USES else "" for u in uses], dtype=object)
    return Buildings(mesh, table, [dict(r[1]) for r in rows])


def read_geojson(path: Path, height_attribute: str | None = None, crs: str | None = None,
                 to_crs: str | None = None) -> City:
    """Read GeoJSON building footprints as LoD1 buildings.

    Parameters
    ----------
    path : Path
        A FeatureCollection (or a single Feature / Polygon).
    height_attribute : str, optional
        The property holding the height; by default the common names are tried.
    crs : str, optional
        The coordinates' CRS when the file does not say (default: its legacy
        ``crs`` member, else EPSG:4326).
    to_crs : str, optional
        A projected CRS to transform the footprints to before extrusion.

    Returns
    -------
    City
        One building per footprint feature (MultiPolygon parts merged, counted
        in ``parts``), with the feature's properties as its attributes.

    Examples
    --------
    >>> city = read_geojson(Path("footprints.geojson"), to_crs="EPSG:28992")  # doctest: +SKIP
    """
    from twin3d.io.crs import is_geographic, normalise_crs

    path = Path(path)
    if not path.is_file():
        raise InputError(path, "no such file")
    features, doc = _features(path)
    source = _source_crs(path, doc, crs)
    rows, skipped = _collect(path, features, height_attribute)
    if not rows:
        hint = f"attribute {height_attribute!r}" if height_attribute else "a height or storeys attribute"
        raise InputError(path, f"no Polygon/MultiPolygon feature with {hint} ({len(features)} features)")
    target = normalise_crs(to_crs, path) if to_crs is not None else source
    if target != source:
        _project(path, rows, source, target)
    buildings = complete_table(_buildings(path, rows))
    metadata = {"source": os.fspath(path), "skipped": skipped}
    if is_geographic(target, path):
        metadata["needs_projection"] = True
    return City(name=path.name.split(".")[0] or "city", crs=target, buildings=buildings, metadata=metadata)
