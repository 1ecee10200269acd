"""Resource allocation as a mixed-integer linear programme, solved by HiGHS.

Departments hold resources (pumps, sandbag crews, generators, shelter beds, ambulances)
at depots; a frame's demands each need units of one kind.  :func:`solve` assigns whole
units ``x[a]`` along the arcs ``a = (stock row, demand)`` that the travel times allow,
maximising avoided loss minus cost under counts, department budgets and minimum service
for critical facilities.  The formulation is written out in docs/allocation-format.md.

Examples
--------
>>> import numpy as np
>>> p = AllocationProblem(
...     departments={"id": ["fire"], "budget_eur": [np.inf]},
...     depots={"id": ["north"], "department": [0]},
...     stock={"depot": [0], "kind": ["pumps"], "count": [3], "cost_eur": [500.0]},
...     demands={"id": ["hospital"], "kind": ["pumps"], "quantity": [2], "avoided_loss": [1e6]},
...     travel_time_min=np.array([[6.0]]))
>>> r = solve(p)
>>> r.status, int(r.assignments["units"][0]), r.objective
('optimal', 2, 999000.0)
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from twin3d.errors import InputError
from twin3d.mis import allocation_io

INF = np.inf
# table -> column -> (dtype, default); default None = required, "id" = copy of the id column
COLUMNS: dict[str, dict[str, tuple[type, object]]] = {
    "departments": {"id": (object, None), "name": (object, "id"), "budget_eur": (np.float64, INF)},
    "depots": {"id": (object, None), "name": (object, "id"), "department": (np.int64, None),
               "x": (np.float64, np.nan), "y": (np.float64, np.nan), "node": (np.int64, -1)},
    "stock": {"depot": (np.int64, None), "kind": (object, None), "count": (np.int64, None),
              "cost_eur": (np.float64, None)},
    "demands": {"id": (object, None), "name": (object, "id"), "kind": (object, None),
                "quantity": (np.int64, None), "avoided_loss": (np.float64, None),
                "deadline_min": (np.float64, INF), "critical": (np.bool_, False),
                "min_service": (np.float64, "critical")},
}
TIE_BREAK = 1e-7  # share of the smallest per-unit net gain that a unit-minute of travel costs at most


@dataclass
class AllocationProblem:
    """Resources at depots, demands of one frame and the travel times between them.

    Tables are dicts of equal-length columns (see ``COLUMNS``): ``departments`` (``id``,
    ``budget_eur``; inf = unlimited), ``depots`` (``id``, ``department`` row, ``x``, ``y``,
    ``node``), ``stock`` (one row per depot and kind: ``depot`` row, ``kind``, ``count``,
    ``cost_eur`` per unit deployed) and ``demands`` (``id``, ``kind``, ``quantity`` units,
    ``avoided_loss`` when fully served, ``deadline_min`` (inf = none), ``critical``,
    ``min_service`` fraction).  ``travel_time_min[depot, demand]`` is inf where unreachable.
    Per frame, ``dataclasses.replace(problem, demands=..., travel_time_min=...)`` re-validates.
    Bad values raise ``InputError(None, "<table>[<row>].<column>: <reason>")``.
    """

    departments: dict
    depots: dict
    stock: dict
    demands: dict
    travel_time_min: np.ndarray
    loss_unit: str = "EUR"
    cost_weight: float = 1.0  # loss units one euro of cost is worth (1 when loss_unit is EUR)

    def __post_init__(self) -> None:
        for name in COLUMNS:
            setattr(self, name, _table(name, getattr(self, name)))
        self.travel_time_min = np.asarray(self.travel_time_min, dtype=np.float64)
        _validate(self)

    @property
    def required_units(self) -> np.ndarray:
        """Units each demand must get: ``ceil(min_service * quantity)`` if critical, else 0."""
        d = self.demands
        need = np.ceil(d["min_service"] * d["quantity"] - 1e-9).astype(np.int64)
        return np.where(d["critical"], need, 0)

    @classmethod
    def from_dict(cls, data: dict, base: Path | None = None) -> AllocationProblem:
        """A problem from a parsed problem JSON document; ``base`` resolves an inventory file."""
        return cls(**allocation_io.parse_problem(data, base))

    @classmethod
    def from_json(cls, path: str | Path) -> AllocationProblem:
        """Read a problem JSON file (docs/allocation-format.md); InputError names the file and key."""
        path = Path(path)
        try:
            return cls.from_dict(allocation_io.load_json(path), path.resolve().parent)
        except InputError as exc:
            raise (InputError(path, exc.reason) if exc.path is None else exc) from None

    def to_dict(self) -> dict:
        """The problem JSON document."""
        return allocation_io.problem_to_dict(self)

    def to_json(self, indent: int | None = None) -> str:
        """The problem as strict JSON text (null for unreachable or unlimited)."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)


