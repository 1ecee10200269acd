"""Per-frame resource allocation: the runner stage that sends pumps, generators and shelter beds.

Depots are the city's responder buildings (by department, :func:`place_depots`); the
scenario's ``[response.departments.<dept>]`` counts are split over them.  Each frame,
:func:`frame_demands` turns the MIS state into demands (flooded critical facilities need
pumps, those without power generators, displaced residents shelter beds), travel times
come from :class:`~twin3d.networks.routing.RoadRouter` over the frame's open roads, and
:func:`twin3d.mis.allocation.solve` assigns the units.  Values live in
``assets/inventories/demand_values.toml``; the design is in docs/allocation-stage.md.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from twin3d.config import asset, read_toml
from twin3d.errors import InputError
from twin3d.mis.allocation import AllocationProblem, AllocationResult, solve
from twin3d.model import CRITICAL_USES
from twin3d.networks.cascade import FLAG_BITS
from twin3d.networks.routing import RoadRouter, building_centres, building_road_nodes
from twin3d.scenario.results import ASSIGNMENT_COLUMNS, REASON_BYTES, FrameAllocation

MAX_ASSIGNMENTS = 256  # rows of /allocation_assignments per frame
DEMAND_KINDS = ("pumps", "generators", "shelter_beds")
STATUS_CODES = {"no_demand": 0, "optimal": 1, "feasible": 2, "relaxed": 3, "infeasible": 4, "error": 5}
SOLVE_TIME_LIMIT_S = 2.0
_NUMBERS = {"pumps": ("pump_rate_m3_h", "drain_hours", "max_water_m", "max_per_site", "days_avoided",
                      "deadline_min"),
            "generators": ("load_w_per_m2", "unit_kw", "max_per_site", "days_avoided", "deadline_min"),
            "shelter_beds": ("displaced_depth_m", "shelter_share", "person_night_eur", "nights", "tile_m"),
            "travel": ("approach_m", "speed_km_h")}


def load_values(path: str | Path | None = None) -> dict:
    """The demand values TOML (default ``assets/inventories/demand_values.toml``), checked.

    Raises ``InputError(path, reason)`` for a missing file, bad TOML or a value that is not
    a positive number.
    """
    path = Path(path) if path is not None else asset("inventories", "demand_values.toml")
    values = read_toml(path, "demand values")
    for section, keys in _NUMBERS.items():
        for key in keys:
            _positive(path, values.get(section, {}).get(key), f"{section}.{key}")
        for use, share in values[section].get("min_service", {}).items():
            if not _is_number(share) or not 0 <= share <= 1:
                raise InputError(path, f"{section}.min_service.{use}: must be a fraction in [0, 1], got {share!r}")
    for table in ("unit_cost_eur", "facility_day_eur.per_bed", "facility_day_eur.fixed"):
        items = values.get(table.split(".")[0], {})
        items = items.get(table.split(".")[1], {}) if "." in table else items
        for key, v in items.items():
            if not _is_number(v) or not 0 <= v < math.inf:
                raise InputError(path, f"{table}.{key}: must be a finite number >= 0, got {v!r}")
    for table in ("depot_uses", "kind_uses"):
        for key, uses in values.get(table, {}).items():
            if not isinstance(uses, list) or not all(isinstance(u, str) for u in uses):
                raise InputError(path, f"{table}.{key}: must be a list of building uses")
    if "default" not in values.get("unit_cost_eur", {}) or "default" not in values.get("depot_uses", {}):
        raise InputError(path, "unit_cost_eur.default and depot_uses.default are required")
    return values


def _is_number(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and not math.isnan(v)


def _positive(path: Path, v, where: str) -> None:
    if not _is_number(v) or v <= 0:
        raise InputError(path, f"{where}: must be a positive number, got {v!r}")


@dataclass
class Depots:
    """Depots of every department: one row per (department, building or substation)."""

    ids: list[str]
    names: list[str]
    department: np.ndarray  # row of the department list
    use: np.ndarray  # building use (or "substation")
    xy: np.ndarray  # (n, 2) city CRS
    node: np.ndarray  # road node, -1 where none


def place_depots(city, departments: list[str], values: dict) -> Depots:
    """The depots of each department: its buildings of ``depot_uses`` (the ``default`` uses
    for an unlisted department); a department without any gets the largest building."""
    table = city.buildings.table
    use = np.asarray(table["use"], dtype=object).astype(str)
    area = np.nan_to_num(np.asarray(table["footprint_area"], dtype=np.float64))
    centres, road_node = building_centres(city), building_road_nodes(city)
    rows: list[tuple] = []  # (department row, building or -1, use, x, y, node)
    for g, dept in enumerate(departments):
        uses = values["depot_uses"].get(dept, values["depot_uses"]["default"])
        found = np.flatnonzero(np.isin(use, uses))
        if "largest_industrial" in uses and (use == "industrial").any():
            found = np.r_[found, np.flatnonzero(use == "industrial")[np.argmax(area[use == "industrial"])]]
        if not len(found) and "substation" in uses:
            rows += _substation_depot(city, g)
        if not len(found) and not any(r[0] == g for r in rows):
            found = np.array([int(np.argmax(area))]) if len(area) else found
        rows += [(g, b, use[b], *centres[b], road_node[b]) for b in found]
    ids = [f"{departments[r[0]]}:{table['id'][r[1]]}" if r[1] >= 0 else f"{departments[r[0]]}:{r[2]}"
           for r in rows]
    names = [f"{r[2].replace('_', ' ')} {table['id'][r[1]]}" if r[1] >= 0 else f"{departments[r[0]]} {r[2]} depot"
             for r in rows]
    col = list(zip(*rows, strict=True)) if rows else [()] * 6
    return Depots(ids, names, np.asarray(col[0], np.int64), np.asarray(col[2], dtype=str),
                  np.asarray(col[3:5], np.float64).T.reshape(-1, 2), np.asarray(col[5], np.int64))


def _substation_depot(city, g: int) -> list[tuple]:
    """The first substation of the power network as a depot, at its nearest road node."""
    power, road = city.networks.get("power"), city.networks.get("road")
    sub = np.flatnonzero(power.node_kind.astype(str) == "substation") if power is not None else []
    if not len(sub) or not np.isfinite(power.node_xyz[sub[0], :2]).all():
        return []
    x, y = power.node_xyz[sub[0], :2]
    node = -1
    if road is not None and road.n_nodes:
        node = int(np.argmin(np.hypot(*(road.node_xyz[:, :2] - [x, y]).T)))
    return [(g, -1, "substation", x, y, node)]


def split_stock(plan: dict[str, dict[str, int]], departments: list[str], depots: Depots,
                values: dict) -> dict[str, np.ndarray]:
    """Stock rows: each department's count of a kind split evenly over its depots (those of
    the kind's ``kind_uses`` when it has any), the remainder one each to the first depots."""
    depot, kind, count, cost = [], [], [], []
    for g, dept in enumerate(departments):
        mine = np.flatnonzero(depots.department == g)
        for k, n in plan[dept].items():
            suited = mine[np.isin(depots.use[mine], values["kind_uses"].get(k, []))]
            at = suited if len(suited) else mine
            if not len(at):
                continue
            share = n // len(at) + (np.arange(len(at)) < n % len(at))
            depot.append(at)
            kind += [k] * len(at)
            count.append(share)
            cost += [float(values["unit_cost_eur"].get(k, values["unit_cost_eur"]["default"]))] * len(at)
    return {"depot": _concat(depot), "kind": np.array(kind, dtype=object), "count": _concat(count),
            "cost_eur": np.array(cost, dtype=np.float64)}


