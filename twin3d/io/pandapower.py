"""pandapower JSON grids -> power :class:`~twin3d.model.Network`, parsed with ``json`` only.

A pandapower file is a ``pandapowerNet`` whose tables are pandas DataFrames
serialised as JSON (``orient="split"``: columns, index, data; older files
``orient="columns"``).  Buses become nodes (``"substation"`` where an external
grid feeds them or a transformer's high-voltage side is, else ``"bus"``), with
ids ``str(bus index)``.  Edges are lines (``"line:<index>"``), two-winding
transformers (``"trafo:<index>"``), three-winding ones as two edges
(``"trafo3w:<index>:mv"`` and ``":lv"``) and bus-bus switches
(``"switch:<index>"``).

Capacities are MVA: ``sqrt(3) * vn_kv * max_i_ka * df * parallel`` for lines
(pandapower's thermal limit), ``sn_mva * parallel`` for transformers, NaN for
switches; a substation's ``node_capacity`` is the rating of the transformers
it feeds.  Lengths are metres (``length_km * 1000``; 0 for transformers and
switches).  Geometry comes from the ``geo`` columns (GeoJSON) or the older
``bus_geodata``/``line_geodata`` tables, in ``crs`` (WGS84 lon/lat by
pandapower's convention); buses without geodata keep NaN coordinates, which
only a transform (``to_crs``) refuses.  Note that MATPOWER-derived cases such
as case9 carry schematic plotting coordinates in ``geo``, not map positions.
Node ``z`` is 0.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from twin3d.errors import InputError
from twin3d.io.crs import check_area_of_use, normalise_crs, transform_xy
from twin3d.model import Network


class _Frame:
    """One pandapower table: named columns over an integer index."""

    def __init__(self, path: Path, name: str, columns: dict[str, list], index: list):
        self.path, self.name, self.columns = path, name, columns
        try:
            self.index = np.asarray(index, dtype=np.int64).reshape(-1)
        except (TypeError, ValueError):
            raise InputError(path, f"table {name!r}: index is not integer") from None
        if any(len(v) != len(self.index) for v in columns.values()):
            raise InputError(path, f"table {name!r}: columns differ in length from the index")

    def __len__(self) -> int:
        return len(self.index)

    def has(self, column: str) -> bool:
        return column in self.columns

    def raw(self, column: str, default=None) -> list:
        if column not in self.columns:
            if default is None and len(self):
                raise InputError(self.path, f"table {self.name!r} has no column {column!r}")
            return [default] * len(self)
        return self.columns[column]

    def numbers(self, column: str, default: float | None = None) -> np.ndarray:
        values = self.raw(column, default)
        try:
            return np.array([math.nan if v is None else v for v in values], dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            raise InputError(self.path, f"table {self.name!r}: column {column!r} is not numeric") from None

    def flags(self, column: str) -> np.ndarray:
        return np.array([v is None or bool(v) for v in self.raw(column, True)], dtype=bool)


def _frame(path: Path, name: str, spec) -> _Frame:
    """Decode a serialised DataFrame (``split`` or ``columns`` orient)."""
    if isinstance(spec, dict) and "_object" in spec:
        spec = spec["_object"]
    if isinstance(spec, str):
        try:
            spec = json.loads(spec)
        except json.JSONDecodeError as exc:
            raise InputError(path, f"table {name!r} is not valid JSON ({exc.msg})") from None
    if not isinstance(spec, dict):
        raise InputError(path, f"table {name!r} is not a DataFrame")
    if "columns" in spec and "data" in spec:
        cols, rows = spec["columns"], spec["data"]
        if not (isinstance(cols, list) and isinstance(rows, list)
                and all(isinstance(r, list) and len(r) == len(cols) for r in rows)):
            raise InputError(path, f"table {name!r}: rows do not match its columns")
        values = list(zip(*rows, strict=True)) if rows else [() for _ in cols]
        return _Frame(path, name, {c: list(v) for c, v in zip(cols, values, strict=True)},
                      spec.get("index", list(range(len(rows)))))
    if all(isinstance(v, dict) for v in spec.values()):  # orient="columns": {column: {index: value}}
        keys = sorted({k for v in spec.values() for k in v}, key=lambda k: int(k) if str(k).isdigit() else -1)
        return _Frame(path, name, {c: [v.get(k) for k in keys] for c, v in spec.items()}, keys)
    raise InputError(path, f"table {name!r} is not a DataFrame in split or columns orient")


def _tables(path: Path) -> dict:
    from twin3d.io.registry import load_json

    doc = load_json(path)
    if isinstance(doc, dict) and doc.get("_class") == "pandapowerNet":
        doc = doc.get("_object")
    if not isinstance(doc, dict) or "bus" not in doc:
        raise InputError(path, "not a pandapower network (no pandapowerNet with a bus table)")
    return doc


def _table(path: Path, doc: dict, name: str) -> _Frame | None:
    return _frame(path, name, doc[name]) if doc.get(name) is not None else None


def _points(path: Path, bus: _Frame, geodata: _Frame | None) -> np.ndarray:
    """(n, 2) bus x/y from the ``geo`` column, else ``bus_geodata``; NaN where absent."""
    xy = np.full((len(bus), 2), np.nan)
    if bus.has("geo"):
        coords = _geometries(path, bus, "Point")
        flat, counts = _stack(path, bus, [[] if c is None else [c] for c in coords])
        xy[counts == 1] = flat
    elif geodata is not None and len(geodata):
        where = _lookup(path, bus.index, geodata.index, "bus_geodata")
        xy[where] = np.column_stack([geodata.numbers("x"), geodata.numbers("y")])
    return xy


def _geojson(path: Path, geo, what: str) -> dict:
    if isinstance(geo, str):
        try:
            geo = json.loads(geo)
        except json.JSONDecodeError:
            raise InputError(path, f"{what}: geo is not GeoJSON") from None
    return geo


def _geometries(path: Path, frame: _Frame, gtype: str) -> list:
    """The coordinates of each row's ``geo`` GeoJSON (None where absent), decoded in one pass."""
    values = frame.raw("geo")
    texts = ["null" if v is None else v if isinstance(v, str) else json.dumps(v) for v in values]
    try:
        shapes = json.loads("[" + ",".join(texts) + "]")
    except json.JSONDecodeError:
        shapes = None
    if not isinstance(shapes, list) or len(shapes) != len(values):  # find the culprit row by row
        shapes = [_geojson(path, v, f"{frame.name} {k}") for v, k in zip(values, frame.index, strict=True)]
    for k, shape in zip(frame.index, shapes, strict=True):
        if shape is not None and (not isinstance(shape, dict) or shape.get("type") != gtype):
            raise InputError(path, f"{frame.name} {k}: geo is not a GeoJSON {gtype}")
    return [None if shape is None else shape.get("coordinates") for shape in shapes]


