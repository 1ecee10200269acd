"""GeoJSON networks: Point features are nodes, (Multi)LineStrings are edges snapped to them.

An edge's end snaps to the nearest node within ``snap_tolerance_m`` (default
0.5 m); ends with no node that near become new ``"junction"``-like nodes, one
per cluster of ends within the tolerance of each other (ids
``"junction:<k>"``, attribute ``generated: True``).  Snapped ends move onto
their node, so polylines start and end exactly at their nodes.  Lengths are
metres measured along the geometry: planar in projected CRSs (scaled by the
CRS's unit), geodesic on the ellipsoid in geographic ones.

Coordinates are read in ``crs`` if given, else the file's (legacy) ``crs``
member, else WGS84 as RFC 7946 says; ``to_crs`` transforms them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from twin3d.errors import InputError
from twin3d.io.crs import normalise_crs, transform_xy
from twin3d.model import NETWORK_KINDS, Network

DEFAULT_NODE_KIND = {"power": "bus", "water": "junction", "road": "junction"}
DEFAULT_EDGE_KIND = {"power": "line", "water": "pipe", "road": "road"}
EARTH_RADIUS_M = 6_371_008.8


@dataclass
class _Features:
    """Nodes and edge polylines as read, before snapping."""

    node_id: list[str] = field(default_factory=list)
    node_kind: list[str] = field(default_factory=list)
    node_capacity: list[float] = field(default_factory=list)
    node_attrs: list[dict] = field(default_factory=list)
    node_xyz: list[np.ndarray] = field(default_factory=list)
    edge_id: list[str] = field(default_factory=list)
    edge_kind: list[str] = field(default_factory=list)
    edge_capacity: list[float] = field(default_factory=list)
    edge_attrs: list[dict] = field(default_factory=list)
    edge_xyz: list[np.ndarray] = field(default_factory=list)


def _load(path: Path) -> dict:
    from twin3d.io.registry import load_json

    doc = load_json(path)
    if isinstance(doc, dict) and doc.get("type") == "Feature":
        doc = {"type": "FeatureCollection", "features": [doc]}
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" \
            or not isinstance(doc.get("features"), list):
        raise InputError(path, "not a GeoJSON FeatureCollection")
    return doc


def _source_crs(path: Path, doc: dict, crs: str | None) -> str:
    if crs is not None:
        return normalise_crs(crs, path)
    member = doc.get("crs")
    if member is None:
        return "EPSG:4326"  # RFC 7946
    name = member.get("properties", {}).get("name") if isinstance(member, dict) else None
    if not isinstance(name, str):
        raise InputError(path, "the crs member has no properties.name")
    return normalise_crs(name, path)


def _positions(path: Path, coords, what: str, minimum: int) -> np.ndarray:
    """(k, 3) float64 positions (z = 0 where absent) from a GeoJSON position list."""
    try:
        rows = [(*p[:3], *(0.0,) * (3 - len(p[:3]))) for p in coords if 2 <= len(p)]
        xyz = np.array(rows, dtype=np.float64).reshape(-1, 3)
    except (TypeError, ValueError):
        raise InputError(path, f"{what}: coordinates are not numeric positions") from None
    if len(rows) != len(coords) or len(xyz) < minimum or not np.isfinite(xyz).all():
        raise InputError(path, f"{what}: needs at least {minimum} finite positions of 2 or 3 numbers")
    return xyz


def _capacity(path: Path, props: dict, what: str) -> float:
    value = props.get("capacity")
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(path, f"{what}: capacity {value!r} is not a number")
    return float(value)


def _feature_id(feature: dict, props: dict, fallback: str) -> str:
    value = props.get("id", feature.get("id"))
    return fallback if value is None else str(value)


def _features(path: Path, doc: dict, kind: str) -> _Features:
    out = _Features()
    for k, feature in enumerate(doc["features"]):
        what = f"feature {k}"
        if not isinstance(feature, dict) or not isinstance(feature.get("properties") or {}, dict):
            raise InputError(path, f"{what} is not a GeoJSON Feature with object properties")
        geometry, props = feature.get("geometry"), feature.get("properties") or {}
        if geometry is None:
            continue
        gtype = geometry.get("type") if isinstance(geometry, dict) else None
        coords = geometry.get("coordinates") if isinstance(geometry, dict) else None
        if gtype == "Point":
            out.node_id.append(_feature_id(feature, props, f"node:{k}"))
            out.node_kind.append(str(props.get("kind", DEFAULT_NODE_KIND[kind])))
            out.node_capacity.append(_capacity(path, props, what))
            out.node_attrs.append(dict(props))
            out.node_xyz.append(_positions(path, [coords] if isinstance(coords, list) else [], what, 1))
        elif gtype in ("LineString", "MultiLineString"):
            parts = [coords] if gtype == "LineString" else coords
            if not isinstance(parts, list) or not all(isinstance(p, list) for p in parts):
                raise InputError(path, f"{what}: malformed {gtype} coordinates")
            name = _feature_id(feature, props, f"edge:{k}")
            for j, part in enumerate(parts):
                out.edge_id.append(name if len(parts) == 1 else f"{name}#{j}")
                out.edge_kind.append(str(props.get("kind", DEFAULT_EDGE_KIND[kind])))
                out.edge_capacity.append(_capacity(path, props, what))
                out.edge_attrs.append(dict(props))
                out.edge_xyz.append(_positions(path, part, what, 2))
        else:
            raise InputError(path, f"{what}: geometry {gtype!r} is not a Point, LineString or MultiLineString")
    return out


def _unique(path: Path, ids: list[str], what: str) -> None:
    uniq, counts = np.unique(np.asarray(ids, dtype=str), return_counts=True)
    if (counts > 1).any():
        raise InputError(path, f"duplicate {what} id {str(uniq[counts > 1][0])!r}")


def _metric(xy: np.ndarray, geographic: bool, unit_m: float, lat0: float) -> np.ndarray:
    """Positions in approximate metres for distance queries (equirectangular where geographic)."""
    if not geographic:
        return xy * unit_m
    scale = math.pi / 180.0 * EARTH_RADIUS_M
    return np.column_stack([xy[:, 0] * math.cos(math.radians(lat0)) * scale, xy[:, 1] * scale])


def _snap(nodes_m: np.ndarray, ends_m: np.ndarray, tol_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Node index per edge end; ends far from every node get new nodes (one per cluster).

    Returns ``(end_node, new_from)``: ``end_node`` indexes the existing nodes
    followed by the new ones; ``new_from`` is, per new node, the end it sits on.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    end_node = np.full(len(ends_m), -1, dtype=np.int64)
    if len(nodes_m):
        dist, nearest = cKDTree(nodes_m).query(ends_m, distance_upper_bound=tol_m * (1 + 1e-12) + 1e-9)
        hit = np.isfinite(dist)
        end_node[hit] = nearest[hit]
    loose = np.flatnonzero(end_node < 0)
    pairs = cKDTree(ends_m[loose]).query_pairs(tol_m, output_type="ndarray")
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(loose),) * 2)
    _, cluster = connected_components(graph, directed=False)
    _, first, label = np.unique(cluster, return_index=True, return_inverse=True)
    end_node[loose] = len(nodes_m) + label
    return end_node, loose[first]


def _lengths_m(vertices: np.ndarray, offsets: np.ndarray, crs: str, geographic: bool, unit_m: float) -> np.ndarray:
    if geographic:
        from pyproj import CRS

        geod = CRS.from_user_input(crs).get_geod()
        _, _, seg = geod.inv(vertices[:-1, 0], vertices[:-1, 1], vertices[1:, 0], vertices[1:, 1])
        seg = np.asarray(seg, dtype=np.float64)
    else:
        seg = np.linalg.norm(np.diff(vertices[:, :2], axis=0), axis=1) * unit_m
    along = np.concatenate([[0.0], np.cumsum(seg)])
    return along[offsets[1:] - 1] - along[offsets[:-1]]


def _crs_geometry(crs: str) -> tuple[bool, float]:
    """(is geographic, metres per horizontal unit) of a CRS."""
    from pyproj import CRS

    parsed = CRS.from_user_input(crs)
    if parsed.is_geographic:
        return True, math.nan
    axis = parsed.axis_info[0] if parsed.axis_info else None
    factor = axis.unit_conversion_factor if axis is not None else 1.0
    return False, float(factor) if factor and math.isfinite(factor) else 1.0


def _generated_ids(taken: list[str], n: int) -> list[str]:
    prefix = "junction:"
    existing = set(taken)
    while any(f"{prefix}{k}" in existing for k in range(n)):
        prefix = "_" + prefix
    return [f"{prefix}{k}" for k in range(n)]


def _check_lonlat(path: Path, xy: np.ndarray, crs: str) -> None:
    if (np.abs(xy[:, 0]) > 180).any() or (np.abs(xy[:, 1]) > 90).any():
        raise InputError(path, f"coordinates are not longitude/latitude as {crs} says; pass crs= for "
                               "projected coordinates")


def read_network_geojson(path: Path, kind: str, crs: str | None = None, to_crs: str | None = None,
                         snap_tolerance_m: float = 0.5) -> Network:
    """Read a GeoJSON FeatureCollection of Points and (Multi)LineStrings into a :class:`Network`.

    Parameters
    ----------
    path
        The GeoJSON file.
    kind
        ``"power"``, ``"water"`` or ``"road"``.
    crs
        The CRS of the coordinates; default: the file's ``crs`` member, else WGS84.
    to_crs
        Transform the coordinates to this CRS.
    snap_tolerance_m
        How near (metres) an edge end must be to a node to join it.

    Returns
    -------
    Network
        Points first as nodes (id from ``properties.id`` or the feature id,
        ``properties.kind``, ``properties.capacity``), then generated junctions;
        one edge per LineString or MultiLineString part, properties kept.

    Raises
    ------
    InputError
        For invalid JSON, a non-FeatureCollection, unsupported geometries,
        malformed coordinates, duplicate ids and coordinates that do not fit
        the CRS.

    Examples
    --------
    >>> net = read_network_geojson(Path("mains.geojson"), "water", crs="EPSG:25832")  # doctest: +SKIP
    """
    path = Path(path)
    if kind not in NETWORK_KINDS:
        raise InputError(path, f"unknown network kind {kind!r} (known: {', '.join(NETWORK_KINDS)})")
    if not snap_tolerance_m >= 0:
        raise InputError(path, f"snap tolerance must be >= 0 m, not {snap_tolerance_m}")
    doc = _load(path)
    src = _source_crs(path, doc, crs)
    f = _features(path, doc, kind)
    _unique(path, f.node_id, "node")
    _unique(path, f.edge_id, "edge")
    nodes = np.concatenate(f.node_xyz) if f.node_xyz else np.zeros((0, 3))
    counts = np.array([len(e) for e in f.edge_xyz], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    vertices = np.concatenate(f.edge_xyz) if f.edge_xyz else np.zeros((0, 3))
    if not len(nodes) and not len(vertices):
        raise InputError(path, "no Point or LineString features")
    out_crs = normalise_crs(to_crs, path) or src
    if _crs_geometry(src)[0]:
        _check_lonlat(path, np.concatenate([nodes, vertices])[:, :2], src)
    if out_crs != src:
        nodes[:, 0], nodes[:, 1] = transform_xy(nodes[:, 0], nodes[:, 1], src, out_crs, path)
        vertices[:, 0], vertices[:, 1] = transform_xy(vertices[:, 0], vertices[:, 1], src, out_crs, path)
    geographic, unit_m = _crs_geometry(out_crs)
    edges, nodes = _join(nodes, vertices, offsets, geographic, unit_m, snap_tolerance_m)
    n_new = len(nodes) - len(f.node_id)
    return Network(
        kind=kind, node_id=f.node_id + _generated_ids(f.node_id, n_new), node_xyz=nodes,
        node_kind=f.node_kind + [DEFAULT_NODE_KIND[kind]] * n_new,
        node_capacity=np.array(f.node_capacity + [math.nan] * n_new, dtype=np.float64),
        edges=edges, edge_id=f.edge_id, edge_kind=f.edge_kind,
        edge_capacity=np.array(f.edge_capacity, dtype=np.float64),
        edge_length=_lengths_m(vertices, offsets, out_crs, geographic, unit_m),
        edge_vertices=vertices, edge_offsets=offsets,
        node_attributes=f.node_attrs + [{"generated": True} for _ in range(n_new)],
        edge_attributes=f.edge_attrs,
    )


def _join(nodes: np.ndarray, vertices: np.ndarray, offsets: np.ndarray, geographic: bool, unit_m: float,
          tol_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Snap edge ends to nodes (adding junctions); move the ends onto their nodes.

    Returns ``(edges, nodes)`` with the generated junctions appended to ``nodes``;
    ``vertices`` is updated in place.
    """
    m = len(offsets) - 1
    if m == 0:
        return np.zeros((0, 2), dtype=np.int64), nodes
    end_at = np.column_stack([offsets[:-1], offsets[1:] - 1]).reshape(-1)
    lat0 = float(np.mean(vertices[:, 1])) if geographic else 0.0
    end_node, new_from = _snap(_metric(nodes[:, :2], geographic, unit_m, lat0),
                               _metric(vertices[end_at, :2], geographic, unit_m, lat0), tol_m)
    nodes = np.concatenate([nodes, vertices[end_at[new_from]]])
    vertices[end_at] = nodes[end_node]
    return end_node.reshape(m, 2), nodes
