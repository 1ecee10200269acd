"""Key performance indicators of one frame: pure functions of numpy arrays.

:class:`FrameInputs` holds one frame's per-building arrays; every KPI in :data:`KPIS`
is a :class:`KpiSpec` (name, unit, label, columns, function) and :func:`compute_kpis`
evaluates them all.  A KPI is a scalar, or a row when it is broken down into columns
(``/kpi/<name>`` is then ``(T,)`` or ``(T, k)`` in the results file; :func:`kpi_layout`
gives the units, labels and columns before the run).  docs/kpis.md defines each one.

When the scenario lacks a hazard (its input is None) the exposure to it is 0; when a
network or routing input is None (not computed) the KPIs that need it are NaN.

Examples
--------
>>> import numpy as np
>>> table = {"use": np.array(["residential", "shelter"]), "population": np.array([40.0, 0.0]),
...          "capacity": np.array([0.0, 25.0]), "replacement_value": np.array([1e5, 1e6]),
...          "elderly_share": np.zeros(2), "children_share": np.zeros(2)}
>>> kpis = compute_kpis(FrameInputs(table, max_depth=np.array([0.75, 0.0])))
>>> kpis["flooded_buildings"], kpis["damage_eur"], kpis["shelter_balance"].tolist()
(1.0, 32500.0, [40.0, 25.0, 15.0])
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields

import numpy as np

from twin3d.errors import InputError
from twin3d.mis import exposure
from twin3d.mis.damage import DamageCurves, compute_damage
from twin3d.model import CRITICAL_USES

RESPONSE_TARGET_MIN = 15.0  # minutes: the emergency response target
TABLE_COLUMNS = ("use", "population", "elderly_share", "children_share", "capacity", "replacement_value")
_FLOAT_INPUTS = ("max_depth", "max_depth_so_far", "temperature", "concentration", "response_time_min")
_BOOL_INPUTS = ("building_power", "building_water", "facility_down")


@dataclass
class FrameInputs:
    """One frame's inputs; every array has one entry per building (``(n,)``).

    ``max_depth`` (m) is this frame's depth at each building and ``max_depth_so_far`` the
    running maximum up to it (defaults to ``max_depth``); ``temperature`` in degC,
    ``concentration`` in kg/m3; ``building_power`` / ``building_water`` are True where
    the building is supplied; ``facility_down`` is True where a building cannot work;
    ``response_time_min`` is the emergency response time (inf = unreachable);
    ``road_connectivity`` is the share (0-1) of road nodes in the largest component of
    open roads (:func:`largest_component_share`).  None = not in this scenario.
    """

    table: dict[str, np.ndarray]
    max_depth: np.ndarray | None = None
    max_depth_so_far: np.ndarray | None = None
    temperature: np.ndarray | None = None
    concentration: np.ndarray | None = None
    building_power: np.ndarray | None = None
    building_water: np.ndarray | None = None
    facility_down: np.ndarray | None = None
    response_time_min: np.ndarray | None = None
    road_connectivity: float | None = None
    curves: DamageCurves | None = None

    def __post_init__(self) -> None:
        missing = [c for c in TABLE_COLUMNS if c not in self.table]
        if missing:
            raise InputError(None, f"building table lacks column(s) {', '.join(missing)}")
        n = len(self.table["use"])
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None or f.name not in (*_FLOAT_INPUTS, *_BOOL_INPUTS):
                continue
            value = np.asarray(value, dtype=np.float64 if f.name in _FLOAT_INPUTS else np.bool_)
            if value.shape != (n,):
                raise InputError(None, f"{f.name}: shape {value.shape}, expected ({n},) for {n} buildings")
            setattr(self, f.name, value)
        if self.max_depth_so_far is None:
            self.max_depth_so_far = self.max_depth
        rt = self.response_time_min
        if rt is not None and (np.isnan(rt).any() or (rt < 0).any()):
            raise InputError(None, "response_time_min: must be >= 0 (inf = unreachable), not NaN")
        rc = self.road_connectivity
        if rc is not None and not 0.0 <= rc <= 1.0:
            raise InputError(None, f"road_connectivity: {rc} is not a share in [0, 1]")

    @property
    def population(self) -> np.ndarray:
        return exposure.population(self.table)


@dataclass(frozen=True)
class KpiSpec:
    """A KPI: its name, unit, label, columns (None = scalar; a function of the building
    table where they depend on the city) and ``func(FrameInputs) -> scalar or row``."""

    name: str
    unit: str
    label: str
    columns: tuple[str, ...] | Callable[[dict], tuple[str, ...]] | None
    func: Callable[[FrameInputs], float | np.ndarray]

    def columns_for(self, table: dict[str, np.ndarray]) -> tuple[str, ...] | None:
        """The column names for a city's building table (None for a scalar KPI)."""
        return self.columns(table) if callable(self.columns) else self.columns