def _table(name: str, given: dict) -> dict[str, np.ndarray]:
    if not isinstance(given, dict):
        allocation_io.fail(name, "expected a dict of columns")
    spec = COLUMNS[name]
    unknown = [k for k in given if k not in spec]
    if unknown:
        allocation_io.fail(f"{name}.{unknown[0]}", f"unknown column (allowed: {', '.join(spec)})")
    out: dict[str, np.ndarray] = {}
    for col, (dtype, default) in spec.items():
        if col in given:
            out[col] = _column(given[col], dtype, f"{name}.{col}")
        elif default is None:
            allocation_io.fail(f"{name}.{col}", "missing column")
        elif isinstance(default, str):
            out[col] = np.where(out[default], 1.0, 0.0) if default == "critical" else out[default].copy()
        else:
            out[col] = np.full(len(out[next(iter(out))]), default, dtype=dtype)
    lengths = {len(v) for v in out.values()}
    if len(lengths) > 1:
        allocation_io.fail(name, f"columns differ in length: {sorted(lengths)}")
    return out


def _column(values: object, dtype: type, where: str) -> np.ndarray:
    arr = np.asarray(values) if dtype is not object else np.asarray(values, dtype=object)
    if arr.ndim != 1:
        allocation_io.fail(where, f"expected a 1-d column, got shape {arr.shape}")
    if dtype is object:
        bad = [i for i, v in enumerate(arr) if not isinstance(v, str) or not v.strip()]
        if bad:
            allocation_io.fail(f"{where}[{bad[0]}]", f"expected a non-empty string, got {arr[bad[0]]!r}")
        return arr
    kinds = {np.int64: "iu", np.float64: "iuf", np.bool_: "b"}[dtype]
    if len(arr) and arr.dtype.kind not in kinds and not (dtype is np.int64 and arr.dtype.kind == "f"):
        allocation_io.fail(where, f"expected {np.dtype(dtype).name} values, got {arr.dtype}")
    if dtype is np.int64 and arr.dtype.kind == "f":
        bad = ~np.isfinite(arr) | (arr != np.round(arr))
        if bad.any():
            i = int(np.argmax(bad))
            allocation_io.fail(f"{where}[{i}]", f"expected an integer, got {arr[i]!r}")
    return arr.astype(dtype)


def _check(bad: np.ndarray, where: str, reason: str, values: np.ndarray) -> None:
    if np.any(bad):
        i = int(np.argmax(bad))
        table, col = where.split(".")
        allocation_io.fail(f"{table}[{i}].{col}", f"{reason}, got {np.asarray(values)[i].item()!r}")


def _unique(ids: np.ndarray, where: str) -> None:
    _, first, counts = np.unique(ids.astype(str), return_index=True, return_counts=True)
    if np.any(counts > 1):
        i = int(first[np.argmax(counts > 1)])
        allocation_io.fail(where, f"duplicate id {ids[i]!r}")