def _concat(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)


class DemandModel:
    """Static per-building quantities, and the demands of one frame (:meth:`frame`)."""

    def __init__(self, city, values: dict):
        t = city.buildings.table
        self.values = values
        self.ids = np.asarray(t["id"], dtype=object).astype(str)
        self.use = np.asarray(t["use"], dtype=object).astype(str)
        self.critical = np.isin(self.use, CRITICAL_USES)
        self.footprint = np.nan_to_num(np.asarray(t["footprint_area"], dtype=np.float64))
        self.floor_area = self.footprint * np.maximum(np.asarray(t["storeys"], dtype=np.float64), 1.0)
        per_bed, fixed = values["facility_day_eur"].get("per_bed", {}), values["facility_day_eur"].get("fixed", {})
        uses, inverse = np.unique(self.use, return_inverse=True)
        capacity = np.nan_to_num(np.asarray(t["capacity"], dtype=np.float64))
        self.day_eur = (np.array([per_bed.get(u, 0.0) for u in uses])[inverse] * capacity
                        + np.array([fixed.get(u, 0.0) for u in uses])[inverse])
        residents = np.where(self.use == "residential", np.asarray(t["population"], dtype=np.float64), 0.0)
        self.residents = np.nan_to_num(residents)
        self.xy, self.node = building_centres(city), building_road_nodes(city)
        self.group, self.group_names = _groups(city, self.xy, float(values["shelter_beds"]["tile_m"]))

    def frame(self, status: np.ndarray | None, max_depth: np.ndarray | None) -> dict[str, np.ndarray]:
        """Demand columns of :class:`AllocationProblem` plus ``x``, ``y`` and road ``node``."""
        n = len(self.use)
        status = np.zeros(n, np.uint8) if status is None else np.asarray(status)
        depth = np.zeros(n) if max_depth is None else np.nan_to_num(np.asarray(max_depth, dtype=np.float64))
        parts = [self._pumps(status, depth), self._generators(status), self._shelter(depth)]
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}

    def _facility(self, kind: str, rows: np.ndarray, quantity: np.ndarray) -> dict[str, np.ndarray]:
        v = self.values[kind]
        share = np.array([v.get("min_service", {}).get(u, 0.0) for u in self.use[rows]], dtype=np.float64)
        return {"id": np.array([f"{kind}:{i}" for i in self.ids[rows]], dtype=object),
                "name": np.array([f"{u.replace('_', ' ')} {i}" for u, i in zip(self.use[rows], self.ids[rows])],
                                 dtype=object),
                "kind": np.full(len(rows), kind, dtype=object), "quantity": quantity.astype(np.int64),
                "avoided_loss": self.day_eur[rows] * float(v["days_avoided"]),
                "deadline_min": np.full(len(rows), float(v["deadline_min"])),
                "critical": share > 0, "min_service": share,
                "x": self.xy[rows, 0], "y": self.xy[rows, 1], "node": self.node[rows]}

    def _pumps(self, status: np.ndarray, depth: np.ndarray) -> dict[str, np.ndarray]:
        v = self.values["pumps"]
        rows = np.flatnonzero(self.critical & (status & FLAG_BITS["flooded"] > 0))
        volume_m3 = np.clip(depth[rows], 0.0, v["max_water_m"]) * self.footprint[rows]
        pumps = np.ceil(volume_m3 / (v["pump_rate_m3_h"] * v["drain_hours"]) - 1e-9)
        return self._facility("pumps", rows, np.clip(pumps, 1, v["max_per_site"]))

    def _generators(self, status: np.ndarray) -> dict[str, np.ndarray]:
        v = self.values["generators"]
        rows = np.flatnonzero(self.critical & (status & FLAG_BITS["without_power"] > 0))
        units = np.ceil(self.floor_area[rows] * v["load_w_per_m2"] / 1000.0 / v["unit_kw"] - 1e-9)
        return self._facility("generators", rows, np.clip(units, 1, v["max_per_site"]))

    def _shelter(self, depth: np.ndarray) -> dict[str, np.ndarray]:
        """Displaced residents per district (or tile), at the displaced building with most residents."""
        v = self.values["shelter_beds"]
        displaced = np.flatnonzero((depth > v["displaced_depth_m"]) & (self.residents > 0))
        n_groups = len(self.group_names)
        people = np.bincount(self.group[displaced], self.residents[displaced], n_groups)
        beds = np.ceil(people * v["shelter_share"] - 1e-9)
        order = displaced[np.lexsort((-self.residents[displaced], self.group[displaced]))]
        first = order[np.r_[True, np.diff(self.group[order]) != 0]] if len(order) else order
        groups = self.group[first]
        keep = beds[groups] >= 1
        first, groups = first[keep], groups[keep]
        m = len(groups)
        return {"id": np.array([f"shelter_beds:{self.group_names[g]}" for g in groups], dtype=object),
                "name": np.array([f"displaced of {self.group_names[g].replace('_', ' ')}" for g in groups], dtype=object),
                "kind": np.full(m, "shelter_beds", dtype=object), "quantity": beds[groups].astype(np.int64),
                "avoided_loss": beds[groups] * v["person_night_eur"] * v["nights"],
                "deadline_min": np.full(m, np.inf), "critical": np.zeros(m, bool), "min_service": np.zeros(m),
                "x": self.xy[first, 0], "y": self.xy[first, 1], "node": self.node[first]}


