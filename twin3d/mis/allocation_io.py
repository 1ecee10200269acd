"""Allocation problems as JSON, inventories as CSV or JSON: parse, check, write.

The formats are documented in docs/allocation-format.md.  Parsing checks every key and
value and raises ``InputError(None, "<key>: <reason>")``; the caller adds the file.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np

from twin3d.errors import InputError

FORMAT = "twin3d.allocation/1"
TOP_KEYS = ("format", "loss_unit", "cost_weight", "inventory", "departments", "depots", "demands",
            "travel_time_min")
DEPARTMENT_KEYS = ("id", "name", "budget_eur")
DEPOT_KEYS = ("id", "name", "department", "location", "node", "resources")
RESOURCE_KEYS = ("count", "cost_eur")
DEMAND_KEYS = ("id", "name", "kind", "quantity", "avoided_loss", "deadline_min", "critical", "min_service")
CSV_REQUIRED = ("department", "depot", "kind", "count", "cost_eur")
CSV_COLUMNS = (*CSV_REQUIRED, "department_name", "budget_eur", "depot_name", "x", "y", "node")


def fail(where: str, reason: str):
    """Raise the one-line input error ``<where>: <reason>`` (the file is added by the caller)."""
    raise InputError(None, f"{where}: {reason}")


def load_json(path: Path) -> object:
    """Parse a JSON file strictly; InputError names the file and the line of a syntax error."""
    if not path.is_file():
        raise InputError(path, "no such file")
    try:
        return json.loads(path.read_text(encoding="utf-8"), parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise InputError(path, f"invalid JSON: {exc}") from None
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InputError(path, f"invalid JSON: {exc}") from None


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON; write null for unreachable or unlimited")


def _keys(obj: object, allowed: tuple[str, ...], where: str, required: tuple[str, ...] = ()) -> dict:
    if not isinstance(obj, dict):
        fail(where, f"expected an object, got {type(obj).__name__}")
    unknown = [k for k in obj if k not in allowed]
    if unknown:
        fail(f"{where}.{unknown[0]}" if where else unknown[0], f"unknown key (allowed: {', '.join(allowed)})")
    for key in required:
        if key not in obj:
            fail(f"{where}.{key}" if where else key, "missing")
    return obj


def _list(value: object, where: str) -> list:
    if not isinstance(value, list):
        fail(where, f"expected a list, got {type(value).__name__}")
    return value


def text(value: object, where: str) -> str:
    """A non-empty string."""
    if not isinstance(value, str) or not value.strip():
        fail(where, f"expected a non-empty string, got {value!r}")
    return value


def number(value: object, where: str, lo: float = 0.0, null: float | None = None,
           open_lo: bool = False) -> float:
    """A finite number >= lo (> lo with ``open_lo``); ``null`` is what JSON null stands for."""
    if value is None and null is not None:
        return null
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        fail(where, f"expected a finite number, got {value!r}")
    if value < lo or (open_lo and value == lo):
        fail(where, f"must be {'>' if open_lo else '>='} {lo:g}, got {value!r}")
    return float(value)


def integer(value: object, where: str, lo: int = 0) -> int:
    """A whole number >= lo (an integral float such as 3.0 is accepted)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        fail(where, f"expected an integer, got {value!r}")
    if value < lo:
        fail(where, f"must be >= {lo}, got {value!r}")
    return value


def parse_departments(items: object) -> dict[str, list]:
    """The ``departments`` list as columns ``id``, ``name``, ``budget_eur`` (inf = unlimited)."""
    table: dict[str, list] = {"id": [], "name": [], "budget_eur": []}
    for i, item in enumerate(_list(items, "departments")):
        where = f"departments[{i}]"
        _keys(item, DEPARTMENT_KEYS, where, ("id",))
        table["id"].append(text(item["id"], f"{where}.id"))
        table["name"].append(text(item.get("name", item["id"]), f"{where}.name"))
        table["budget_eur"].append(number(item.get("budget_eur"), f"{where}.budget_eur", null=math.inf))
    return table


