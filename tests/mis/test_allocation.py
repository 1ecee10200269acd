"""Allocation MILP: brute-force optimum, constraints, minimum service, infeasibility, JSON, scale."""

from __future__ import annotations

import dataclasses
import itertools
import json
import time

import numpy as np
import pytest

from twin3d.config import asset
from twin3d.errors import InputError
from twin3d.mis.allocation import AllocationProblem, arcs, solve
from twin3d.mis.allocation_io import read_inventory

KINDS = np.array(["pumps", "generators"], dtype=object)


def random_small(seed: int) -> AllocationProblem:
    """2 depots x 3 demands x 2 kinds with small counts, budgets, deadlines and closed roads."""
    rng = np.random.default_rng(seed)
    n_dept = int(rng.integers(1, 3))
    budget = np.where(rng.random(n_dept) < 0.6, rng.integers(100, 700, n_dept), np.inf)
    critical = rng.random(3) < 0.3
    travel = rng.integers(1, 30, (2, 3)).astype(float)
    travel[rng.random((2, 3)) < 0.2] = np.inf
    return AllocationProblem(
        departments={"id": [f"dept{i}" for i in range(n_dept)], "budget_eur": budget},
        depots={"id": ["north", "south"], "department": rng.integers(0, n_dept, 2)},
        stock={"depot": [0, 0, 1, 1], "kind": np.tile(KINDS, 2), "count": rng.integers(0, 4, 4),
               "cost_eur": rng.integers(0, 300, 4).astype(float)},
        demands={"id": ["a", "b", "c"], "kind": KINDS[rng.integers(0, 2, 3)], "quantity": rng.integers(1, 4, 3),
                 "avoided_loss": rng.integers(0, 2000, 3).astype(float),
                 "deadline_min": np.where(rng.random(3) < 0.5, rng.integers(5, 30, 3), np.inf),
                 "critical": critical, "min_service": np.where(critical, rng.choice([0.3, 0.5, 1.0], 3), 0.0)},
        travel_time_min=travel)


def brute_force(p: AllocationProblem) -> float | None:
    """Best objective over every whole-unit assignment of every allowed pair; None if none is feasible."""
    st, dem, dep = p.stock, p.demands, p.departments
    pairs = [(s, j) for s in range(4) for j in range(3)
             if st["kind"][s] == dem["kind"][j] and st["count"][s] > 0
             and np.isfinite(p.travel_time_min[st["depot"][s], j])
             and p.travel_time_min[st["depot"][s], j] <= dem["deadline_min"][j]]
    ranges = [range(min(st["count"][s], dem["quantity"][j]) + 1) for s, j in pairs]
    x = np.array(list(itertools.product(*ranges)), dtype=float).reshape(-1, len(pairs))
    s_of = np.array([s for s, _ in pairs], dtype=int)
    j_of = np.array([j for _, j in pairs], dtype=int)
    per_stock = np.stack([x[:, s_of == s].sum(axis=1) for s in range(4)], axis=1)
    per_demand = np.stack([x[:, j_of == j].sum(axis=1) for j in range(3)], axis=1)
    cost = x * st["cost_eur"][s_of]
    dept_of = p.depots["department"][st["depot"][s_of]]
    per_dept = np.stack([cost[:, dept_of == d].sum(axis=1) for d in range(len(dep["id"]))], axis=1)
    need = np.where(dem["critical"], np.ceil(dem["min_service"] * dem["quantity"] - 1e-9), 0)
    ok = ((per_stock <= st["count"]).all(1) & (per_demand <= dem["quantity"]).all(1)
          & (per_demand >= need).all(1) & (per_dept <= dep["budget_eur"] + 1e-9).all(1))
    value = (x * (dem["avoided_loss"][j_of] / dem["quantity"][j_of])).sum(1) - cost.sum(1)
    return float(value[ok].max()) if ok.any() else None