def _groups(city, xy: np.ndarray, tile_m: float) -> tuple[np.ndarray, list[str]]:
    """Each building's district attribute, else its ``tile_m`` square tile (``tile E<i> N<j>``)."""
    district = [str(a.get("district", "")) if isinstance(a, dict) else "" for a in city.buildings.attributes]
    ok = np.isfinite(xy).all(axis=1)
    ij = np.floor(np.where(ok[:, None], xy, 0.0) / tile_m).astype(np.int64)
    tile = np.char.add(np.char.add("tile E", ij[:, 0].astype(str)), np.char.add(" N", ij[:, 1].astype(str)))
    label = np.where(np.array(district, dtype=str) != "", np.array(district, dtype=str), tile)
    names, inverse = np.unique(label, return_inverse=True) if len(label) else (np.array([], str), np.zeros(0, int))
    return inverse.astype(np.int64), [str(s) for s in names]


class TravelTimes:
    """Minutes from depots to demand sites over the open roads of a frame.

    A site is reached at any open road node within ``approach_m`` of its own node (its own
    node may be flooded); without a road network, straight-line distance at ``speed_km_h``.
    """

    def __init__(self, city, values: dict):
        from scipy.spatial import cKDTree

        road = city.networks.get("road")
        self.speed_m_min = values["travel"]["speed_km_h"] * 1000.0 / 60.0
        self.router = RoadRouter(road) if road is not None and road.n_nodes else None
        if self.router is None:
            return
        xy = np.nan_to_num(road.node_xyz[:, :2], nan=np.inf)
        pairs = cKDTree(xy).query_pairs(values["travel"]["approach_m"], output_type="ndarray")
        n = road.n_nodes
        near = np.r_[np.c_[np.arange(n), np.arange(n)], pairs, pairs[:, ::-1]]
        near = near[np.lexsort((near[:, 1], near[:, 0]))]
        self.near, self.starts = near[:, 1], np.searchsorted(near[:, 0], np.arange(n))

    def minutes(self, depots: Depots, demands: dict, closed_edges: np.ndarray | None) -> np.ndarray:
        """``(n_depots, n_demands)`` travel minutes; inf where unreachable."""
        n_dep, n_dem = len(depots.ids), len(demands["node"])
        if self.router is None:
            d = np.hypot(*(depots.xy[:, None, :] - np.c_[demands["x"], demands["y"]][None]).transpose(2, 0, 1))
            return np.where(np.isfinite(d), d / self.speed_m_min, np.inf).reshape(n_dep, n_dem)
        out = np.full((n_dep, n_dem), np.inf)
        src = np.unique(depots.node[depots.node >= 0])
        if not len(src) or not n_dem:
            return out
        from_src = self.router.travel_times_min(src, closed_edges)
        reach = np.minimum.reduceat(from_src[:, self.near], self.starts, axis=1)  # best approach node
        dep_ok, dem_ok = depots.node >= 0, demands["node"] >= 0
        rows = np.searchsorted(src, depots.node[dep_ok])
        out[np.ix_(dep_ok, dem_ok)] = reach[np.ix_(rows, demands["node"][dem_ok])]
        return out