def _validate(p: AllocationProblem) -> None:
    dep, dpt, st, dem, tt = p.departments, p.depots, p.stock, p.demands, p.travel_time_min
    for name, table in (("departments", dep), ("depots", dpt), ("demands", dem)):
        _unique(table["id"], f"{name}.id")
    b = dep["budget_eur"]
    _check(np.isnan(b) | (b < 0), "departments.budget_eur", "must be >= 0 (inf = unlimited)", b)
    _check((dpt["department"] < 0) | (dpt["department"] >= len(dep["id"])), "depots.department",
           "must be a row of departments", dpt["department"])
    _check(dpt["node"] < -1, "depots.node", "must be a node index (-1 = none)", dpt["node"])
    _check((st["depot"] < 0) | (st["depot"] >= len(dpt["id"])), "stock.depot", "must be a row of depots",
           st["depot"])
    _check(st["count"] < 0, "stock.count", "must be >= 0", st["count"])
    _check(~np.isfinite(st["cost_eur"]) | (st["cost_eur"] < 0), "stock.cost_eur", "must be finite and >= 0",
           st["cost_eur"])
    _unique(np.array([f"{d}\x00{k}" for d, k in zip(st["depot"], st["kind"])], dtype=object), "stock.kind")
    _check(dem["quantity"] < 1, "demands.quantity", "must be >= 1", dem["quantity"])
    loss = dem["avoided_loss"]
    _check(~np.isfinite(loss) | (loss < 0), "demands.avoided_loss", "must be finite and >= 0", loss)
    dl = dem["deadline_min"]
    _check(np.isnan(dl) | (dl <= 0), "demands.deadline_min", "must be > 0 (inf = none)", dl)
    ms = dem["min_service"]
    _check(~(ms >= 0) | (ms > 1), "demands.min_service", "must be a fraction in [0, 1]", ms)
    _check((ms > 0) & ~dem["critical"], "demands.min_service", "applies to critical demands only", ms)
    shape = (len(dpt["id"]), len(dem["id"]))
    if tt.shape != shape:
        allocation_io.fail("travel_time_min", f"expected shape {shape} (depots x demands), got {tt.shape}")
    if np.isnan(tt).any() or (tt < 0).any():
        i, j = np.argwhere(np.isnan(tt) | (tt < 0))[0]
        allocation_io.fail(f"travel_time_min[{i}][{j}]", f"must be >= 0 (inf = unreachable), got {tt[i, j]}")
    if not (np.isfinite(p.cost_weight) and p.cost_weight > 0):
        allocation_io.fail("cost_weight", f"must be finite and > 0, got {p.cost_weight!r}")