def _positions(path: Path, coords, what: str) -> np.ndarray:
    """Validated (k, 2) float64 positions from a GeoJSON coordinate list."""
    if not len(coords):
        return np.zeros((0, 2))
    try:
        xy = np.array([p[:2] for p in coords], dtype=np.float64)
    except (TypeError, ValueError, IndexError, KeyError):
        raise InputError(path, f"{what}: coordinates are not numeric positions") from None
    if xy.ndim != 2 or xy.shape[1] != 2 or not np.isfinite(xy).all():
        raise InputError(path, f"{what}: coordinates are not finite x, y positions")
    return xy


def _stack(path: Path, frame: _Frame, coords: list) -> tuple[np.ndarray, np.ndarray]:
    """All rows' positions as one (n, 2) array, and the number of positions per row."""
    counts = np.array([len(c) if isinstance(c, list) else -1 for c in coords], dtype=np.int64)
    try:
        if (counts < 0).any():
            raise InputError(path, "coordinates are not a list")
        return _positions(path, [p for c in coords for p in c], frame.name), counts
    except InputError:
        for k, c in zip(frame.index, coords, strict=True):  # name the culprit row
            _positions(path, c if isinstance(c, list) else [c], f"{frame.name} {k}")
        raise


def _line_shapes(path: Path, line: _Frame, geodata: _Frame | None) -> list[np.ndarray | None]:
    """Each line's (k, 2) polyline from ``geo`` or ``line_geodata.coords``; None where absent."""
    if line.has("geo"):
        coords = _geometries(path, line, "LineString")
    elif geodata is not None and len(geodata):
        coords = [None] * len(line)
        for k, c in zip(_lookup(path, line.index, geodata.index, "line_geodata"), geodata.raw("coords"),
                        strict=True):
            coords[k] = c
    else:
        return [None] * len(line)
    present = np.array([c is not None for c in coords], dtype=bool)
    flat, counts = _stack(path, line, [[] if c is None else c for c in coords])
    if (present & (counts < 2)).any():
        raise InputError(path, f"line {line.index[np.flatnonzero(present & (counts < 2))[0]]}: "
                               "a line needs at least two positions")
    pieces = np.split(flat, np.cumsum(counts)[:-1])
    return [piece if has else None for piece, has in zip(pieces, present, strict=True)]


