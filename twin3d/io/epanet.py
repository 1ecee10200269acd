"""EPANET ``.inp`` water networks -> :class:`~twin3d.model.Network` in SI units.

Nodes are junctions, reservoirs and tanks; edges are pipes, pumps and valves
(a pump is an edge of kind ``"pump"``, so a later step can make it depend on a
power node).  Units follow ``[OPTIONS] Units``: with US flow units (CFS, GPM,
MGD, IMGD, AFD) lengths and elevations are feet and diameters inches, with SI
flow units metres and millimetres; everything is converted to metres and m3/s.

``edge_capacity`` is m3/s: for pipes and valves the flow at
:data:`DESIGN_VELOCITY_M_S` through the full bore, for pumps the design flow of
the head curve (NaN for constant-power pumps).  ``edge_length`` is the length
in the file for pipes and 0 for pumps and valves (devices, not conduits).
Node ``z`` is the elevation (the head for reservoirs).  Map coordinates are
kept in the file's own units unless ``to_crs`` is given.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from twin3d.errors import InputError
from twin3d.io.crs import normalise_crs, transform_xy
from twin3d.model import City, Network

DESIGN_VELOCITY_M_S = 1.5  # pipe capacity = this velocity x full-bore area

FLOW_UNITS_M3S = {  # one flow unit in m3/s
    "CFS": 0.3048**3, "GPM": 3.785411784e-3 / 60, "MGD": 3785.411784 / 86400,
    "IMGD": 4546.09 / 86400, "AFD": 1233.48183754752 / 86400,
    "LPS": 1e-3, "LPM": 1e-3 / 60, "MLD": 1000 / 86400, "CMH": 1 / 3600, "CMD": 1 / 86400, "CMS": 1.0,
}
US_FLOW_UNITS = frozenset({"CFS", "GPM", "MGD", "IMGD", "AFD"})
HP_KW = 0.745699872

SECTIONS = frozenset({
    "TITLE", "JUNCTIONS", "RESERVOIRS", "TANKS", "PIPES", "PUMPS", "VALVES", "TAGS", "DEMANDS",
    "STATUS", "PATTERNS", "CURVES", "CONTROLS", "RULES", "ENERGY", "EMITTERS", "QUALITY", "SOURCES",
    "REACTIONS", "MIXING", "TIMES", "REPORT", "OPTIONS", "COORDINATES", "VERTICES", "LABELS",
    "BACKDROP", "ROUGHNESS", "LEAKAGE", "END",
})
VALVE_TYPES = frozenset({"PRV", "PSV", "PBV", "FCV", "TCV", "GPV", "PCV"})
PIPE_STATUS = frozenset({"OPEN", "CLOSED", "CV"})
TIME_KEYS = ("DURATION", "HYDRAULIC TIMESTEP", "QUALITY TIMESTEP", "RULE TIMESTEP", "PATTERN TIMESTEP",
             "PATTERN START", "REPORT TIMESTEP", "REPORT START", "START CLOCKTIME")
STATISTICS = ("NONE", "NO", "AVERAGE", "MINIMUM", "MAXIMUM", "RANGE")
_TOKEN = re.compile(r'"([^"]*)"|(;)|([^\s;"]+)')

Row = tuple[int, list[str]]  # (line number, tokens)


@dataclass
class _Parts:
    """What the sections say, before unit conversion and geometry."""

    path: Path
    rows: dict[str, list[Row]]
    nodes: list[tuple] = field(default_factory=list)  # (id, kind, line, z_m, attrs)
    links: list[tuple] = field(default_factory=list)  # (id, kind, line, node1, node2, length_m, capacity, attrs)
    curves: dict[str, np.ndarray] = field(default_factory=dict)
    patterns: set[str] = field(default_factory=set)
    flow_units: str = "GPM"
    stray_demands: dict[str, int] = field(default_factory=dict)  # node id -> line, not a junction

    def fail(self, line: int, reason: str) -> InputError:
        return InputError(self.path, f"line {line}: {reason}")

    def number(self, line: int, token: str, what: str) -> float:
        try:
            value = float(token)
        except ValueError:
            raise self.fail(line, f"{what} {token!r} is not a number") from None
        if not math.isfinite(value):
            raise self.fail(line, f"{what} {token!r} is not finite")
        return value

    @property
    def length_m(self) -> float:  # metres per length unit: ft or m
        return 0.3048 if self.flow_units in US_FLOW_UNITS else 1.0

    @property
    def diameter_m(self) -> float:  # metres per diameter unit: in or mm
        return 0.0254 if self.flow_units in US_FLOW_UNITS else 1e-3


def read_epanet(path: Path, crs: str | None = None, to_crs: str | None = None) -> Network:
    """Read an EPANET ``.inp`` file into a water :class:`~twin3d.model.Network` (SI units).

    Parameters
    ----------
    path
        The ``.inp`` file (UTF-8, or Latin-1 where it is not valid UTF-8).
    crs
        The CRS of ``[COORDINATES]`` and ``[VERTICES]``; EPANET files do not say.
    to_crs
        Transform map coordinates to this CRS (needs ``crs``).

    Raises
    ------
    InputError
        Naming the file and line for unknown sections, malformed or
        out-of-range values, bad times, undefined nodes/links/curves/patterns
        and nodes without coordinates.

    Examples
    --------
    >>> net = read_epanet(Path("Net1.inp"))  # doctest: +SKIP
    >>> int((net.edge_kind == "pump").sum())  # doctest: +SKIP
    1
    """
    return read_epanet_city(path, crs, to_crs).networks["water"]


def read_epanet_city(path: Path, crs: str | None = None, to_crs: str | None = None) -> City:
    """Read an EPANET ``.inp`` file into a :class:`~twin3d.model.City` with ``networks["water"]``.

    ``City.metadata["epanet"]`` keeps the title, flow units, head-loss formula
    and the ``[TIMES]`` settings in seconds.  See :func:`read_epanet`.
    """
    path = Path(path)
    parts = _parse(path)
    src, dst = normalise_crs(crs, path), normalise_crs(to_crs, path)
    if dst is not None and src is None:
        raise InputError(path, "to_crs needs crs: EPANET files do not say which CRS their coordinates use")
    net = _build_network(parts, src, dst)
    title = " ".join(" ".join(t) for _, t in parts.rows.get("TITLE", []))
    options = {t[0].upper(): " ".join(t[1:]) for _, t in parts.rows.get("OPTIONS", []) if len(t) > 1}
    meta = {"title": title, "flow_units": parts.flow_units,
            "headloss": options.get("HEADLOSS", "H-W").upper(), "times_s": _times(parts)}
    return City(name=path.stem, crs=dst or src, networks={"water": net}, metadata={"epanet": meta})


def _decode(path: Path) -> str:
    from twin3d.io.registry import check_readable

    data = check_readable(path).read_bytes()
    if b"\x00" in data:
        raise InputError(path, "not a text file (NUL bytes)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")  # EPANET itself reads bytes; Latin-1 maps every byte


def _tokens(line: str) -> list[str]:
    if '"' not in line:
        return line.split(";", 1)[0].split()
    out = []
    for quoted, semicolon, bare in _TOKEN.findall(line):
        if semicolon:
            break
        out.append(quoted or bare)
    return out


def _split_sections(path: Path, text: str) -> dict[str, list[Row]]:
    rows: dict[str, list[Row]] = {}
    section = None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("["):
            name = stripped[1:].split("]", 1)[0].strip().upper()
            if "]" not in stripped or name not in SECTIONS:
                raise InputError(path, f"line {number}: unknown section {stripped.split(';')[0].strip()}")
            if name == "END":
                break
            section = name
            rows.setdefault(section, [])
            continue
        tokens = _tokens(line) if section != "TITLE" else stripped.split()
        if not tokens:
            continue
        if section is None:
            raise InputError(path, f"line {number}: data before the first [SECTION]")
        rows[section].append((number, tokens))
    return rows


def _parse(path: Path) -> _Parts:
    parts = _Parts(path=path, rows=_split_sections(path, _decode(path)))
    for step in (_options, _patterns_and_curves, _times, _junctions, _reservoirs, _tanks, _pipes, _pumps, _valves):
        step(parts)
    if not parts.nodes:
        raise InputError(path, "no junctions, reservoirs or tanks")
    return parts


def _need(parts: _Parts, line: int, tokens: list[str], n: int, what: str) -> None:
    if len(tokens) < n:
        raise parts.fail(line, f"{what} needs at least {n} fields, found {len(tokens)}")


def _options(parts: _Parts) -> None:
    for line, tokens in parts.rows.get("OPTIONS", []):
        if tokens[0].upper() == "UNITS":
            _need(parts, line, tokens, 2, "Units option")
            units = tokens[1].upper()
            if units not in FLOW_UNITS_M3S:
                raise parts.fail(line, f"unknown flow units {tokens[1]!r} (known: {', '.join(FLOW_UNITS_M3S)})")
            parts.flow_units = units


def _patterns_and_curves(parts: _Parts) -> None:
    for line, tokens in parts.rows.get("PATTERNS", []):
        _need(parts, line, tokens, 2, "pattern")
        for t in tokens[1:]:
            parts.number(line, t, "pattern multiplier")
        parts.patterns.add(tokens[0])
    points: dict[str, list[tuple[float, float]]] = {}
    for line, tokens in parts.rows.get("CURVES", []):
        _need(parts, line, tokens, 3, "curve point")
        xy = (parts.number(line, tokens[1], "curve x"), parts.number(line, tokens[2], "curve y"))
        points.setdefault(tokens[0], []).append(xy)
    parts.curves = {k: np.array(v, dtype=np.float64) for k, v in points.items()}


def _check_pattern(parts: _Parts, line: int, pattern: str) -> None:
    if pattern not in parts.patterns:
        raise parts.fail(line, f"undefined pattern {pattern!r}")


def _hours(parts: _Parts, line: int, value: str, unit: str) -> float:
    """EPANET's time syntax: decimal [SEC|MIN|HOURS|DAYS], or H:MM[:SS] [AM|PM]; hours."""
    fields = value.split(":")
    if len(fields) > 3 or not all(re.fullmatch(r"\d*\.?\d+|\d+\.", f) for f in fields):
        raise parts.fail(line, f"invalid time {value!r}")
    h = sum(float(f) / 60.0**k for k, f in enumerate(fields))
    u = unit.upper()
    if not u:
        return h
    if len(fields) == 1:
        for prefix, scale in (("SEC", 1 / 3600), ("MIN", 1 / 60), ("HOU", 1.0), ("DAY", 24.0)):
            if u.startswith(prefix):
                return h * scale
    if u in ("AM", "PM") and h < 13.0:
        return (h % 12.0) + (12.0 if u == "PM" else 0.0)
    raise parts.fail(line, f"invalid time {value} {unit}")