def check_feasible(p: AllocationProblem, r) -> None:
    """Every bound of the model holds for the result."""
    a, st, dem = r.assignments, p.stock, p.demands
    used = np.bincount(a["stock"], a["units"], len(st["count"]))
    assert np.all(used <= st["count"])
    assert np.all(r.units_served <= dem["quantity"]) and np.all(r.units_unmet >= 0)
    assert np.all(r.department_cost_eur <= p.departments["budget_eur"] * (1 + 1e-9) + 1e-6)
    assert np.all(a["travel_time_min"] <= dem["deadline_min"][a["demand"]])
    assert np.all(np.isfinite(a["travel_time_min"]))
    assert np.array_equal(a["travel_time_min"], p.travel_time_min[a["depot"], a["demand"]])
    assert np.all(st["kind"][a["stock"]] == dem["kind"][a["demand"]])
    assert np.all(r.units_served >= p.required_units)


@pytest.mark.parametrize("seed", range(30))
def test_optimum_equals_brute_force(seed):
    p = random_small(seed)
    best = brute_force(p)
    r = solve(p, mip_rel_gap=1e-9)
    if best is None:
        assert r.status == "infeasible" and r.message.startswith("infeasible: minimum service")
        return
    assert r.status == "optimal"
    assert r.objective == pytest.approx(best, rel=1e-7, abs=1e-6)
    check_feasible(p, r)


def test_brute_force_cases_cover_budgets_criticals_and_infeasible():
    problems = [random_small(s) for s in range(30)]
    results = [brute_force(p) for p in problems]
    assert sum(r is None for r in results) >= 2  # some seeds are infeasible
    assert sum(np.isfinite(p.departments["budget_eur"]).any() for p in problems) >= 10
    assert sum(p.demands["critical"].any() for p in problems) >= 10


def city_problem(n_depots: int, n_demands: int, seed: int = 0, budgets: bool = True) -> AllocationProblem:
    """Depots and demands scattered over 10 km, 30 km/h on roads, 10 % of pairs cut off by water."""
    rng = np.random.default_rng(seed)
    kinds = np.array(["pumps", "sandbag_crews", "generators", "shelter_beds", "ambulances"], dtype=object)
    depot_xy, demand_xy = rng.uniform(0, 10_000, (n_depots, 2)), rng.uniform(0, 10_000, (n_demands, 2))
    travel = np.hypot(*(depot_xy[:, None, :] - demand_xy[None, :, :]).transpose(2, 0, 1)) / 500.0
    travel[rng.random(travel.shape) < 0.1] = np.inf
    critical = rng.random(n_demands) < 0.02
    return AllocationProblem(
        departments={"id": [f"dept{i}" for i in range(5)],
                     "budget_eur": rng.uniform(2e4, 2e5, 5) if budgets else np.full(5, np.inf)},
        depots={"id": [f"depot{i}" for i in range(n_depots)], "department": rng.integers(0, 5, n_depots),
                "x": depot_xy[:, 0], "y": depot_xy[:, 1]},
        stock={"depot": np.repeat(np.arange(n_depots), 5), "kind": np.tile(kinds, n_depots),
               "count": rng.integers(0, 30, 5 * n_depots), "cost_eur": rng.uniform(100, 2000, 5 * n_depots)},
        demands={"id": [f"d{j}" for j in range(n_demands)], "kind": kinds[rng.integers(0, 5, n_demands)],
                 "quantity": rng.integers(1, 6, n_demands), "avoided_loss": rng.lognormal(10, 1.5, n_demands),
                 "deadline_min": rng.uniform(10, 40, n_demands), "critical": critical,
                 "min_service": np.where(critical, 0.2, 0.0)},
        travel_time_min=travel)


def test_counts_budgets_and_deadlines_hold_on_a_city_sized_problem():
    p = city_problem(10, 300, seed=3)
    r = solve(p)
    assert r.status in ("optimal", "feasible") and r.gap < 1e-2
    check_feasible(p, r)
    spent, budget = r.department_cost_eur, p.departments["budget_eur"]
    assert np.any(spent > 0.95 * budget)  # budgets bind: the test exercises them
    assert len(r.reasons) == len(r.assignments["units"]) and all(" min away, " in s for s in r.reasons)