def _lookup(path: Path, index: np.ndarray, refs, what: str) -> np.ndarray:
    """Positions of bus indices ``refs`` among ``index``; InputError for unknown ones."""
    refs = np.asarray(refs, dtype=np.float64).reshape(-1)
    if not len(index):
        bad, pos, order = np.ones(len(refs), dtype=bool), np.zeros(len(refs), dtype=np.int64), index
    else:
        order = np.argsort(index, kind="stable")
        pos = np.clip(np.searchsorted(index[order], refs), 0, len(index) - 1)
        bad = index[order][pos] != refs
    if bad.any():
        raise InputError(path, f"{what} refers to unknown bus {refs[np.flatnonzero(bad)[0]]:g}")
    return order[pos]


@dataclass
class _Edges:
    """Edges of one pandapower element type."""

    ends: np.ndarray  # (m, 2) node positions
    ids: list[str]
    kind: str
    capacity: np.ndarray
    length: np.ndarray
    attrs: list[dict]
    shapes: list[np.ndarray | None]


def _open_elements(path: Path, doc: dict, et: str) -> set[int]:
    """Indices of lines (``et="l"``) or transformers (``"t"``) with an open switch."""
    switch = _table(path, doc, "switch")
    if switch is None or not len(switch):
        return set()
    kind = np.array(switch.raw("et"), dtype=object)
    sel = (kind == et) & ~switch.flags("closed")
    return {int(e) for e in switch.numbers("element")[sel]}


def _line_edges(path: Path, doc: dict, bus: _Frame) -> _Edges | None:
    line = _table(path, doc, "line")
    if line is None or not len(line):
        return None
    ends = np.column_stack([_lookup(path, bus.index, line.numbers(c), f"line {c}") for c in ("from_bus", "to_bus")])
    length_km = line.numbers("length_km")
    if not (np.isfinite(length_km) & (length_km >= 0)).all():
        raise InputError(path, "line table: length_km must be finite and >= 0")
    vn_kv = bus.numbers("vn_kv")[ends[:, 0]]
    max_i_ka = line.numbers("max_i_ka", math.nan)
    capacity = math.sqrt(3.0) * vn_kv * max_i_ka * line.numbers("df", 1.0) * line.numbers("parallel", 1.0)
    opened = _open_elements(path, doc, "l")
    attrs = [{"name": _text(n), "std_type": _text(t), "vn_kv": float(v), "max_i_ka": float(i),
              "in_service": bool(s), "switch_open": int(k) in opened}
             for n, t, v, i, s, k in zip(line.raw("name", ""), line.raw("std_type", ""), vn_kv, max_i_ka,
                                         line.flags("in_service"), line.index, strict=True)]
    return _Edges(ends, [f"line:{k}" for k in line.index], "line", capacity, length_km * 1000.0, attrs,
                  _line_shapes(path, line, _table(path, doc, "line_geodata")))


