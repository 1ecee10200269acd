"""Flood fragility of network assets and buildings, and the hazard sampled at them.

A fragility entry is data plus a rule (CLIMADA/Hazus style): either a depth
threshold (fails when ``depth > threshold_m``) or a lognormal curve
``P(fail | d) = Phi(ln(d / median_m) / beta)``.  Entries are grouped by layer and
component (``"power.nodes"``, ``"road.edges"``, ``"buildings"``, ...) and keyed by
asset kind, with a ``"default"`` per group; see ``assets/fragility/thresholds.toml``.

The hazard at an asset is the depth of the cell holding it (nodes) or the
maximum depth sampled every half cell along its polyline (edges).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from twin3d.config import asset, read_toml
from twin3d.errors import InputError
from twin3d.model import Grid, Network

NETWORK_GROUPS = ("power", "water", "road")
COMPONENTS = ("nodes", "edges")
GROUPS = tuple(f"{n}.{c}" for n in NETWORK_GROUPS for c in COMPONENTS) + ("buildings",)
NEVER = (math.inf, math.nan, math.nan)  # parameters of an asset that never fails


@dataclass(frozen=True)
class FragilityTable:
    """Fragility parameters per group and asset kind.

    ``entries[group][kind]`` is ``(threshold_m, median_m, beta)``: a threshold
    entry has NaN median and beta, a curve entry has NaN threshold.  A group
    absent from the table never fails.

    Examples
    --------
    >>> table = FragilityTable.load()
    >>> table.fails("power.nodes", np.array(["substation"]), np.array([0.35])).tolist()
    [True]
    """

    entries: dict[str, dict[str, tuple[float, float, float]]]

    @classmethod
    def load(cls, path: str | Path | None = None) -> FragilityTable:
        """Read a fragility TOML file (default: the packaged ``assets/fragility/thresholds.toml``).

        Raises
        ------
        InputError
            When the file is missing, not TOML, or an entry is malformed.
        """
        if path is None:
            path = asset("fragility", "thresholds.toml")
        path = Path(path)
        doc = read_toml(path, "fragility table")
        return cls(_parse(path, doc))

    def parameters(self, group: str, kinds) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(threshold_m, median_m, beta)`` arrays for assets of the given kinds."""
        if group not in GROUPS:
            raise InputError(None, f"unknown fragility group {group!r} (known: {', '.join(GROUPS)})")
        kinds = np.asarray(kinds, dtype=object).reshape(-1)
        table = self.entries.get(group)
        if table is None or not len(kinds):
            return tuple(np.full(len(kinds), v) for v in NEVER)
        names, inverse = np.unique(kinds.astype(str), return_inverse=True)
        rows = np.array([table.get(k, table["default"]) for k in names], dtype=np.float64).reshape(-1, 3)
        return rows[inverse, 0], rows[inverse, 1], rows[inverse, 2]

    def probability(self, group: str, kinds, depth_m) -> np.ndarray:
        """Failure probability of each asset at its depth (NaN depth: no hazard)."""
        return failure_probability(depth_m, *self.parameters(group, kinds))

    def fails(self, group: str, kinds, depth_m) -> np.ndarray:
        """Deterministic failure: probability at least one half."""
        return self.probability(group, kinds, depth_m) >= 0.5


def failure_probability(depth_m, threshold_m, median_m, beta) -> np.ndarray:
    """Failure probability: a step at ``threshold_m`` where it is finite or a lognormal CDF.

    Depth at or below zero, or NaN, gives 0; an infinite threshold never fails.

    Examples
    --------
    >>> failure_probability(np.array([0.2, 0.4, 0.8]), np.nan, 0.4, 0.3).round(4).tolist()
    [0.0104, 0.5, 0.9896]
    """
    from scipy.special import ndtr

    d = np.nan_to_num(np.asarray(depth_m, dtype=np.float64), nan=0.0)
    threshold_m, median_m, beta = np.broadcast_arrays(threshold_m, median_m, beta, d)[:3]
    curve = np.isnan(threshold_m)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.log(np.where(d > 0, d, 1.0) / median_m) / beta
    p_curve = np.where(d > 0, ndtr(z), 0.0)
    p_step = (d > np.where(curve, np.inf, threshold_m)).astype(np.float64)
    return np.where(curve, p_curve, p_step)


def _parse(path: Path, doc: dict) -> dict[str, dict[str, tuple[float, float, float]]]:
    unknown = sorted(set(doc) - set(NETWORK_GROUPS) - {"buildings"})
    if unknown:
        raise InputError(path, f"unknown section {unknown[0]!r} (known: power, water, road, buildings)")
    entries = {}
    for net in NETWORK_GROUPS:
        section = doc.get(net, {})
        if not isinstance(section, dict) or set(section) - set(COMPONENTS):
            raise InputError(path, f"[{net}] may only hold the tables 'nodes' and 'edges'")
        for component, table in section.items():
            entries[f"{net}.{component}"] = _group(path, f"{net}.{component}", table)
    if "buildings" in doc:
        entries["buildings"] = _group(path, "buildings", doc["buildings"])
    return entries