def weighted_percentile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """Weighted percentile by the inverted CDF: the smallest value ``v`` such that the
    entries with ``values <= v`` carry at least the share ``q`` (0-1) of the total weight.

    Values may be inf; zero weights are ignored; NaN when the total weight is 0.

    Examples
    --------
    >>> weighted_percentile(np.array([3.0, 1.0, np.inf]), np.array([1.0, 1.0, 2.0]), 0.5)
    3.0
    """
    values = np.asarray(values, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    keep = weights > 0
    v, w = values[keep], weights[keep]
    if not len(v):
        return float("nan")
    order = np.argsort(v, kind="stable")
    cum = np.cumsum(w[order])
    target = q * cum[-1] * (1.0 - 1e-12)  # a share reached exactly selects the lower value
    return float(v[order][min(np.searchsorted(cum, target, side="left"), len(v) - 1)])


def largest_component_share(n_nodes: int, edges: np.ndarray, edge_ok: np.ndarray,
                            node_ok: np.ndarray | None = None) -> float:
    """Share of all ``n_nodes`` in the largest connected component of the open network:
    edges with ``edge_ok`` between nodes with ``node_ok`` (NaN for an empty network)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if n_nodes == 0:
        return float("nan")
    node_ok = np.ones(n_nodes, dtype=bool) if node_ok is None else np.asarray(node_ok, dtype=bool)
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    open_edges = edges[np.asarray(edge_ok, dtype=bool) & node_ok[edges].all(axis=1)]
    graph = coo_matrix((np.ones(len(open_edges)), (open_edges[:, 0], open_edges[:, 1])),
                       shape=(n_nodes, n_nodes))
    _, label = connected_components(graph, directed=False)
    sizes = np.bincount(label[node_ok], minlength=1)
    return float(sizes.max() / n_nodes)


def critical_kinds(table: dict[str, np.ndarray]) -> tuple[str, ...]:
    """The critical uses present in a building table, in ``CRITICAL_USES`` order."""
    present = set(np.asarray(table["use"]).astype(str).tolist())
    return tuple(u for u in CRITICAL_USES if u in present)


def _people_by_depth(fi: FrameInputs) -> np.ndarray:
    if fi.max_depth is None:
        return np.zeros(len(exposure.DEPTH_CLASS_LABELS))
    return exposure.population_by_depth_class(fi.population, fi.max_depth)


def _flooded_buildings(fi: FrameInputs) -> float:
    return 0.0 if fi.max_depth is None else float(exposure.flooded(fi.max_depth).sum())


def _damage(fi: FrameInputs) -> float:
    if fi.max_depth_so_far is None:
        return 0.0
    return float(compute_damage(fi.table, fi.max_depth_so_far, fi.curves).sum())


def _facilities_down(fi: FrameInputs) -> np.ndarray:
    kinds = np.array(critical_kinds(fi.table), dtype=object)
    if fi.facility_down is None:
        return np.full(len(kinds), np.nan)
    is_kind = np.asarray(fi.table["use"], dtype=object)[None, :] == kinds[:, None]
    return (is_kind & fi.facility_down).sum(axis=1).astype(np.float64)


def _share_without(fi: FrameInputs, supplied: np.ndarray | None) -> float:
    total = fi.population.sum()
    if supplied is None or total <= 0:
        return float("nan")
    return float(100.0 * fi.population[~supplied].sum() / total)


def _response_percentile(q: float) -> Callable[[FrameInputs], float]:
    def kpi(fi: FrameInputs) -> float:
        if fi.response_time_min is None:
            return float("nan")
        return weighted_percentile(fi.response_time_min, fi.population, q)

    return kpi


def _beyond_target(fi: FrameInputs) -> float:
    if fi.response_time_min is None:
        return float("nan")
    return float(fi.population[fi.response_time_min > RESPONSE_TARGET_MIN].sum())


def _shelter_balance(fi: FrameInputs) -> np.ndarray:
    depth = fi.max_depth_so_far
    demand = 0.0 if depth is None else exposure.displaced_population(fi.table, depth).sum()
    usable = np.asarray(fi.table["use"]) == "shelter"
    if depth is not None:
        usable &= ~exposure.flooded(depth)
    if fi.facility_down is not None:
        usable &= ~fi.facility_down
    capacity = np.nan_to_num(np.asarray(fi.table["capacity"], dtype=np.float64))[usable].sum()
    return np.array([demand, capacity, max(demand - capacity, 0.0)])


def _heat(fi: FrameInputs) -> np.ndarray:
    if fi.temperature is None:
        return np.zeros(len(exposure.HEAT_THRESHOLDS_C))
    return exposure.heat_exposed(fi.table, fi.temperature)


def _plume(fi: FrameInputs) -> np.ndarray:
    if fi.concentration is None:
        return np.zeros(len(exposure.PLUME_THRESHOLDS_KG_M3))
    return exposure.plume_exposed(fi.table, fi.concentration)


def _connectivity(fi: FrameInputs) -> float:
    return float("nan") if fi.road_connectivity is None else 100.0 * float(fi.road_connectivity)


_SPECS = (
    KpiSpec("people_by_depth", "persons", "People in flooded buildings by depth",
            exposure.DEPTH_CLASS_LABELS, _people_by_depth),
    KpiSpec("flooded_buildings", "buildings", "Flooded buildings", None, _flooded_buildings),
    KpiSpec("damage_eur", "EUR", "Flood damage so far", None, _damage),
    KpiSpec("critical_facilities_down", "facilities", "Critical facilities down", critical_kinds,
            _facilities_down),
    KpiSpec("population_without_power", "%", "Population without power", None,
            lambda fi: _share_without(fi, fi.building_power)),
    KpiSpec("population_without_water", "%", "Population without water", None,
            lambda fi: _share_without(fi, fi.building_water)),
    KpiSpec("road_connectivity", "%", "Road nodes in the largest open component", None, _connectivity),
    KpiSpec("response_time_median_min", "min", "Median emergency response time", None,
            _response_percentile(0.5)),
    KpiSpec("response_time_p95_min", "min", "95th-percentile emergency response time", None,
            _response_percentile(0.95)),
    KpiSpec("population_beyond_response_target", "persons",
            f"People beyond a {RESPONSE_TARGET_MIN:g}-minute response", None, _beyond_target),
    KpiSpec("shelter_balance", "persons", "Shelter demand against capacity",
            ("demand", "capacity", "unmet"), _shelter_balance),
    KpiSpec("heat_exposed_population", "persons (weighted)", "Heat-exposed population, vulnerability-weighted",
            tuple(f">{t:g} degC" for t in exposure.HEAT_THRESHOLDS_C), _heat),
    KpiSpec("plume_exposed_population", "persons", "Plume-exposed population",
            tuple(f">{t * 1e9:g} ug/m3" for t in exposure.PLUME_THRESHOLDS_KG_M3), _plume),
)
KPIS: dict[str, KpiSpec] = {spec.name: spec for spec in _SPECS}


def compute_kpis(inputs: FrameInputs) -> dict[str, float | np.ndarray]:
    """Every KPI of :data:`KPIS` for one frame: a float, or a float64 row for broken-down ones."""
    out: dict[str, float | np.ndarray] = {}
    for name, spec in KPIS.items():
        value = spec.func(inputs)
        out[name] = float(value) if spec.columns is None else np.asarray(value, dtype=np.float64)
    return out


def kpi_layout(table: dict[str, np.ndarray]) -> dict[str, tuple[str, str, tuple[str, ...] | None]]:
    """``name -> (units, label, columns)`` for a city, so a writer can create ``/kpi/<name>``
    (``(T,)`` when columns is None, else ``(T, len(columns))``) before the run."""
    return {name: (spec.unit, spec.label, spec.columns_for(table)) for name, spec in KPIS.items()}


def stack_kpis(frames: list[dict[str, float | np.ndarray]]) -> dict[str, np.ndarray]:
    """Per-frame KPI dicts -> ``name -> (T,)`` or ``(T, k)`` series."""
    if not frames:
        return {}
    return {name: np.stack([np.asarray(f[name], dtype=np.float64) for f in frames]) for name in frames[0]}