class AllocationStage:
    """Per frame: demands from the MIS state, travel times over the open roads, and the
    MILP's assignments, written to ``/allocation``, ``/allocation_assignments`` and
    ``/allocation_reasons`` (docs/allocation-stage.md).  Runs after the ManagementStage."""

    def __init__(self, scenario, setup, city, values: dict | None = None):
        self.active = city is not None and len(city.buildings) > 0
        if not self.active:
            return
        self.values = load_values() if values is None else values
        plan = scenario.spec.get("response", {}).get("departments", {})
        self.departments = sorted(plan)
        self.depots = place_depots(city, self.departments, self.values)
        self.stock = split_stock(plan, self.departments, self.depots, self.values)
        self.kinds = tuple(sorted(set(DEMAND_KINDS) | {k for d in plan.values() for k in d}))
        self.demand_model = DemandModel(city, self.values)
        self.travel = TravelTimes(city, self.values)
        self.problem = AllocationProblem(
            departments={"id": self.departments or ["none"]},
            depots={"id": self.depots.ids or ["none"], "name": self.depots.names or ["none"],
                    "department": self.depots.department if len(self.depots.ids) else [0],
                    "x": self.depots.xy[:, 0] if len(self.depots.ids) else [np.nan],
                    "y": self.depots.xy[:, 1] if len(self.depots.ids) else [np.nan],
                    "node": self.depots.node if len(self.depots.ids) else [-1]},
            stock=self.stock, demands=_no_demands(), travel_time_min=np.zeros((max(len(self.depots.ids), 1), 0)))
        self.columns = allocation_columns(self.kinds, self.departments)

    def extend_layout(self, layout) -> None:
        if not self.active:
            return
        layout.allocation_columns = self.columns
        layout.allocation_rows = MAX_ASSIGNMENTS
        layout.allocation_kinds = self.kinds

    def __call__(self, frame, hazards) -> None:
        if not self.active:
            return
        demands = self.demand_model.frame(frame.status, frame.buildings.get("max_depth"))
        closed = frame.road_closed
        result, status = None, "no_demand"
        if len(demands["id"]):
            travel = self.travel.minutes(self.depots, demands, closed)
            if not len(self.depots.ids):
                travel = np.full((1, len(demands["id"])), np.inf)
            result, status = self.solve(demands, travel)
        frame.allocation = self.frame_allocation(demands, result, status)

    def solve(self, demands: dict, travel_min: np.ndarray) -> tuple[AllocationResult, str]:
        """Solve one frame; if minimum service cannot be met, solve again without it."""
        table = {k: v for k, v in demands.items() if k not in ("x", "y", "node")}
        problem = dataclasses.replace(self.problem, demands=table, travel_time_min=travel_min)
        result = solve(problem, time_limit_s=SOLVE_TIME_LIMIT_S)
        if result.status != "infeasible":
            return result, result.status
        relaxed = {**table, "critical": np.zeros(len(table["id"]), bool), "min_service": np.zeros(len(table["id"]))}
        again = solve(dataclasses.replace(problem, demands=relaxed), time_limit_s=SOLVE_TIME_LIMIT_S)
        again.message = f"{result.message}; planned without minimum service"
        return again, "relaxed" if again.status in ("optimal", "feasible") else again.status

    def frame_allocation(self, demands: dict, result: AllocationResult | None, status: str) -> FrameAllocation:
        """The ``/allocation`` row, the assignment rows and their reasons of one frame."""
        vector = summarise(self.kinds, self.departments, self.stock, demands, result, status)
        rows, reasons = assignment_rows(self.kinds, self.depots, demands, result)
        return FrameAllocation(vector, rows, reasons)