def one_depot_problem(travel=((6.0,), (35.0,)), **demand) -> AllocationProblem:
    base = {"id": ["hospital"], "name": ["Hospital St Mary"], "kind": ["pumps"], "quantity": [3],
            "avoided_loss": [100.0], "deadline_min": [20.0]}
    return AllocationProblem(
        departments={"id": ["fire"], "budget_eur": [np.inf]},
        depots={"id": ["north", "south"], "name": ["Fire depot North", "Fire depot South"], "department": [0, 0]},
        stock={"depot": [0, 1], "kind": ["pumps", "pumps"], "count": [1, 5], "cost_eur": [500.0, 500.0]},
        demands={**base, **demand}, travel_time_min=np.array(travel))


def test_minimum_service_is_enforced_even_at_a_loss():
    assert solve(one_depot_problem()).units_served[0] == 0  # 100 EUR avoided for 500 EUR a pump
    r = solve(one_depot_problem(critical=[True], min_service=[0.3], deadline_min=[60.0]))
    assert r.status == "optimal" and r.units_served[0] == 1  # ceil(0.3 * 3) = 1, no more
    assert r.objective == pytest.approx(100.0 / 3 - 500.0)
    assert r.reasons[0].startswith("1 pump from Fire depot North to Hospital St Mary: avoids €33 loss")
    r = solve(one_depot_problem(critical=[True], deadline_min=[60.0]))  # min_service defaults to 1
    assert r.units_served[0] == 3 and r.units_unmet[0] == 0


def test_unreachable_minimum_service_names_the_facility():
    r = solve(one_depot_problem(critical=[True], min_service=[1.0]))
    assert r.status == "infeasible"
    assert "Hospital St Mary (hospital) needs 3 pumps within 20 min" in r.message
    assert "only 1 in stock at depots that can reach it in time" in r.message
    assert len(r.assignments["units"]) == 0


def test_competing_critical_facilities_are_named():
    p = one_depot_problem(id=["h1", "h2"], name=["Hospital A", "Hospital B"], kind=["pumps"] * 2,
                          quantity=[4, 4], avoided_loss=[1e5, 1e5], deadline_min=[60.0, 60.0],
                          critical=[True, True], min_service=[1.0, 1.0],
                          travel=[[6.0, 6.0], [35.0, 35.0]])  # 6 pumps for 8
    r = solve(p)
    assert r.status == "infeasible"
    assert "budgets and other critical demands leave at most 2" in r.message
    assert "Hospital A" in r.message or "Hospital B" in r.message


def test_budget_limits_a_department():
    p = one_depot_problem(avoided_loss=[9000.0], deadline_min=[60.0])
    p = dataclasses.replace(p, departments={"id": ["fire"], "budget_eur": [1200.0]})
    r = solve(p)
    assert r.units_served[0] == 2 and r.department_cost_eur[0] == pytest.approx(1000.0)


def test_nearest_depot_wins_a_tie_and_says_so():
    p = one_depot_problem(quantity=[1], avoided_loss=[1.2e6], deadline_min=[60.0])
    r = solve(p)
    assert r.assignments["depot"].tolist() == [0]
    assert r.reasons == ["1 pump from Fire depot North to Hospital St Mary: avoids €1.2M loss for €500, "
                         "6 min away, closest available"]
    r = solve(one_depot_problem(quantity=[3], avoided_loss=[3e6], deadline_min=[60.0]))
    assert r.assignments["units"].tolist() == [1, 2] and r.reasons[1].endswith("nearer depots have none left")


def test_weighted_people_losses_use_the_cost_weight():
    p = one_depot_problem(quantity=[1], avoided_loss=[2.0], deadline_min=[60.0])
    p = dataclasses.replace(p, loss_unit="weighted_people", cost_weight=1e-3)  # 1 person per 1000 EUR
    r = solve(p)
    assert r.units_served[0] == 1 and r.objective == pytest.approx(2.0 - 0.5)
    assert "avoids 2 weighted_people loss" in r.reasons[0]


