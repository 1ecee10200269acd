"""Plan one frame of a results file again: the allocation stage's MILP, on demand, with an
inventory the planner may have changed ("Optimise now" in the app).

The frame's demands come from the stored ``/buildings/status`` and ``/buildings/max_depth``;
the roads vehicles cannot use are recomputed as the runner did (the network cascade on the
frame's stored depth field, plus the strategy's road closures), so with the scenario's own
inventory the plan is the one the run stored in ``/allocation``.

Examples
--------
>>> from twin3d.mis.replan import Replanner                       # doctest: +SKIP
>>> planner = Replanner.from_results(results, city)                # doctest: +SKIP
>>> plan = planner.solve(results, 5, {"fire": {"pumps": 10}})      # doctest: +SKIP
>>> plan.status, plan.row()["pumps_deployed"]                      # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import time
import tomllib
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np

from twin3d.errors import InputError
from twin3d.mis.allocation_stage import AllocationStage, split_stock


@dataclass
class FramePlan:
    """One frame planned again.

    ``vector`` is the ``/allocation`` row (in the order of ``columns``), ``assignments`` the
    ``(256, 6)`` NaN-padded rows (depot x, y, site x, y, units, kind index into ``kinds``) and
    ``reasons`` one sentence per used row; ``status`` is a key of
    :data:`twin3d.mis.allocation_stage.STATUS_CODES`; ``solve_time_s`` is the MILP's wall time.
    """

    frame: int
    columns: tuple[str, ...]
    kinds: tuple[str, ...]
    vector: np.ndarray
    assignments: np.ndarray
    reasons: list[str]
    status: str
    solve_time_s: float
    message: str
    inventory: dict[str, dict[str, int]]

    def row(self) -> dict[str, float]:
        """The ``/allocation`` row as ``{column: value}``."""
        return dict(zip(self.columns, self.vector.tolist(), strict=True))


def scenario_spec(results) -> dict:
    """The resolved scenario of a results file (its ``scenario`` attribute) as a dict."""
    text = results.file.attrs.get("scenario", "")
    text = text.decode() if isinstance(text, bytes) else str(text)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(results.path, f"scenario attribute is not TOML ({exc})") from None


class Replanner:
    """The allocation stage of one scenario on one city, ready to plan any stored frame.

    Parameters
    ----------
    city
        The city the results were computed on.
    spec
        The scenario (``[response.departments]`` gives the inventory, ``[strategy]`` the
        road closures).
    grid
        The results' grid (for the cascade and the closure lines).
    values
        Demand values; None = ``assets/inventories/demand_values.toml``.
    """

    def __init__(self, city, spec: dict, grid, values: dict | None = None):
        self.city, self.spec, self.grid = city, spec, grid
        self.stage = AllocationStage(SimpleNamespace(spec=spec), None, city, values)
        plan = spec.get("response", {}).get("departments", {})
        self.base_inventory = {d: {k: int(n) for k, n in plan[d].items()} for d in sorted(plan)}
        self._cascade = None
        self._closures = None

    @classmethod
    def from_results(cls, results, city, values: dict | None = None) -> Replanner:
        """A planner for an open ``ResultsFile`` computed on ``city``."""
        return cls(city, scenario_spec(results), results.grid, values)

    @property
    def kinds(self) -> tuple[str, ...]:
        return self.stage.kinds if self.stage.active else ()

    @property
    def departments(self) -> list[str]:
        return list(self.stage.departments) if self.stage.active else []

    def check_inventory(self, inventory: dict) -> dict[str, dict[str, int]]:
        """``inventory`` (``{department: {kind: units}}``) checked against the plan's departments
        and kinds; a department or kind left out keeps the scenario's count.  Raises
        ``InputError`` for an unknown department or kind, or a count that is not a whole number >= 0."""
        out = {d: dict(kinds) for d, kinds in self.base_inventory.items()}
        for dept, kinds in (inventory or {}).items():
            if dept not in out:
                raise InputError(None, f"inventory: unknown department {dept!r} (the plan has "
                                       f"{', '.join(out) or 'none'})")
            for kind, units in kinds.items():
                if kind not in self.kinds:
                    raise InputError(None, f"inventory: unknown kind {kind!r} (one of {', '.join(self.kinds)})")
                if isinstance(units, bool) or not float(units).is_integer() or units < 0:
                    raise InputError(None, f"inventory: {dept}.{kind} must be a whole number >= 0, got {units!r}")
                out[dept][kind] = int(units)
        return out

    def closed_roads(self, results, k: int) -> np.ndarray | None:
        """Road edges vehicles could not use at frame ``k`` (as the runner's management stage)."""
        from twin3d.mis.stages import road_closures
        from twin3d.networks.cascade import Cascade

        road = self.city.networks.get("road")
        if road is None:
            return None
        if self._cascade is None:
            self._cascade = Cascade(self.city)
            self._closures = road_closures(self.spec, self.grid, road)
        fields = results.file["fields"]
        depth = results.field("depth", k) if "depth" in fields else self.grid.zeros(np.float32)
        b = results.file["buildings"]
        building_depth = b["max_depth"][k] if "max_depth" in b else None
        closed = self._cascade.frame(depth, self.grid, building_depth).road_closed_edges()
        if closed is not None and self._closures is not None:
            closed = closed | self._closures
        return closed

    def solve(self, results, k: int, inventory: dict | None = None) -> FramePlan:
        """Plan frame ``k`` of ``results`` with ``inventory`` (None: the scenario's)."""
        if not 0 <= k < results.n_frames:
            raise InputError(results.path, f"frame {k} outside 0..{results.n_frames - 1}")
        plan = self.check_inventory(inventory or {})
        stage = self.stage
        if not stage.active:
            raise InputError(results.path, "the city has no buildings to plan for")
        b = results.file["buildings"]
        status = b["status"][k] if "status" in b else None
        depth = b["max_depth"][k] if "max_depth" in b else None
        stage.stock = split_stock(plan, stage.departments, stage.depots, stage.values)
        stage.problem = dataclasses.replace(stage.problem, stock=stage.stock)
        demands = stage.demand_model.frame(status, depth)
        result, state, message, started = None, "no_demand", "no demand: nothing to plan", time.perf_counter()
        if len(demands["id"]):
            travel = stage.travel.minutes(stage.depots, demands, self.closed_roads(results, k))
            if not len(stage.depots.ids):
                travel = np.full((1, len(demands["id"])), np.inf)
            started = time.perf_counter()
            result, state = stage.solve(demands, travel)
            message = result.message
        elapsed = time.perf_counter() - started if result is not None else 0.0
        alloc = stage.frame_allocation(demands, result, state)
        reasons = [r.decode("utf-8", errors="replace") for r in alloc.reasons]
        used = int(np.isfinite(alloc.assignments[:, 4]).sum())
        return FramePlan(k, tuple(stage.columns), tuple(stage.kinds), alloc.vector, alloc.assignments,
                         reasons[:used], state, elapsed, str(message), plan)