def _no_demands() -> dict[str, np.ndarray]:
    return {"id": np.zeros(0, object), "kind": np.zeros(0, object), "quantity": np.zeros(0, np.int64),
            "avoided_loss": np.zeros(0)}


def allocation_columns(kinds: tuple[str, ...], departments: list[str]) -> tuple[str, ...]:
    """Columns of ``/allocation``: per kind available, demanded, deployed and unmet units; per
    department its cost; then totals and the solver status code (:data:`STATUS_CODES`)."""
    per_kind = [f"{k}_{q}" for k in kinds for q in ("available", "demanded", "deployed", "unmet")]
    return (*per_kind, *[f"{d}_cost_eur" for d in departments], "avoided_loss_eur", "cost_eur",
            "objective_eur", "n_demands", "n_assignments", "status")


def summarise(kinds: tuple[str, ...], departments: list[str], stock: dict, demands: dict,
              result: AllocationResult | None, status: str) -> np.ndarray:
    """One frame's ``/allocation`` row, in the order of :func:`allocation_columns`."""
    n = len(kinds)
    available = np.bincount(_kind_index(kinds, stock["kind"]), stock["count"], n)
    demanded = np.bincount(_kind_index(kinds, demands["kind"]), demands["quantity"], n)
    a = result.assignments if result is not None else {
        "kind": np.zeros(0, object), "units": np.zeros(0), "cost_eur": np.zeros(0), "avoided_loss": np.zeros(0),
        "department": np.zeros(0, np.int64)}
    deployed = np.bincount(_kind_index(kinds, a["kind"]), a["units"], n)
    dept_cost = np.bincount(np.asarray(a["department"], np.int64), a["cost_eur"], len(departments))
    cost, avoided = float(np.sum(a["cost_eur"])), float(np.sum(a["avoided_loss"]))
    per_kind = np.stack([available, demanded, deployed, demanded - deployed], axis=1).ravel()
    return np.r_[per_kind, dept_cost[: len(departments)], avoided, cost, avoided - cost,
                 len(demands["id"]), len(a["units"]), STATUS_CODES[status]].astype(np.float64)