def _times(parts: _Parts) -> dict[str, float | str]:
    out: dict[str, float | str] = {}
    for line, tokens in parts.rows.get("TIMES", []):
        words = [t.upper() for t in tokens]
        if words[0] == "STATISTIC":
            _need(parts, line, tokens, 2, "Statistic")
            if not any(s.startswith(words[1][:3]) and len(words[1]) >= 2 for s in STATISTICS):
                raise parts.fail(line, f"unknown statistic {tokens[1]!r}")
            out["statistic"] = words[1]
            continue
        key = next((k for k in TIME_KEYS if words[: len(k.split())] == k.split()), None)
        if key is None:
            raise parts.fail(line, f"unknown [TIMES] keyword {tokens[0]!r}")
        value = tokens[len(key.split()):]
        if not 1 <= len(value) <= 2:
            raise parts.fail(line, f"{key.lower()} needs a time and an optional unit")
        hours = _hours(parts, line, value[0], value[1] if len(value) == 2 else "")
        out[key.lower().replace(" ", "_")] = round(hours * 3600.0, 6)
    return out


def _add_node(parts: _Parts, line: int, tokens: list[str], kind: str, z: float, attrs: dict) -> None:
    parts.nodes.append((tokens[0], kind, line, z * parts.length_m, attrs))