def parse_depots(items: object, department_ids: list[str]) -> tuple[dict[str, list], dict[str, list]]:
    """The ``depots`` list as a depot table and a stock table (one row per depot and kind)."""
    index = {d: i for i, d in enumerate(department_ids)}
    depots: dict[str, list] = {"id": [], "name": [], "department": [], "x": [], "y": [], "node": []}
    stock: dict[str, list] = {"depot": [], "kind": [], "count": [], "cost_eur": []}
    for i, item in enumerate(_list(items, "depots")):
        where = f"depots[{i}]"
        _keys(item, DEPOT_KEYS, where, ("id", "department", "resources"))
        depots["id"].append(text(item["id"], f"{where}.id"))
        depots["name"].append(text(item.get("name", item["id"]), f"{where}.name"))
        department = text(item["department"], f"{where}.department")
        if department not in index:
            fail(f"{where}.department", f"unknown department {department!r}")
        depots["department"].append(index[department])
        x, y = _location(item.get("location"), f"{where}.location")
        depots["x"].append(x)
        depots["y"].append(y)
        depots["node"].append(-1 if item.get("node") is None else integer(item["node"], f"{where}.node"))
        resources = item["resources"]
        _keys(resources, tuple(resources) if isinstance(resources, dict) else (), f"{where}.resources")
        for kind, res in resources.items():
            rwhere = f"{where}.resources.{kind}"
            _keys(res, RESOURCE_KEYS, rwhere, RESOURCE_KEYS)
            stock["depot"].append(i)
            stock["kind"].append(kind)
            stock["count"].append(integer(res["count"], f"{rwhere}.count"))
            stock["cost_eur"].append(number(res["cost_eur"], f"{rwhere}.cost_eur"))
    return depots, stock


def _location(value: object, where: str) -> tuple[float, float]:
    if value is None:
        return math.nan, math.nan
    if not isinstance(value, list) or len(value) != 2:
        fail(where, f"expected [x, y], got {value!r}")
    return number(value[0], f"{where}[0]", lo=-math.inf), number(value[1], f"{where}[1]", lo=-math.inf)


def parse_demands(items: object) -> dict[str, list]:
    """The ``demands`` list as columns (deadline inf = none; min_service 0 unless critical)."""
    cols = ("id", "name", "kind", "quantity", "avoided_loss", "deadline_min", "critical", "min_service")
    table: dict[str, list] = {c: [] for c in cols}
    for i, item in enumerate(_list(items, "demands")):
        w = f"demands[{i}]"
        _keys(item, DEMAND_KEYS, w, ("id", "kind", "quantity", "avoided_loss"))
        critical = item.get("critical", False)
        if not isinstance(critical, bool):
            fail(f"{w}.critical", f"expected true or false, got {critical!r}")
        min_service = number(item.get("min_service", 1.0 if critical else 0.0), f"{w}.min_service")
        if min_service > 1.0:
            fail(f"{w}.min_service", f"must be a fraction in [0, 1], got {min_service!r}")
        if min_service > 0 and not critical:
            fail(f"{w}.min_service", "applies to critical demands only; set critical = true")
        values = (text(item["id"], f"{w}.id"), text(item.get("name", item["id"]), f"{w}.name"),
                  text(item["kind"], f"{w}.kind"), integer(item["quantity"], f"{w}.quantity", lo=1),
                  number(item["avoided_loss"], f"{w}.avoided_loss"),
                  number(item.get("deadline_min"), f"{w}.deadline_min", null=math.inf, open_lo=True),
                  critical, min_service)
        for col, value in zip(cols, values):
            table[col].append(value)
    return table


def parse_travel_times(value: object, depot_ids: list[str], demand_ids: list[str]) -> np.ndarray:
    """Travel minutes depot x demand, from a dense matrix or sparse triplets; inf = unreachable."""
    shape = (len(depot_ids), len(demand_ids))
    if isinstance(value, dict):
        _keys(value, ("depot", "demand", "minutes"), "travel_time_min", ("depot", "demand", "minutes"))
        cols = [_list(value[k], f"travel_time_min.{k}") for k in ("depot", "demand", "minutes")]
        if len({len(c) for c in cols}) != 1:
            fail("travel_time_min", "depot, demand and minutes must have the same length")
        rows = _lookup(cols[0], depot_ids, "travel_time_min.depot")
        columns = _lookup(cols[1], demand_ids, "travel_time_min.demand")
        minutes = [number(v, f"travel_time_min.minutes[{i}]", null=math.inf) for i, v in enumerate(cols[2])]
        matrix = np.full(shape, np.inf)
        matrix[rows, columns] = minutes
        return matrix
    rows = _list(value, "travel_time_min")
    if len(rows) != shape[0]:
        fail("travel_time_min", f"expected {shape[0]} rows (one per depot), got {len(rows)}")
    matrix = np.full(shape, np.inf)
    for i, row in enumerate(rows):
        if len(_list(row, f"travel_time_min[{i}]")) != shape[1]:
            fail(f"travel_time_min[{i}]", f"expected {shape[1]} values (one per demand), got {len(row)}")
        matrix[i] = [number(v, f"travel_time_min[{i}][{j}]", null=math.inf) for j, v in enumerate(row)]
    return matrix