def assignment_rows(kinds: tuple[str, ...], depots: Depots, demands: dict,
                    result: AllocationResult | None) -> tuple[np.ndarray, np.ndarray]:
    """``(MAX_ASSIGNMENTS, 6)`` rows (depot x, y, site x, y, units, kind index; NaN-padded) and
    the reasons (bytes, at most REASON_BYTES), largest avoided loss first when there are more."""
    rows = np.full((MAX_ASSIGNMENTS, len(ASSIGNMENT_COLUMNS)), np.nan)
    reasons = np.zeros(MAX_ASSIGNMENTS, dtype=f"S{REASON_BYTES}")
    if result is None or not len(result.assignments["units"]):
        return rows, reasons
    a = result.assignments
    keep = np.argsort(-a["avoided_loss"], kind="stable")[:MAX_ASSIGNMENTS]
    depot, demand = a["depot"][keep], a["demand"][keep]
    kind = _kind_index(kinds, a["kind"][keep]).astype(np.float64)
    rows[: len(keep)] = np.c_[depots.xy[depot], demands["x"][demand], demands["y"][demand], a["units"][keep], kind]
    reasons[: len(keep)] = [_fit(result.reasons[i]) for i in keep]
    return rows, reasons


def _kind_index(kinds: tuple[str, ...], names) -> np.ndarray:
    """Rows of ``kinds`` (sorted) for each name."""
    return np.searchsorted(np.asarray(kinds, dtype=str), np.asarray(names, dtype=str)).astype(np.int64)


def _fit(text: str) -> bytes:
    """UTF-8 bytes of ``text`` cut to REASON_BYTES without splitting a character."""
    return text.encode("utf-8")[:REASON_BYTES].decode("utf-8", errors="ignore").encode("utf-8")