def _junctions(parts: _Parts) -> None:
    flow = FLOW_UNITS_M3S[parts.flow_units]
    demands: dict[str, float] = {}
    for line, tokens in parts.rows.get("DEMANDS", []):
        _need(parts, line, tokens, 2, "demand")
        if len(tokens) > 2:
            _check_pattern(parts, line, tokens[2])
        demands[tokens[0]] = demands.get(tokens[0], 0.0) + parts.number(line, tokens[1], "demand") * flow
        parts.stray_demands.setdefault(tokens[0], line)
    for line, tokens in parts.rows.get("JUNCTIONS", []):
        _need(parts, line, tokens, 2, "junction")
        demand = parts.number(line, tokens[2], "demand") * flow if len(tokens) > 2 else 0.0
        attrs = {"demand_m3s": demands.get(tokens[0], demand)}  # [DEMANDS] replaces [JUNCTIONS]
        parts.stray_demands.pop(tokens[0], None)
        if len(tokens) > 3:
            _check_pattern(parts, line, tokens[3])
            attrs["pattern"] = tokens[3]
        _add_node(parts, line, tokens, "junction", parts.number(line, tokens[1], "elevation"), attrs)


def _reservoirs(parts: _Parts) -> None:
    for line, tokens in parts.rows.get("RESERVOIRS", []):
        _need(parts, line, tokens, 2, "reservoir")
        head = parts.number(line, tokens[1], "head")
        attrs = {"head_m": head * parts.length_m}
        if len(tokens) > 2:
            _check_pattern(parts, line, tokens[2])
            attrs["pattern"] = tokens[2]
        _add_node(parts, line, tokens, "reservoir", head, attrs)