def _lookup(values: list, ids: list[str], where: str) -> np.ndarray:
    index = {d: i for i, d in enumerate(ids)}
    out = np.empty(len(values), dtype=np.int64)
    for i, v in enumerate(values):
        if v not in index:
            fail(f"{where}[{i}]", f"unknown id {v!r}")
        out[i] = index[v]
    return out


def parse_problem(data: object, base: Path | None) -> dict:
    """Keyword arguments of AllocationProblem from a parsed problem JSON document."""
    _keys(data, TOP_KEYS, "", ("demands", "travel_time_min"))
    if data.get("format", FORMAT) != FORMAT:
        fail("format", f"expected {FORMAT!r}, got {data['format']!r}")
    inventory = data
    if "inventory" in data:
        if "departments" in data or "depots" in data:
            fail("inventory", "give either an inventory file or departments and depots, not both")
        name = text(data["inventory"], "inventory")
        inventory = read_inventory((base or Path.cwd()) / name)
    for key in ("departments", "depots"):
        if key not in inventory:
            fail(key, "missing")
    departments = parse_departments(inventory["departments"])
    depots, stock = parse_depots(inventory["depots"], departments["id"])
    demands = parse_demands(data["demands"])
    for key, ids in (("departments", departments["id"]), ("depots", depots["id"]), ("demands", demands["id"])):
        if len(set(ids)) < len(ids):
            fail(f"{key}.id", f"duplicate id {next(i for i in ids if ids.count(i) > 1)!r}")
    travel = parse_travel_times(data["travel_time_min"], depots["id"], demands["id"])
    return {"departments": departments, "depots": depots, "stock": stock, "demands": demands,
            "travel_time_min": travel, "loss_unit": text(data.get("loss_unit", "EUR"), "loss_unit"),
            "cost_weight": number(data.get("cost_weight", 1.0), "cost_weight", open_lo=True)}


def read_inventory(path: str | Path) -> dict[str, list]:
    """Departments and depots (problem-format lists) from an inventory ``.csv`` or ``.json``.

    Parameters
    ----------
    path : str or Path
        A CSV with one row per depot and resource kind (columns in docs/allocation-format.md)
        or a JSON object with ``departments`` and ``depots``.

    Returns
    -------
    dict
        ``{"departments": [...], "depots": [...]}`` as in the problem JSON.
    """
    path = Path(path)
    try:
        if path.suffix.lower() == ".json":
            data = load_json(path)
            _keys(data, ("departments", "depots"), "", ("departments", "depots"))
            return data
        if path.suffix.lower() != ".csv":
            raise InputError(path, "inventory must be a .csv or .json file")
        return _inventory_from_csv(path)
    except InputError as exc:
        raise InputError(path, exc.reason) if exc.path is None else exc from None


def _inventory_from_csv(path: Path) -> dict[str, list]:
    if not path.is_file():
        raise InputError(path, "no such file")
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames or []
            rows = list(reader)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(path, f"invalid CSV: {exc}") from None
    missing = [c for c in CSV_REQUIRED if c not in header]
    if missing:
        fail("header", f"missing column {missing[0]!r} (needs {', '.join(CSV_REQUIRED)})")
    unknown = [c for c in header if c not in CSV_COLUMNS]
    if unknown:
        fail("header", f"unknown column {unknown[0]!r} (allowed: {', '.join(CSV_COLUMNS)})")
    departments: dict[str, dict] = {}
    depots: dict[str, dict] = {}
    for line, row in enumerate(rows, start=2):
        _csv_row(row, f"line {line}", departments, depots)
    return {"departments": list(departments.values()), "depots": list(depots.values())}