def _trafo_edges(path: Path, doc: dict, bus: _Frame) -> list[_Edges]:
    out = []
    trafo = _table(path, doc, "trafo")
    if trafo is not None and len(trafo):
        ends = np.column_stack([_lookup(path, bus.index, trafo.numbers(c), f"trafo {c}") for c in ("hv_bus", "lv_bus")])
        opened = _open_elements(path, doc, "t")
        attrs = [{"name": _text(n), "std_type": _text(t), "vn_hv_kv": float(h), "vn_lv_kv": float(lv),
                  "in_service": bool(s), "switch_open": int(k) in opened}
                 for n, t, h, lv, s, k in zip(trafo.raw("name", ""), trafo.raw("std_type", ""),
                                              trafo.numbers("vn_hv_kv"), trafo.numbers("vn_lv_kv"),
                                              trafo.flags("in_service"), trafo.index, strict=True)]
        capacity = trafo.numbers("sn_mva") * trafo.numbers("parallel", 1.0)
        out.append(_Edges(ends, [f"trafo:{k}" for k in trafo.index], "transformer", capacity,
                          np.zeros(len(trafo)), attrs, [None] * len(trafo)))
    trafo3w = _table(path, doc, "trafo3w")
    if trafo3w is not None and len(trafo3w):
        hv = _lookup(path, bus.index, trafo3w.numbers("hv_bus"), "trafo3w hv_bus")
        for side in ("mv", "lv"):
            other = _lookup(path, bus.index, trafo3w.numbers(f"{side}_bus"), f"trafo3w {side}_bus")
            attrs = [{"name": _text(n), "in_service": bool(s), "winding": side}
                     for n, s in zip(trafo3w.raw("name", ""), trafo3w.flags("in_service"), strict=True)]
            out.append(_Edges(np.column_stack([hv, other]), [f"trafo3w:{k}:{side}" for k in trafo3w.index],
                              "transformer", trafo3w.numbers(f"sn_{side}_mva"), np.zeros(len(trafo3w)),
                              attrs, [None] * len(trafo3w)))
    return out


def _switch_edges(path: Path, doc: dict, bus: _Frame) -> _Edges | None:
    switch = _table(path, doc, "switch")
    if switch is None or not len(switch):
        return None
    sel = np.array(switch.raw("et"), dtype=object) == "b"
    if not sel.any():
        return None
    ends = np.column_stack([_lookup(path, bus.index, switch.numbers(c)[sel], f"switch {c}")
                            for c in ("bus", "element")])
    closed = switch.flags("closed")[sel]
    names = np.array(switch.raw("name", ""), dtype=object)[sel]
    attrs = [{"name": _text(n), "closed": bool(c)} for n, c in zip(names, closed, strict=True)]
    m = int(sel.sum())
    return _Edges(ends, [f"switch:{k}" for k in switch.index[sel]], "switch", np.full(m, np.nan),
                  np.zeros(m), attrs, [None] * m)


def _text(value) -> str:
    return "" if value is None else str(value)


def _injections(path: Path, doc: dict, bus: _Frame, table: str) -> np.ndarray:
    """In-service ``p_mw * scaling`` of loads or static generators summed per bus."""
    frame = _table(path, doc, table)
    if frame is None or not len(frame):
        return np.zeros(len(bus))
    at = _lookup(path, bus.index, frame.numbers("bus"), f"{table} bus")
    p_mw = np.nan_to_num(frame.numbers("p_mw") * frame.numbers("scaling", 1.0)) * frame.flags("in_service")
    return np.bincount(at, weights=p_mw, minlength=len(bus))


def _nodes(path: Path, doc: dict, bus: _Frame, groups: list[_Edges]) -> tuple[list, np.ndarray, list]:
    """Node kinds, capacities (MVA of transformers fed) and attributes."""
    trafos = [g for g in groups if g.kind == "transformer"]
    hv = np.concatenate([g.ends[:, 0] for g in trafos] or [np.zeros(0, dtype=np.int64)])
    rating = np.concatenate([g.capacity for g in trafos] or [np.zeros(0)])
    ext = _table(path, doc, "ext_grid")
    fed = _lookup(path, bus.index, ext.numbers("bus"), "ext_grid bus") if ext is not None and len(ext) else []
    substation = np.zeros(len(bus), dtype=bool)
    substation[hv] = True
    substation[fed] = True
    capacity = np.bincount(hv, weights=np.nan_to_num(rating), minlength=len(bus))
    capacity = np.where(np.isin(np.arange(len(bus)), hv), capacity, np.nan)
    kinds = np.where(substation, "substation", "bus").tolist()
    load, sgen = _injections(path, doc, bus, "load"), _injections(path, doc, bus, "sgen")
    attrs = [{"name": _text(n), "vn_kv": float(v), "in_service": bool(s), "zone": _text(z),
              "load_mw": float(lo), "sgen_mw": float(sg)}
             for n, v, s, z, lo, sg in zip(bus.raw("name", ""), bus.numbers("vn_kv"), bus.flags("in_service"),
                                           bus.raw("zone", ""), load, sgen, strict=True)]
    return kinds, capacity, attrs