def _tanks(parts: _Parts) -> None:
    names = ("elevation", "initial level", "minimum level", "maximum level", "diameter", "minimum volume")
    for line, tokens in parts.rows.get("TANKS", []):
        _need(parts, line, tokens, 6, "tank")
        v = [parts.number(line, t, n) for t, n in zip(tokens[1:7], names, strict=False)]
        elev, init, low, high, diameter = v[:5]
        if not (0 <= low <= init <= high) or diameter < 0:
            raise parts.fail(line, "tank levels must satisfy 0 <= min <= initial <= max, diameter >= 0")
        L = parts.length_m
        attrs = {"initial_level_m": init * L, "min_level_m": low * L, "max_level_m": high * L,
                 "diameter_m": diameter * L, "min_volume_m3": (v[5] if len(v) > 5 else 0.0) * L**3}
        if len(tokens) > 7 and tokens[7] != "*":
            if tokens[7] not in parts.curves:
                raise parts.fail(line, f"undefined volume curve {tokens[7]!r}")
            attrs["volume_curve"] = tokens[7]
        _add_node(parts, line, tokens, "tank", elev, attrs)


def _add_link(parts: _Parts, line: int, tokens: list[str], kind: str, length_m: float,
              capacity_m3s: float, attrs: dict) -> None:
    if tokens[1] == tokens[2]:
        raise parts.fail(line, f"{kind} {tokens[0]!r} starts and ends at node {tokens[1]!r}")
    parts.links.append((tokens[0], kind, line, tokens[1], tokens[2], length_m, capacity_m3s, attrs))


def _bore_capacity(diameter_m: float) -> float:
    return DESIGN_VELOCITY_M_S * math.pi / 4.0 * diameter_m**2