@dataclass
class AllocationResult:
    """The assignments of one solve.

    ``assignments`` holds columns ``stock``, ``depot``, ``department``, ``demand`` (rows of
    the problem's tables), ``kind``, ``units``, ``travel_time_min``, ``avoided_loss`` and
    ``cost_eur``; ``reasons`` one sentence per assignment.  ``status`` is ``"optimal"``,
    ``"feasible"`` (time limit hit with a solution), ``"infeasible"`` or ``"error"``;
    ``message`` says why in plain language; ``gap`` is the relative distance from the plan
    to the best bound HiGHS proved (0 when optimal exactly).
    """

    problem: AllocationProblem
    status: str
    message: str
    assignments: dict[str, np.ndarray]
    reasons: list[str] = field(default_factory=list)
    objective: float = 0.0
    gap: float = 0.0  # relative gap between the plan and the best bound on the optimum
    solve_time_s: float = 0.0
    n_variables: int = 0
    n_constraints: int = 0

    @property
    def units_served(self) -> np.ndarray:
        """Units assigned to each demand."""
        n = len(self.problem.demands["id"])
        return np.bincount(self.assignments["demand"], self.assignments["units"], n).astype(np.int64)

    @property
    def units_unmet(self) -> np.ndarray:
        """Units each demand still lacks."""
        return self.problem.demands["quantity"] - self.units_served

    @property
    def department_cost_eur(self) -> np.ndarray:
        """Cost of the deployed units per department."""
        n = len(self.problem.departments["id"])
        return np.bincount(self.assignments["department"], self.assignments["cost_eur"], n)

    def to_dict(self) -> dict:
        """The solution JSON document (docs/allocation-format.md)."""
        return allocation_io.result_to_dict(self)

    def to_json(self, indent: int | None = None) -> str:
        """The solution as strict JSON text."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)


def arcs(p: AllocationProblem) -> dict[str, np.ndarray]:
    """Every allowed (stock row, demand) pair: same kind, units in stock, reachable by the deadline.

    Returns columns ``stock``, ``demand``, ``travel_time_min`` and ``net_gain`` (avoided loss
    per unit minus ``cost_weight`` x cost per unit), ordered by kind, stock row, demand.
    """
    st, dem, tt = p.stock, p.demands, p.travel_time_min
    parts_s, parts_d = [], []
    for kind in np.unique(dem["kind"].astype(str)):
        s_rows = np.flatnonzero((st["kind"] == kind) & (st["count"] > 0))
        d_rows = np.flatnonzero(dem["kind"] == kind)
        times = tt[np.ix_(st["depot"][s_rows], d_rows)]
        si, dj = np.nonzero(np.isfinite(times) & (times <= dem["deadline_min"][d_rows]))
        parts_s.append(s_rows[si])
        parts_d.append(d_rows[dj])
    s = np.concatenate(parts_s).astype(np.int64) if parts_s else np.zeros(0, np.int64)
    d = np.concatenate(parts_d).astype(np.int64) if parts_d else np.zeros(0, np.int64)
    gain = dem["avoided_loss"][d] / dem["quantity"][d] - p.cost_weight * st["cost_eur"][s]
    return {"stock": s, "demand": d, "travel_time_min": tt[st["depot"][s], d], "net_gain": gain}


def _constraints(p: AllocationProblem, a: dict, slack: np.ndarray | None = None):
    """Sparse rows: stock counts, demand quantities (and minimum service), department budgets."""
    from scipy.sparse import coo_matrix

    n_stock, n_dem, n = len(p.stock["depot"]), len(p.demands["id"]), len(a["stock"])
    cost = p.stock["cost_eur"][a["stock"]]
    dept = p.depots["department"][p.stock["depot"][a["stock"]]]
    budget = p.departments["budget_eur"]
    budget_row = np.cumsum(np.isfinite(budget)) - 1  # row of each limited department
    on_budget = np.isfinite(budget[dept]) & (cost > 0)
    arc = np.arange(n)
    rows = [a["stock"], n_stock + a["demand"], n_stock + n_dem + budget_row[dept[on_budget]]]
    cols = [arc, arc, arc[on_budget]]
    data = [np.ones(n), np.ones(n), cost[on_budget]]
    n_rows = n_stock + n_dem + int(np.isfinite(budget).sum())
    need = p.required_units
    lo = np.concatenate([np.zeros(n_stock), need if slack is None else np.zeros(n_dem),
                         np.full(n_rows - n_stock - n_dem, -INF)])
    hi = np.concatenate([p.stock["count"], p.demands["quantity"], budget[np.isfinite(budget)]])
    if slack is not None:  # elastic minimum service: sum x + s >= need, one row per sorted slack demand
        k = len(slack)
        in_slack = np.isin(a["demand"], slack)
        rows += [n_rows + np.searchsorted(slack, a["demand"][in_slack]), n_rows + np.arange(k)]
        cols += [arc[in_slack], n + np.arange(k)]
        data += [np.ones(int(in_slack.sum())), np.ones(k)]
        lo, hi = np.concatenate([lo, need[slack]]), np.concatenate([hi, np.full(k, INF)])
        n_rows, n = n_rows + k, n + k
    matrix = coo_matrix((np.concatenate(data), (np.concatenate(rows), np.concatenate(cols))),
                        shape=(n_rows, n)).tocsr()
    return matrix, lo, hi


def _milp(c, upper, integer, matrix, lo, hi, time_limit_s: float, mip_rel_gap: float):
    from scipy.optimize import Bounds, LinearConstraint, milp

    return milp(c, integrality=integer, bounds=Bounds(np.zeros(len(c)), upper),
                constraints=LinearConstraint(matrix, lo, hi),
                options={"time_limit": time_limit_s, "mip_rel_gap": mip_rel_gap, "presolve": True})


def solve(problem: AllocationProblem, time_limit_s: float = 10.0, mip_rel_gap: float = 1e-4) -> AllocationResult:
    """Assign whole units to demands, maximising avoided loss minus cost.

    Parameters
    ----------
    problem : AllocationProblem
        Inventory, demands and travel times of one frame.
    time_limit_s : float
        HiGHS wall-clock limit; the best solution found by then is returned as ``"feasible"``.
    mip_rel_gap : float
        Relative gap between the solution and the LP bound at which the search stops.

    Returns
    -------
    AllocationResult
        Status ``"infeasible"`` (with a message naming the facilities whose minimum service
        cannot be met) instead of an exception, so a runner can go on with the next frame.
    """
    t0 = time.perf_counter()
    a = arcs(problem)
    need = problem.required_units
    keep = (a["net_gain"] > 0) | (need[a["demand"]] > 0)  # other arcs would never be used
    a = {k: v[keep] for k, v in a.items()}
    if not len(a["stock"]):
        status = "infeasible" if need.any() else "optimal"
        return _finish(problem, a, np.zeros(0), status, t0, (0, 0))
    matrix, lo, hi = _constraints(problem, a)
    upper = np.minimum(problem.stock["count"][a["stock"]], problem.demands["quantity"][a["demand"]])
    c = -(a["net_gain"] - _tie_break(a) * a["travel_time_min"])
    units, status, gap, note = _optimise(c, upper, matrix, lo, hi, time_limit_s, mip_rel_gap)
    out = _finish(problem, a, units, status, t0, matrix.shape)
    out.gap = gap
    if note:
        out.message = note
    return out


def _optimise(c, upper, matrix, lo, hi, time_limit_s: float, gap: float):
    """Units per arc, status, relative gap to the best bound, and a note.

    The LP relaxation is a transportation problem with a few budget rows, so its solution
    is integral or nearly so: rounding it down and refilling greedily often proves a plan
    within ``gap`` of the LP bound at once; otherwise HiGHS branches and bounds in the time
    left, and the better of its plan and the rounded one is kept.
    """
    t0 = time.perf_counter()
    relaxed = _milp(c, upper, np.zeros(len(c)), matrix, lo, hi, time_limit_s, gap)
    if relaxed.status == 2:
        return np.zeros(len(c)), "infeasible", 0.0, ""
    rounded = None if relaxed.x is None else _round_and_fill(relaxed.x, c, upper, matrix, lo, hi)
    if rounded is not None:
        rounded_gap = (c @ rounded - relaxed.fun) / max(abs(c @ rounded), 1e-9)
        if rounded_gap <= gap:
            return rounded, "optimal", max(rounded_gap, 0.0), ""
    left = max(time_limit_s - (time.perf_counter() - t0), 1.0)
    res = _milp(c, upper, np.ones(len(c)), matrix, lo, hi, left, gap)
    if res.status == 2:
        return np.zeros(len(c)), "infeasible", 0.0, ""
    use_rounded = rounded is not None and (res.x is None or c @ rounded < c @ res.x)
    best = rounded if use_rounded else res.x
    if best is None:
        return np.zeros(len(c)), "error", np.inf, f"HiGHS stopped without a solution: {res.message}"
    bound = max(relaxed.fun, getattr(res, "mip_dual_bound", None) or -np.inf)
    best_gap = max((c @ best - bound) / max(abs(c @ best), 1e-9), 0.0)
    if res.status == 0:  # HiGHS proved its plan within the gap; the kept plan is no worse
        return np.round(best), "optimal", best_gap, ""
    return np.round(best), "feasible", best_gap, (f"stopped at the time limit ({res.message}); the plan is "
                                                  f"within {100 * best_gap:.3g}% of the best bound")


def _round_and_fill(x, c, upper, matrix, lo, hi) -> np.ndarray | None:
    """Round an LP solution down, then add units greedily: first to rows below their minimum
    (critical demands), then by value; None if a minimum is still broken."""
    x = np.floor(x + 1e-7)
    columns = matrix.tocsc()
    activity = matrix @ x
    short = np.maximum(lo - activity, 0.0)
    short_arcs = np.flatnonzero(np.asarray(matrix[short > 0].sum(axis=0)).ravel() > 0)
    _fill(x, short_arcs[np.argsort(c[short_arcs], kind="stable")], columns, hi - activity, upper, short)
    activity = matrix @ x
    room = hi - activity
    full = np.asarray(columns.multiply((room < 1 - 1e-9)[:, None]).sum(axis=0)).ravel() > 0
    candidates = np.flatnonzero((c < 0) & (x < upper) & ~full)  # arcs with room on count rows
    _fill(x, candidates[np.argsort(c[candidates], kind="stable")], columns, room, upper)
    return x if np.all(matrix @ x >= lo - 1e-9) else None


def _fill(x, order, columns, room, upper, short=None) -> None:
    """Add as many units along each arc of ``order`` as rows allow (and ``short`` rows still need)."""
    for k in order:
        rows = columns.indices[columns.indptr[k]:columns.indptr[k + 1]]
        coef = columns.data[columns.indptr[k]:columns.indptr[k + 1]]
        add = min(upper[k] - x[k], np.floor(np.min(room[rows] / coef) + 1e-9))
        if short is not None:
            add = min(add, short[rows].max())
        if add > 0:
            x[k] += add
            room[rows] -= add * coef
            if short is not None:
                short[rows] = np.maximum(short[rows] - add * coef, 0.0)


def _tie_break(a: dict) -> float:
    """Cost of a unit-minute that prefers nearer depots among otherwise equal plans."""
    gains = np.abs(a["net_gain"][a["net_gain"] != 0])
    t_max = a["travel_time_min"].max(initial=0.0)
    if not len(gains) or t_max <= 0:
        return 0.0
    return TIE_BREAK * gains.min() / t_max


def _finish(p: AllocationProblem, a: dict, units: np.ndarray, status: str, t0: float,
            shape: tuple[int, int]) -> AllocationResult:
    used = units > 0
    s, d, n = a["stock"][used], a["demand"][used], units[used].astype(np.int64)
    dem = p.demands
    table = {"stock": s, "depot": p.stock["depot"][s], "department": p.depots["department"][p.stock["depot"][s]],
             "demand": d, "kind": p.stock["kind"][s], "units": n, "travel_time_min": a["travel_time_min"][used],
             "avoided_loss": dem["avoided_loss"][d] * n / dem["quantity"][d],
             "cost_eur": p.stock["cost_eur"][s] * n}
    result = AllocationResult(p, status, "", table, n_variables=shape[1], n_constraints=shape[0])
    if status == "infeasible":
        result.message = _diagnose(p)
        result.assignments = {k: v[:0] for k, v in table.items()}
    else:
        result.objective = float(table["avoided_loss"].sum() - p.cost_weight * table["cost_eur"].sum())
        result.reasons = allocation_io.reasons(p, a, result)
        plural = "" if len(n) == 1 else "s"
        result.message = f"{len(n)} assignment{plural}, {int(n.sum())} units deployed"
    result.solve_time_s = time.perf_counter() - t0
    return result


def _diagnose(p: AllocationProblem, limit: int = 3) -> str:
    """Name the critical facilities whose minimum service cannot be met, and why."""
    a, need = arcs(p), p.required_units
    a = {k: v[need[a["demand"]] > 0] for k, v in a.items()}  # other demands may go unserved
    reachable = np.bincount(a["demand"], p.stock["count"][a["stock"]], len(need))
    short = np.flatnonzero(need > reachable)
    given = reachable
    if not len(short):  # each alone is reachable: find which ones compete (elastic MILP)
        critical = np.flatnonzero(need > 0)
        matrix, lo, hi = _constraints(p, a, slack=critical)
        c = np.concatenate([np.zeros(len(a["stock"])), np.ones(len(critical))])
        upper = np.concatenate([np.minimum(p.stock["count"][a["stock"]], p.demands["quantity"][a["demand"]]),
                                need[critical]])
        integer = np.concatenate([np.ones(len(a["stock"])), np.zeros(len(critical))])
        res = _milp(c, upper, integer, matrix, lo, hi, 60.0, 1e-6)
        if res.x is None:
            return "infeasible: minimum service for critical facilities cannot be met"
        missing = res.x[len(a["stock"]):]
        short = critical[missing > 0.5]
        given = np.zeros(len(need))
        given[critical] = need[critical] - np.round(missing)
    parts = [_shortfall(p, j, int(need[j]), int(given[j]), bool(need[j] > reachable[j])) for j in short[:limit]]
    more = f"; and {len(short) - limit} more" if len(short) > limit else ""
    return "infeasible: minimum service cannot be met for " + "; ".join(parts) + more


def _shortfall(p: AllocationProblem, j: int, need: int, given: int, unreachable: bool) -> str:
    dem = p.demands
    kind = str(dem["kind"][j]).replace("_", " ")
    within = f" within {dem['deadline_min'][j]:g} min" if np.isfinite(dem["deadline_min"][j]) else ""
    why = (f"only {given} in stock at depots that can reach it in time" if unreachable
           else f"department budgets and other critical demands leave at most {given}")
    return f"{dem['name'][j]} ({dem['id'][j]}) needs {need} {kind}{within}: {why}"


def allocate_command(args) -> int:
    """CLI body of ``twin3d allocate --problem problem.json [-o solution.json]``.

    Writes the solution JSON to ``args.output`` atomically, or one JSON object to stdout.
    A bad or infeasible problem raises InputError (exit code 2).
    """
    from twin3d.io.atomic import atomic_path

    problem = AllocationProblem.from_json(args.problem)
    result = solve(problem)
    if result.status in ("infeasible", "error"):
        raise InputError(args.problem, result.message)
    output = getattr(args, "output", None)
    if output is None:
        sys.stdout.write(result.to_json() + "\n")
        sys.stdout.flush()
        return 0
    with atomic_path(output) as tmp:
        Path(tmp).write_text(result.to_json(indent=1) + "\n", encoding="utf-8")
    print(f"wrote {output}: {len(result.reasons)} assignments, status {result.status}, "
          f"objective {result.objective:.6g} {problem.loss_unit}")
    return 0
