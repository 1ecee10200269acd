"""Allocation panel: the shown frame's resource plan (per kind, per department, assignments with
their reasons, arrows on the map) and "Optimise now", which plans the frame again with the
HiGHS MILP and the planner's inventory, off the UI loop (no layout here)."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

import numpy as np
from trame_server.utils.typed_state import TypedState

log = logging.getLogger(__name__)
QUANTITIES = ("available", "demanded", "deployed", "unmet")
STATUS_TEXT = {0: "no demand", 1: "optimal", 2: "feasible (time limit)", 3: "relaxed minimum service",
               4: "infeasible", 5: "solver error"}


@dataclass
class AllocationState:
    has_allocation: bool = False
    source: str = ""  # "stored plan" or "optimised now"
    status: str = ""  # the plan's solver status in words
    kinds: list[dict] = field(default_factory=list)  # {kind, available, demanded, deployed, unmet}
    costs: list[dict] = field(default_factory=list)  # {department, cost}
    totals: dict = field(default_factory=dict)  # avoided_loss, cost, objective (text)
    assignments: list[dict] = field(default_factory=list)  # {units, kind, reason}
    inventory: list[dict] = field(default_factory=list)  # {department, kind, units}: editable by a planner
    optimising: bool = False
    optimise_status: str = ""  # outcome of the last "Optimise now"
    error: str = ""


def _text(value) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)


def _eur(value: float) -> str:
    from twin3d.mis.report import format_value

    return f"€{format_value(float(value))}"


def _count(value: float) -> int | float:
    return int(value) if np.isfinite(value) and float(value).is_integer() else float(value)


class AllocationLogic:
    """The allocation of the shown frame; ``allocation_optimize`` plans it again (planner only).

    Controllers: ``allocation_optimize`` (re-solve the shown frame with ``inventory``),
    ``allocation_reset_inventory`` (back to the scenario's counts).
    """

    def __init__(self, ctx):
        self.ctx = ctx
        self.typed = TypedState(ctx.state, AllocationState)
        self.data = self.typed.data
        self.columns: list[str] = []
        self.kinds: list[str] = []
        self.planner = None  # twin3d.mis.replan.Replanner of the active results, made on first use
        self.plan = None  # the last FramePlan from "Optimise now"
        self._shown_results = None
        self._drawn = None  # the assignment rows on the map
        self._task = None
        ctx.ctrl.allocation_optimize = self.optimise
        ctx.ctrl.allocation_reset_inventory = self.reset_inventory
        ctx.on_results(self.on_results)
        ctx.on_frame(self.on_frame)

    @property
    def results(self):
        return self.ctx.results

    # --- results and frames ----------------------------------------------------------------
    def on_results(self, results) -> None:
        self._shown_results, self._drawn = results, None
        self.planner, self.plan = None, None
        self.data.optimise_status, self.data.error = "", ""
        f = results.file if results is not None else None
        self.data.has_allocation = f is not None and "allocation" in f
        if not self.data.has_allocation:
            self.columns, self.kinds = [], []
            self._show_empty()
            self.data.inventory = []
            return
        self.columns = [_text(c) for c in f["allocation"].attrs.get("columns", [])]
        kinds = f["allocation_assignments"].attrs.get("kinds", []) if "allocation_assignments" in f else []
        self.kinds = [_text(k) for k in kinds]
        self.data.inventory = self._inventory_rows()
        self._show_empty()
        if self.ctx.frame is not None:  # the timeline may have shown the first frame before this ran
            self.on_frame(self.ctx.frame)

    def _inventory_rows(self) -> list[dict]:
        from twin3d.mis.replan import scenario_spec

        plan = scenario_spec(self.results).get("response", {}).get("departments", {})
        return [{"department": d, "kind": k, "units": int(n)} for d in sorted(plan) for k, n in plan[d].items()]

    def _show_empty(self) -> None:
        self.data.source, self.data.status = "", ""
        self.data.kinds, self.data.costs, self.data.totals, self.data.assignments = [], [], {}, []
        self._draw(np.full((0, 6), np.nan))

    def on_frame(self, k: int) -> None:
        """The scene shows frame ``k``: its stored plan, or the one optimised now at ``k``."""
        if not self.data.has_allocation or self.results is not self._shown_results:
            return  # a frame of results this panel has not read yet: its on_results follows
        if self.plan is not None and self.plan.frame == k:
            self._show(self.plan.vector, self.plan.assignments, self.plan.reasons, "optimised now")
            return
        f = self.results.file
        if k >= f["allocation"].shape[0]:
            return
        rows = f["allocation_assignments"][k] if "allocation_assignments" in f else np.full((0, 6), np.nan)
        reasons = f["allocation_reasons"][k] if "allocation_reasons" in f else []
        self._show(f["allocation"][k], rows, [_text(r) for r in reasons], "stored plan")

    def _show(self, vector: np.ndarray, rows: np.ndarray, reasons: list[str], source: str) -> None:
        row = dict(zip(self.columns, np.asarray(vector, dtype=np.float64).tolist(), strict=False))
        kinds = sorted({c.rsplit("_", 1)[0] for c in self.columns if c.endswith("_available")})
        self.data.kinds = [{"kind": k.replace("_", " "), **{q: _count(row.get(f"{k}_{q}", 0.0)) for q in QUANTITIES}}
                           for k in kinds]
        self.data.costs = [{"department": c.removesuffix("_cost_eur"), "cost": _eur(row[c])}
                           for c in self.columns if c.endswith("_cost_eur") and c != "cost_eur"]
        self.data.totals = {"avoided_loss": _eur(row.get("avoided_loss_eur", 0.0)),
                            "cost": _eur(row.get("cost_eur", 0.0)), "objective": _eur(row.get("objective_eur", 0.0)),
                            "n_demands": _count(row.get("n_demands", 0.0))}
        self.data.status = STATUS_TEXT.get(int(row.get("status", 0)), "unknown")
        self.data.source = source
        used = np.flatnonzero(np.isfinite(rows[:, 4])) if len(rows) else np.zeros(0, int)
        self.data.assignments = [{"units": _count(rows[i, 4]), "kind": self._kind(rows[i, 5]),
                                  "reason": reasons[i] if i < len(reasons) else ""} for i in used]
        self._draw(rows)

    def _kind(self, index: float) -> str:
        i = int(index) if np.isfinite(index) else -1
        return self.kinds[i].replace("_", " ") if 0 <= i < len(self.kinds) else "?"

    def _draw(self, rows: np.ndarray) -> None:
        """The assignments as arrows on the map (when the scene can draw them)."""
        show = getattr(self.ctx.scene, "show_allocation", None)
        rows = np.asarray(rows, dtype=np.float64).reshape(-1, 6)
        if show is None or (self._drawn is not None and self._drawn.shape == rows.shape
                            and np.array_equal(self._drawn, rows, equal_nan=True)):
            return  # the same arrows are on the map already (e.g. frames without any)
        show(rows, list(self.kinds))
        self._drawn = rows.copy()
        self.ctx.request_render()

    # --- optimise now ----------------------------------------------------------------------
    def inventory(self) -> dict[str, dict[str, int]]:
        """The edited inventory as ``{department: {kind: units}}`` (InputError for a bad count)."""
        from twin3d.errors import InputError

        out: dict[str, dict[str, int]] = {}
        for item in self.data.inventory:
            units = item.get("units")
            try:
                value = float(units)
            except (TypeError, ValueError):
                raise InputError(None, f"{item.get('department')} {item.get('kind')}: "
                                       f"units must be a whole number, got {units!r}") from None
            out.setdefault(str(item["department"]), {})[str(item["kind"])] = int(value) if value.is_integer() else value
        return out

    def reset_inventory(self) -> None:
        """The scenario's own counts again."""
        self.ctx.require("planner", "editing the inventory")
        if self.results is not None and self.data.has_allocation:
            self.data.inventory = self._inventory_rows()

    def solve_now(self, k: int, inventory: dict):
        """Plan frame ``k`` with ``inventory`` (blocking; runs in a worker thread from the UI)."""
        from twin3d.mis.replan import Replanner

        if self.planner is None:
            self.planner = Replanner.from_results(self.results, self.ctx.city)
        return self.planner.solve(self.results, k, inventory)

    def optimise(self) -> None:
        """"Optimise now": plan the shown frame again with the HiGHS MILP and the edited
        inventory, in a worker thread when the server loop runs (else here and now)."""
        self.ctx.require("planner", "Optimise now")
        if self.results is None or not self.data.has_allocation or self.data.optimising:
            return
        from twin3d.errors import InputError

        k = int(self.ctx.frame or 0)
        try:
            inventory = self.inventory()
        except InputError as exc:
            self.data.error = str(exc)
            return
        self.data.optimising, self.data.error = True, ""
        self.data.optimise_status = "optimising…"
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # no server loop (logic tests)
            self._finish(k, *self._timed_solve(k, inventory))
            return
        from trame.app import asynchronous

        self._task = asynchronous.create_task(self._optimise_async(k, inventory))

    def _timed_solve(self, k: int, inventory: dict):
        from twin3d.errors import InputError

        started = time.perf_counter()
        try:
            return self.solve_now(k, inventory), None, time.perf_counter() - started
        except InputError as exc:
            return None, str(exc), time.perf_counter() - started

    async def _optimise_async(self, k: int, inventory: dict) -> None:
        results = self.results
        try:
            plan, error, wall_s = await asyncio.to_thread(self._timed_solve, k, inventory)
        except Exception as exc:  # a bug must not leave the button spinning
            log.exception("Optimise now failed")
            plan, error, wall_s = None, f"internal error: {exc}", 0.0
        with self.ctx.state:
            if results is self.results:
                self._finish(k, plan, error, wall_s)
            else:
                self.data.optimising = False

    def _finish(self, k: int, plan, error: str | None, wall_s: float) -> None:
        self.data.optimising = False
        if plan is None:
            self.data.error, self.data.optimise_status = error or "failed", ""
            return
        self.plan = plan
        deployed = sum(int(v) for c, v in plan.row().items() if c.endswith("_deployed"))
        self.data.optimise_status = (f"{STATUS_TEXT[int(plan.row()['status'])]}: {deployed} units deployed; "
                                     f"MILP {plan.solve_time_s * 1000:.0f} ms, {wall_s * 1000:.0f} ms in all "
                                     f"(frame {k})")
        if int(self.ctx.frame or 0) == k:
            self._show(plan.vector, plan.assignments, plan.reasons, "optimised now")