def _csv_row(row: dict, where: str, departments: dict, depots: dict) -> None:
    if None in row:
        fail(where, "more fields than the header has")
    cell = {k: (v or "").strip() for k, v in row.items()}
    dept, depot, kind = (text(cell[k], f"{where}.{k}") for k in ("department", "depot", "kind"))
    budget = _csv_number(cell.get("budget_eur", ""), f"{where}.budget_eur")
    if budget is not None:
        number(budget, f"{where}.budget_eur")
    entry = departments.setdefault(dept, {"id": dept, "name": cell.get("department_name") or dept,
                                          "budget_eur": budget})
    if entry["budget_eur"] != budget:
        fail(f"{where}.budget_eur", f"department {dept!r} has budget {entry['budget_eur']} on an earlier line")
    x, y = (_csv_number(cell.get(k, ""), f"{where}.{k}") for k in ("x", "y"))
    node = _csv_number(cell.get("node", ""), f"{where}.node")
    item = depots.setdefault(depot, {"id": depot, "name": cell.get("depot_name") or depot,
                                     "department": dept, "resources": {}})
    if item["department"] != dept:
        fail(f"{where}.department", f"depot {depot!r} belongs to {item['department']!r} on an earlier line")
    if x is not None and y is not None:
        item["location"] = [x, y]
    if node is not None:
        item["node"] = node
    if kind in item["resources"]:
        fail(f"{where}.kind", f"depot {depot!r} lists {kind!r} twice")
    item["resources"][kind] = {"count": integer(_csv_number(cell["count"], f"{where}.count"), f"{where}.count"),
                               "cost_eur": number(_csv_number(cell["cost_eur"], f"{where}.cost_eur"),
                                                  f"{where}.cost_eur")}


def _csv_number(value: str, where: str) -> float | int | None:
    if value == "":
        return None
    try:
        number = float(value)
    except ValueError:
        fail(where, f"expected a number, got {value!r}")
    return int(number) if number.is_integer() and abs(number) < 2**53 else number


def problem_to_dict(problem) -> dict:
    """The problem JSON document (docs/allocation-format.md) of an AllocationProblem."""
    dep, dpt, st, dem = problem.departments, problem.depots, problem.stock, problem.demands
    departments = [{"id": str(i), "name": str(n), "budget_eur": _finite(b)}
                   for i, n, b in zip(dep["id"], dep["name"], dep["budget_eur"])]
    depots = []
    for k in range(len(dpt["id"])):
        item = {"id": str(dpt["id"][k]), "name": str(dpt["name"][k]),
                "department": str(dep["id"][dpt["department"][k]]), "resources": {}}
        if np.isfinite(dpt["x"][k]) and np.isfinite(dpt["y"][k]):
            item["location"] = [float(dpt["x"][k]), float(dpt["y"][k])]
        if dpt["node"][k] >= 0:
            item["node"] = int(dpt["node"][k])
        depots.append(item)
    for s in range(len(st["depot"])):
        depots[st["depot"][s]]["resources"][str(st["kind"][s])] = {
            "count": int(st["count"][s]), "cost_eur": float(st["cost_eur"][s])}
    demands = [{"id": str(dem["id"][j]), "name": str(dem["name"][j]), "kind": str(dem["kind"][j]),
                "quantity": int(dem["quantity"][j]), "avoided_loss": float(dem["avoided_loss"][j]),
                "deadline_min": _finite(dem["deadline_min"][j]), "critical": bool(dem["critical"][j]),
                "min_service": float(dem["min_service"][j])} for j in range(len(dem["id"]))]
    travel = [[_finite(t) for t in row] for row in problem.travel_time_min.tolist()]
    return {"format": FORMAT, "loss_unit": problem.loss_unit, "cost_weight": problem.cost_weight,
            "departments": departments, "depots": depots, "demands": demands, "travel_time_min": travel}


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


SOLUTION_FORMAT = "twin3d.allocation-solution/1"