def test_arcs_follow_kind_stock_and_deadline():
    p = one_depot_problem(deadline_min=[20.0])
    a = arcs(p)
    assert a["stock"].tolist() == [0] and a["travel_time_min"].tolist() == [6.0]
    assert a["net_gain"][0] == pytest.approx(100.0 / 3 - 500.0)


def test_problem_json_round_trip(tmp_path):
    p = city_problem(6, 40, seed=1)
    path = tmp_path / "problem.json"
    path.write_text(p.to_json(indent=1))
    q = AllocationProblem.from_json(path)
    for name in ("departments", "depots", "stock", "demands"):
        for col, values in getattr(p, name).items():
            np.testing.assert_array_equal(getattr(q, name)[col], values, err_msg=f"{name}.{col}")
    np.testing.assert_array_equal(q.travel_time_min, p.travel_time_min)
    r1, r2 = solve(p), solve(q)
    assert r1.objective == pytest.approx(r2.objective, rel=1e-9)
    doc = json.loads(r1.to_json())
    assert doc["status"] == r1.status and doc["objective"] == pytest.approx(r1.objective)
    assert len(doc["assignments"]) == len(r1.reasons) and len(doc["demands"]) == 40
    assert sum(d["units_unmet"] for d in doc["demands"]) == int(r1.units_unmet.sum())
    assert [d["cost_eur"] for d in doc["departments"]] == pytest.approx(r1.department_cost_eur.tolist())


def test_sparse_travel_times_and_the_sample_inventory(tmp_path):
    inventory = read_inventory(asset("inventories", "sample_departments.csv"))
    assert len(inventory["departments"]) == 5 and len(inventory["depots"]) == 8
    assert inventory["departments"][0]["budget_eur"] == 60000 and inventory["departments"][2]["budget_eur"] is None
    (tmp_path / "inv.csv").write_text(asset("inventories", "sample_departments.csv").read_text())
    doc = {"inventory": "inv.csv",
           "demands": [{"id": "h1", "name": "Hospital St Mary", "kind": "pumps", "quantity": 3,
                        "avoided_loss": 1.2e6, "deadline_min": 15, "critical": True, "min_service": 0.5}],
           "travel_time_min": {"depot": ["fire-north", "thw-depot"], "demand": ["h1", "h1"], "minutes": [6, 12]}}
    path = tmp_path / "p.json"
    path.write_text(json.dumps(doc))
    p = AllocationProblem.from_json(path)
    assert np.isinf(p.travel_time_min).sum() == 6 and p.travel_time_min[0, 0] == 6
    r = solve(p)
    assert r.assignments["units"].tolist() == [3] and r.assignments["depot"].tolist() == [0]


def minimal_doc() -> dict:
    return {"departments": [{"id": "fire", "budget_eur": 1000}],
            "depots": [{"id": "n", "department": "fire", "location": [1.0, 2.0],
                        "resources": {"pumps": {"count": 2, "cost_eur": 100}}}],
            "demands": [{"id": "h", "kind": "pumps", "quantity": 1, "avoided_loss": 500}],
            "travel_time_min": [[5]]}