def _group(path: Path, group: str, table) -> dict[str, tuple[float, float, float]]:
    if not isinstance(table, dict):
        raise InputError(path, f"[{group}] must be a table of asset kinds")
    if "default" not in table:
        raise InputError(path, f"[{group}] has no 'default' entry")
    return {str(kind): _entry(path, f"{group}.{kind}", spec) for kind, spec in table.items()}


def _entry(path: Path, where: str, spec) -> tuple[float, float, float]:
    if not isinstance(spec, dict):
        raise InputError(path, f"{where} must be a table such as {{ threshold_m = 0.3 }}")
    keys = set(spec)
    if keys == {"threshold_m"}:
        t = _number(path, where, spec, "threshold_m")
        if not t >= 0:
            raise InputError(path, f"{where}: threshold_m must be >= 0 (inf for never), got {t}")
        return (t, math.nan, math.nan)
    if keys == {"median_m", "beta"}:
        m, b = _number(path, where, spec, "median_m"), _number(path, where, spec, "beta")
        if not (0 < m < math.inf and 0 < b < math.inf):
            raise InputError(path, f"{where}: median_m and beta must be positive and finite, got {m}, {b}")
        return (math.nan, m, b)
    raise InputError(path, f"{where}: give either threshold_m or median_m and beta, got {sorted(keys)}")


def _number(path: Path, where: str, spec: dict, key: str) -> float:
    value = spec[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise InputError(path, f"{where}: {key} must be a number, got {value!r}")
    return float(value)


def cells_at(grid: Grid, xy: np.ndarray) -> np.ndarray:
    """Flat cell index (row-major) of the cell holding each point; -1 outside the grid or NaN."""
    xy = np.asarray(xy, dtype=np.float64)
    xy = xy.reshape(-1, xy.shape[-1])
    finite = np.isfinite(xy[:, :2]).all(axis=1)
    x, y = np.where(finite, xy[:, 0], np.inf), np.where(finite, xy[:, 1], np.inf)
    with np.errstate(invalid="ignore"):
        row, col = grid.cell_of(x, y)
    return np.where(row >= 0, row * grid.nx + col, -1)


def sample_cells(depth: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """The field's values at flat cell indices; NaN where the index is -1."""
    flat = np.asarray(depth, dtype=np.float64).reshape(-1)
    return np.where(cells >= 0, flat[np.maximum(cells, 0)], np.nan)


def check_field(grid: Grid, depth) -> np.ndarray:
    """The depth field as float64 ``(ny, nx)``; InputError when its shape is not the grid's."""
    depth = np.asarray(depth, dtype=np.float64)
    if depth.shape != grid.shape:
        raise InputError(None, f"depth field of shape {depth.shape} does not match the grid {grid.shape}")
    return depth


def node_hazard(grid: Grid, depth, xyz) -> np.ndarray:
    """Depth (m) of the cell holding each node (nearest cell); NaN outside the grid.

    Examples
    --------
    >>> g = Grid((0.0, 0.0), 10.0, (2, 2))
    >>> node_hazard(g, np.array([[0.1, 0.2], [0.3, 0.4]]), np.array([[15.0, 5.0, 0.0], [99.0, 0.0, 0.0]]))
    array([0.2, nan])
    """
    depth = check_field(grid, depth)
    return sample_cells(depth, cells_at(grid, np.asarray(xyz, dtype=np.float64)))


def edge_samples(grid: Grid, network: Network) -> tuple[np.ndarray, np.ndarray]:
    """Cells sampled every half cell along each edge's polyline, and how many per edge.

    Returns ``(cells, counts)``: flat cell indices grouped by edge, in edge order
    (each segment's end points included), and the number of samples of each edge.
    """
    v, off = network.edge_vertices[:, :2], network.edge_offsets
    m = network.n_edges
    vertex_edge = np.repeat(np.arange(m), np.diff(off))
    first = np.flatnonzero(np.arange(len(vertex_edge)) + 1 < off[1:][vertex_edge])  # segment starts
    seg_edge = vertex_edge[first]
    a, b = v[first], v[first + 1]
    length = np.nan_to_num(np.hypot(*(b - a).T), nan=0.0)
    count = np.ceil(length / (grid.cell_size / 2)).astype(np.int64) + 1   # samples per segment
    seg = np.repeat(np.arange(len(first)), count)
    step = np.arange(len(seg)) - np.repeat(np.cumsum(count) - count, count)
    t = step / np.maximum(count[seg] - 1, 1)
    pts = a[seg] + (b[seg] - a[seg]) * t[:, None]
    per_edge = np.bincount(seg_edge, weights=count, minlength=m).astype(np.int64)
    return cells_at(grid, pts), per_edge


def reduce_edges(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Maximum of each edge's run of ``counts`` samples, ignoring NaN (NaN when all are or none)."""
    out = np.full(len(counts), np.nan)
    has = counts > 0
    if has.any():
        starts = np.cumsum(counts) - counts
        with np.errstate(invalid="ignore"):
            out[has] = np.fmax.reduceat(values, starts[has])
    return out


def edge_hazard(grid: Grid, depth, network: Network) -> np.ndarray:
    """Maximum depth (m) along each edge's polyline, sampled every half cell; NaN when all outside."""
    depth = check_field(grid, depth)
    cells, counts = edge_samples(grid, network)
    return reduce_edges(sample_cells(depth, cells), counts)