def _polylines(xy: np.ndarray, groups: list[_Edges]) -> tuple[np.ndarray, np.ndarray]:
    """Vertices and offsets: each edge's own shape, else the straight segment between its buses."""
    lines = [shape if shape is not None else xy[ends]
             for g in groups for shape, ends in zip(g.shapes, g.ends, strict=True)]
    counts = np.array([len(p) for p in lines], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    flat = np.concatenate(lines) if lines else np.zeros((0, 2))
    return np.column_stack([flat, np.zeros(len(flat))]), offsets


def read_pandapower(path: Path, to_crs: str | None = None, crs: str = "EPSG:4326") -> Network:
    """Read a pandapower JSON grid into a power :class:`~twin3d.model.Network`.

    Parameters
    ----------
    path
        A file written by ``pandapower.to_json``.
    to_crs
        Transform coordinates to this (projected) CRS, e.g. ``"EPSG:25832"``;
        refused when any bus has no geodata.
    crs
        The CRS of the file's geodata (pandapower stores WGS84 lon/lat).

    Raises
    ------
    InputError
        For files that are not pandapower grids, malformed tables or
        geometries, elements referring to unknown buses, and ``to_crs``
        without complete geodata.

    Examples
    --------
    >>> net = read_pandapower(Path("mv_oberrhein.json"), to_crs="EPSG:25832")  # doctest: +SKIP
    >>> net.n_nodes  # doctest: +SKIP
    179
    """
    path = Path(path)
    doc = _tables(path)
    bus = _frame(path, "bus", doc["bus"])
    if not len(bus):
        raise InputError(path, "the grid has no buses")
    if len(np.unique(bus.index)) != len(bus):
        raise InputError(path, "bus table: duplicate bus index")
    xy = _points(path, bus, _table(path, doc, "bus_geodata"))
    groups = [g for g in (_line_edges(path, doc, bus), *_trafo_edges(path, doc, bus),
                          _switch_edges(path, doc, bus)) if g is not None]
    kinds, node_capacity, node_attrs = _nodes(path, doc, bus, groups)
    vertices, offsets = _polylines(xy, groups)
    if to_crs is not None:
        missing = int(np.isnan(xy[:, 0]).sum())
        if missing:
            raise InputError(path, f"no geodata for {missing} of {len(bus)} buses: cannot transform to {to_crs}")
        src = normalise_crs(crs, path)
        check_area_of_use(*transform_xy(xy[:, 0], xy[:, 1], src, "EPSG:4326", path), to_crs, path)
        xy[:, 0], xy[:, 1] = transform_xy(xy[:, 0], xy[:, 1], src, to_crs, path)
        vertices[:, 0], vertices[:, 1] = transform_xy(vertices[:, 0], vertices[:, 1], src, to_crs, path)
    cat = np.concatenate
    return Network(
        kind="power", node_id=[str(k) for k in bus.index], node_xyz=np.column_stack([xy, np.zeros(len(xy))]),
        node_kind=kinds, node_capacity=node_capacity,
        edges=cat([g.ends for g in groups]) if groups else np.zeros((0, 2), dtype=np.int64),
        edge_id=[i for g in groups for i in g.ids], edge_kind=[g.kind for g in groups for _ in g.ids],
        edge_capacity=cat([g.capacity for g in groups] or [np.zeros(0)]),
        edge_length=cat([g.length for g in groups] or [np.zeros(0)]),
        edge_vertices=vertices, edge_offsets=offsets,
        node_attributes=node_attrs, edge_attributes=[a for g in groups for a in g.attrs],
    )