@pytest.mark.parametrize("edit, message", [
    (lambda d: d["depots"][0]["resources"]["pumps"].update(count=-1), "depots[0].resources.pumps.count: must be >= 0"),
    (lambda d: d["depots"][0]["resources"]["pumps"].update(count=1.5), "count: expected an integer"),
    (lambda d: d.pop("demands"), "demands: missing"),
    (lambda d: d["demands"][0].pop("kind"), "demands[0].kind: missing"),
    (lambda d: d["demands"][0].update(quantity=0), "demands[0].quantity: must be >= 1"),
    (lambda d: d["demands"][0].update(avoided_loss="a lot"), "demands[0].avoided_loss: expected a finite number"),
    (lambda d: d["demands"][0].update(min_service=0.5), "min_service: applies to critical demands only"),
    (lambda d: d["demands"][0].update(deadline_min=0), "demands[0].deadline_min: must be > 0"),
    (lambda d: d["demands"][0].update(critical="yes"), "demands[0].critical: expected true or false"),
    (lambda d: d["depots"][0].update(department="police"), "depots[0].department: unknown department 'police'"),
    (lambda d: d["departments"][0].update(budget_eur=-5), "departments[0].budget_eur: must be >= 0"),
    (lambda d: d.update(travel_time_min=[[5, 6]]), "travel_time_min[0]: expected 1 values"),
    (lambda d: d.update(travel_time_min=[[-1]]), "travel_time_min[0][0]: must be >= 0"),
    (lambda d: d.update(travel_time_min=[[1e400]]), "invalid JSON: Infinity is not JSON"),
    (lambda d: d.update(cost_weight=0), "cost_weight: must be > 0"),
    (lambda d: d.update(deadline=3), "deadline: unknown key"),
    (lambda d: d["demands"].append(dict(d["demands"][0])), "demands.id: duplicate id 'h'"),
])
def test_bad_problem_raises_input_error_naming_the_key(tmp_path, edit, message):
    doc = minimal_doc()
    edit(doc)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(InputError) as info:
        AllocationProblem.from_json(path)
    assert info.value.path == str(path) and message in info.value.reason


@pytest.mark.parametrize("text, message", [
    ("{", "invalid JSON"), ('{"demands": NaN}', "NaN is not JSON"), ("[]", "expected an object"),
    (b"\xff\xfe{", "invalid JSON"),
])
def test_unreadable_problem_file(tmp_path, text, message):
    path = tmp_path / "bad.json"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(InputError, match=message):
        AllocationProblem.from_json(path)


@pytest.mark.parametrize("row, message", [
    ("fire,d1,pumps,-2,10", "line 2.count: must be >= 0"),
    ("fire,d1,pumps,two,10", "line 2.count: expected a number"),
    ("fire,,pumps,2,10", "line 2.depot: expected a non-empty string"),
])
def test_bad_inventory_csv_names_the_line(tmp_path, row, message):
    path = tmp_path / "inv.csv"
    path.write_text("department,depot,kind,count,cost_eur\n" + row + "\n")
    with pytest.raises(InputError, match=message) as info:
        read_inventory(path)
    assert info.value.path == str(path)


def test_array_problem_is_validated_and_replaced_per_frame():
    p = one_depot_problem()
    with pytest.raises(InputError, match=r"travel_time_min\[0\]\[0\]: must be >= 0 \(inf = unreachable\), got nan"):
        dataclasses.replace(p, travel_time_min=np.array([[np.nan], [3.0]]))
    with pytest.raises(InputError, match=r"stock\[1\].count: must be >= 0, got -1"):
        dataclasses.replace(p, stock={**p.stock, "count": [1, -1]})
    closed = dataclasses.replace(p, travel_time_min=np.array([[np.inf], [np.inf]]),
                                 demands={**p.demands, "avoided_loss": [1e6]})
    r = solve(closed)  # every road flooded: nothing can be sent, nothing breaks
    assert r.status == "optimal" and r.units_unmet.tolist() == [3] and r.objective == 0.0


@pytest.mark.parametrize("budgets", [False, True])
def test_scaling_50_depots_2000_demands_5_kinds(budgets):
    p = city_problem(50, 2000, seed=0, budgets=budgets)
    t0 = time.perf_counter()
    r = solve(p, time_limit_s=10.0)
    elapsed = time.perf_counter() - t0
    print(f"\n50 depots x 2000 demands x 5 kinds, budgets={budgets}: {r.n_variables} variables, "
          f"{r.n_constraints} rows, {elapsed:.2f} s, status {r.status}, gap {r.gap:.2e}")
    check_feasible(p, r)
    assert elapsed < 10.0 + 8.0  # the time limit plus model building on a loaded machine
    assert r.gap < (1e-4 if not budgets else 3e-3)
    if not budgets:
        assert r.status == "optimal" and elapsed < 8.0