def _pipes(parts: _Parts) -> None:
    for line, tokens in parts.rows.get("PIPES", []):
        _need(parts, line, tokens, 6, "pipe")
        length, diameter, roughness = (parts.number(line, t, n) for t, n in
                                       zip(tokens[3:6], ("length", "diameter", "roughness"), strict=True))
        if min(length, diameter, roughness) <= 0:
            raise parts.fail(line, f"pipe {tokens[0]!r}: length, diameter and roughness must be > 0")
        minor = parts.number(line, tokens[6], "minor loss") if len(tokens) > 6 else 0.0
        status = tokens[7].upper() if len(tokens) > 7 else "OPEN"
        if status not in PIPE_STATUS or minor < 0:
            raise parts.fail(line, f"pipe {tokens[0]!r}: bad status {status!r} or minor loss {minor}")
        d = diameter * parts.diameter_m
        attrs = {"diameter_m": d, "roughness": roughness, "minor_loss": minor, "status": status}
        _add_link(parts, line, tokens, "pipe", length * parts.length_m, _bore_capacity(d), attrs)


def _pump_design_flow(curve: np.ndarray) -> float:
    """The design flow (curve units) of a head curve, NaN for an invalid curve.

    EPANET's conventions: a one-point curve is the design point, a three-point
    curve's middle point is.  A multi-point curve has none; the flow of largest
    hydraulic power (flow x head, heads interpolated linearly) is taken.
    """
    q, h = curve[:, 0], curve[:, 1]
    if len(curve) == 2 or (np.diff(q) <= 0).any() or (np.diff(h) >= 0).any() or q[-1] <= 0:
        return math.nan
    if len(curve) in (1, 3):
        return float(q[len(q) // 2])
    flows = np.linspace(q[0], q[-1], 1001)
    return float(flows[np.argmax(flows * np.interp(flows, q, h))])


def _pumps(parts: _Parts) -> None:
    flow = FLOW_UNITS_M3S[parts.flow_units]
    for line, tokens in parts.rows.get("PUMPS", []):
        _need(parts, line, tokens, 4, "pump")
        if len(tokens) % 2 == 0:
            raise parts.fail(line, f"pump {tokens[0]!r}: parameters come as KEYWORD value pairs")
        attrs, capacity = {}, math.nan
        for key, value in zip(tokens[3::2], tokens[4::2], strict=True):
            key = key.upper()
            if key == "HEAD":
                if value not in parts.curves:
                    raise parts.fail(line, f"pump {tokens[0]!r}: undefined head curve {value!r}")
                capacity = _pump_design_flow(parts.curves[value]) * flow
                if math.isnan(capacity):
                    raise parts.fail(line, f"pump {tokens[0]!r}: head curve {value!r} must have 1 or 3+ "
                                           "points with rising flow and falling head")
                attrs["head_curve"] = value
            elif key == "POWER":
                power = parts.number(line, value, "pump power")
                attrs["power_kw"] = power * (HP_KW if parts.flow_units in US_FLOW_UNITS else 1.0)
            elif key == "SPEED":
                attrs["speed"] = parts.number(line, value, "pump speed")
            elif key == "PATTERN":
                _check_pattern(parts, line, value)
                attrs["pattern"] = value
            else:
                raise parts.fail(line, f"pump {tokens[0]!r}: unknown parameter {key!r}")
        if "head_curve" not in attrs and attrs.get("power_kw", 0.0) <= 0:
            raise parts.fail(line, f"pump {tokens[0]!r} has neither a head curve nor a power > 0")
        attrs["design_flow_m3s"] = capacity
        _add_link(parts, line, tokens, "pump", 0.0, capacity, attrs)


def _valves(parts: _Parts) -> None:
    for line, tokens in parts.rows.get("VALVES", []):
        _need(parts, line, tokens, 6, "valve")
        diameter = parts.number(line, tokens[3], "diameter")
        kind = tokens[4].upper()
        if kind not in VALVE_TYPES or diameter <= 0:
            raise parts.fail(line, f"valve {tokens[0]!r}: unknown type {tokens[4]!r} or diameter <= 0")
        if kind == "GPV" and tokens[5] not in parts.curves:
            raise parts.fail(line, f"valve {tokens[0]!r}: undefined head-loss curve {tokens[5]!r}")
        if kind != "GPV":
            parts.number(line, tokens[5], "valve setting")
        minor = parts.number(line, tokens[6], "minor loss") if len(tokens) > 6 else 0.0
        d = diameter * parts.diameter_m
        attrs = {"diameter_m": d, "valve_type": kind, "setting": tokens[5], "minor_loss": minor}
        _add_link(parts, line, tokens, "valve", 0.0, _bore_capacity(d), attrs)


def _index(ids: np.ndarray, refs: list[str]) -> np.ndarray:
    """Positions of ``refs`` in ``ids`` (-1 where absent), by sorted search."""
    refs_a = np.asarray(refs, dtype=str) if len(refs) else np.zeros(0, dtype=str)
    if not len(ids):
        return np.full(len(refs_a), -1, dtype=np.int64)
    order = np.argsort(ids)
    sorted_ids = ids[order]
    pos = np.clip(np.searchsorted(sorted_ids, refs_a), 0, len(ids) - 1)
    return np.where(sorted_ids[pos] == refs_a, order[pos], -1)


def _unique(parts: _Parts, ids: np.ndarray, lines: tuple[int, ...], what: str) -> None:
    uniq, counts = np.unique(ids, return_counts=True)
    if (counts > 1).any():
        dup = uniq[counts > 1][0]
        raise parts.fail(lines[np.flatnonzero(ids == dup)[1]], f"duplicate {what} id {str(dup)!r}")


def _xy_rows(parts: _Parts, section: str, ids: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    """``(index into ids, xy)`` of the ``id x y`` rows of [COORDINATES] or [VERTICES]."""
    rows = parts.rows.get(section, [])
    for line, tokens in rows:
        _need(parts, line, tokens, 3, section.lower()[:-1])
    xy = np.array([[parts.number(ln, t[1], "x"), parts.number(ln, t[2], "y")] for ln, t in rows],
                  dtype=np.float64).reshape(-1, 2)
    where = _index(ids, [t[0] for _, t in rows])
    if (where < 0).any():
        line, tokens = rows[int(np.flatnonzero(where < 0)[0])]
        raise parts.fail(line, f"[{section}] for undefined {what} {tokens[0]!r}")
    return where, xy


def _node_xy(parts: _Parts, ids: np.ndarray, kinds: tuple, lines: tuple) -> np.ndarray:
    where, xy = _xy_rows(parts, "COORDINATES", ids, "node")
    out = np.full((len(ids), 2), np.nan)
    out[where] = xy
    missing = np.flatnonzero(np.isnan(out[:, 0]))
    if len(missing):
        k = missing[0]
        raise parts.fail(lines[k], f"{len(missing)} nodes have no [COORDINATES], the first is "
                                   f"{kinds[k]} {str(ids[k])!r}")
    return out


def _link_ends(parts: _Parts, node_ids: np.ndarray, links: list[tuple]) -> np.ndarray:
    edges = _index(node_ids, [n for link in links for n in link[3:5]]).reshape(-1, 2)
    bad = np.flatnonzero((edges < 0).any(axis=1))
    if len(bad):
        name, kind, line, *ends = links[int(bad[0])][:5]
        missing = ends[0] if edges[bad[0], 0] < 0 else ends[1]
        raise parts.fail(line, f"{kind} {name!r} refers to undefined node {missing!r}")
    stray = list(parts.stray_demands)  # EPANET ignores demands of tanks and reservoirs
    where = _index(node_ids, stray)
    if (where < 0).any():
        name = stray[int(np.flatnonzero(where < 0)[0])]
        raise parts.fail(parts.stray_demands[name], f"demand for undefined junction {name!r}")
    return edges


def _tags_and_status(parts: _Parts, node_ids: np.ndarray, link_ids: np.ndarray) -> None:
    node_attrs, link_attrs = [n[-1] for n in parts.nodes], [k[-1] for k in parts.links]
    for line, tokens in parts.rows.get("TAGS", []):
        _need(parts, line, tokens, 3, "tag")
        kind = tokens[0].upper()
        if kind not in ("NODE", "LINK"):
            raise parts.fail(line, f"a tag is for a NODE or a LINK, not {tokens[0]!r}")
        k = int(_index(node_ids if kind == "NODE" else link_ids, [tokens[1]])[0])
        if k < 0:
            raise parts.fail(line, f"tag for undefined {kind.lower()} {tokens[1]!r}")
        (node_attrs if kind == "NODE" else link_attrs)[k]["tag"] = tokens[2]
    for line, tokens in parts.rows.get("STATUS", []):
        _need(parts, line, tokens, 2, "status")
        k = int(_index(link_ids, [tokens[0]])[0])
        if k < 0:
            raise parts.fail(line, f"status for undefined link {tokens[0]!r}")
        link_attrs[k]["initial_status"] = tokens[1].upper()


def _polylines(link: np.ndarray, xy: np.ndarray, node_xyz: np.ndarray,
               edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Edge polylines: start node, the link's [VERTICES] in file order, end node.

    Interior vertices get z interpolated linearly along the polyline between
    the end nodes' elevations.
    """
    m = len(edges)
    counts = np.bincount(link, minlength=m)
    offsets = np.concatenate([[0], np.cumsum(counts + 2)])
    vertices = np.full((offsets[-1], 3), np.nan)
    vertices[offsets[:-1]] = node_xyz[edges[:, 0]]
    vertices[offsets[1:] - 1] = node_xyz[edges[:, 1]]
    order = np.argsort(link, kind="stable")
    group_start = np.concatenate([[0], np.cumsum(counts)])[:-1]
    rank = np.arange(len(link)) - group_start[link[order]]
    interior = offsets[link[order]] + 1 + rank
    vertices[interior, :2] = xy[order]
    seg = np.linalg.norm(np.diff(vertices[:, :2], axis=0), axis=1)
    along = np.concatenate([[0.0], np.cumsum(seg)])
    edge_of = np.repeat(np.arange(m), counts + 2)
    start, end = offsets[:-1][edge_of], offsets[1:][edge_of] - 1
    span = along[end] - along[start]
    t = np.divide(along - along[start], span, out=np.zeros_like(span), where=span > 0)
    z = vertices[start, 2] + t * (vertices[end, 2] - vertices[start, 2])
    vertices[interior, 2] = z[interior]
    return vertices, offsets


def _build_network(parts: _Parts, src: str | None, dst: str | None) -> Network:
    node_id, node_kind, node_line, node_z, node_attrs = zip(*parts.nodes, strict=True)
    link_id, link_kind, link_line, _, _, length, capacity, link_attrs = (
        zip(*parts.links, strict=True) if parts.links else ((),) * 8)
    node_ids, link_ids = np.asarray(node_id, dtype=str), np.asarray(link_id, dtype=str)
    _unique(parts, node_ids, node_line, "node")
    _unique(parts, link_ids, link_line, "link")
    edges = _link_ends(parts, node_ids, parts.links)
    _tags_and_status(parts, node_ids, link_ids)
    node_xyz = np.column_stack([_node_xy(parts, node_ids, node_kind, node_line), node_z])
    vertices, offsets = _polylines(*_xy_rows(parts, "VERTICES", link_ids, "link"), node_xyz, edges)
    if dst is not None:
        node_xyz[:, 0], node_xyz[:, 1] = transform_xy(node_xyz[:, 0], node_xyz[:, 1], src, dst, parts.path)
        vertices[:, 0], vertices[:, 1] = transform_xy(vertices[:, 0], vertices[:, 1], src, dst, parts.path)
    return Network(
        kind="water", node_id=list(node_id), node_xyz=node_xyz, node_kind=list(node_kind),
        edges=edges, edge_id=list(link_id), edge_kind=list(link_kind),
        edge_capacity=np.asarray(capacity, dtype=np.float64), edge_length=np.asarray(length, dtype=np.float64),
        edge_vertices=vertices, edge_offsets=offsets,
        node_attributes=list(node_attrs), edge_attributes=list(link_attrs),
    )