def result_to_dict(result) -> dict:
    """The solution JSON document of an AllocationResult (ids, not row numbers)."""
    p, a = result.problem, result.assignments
    dep, dpt, dem = p.departments, p.depots, p.demands
    assignments = [{"depot": str(dpt["id"][a["depot"][k]]), "depot_name": str(dpt["name"][a["depot"][k]]),
                    "department": str(dep["id"][a["department"][k]]), "kind": str(a["kind"][k]),
                    "demand": str(dem["id"][a["demand"][k]]), "demand_name": str(dem["name"][a["demand"][k]]),
                    "units": int(a["units"][k]), "travel_time_min": float(a["travel_time_min"][k]),
                    "avoided_loss": float(a["avoided_loss"][k]), "cost_eur": float(a["cost_eur"][k]),
                    "reason": result.reasons[k] if k < len(result.reasons) else ""}
                   for k in range(len(a["units"]))]
    served, unmet = result.units_served, result.units_unmet
    demands = [{"id": str(dem["id"][j]), "name": str(dem["name"][j]), "kind": str(dem["kind"][j]),
                "critical": bool(dem["critical"][j]), "quantity": int(dem["quantity"][j]),
                "units_served": int(served[j]), "units_unmet": int(unmet[j]),
                "served_fraction": float(served[j] / dem["quantity"][j])} for j in range(len(dem["id"]))]
    cost = result.department_cost_eur
    departments = [{"id": str(dep["id"][i]), "name": str(dep["name"][i]), "cost_eur": float(cost[i]),
                    "budget_eur": _finite(dep["budget_eur"][i])} for i in range(len(dep["id"]))]
    return {"format": SOLUTION_FORMAT, "status": result.status, "message": result.message,
            "objective": result.objective, "gap": _finite(result.gap), "loss_unit": p.loss_unit,
            "avoided_loss": float(a["avoided_loss"].sum()), "cost_eur": float(a["cost_eur"].sum()),
            "solve_time_s": round(result.solve_time_s, 4),
            "model": {"variables": result.n_variables, "constraints": result.n_constraints},
            "assignments": assignments, "demands": demands, "departments": departments}


def amount(value: float, unit: str) -> str:
    """A loss or cost for people: ``€1.2M``, ``€350k``, ``€800``, or ``12.5 weighted_people``."""
    if unit != "EUR":
        return f"{value:.3g} {unit}"
    for scale, suffix in ((1e9, "bn"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"€{value / scale:.3g}{suffix}"
    return f"€{value:.0f}"


def _kind_words(kind: str, units: int) -> str:
    words = kind.replace("_", " ")
    return words[:-1] if units == 1 and words.endswith("s") else words


def reasons(p, a: dict, result) -> list[str]:
    """One plain-language sentence per assignment of ``result``; ``a`` are the solver's arcs."""
    x = result.assignments
    remaining = p.stock["count"] - np.bincount(x["stock"], x["units"], len(p.stock["count"]))
    budget_left = p.departments["budget_eur"] - result.department_cost_eur
    order = np.argsort(a["demand"], kind="stable")
    starts = np.searchsorted(a["demand"][order], np.arange(len(p.demands["id"]) + 1))
    out = []
    for k in range(len(x["units"])):
        d, s, units, t = x["demand"][k], x["stock"][k], int(x["units"][k]), x["travel_time_min"][k]
        cand = a["stock"][order[starts[d]:starts[d + 1]]]
        closeness = _closeness(p, cand, s, d, t, remaining, budget_left)
        minutes = f"{t:.0f}" if t >= 1 else f"{t:.1f}"
        out.append(f"{units} {_kind_words(str(x['kind'][k]), units)} from {p.depots['name'][x['depot'][k]]} "
                   f"to {p.demands['name'][d]}: avoids {amount(x['avoided_loss'][k], p.loss_unit)} loss "
                   f"for {amount(x['cost_eur'][k], 'EUR')}, {minutes} min away, {closeness}")
    return out


def _closeness(p, cand: np.ndarray, s: int, d: int, t: float, remaining: np.ndarray,
               budget_left: np.ndarray) -> str:
    """Why this depot and not a nearer one (``cand``: stock rows that could serve demand ``d``)."""
    if len(cand) == 1:
        return "the only depot that can reach it in time"
    nearer = cand[(p.travel_time_min[p.stock["depot"][cand], d] < t - 1e-9) & (cand != s)]
    if not len(nearer):
        return "closest available"
    cost = p.stock["cost_eur"]
    spare = nearer[remaining[nearer] > 0]
    if not len(spare):
        return "nearer depots have none left"
    dept = p.depots["department"][p.stock["depot"][spare]]
    affordable = spare[budget_left[dept] >= cost[spare] - 1e-9]
    if not len(affordable):
        return "nearer depots' departments are out of budget"
    if np.all(cost[affordable] > cost[s]):
        return "cheaper than nearer depots"
    return "as good overall as nearer depots"
