"""Authoring a strategy: draw barriers, place pumps and close roads on the 3D view, then save
a scenario that ``extends`` the shown one, run it in the background and compare it with it.

While a measure is being drawn, clicks on the main view are consumed here (``ctx.on_click``)
and their points (city CRS) go into the draft.  The draft is drawn by one actor made once,
whose polydata is replaced in place.  Saving writes ``<user scenarios>/<name>.toml`` with
``extends = "<absolute path of the shown scenario>"`` and the measures under
``[[strategy.barriers]]``, ``[[strategy.pumps]]`` and ``[[strategy.road_closures]]``,
validates it with :func:`twin3d.scenario.spec.load_scenario`, and hands it to the catalogue.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from trame_server.utils.typed_state import TypedState

from twin3d.errors import InputError

MODES = {"barrier": "Barrier", "pump": "Pump", "road": "Road closure"}
MIN_POINTS = {"barrier": 2, "pump": 1, "road": 2}
SKETCH_COLOUR = (204, 121, 167)  # Okabe-Ito reddish purple: unlike water, ground and buildings
SKETCH_LIFT_M = 1.5  # the sketch floats this far above the ground
STRATEGY_KEYS = {"barrier": "barriers", "pump": "pumps", "road": "road_closures"}


@dataclass
class AuthoringState:
    mode: str = ""  # "", "barrier", "pump", "road": what clicks on the view add to
    points: list[list[float]] = field(default_factory=list)  # the measure being drawn, city CRS
    measures: list[dict] = field(default_factory=list)  # finished measures: {kind, title, ...}
    crest_mode: str = "height"  # "height": crest_height_m above the ground; "level": crest_level_m
    crest_height_m: float = 1.5
    crest_level_m: float = 50.5
    pump_rate_m3s: float = 0.5
    scenario_name: str = ""
    message: str = ""  # the last outcome ("Saved ...", or an error)
    error: bool = False
    saved_path: str = ""
    new_key: str = ""  # the catalogue entry of the authored scenario
    base_key: str = ""  # the catalogue entry it was compared with


def user_scenarios_dir() -> Path:
    """Where authored scenarios are written: ``<cache_dir>/scenarios`` (never the package)."""
    from twin3d.config import load_settings

    folder = Path(load_settings().cache_dir) / "scenarios"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def slug(name: str) -> str:
    """A file-name-safe form of a scenario name."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60] or "strategy"


def measure_table(measure: dict) -> tuple[str, dict]:
    """A drafted measure as its ``[strategy.<key>]`` array name and TOML table (city CRS)."""
    kind = measure["kind"]
    points = [[round(float(x), 2), round(float(y), 2)] for x, y, *_ in measure["points"]]
    table: dict = {"label": measure["title"]}
    if kind == "barrier":
        table["line"] = points
        if measure.get("crest_mode") == "level":
            table["crest_m"] = float(measure["crest_level_m"])
        else:
            table["height_m"] = float(measure["crest_height_m"])
    elif kind == "pump":
        table["point"] = points[-1]
        table["rate_m3s"] = float(measure["rate_m3s"])
    else:
        table["line"] = points
    return STRATEGY_KEYS[kind], table


def strategy_toml(base: Path, name: str, measures: list[dict], description: str = "") -> str:
    """The text of a scenario that extends ``base`` with ``measures``.  ``extends`` replaces
    arrays whole, so the base's own measures of each kind are carried over first."""
    import tomli_w

    from twin3d.scenario.spec import load_raw

    inherited = load_raw(base).get("strategy", {})
    strategy: dict = {}
    for measure in measures:
        key, table = measure_table(measure)
        strategy.setdefault(key, list(inherited.get(key, []))).append(table)
    doc = {"extends": str(base.resolve()), "name": name}
    if description:
        doc["description"] = description
    doc["strategy"] = strategy
    return tomli_w.dumps(doc)


class AuthoringLogic:
    """The authoring panel's logic (planner only).

    Controllers: ``authoring_draw_barrier``, ``authoring_place_pump``, ``authoring_close_road``,
    ``authoring_undo_point``, ``authoring_clear``, ``authoring_save_run``.
    """

    def __init__(self, ctx):
        self.ctx = ctx
        self.typed = TypedState(ctx.state, AuthoringState)
        self.data = self.typed.data
        self.sketch = None
        self.actor = self._make_sketch_actor()
        ctx.ctrl.authoring_draw_barrier = self.draw_barrier
        ctx.ctrl.authoring_place_pump = self.place_pump
        ctx.ctrl.authoring_close_road = self.close_road
        ctx.ctrl.authoring_undo_point = self.undo_point
        ctx.ctrl.authoring_clear = self.clear
        ctx.ctrl.authoring_save_run = self.save_and_run
        ctx.on_click(self.on_click)

    # --- drawing ---------------------------------------------------------------------------
    def _start(self, mode: str) -> None:
        self.ctx.require("planner", f"Drawing a {MODES[mode].lower()}")
        self._finish_measure()
        self.data.mode = mode
        self.data.points = []
        self.data.message, self.data.error = f"{MODES[mode]}: click on the view", False
        self._redraw()

    def draw_barrier(self) -> None:
        """Start a barrier: each click on the view adds a point of its crest line."""
        self._start("barrier")

    def place_pump(self) -> None:
        """Start a pump: a click on the view places it (a second click moves it)."""
        self._start("pump")

    def close_road(self) -> None:
        """Start a road closure: each click adds a point along the road."""
        self._start("road")

    def on_click(self, pick) -> bool:
        """A click on the main view: while drawing, its point joins the draft (consumed)."""
        if not self.data.mode or not self.ctx.allowed("planner"):
            return False
        if pick.point is None:
            return True  # background: nothing to add, but no one else should act on it either
        x, y, z = (float(v) for v in pick.point)
        point = [round(x, 2), round(y, 2), round(z, 2)]
        self.data.points = [point] if self.data.mode == "pump" else [*self.data.points, point]
        self._redraw()
        return True

    def undo_point(self) -> None:
        """Remove the last point of the measure being drawn (or the last finished measure)."""
        self.ctx.require("planner", "Editing a strategy")
        if self.data.points:
            self.data.points = self.data.points[:-1]
        elif self.data.measures:
            self.data.measures = self.data.measures[:-1]
        self._redraw()

    def clear(self) -> None:
        """Drop the draft: every measure and the one being drawn."""
        self.ctx.require("planner", "Editing a strategy")
        self.data.mode, self.data.points, self.data.measures = "", [], []
        self.data.message, self.data.error = "", False
        self._redraw()

    def _finish_measure(self) -> None:
        """Move the measure being drawn into the finished ones (when it has enough points)."""
        mode, points = self.data.mode, list(self.data.points)
        if mode and len(points) >= MIN_POINTS[mode]:
            n = 1 + sum(m["kind"] == mode for m in self.data.measures)
            measure = {"kind": mode, "title": f"{MODES[mode].lower()} {n}", "points": points}
            if mode == "barrier":
                measure.update(crest_mode=self.data.crest_mode, crest_height_m=float(self.data.crest_height_m),
                               crest_level_m=float(self.data.crest_level_m))
            elif mode == "pump":
                measure["rate_m3s"] = float(self.data.pump_rate_m3s)
            self.data.measures = [*self.data.measures, measure]
        self.data.mode, self.data.points = "", []

    # --- the sketch in the scene ---------------------------------------------------------------
    def _make_sketch_actor(self):
        """One actor for the whole draft, made once; :meth:`_redraw` replaces its polydata in place."""
        import pyvista as pv
        from vtkmodules.vtkRenderingCore import vtkActor, vtkPolyDataMapper

        self.sketch = pv.PolyData()
        mapper = vtkPolyDataMapper()
        mapper.SetInputData(self.sketch)
        actor = vtkActor()
        actor.SetMapper(mapper)
        prop = actor.GetProperty()
        prop.SetColor(*(c / 255.0 for c in SKETCH_COLOUR))
        prop.SetLineWidth(5)
        prop.SetPointSize(12)
        prop.SetRenderPointsAsSpheres(True)
        prop.SetRenderLinesAsTubes(True)
        actor.SetVisibility(False)
        self.ctx.scene.plotter.add_actor(actor, name="authoring", reset_camera=False, pickable=False,
                                         render=False)
        return actor

    def sketch_polydata(self):
        """The draft as polydata in scene coordinates: a vertex per point, a polyline per line."""
        import pyvista as pv

        from twin3d.scene.measures import ground_elevation

        city = self.ctx.city
        drafts = [*self.data.measures, {"kind": self.data.mode, "points": self.data.points}]
        points, lines, verts = [], [], []
        for measure in drafts:
            xy = np.asarray([p[:2] for p in measure["points"]], dtype=np.float64).reshape(-1, 2)
            if not len(xy):
                continue
            base = sum(len(p) for p in points)
            points.append(np.column_stack([xy, ground_elevation(city, xy) + SKETCH_LIFT_M]))
            verts.extend([1, base + i] for i in range(len(xy)))
            if measure["kind"] != "pump" and len(xy) >= 2:
                lines.append([len(xy), *range(base, base + len(xy))])
        if not points:
            return pv.PolyData()
        poly = pv.PolyData((np.vstack(points) - city.origin).astype(np.float32))
        poly.verts = np.concatenate([np.asarray(v) for v in verts])
        if lines:
            poly.lines = np.concatenate([np.asarray(line) for line in lines])
        return poly

    def _redraw(self) -> None:
        self.sketch.copy_from(self.sketch_polydata(), deep=True)
        self.sketch.Modified()
        self.actor.SetVisibility(bool(self.sketch.n_points))
        self.ctx.request_render()

    # --- saving -------------------------------------------------------------------------------
    def _base_scenario(self, folder: Path) -> Path:
        """The scenario file the shown results were run from; for a results file given as is,
        its resolved scenario written next to the new one."""
        results = self.ctx.results
        if results is None:
            raise InputError(folder, "no scenario is shown: pick one to extend")
        catalog = self.ctx.panels.get("catalog")
        source = catalog.scenario_of(results) if catalog is not None else None
        if source is not None:
            return Path(source).resolve()
        text = results.file.attrs.get("scenario", "")
        text = text.decode() if isinstance(text, bytes) else str(text)
        if not text:
            raise InputError(results.path, "the results do not carry their scenario")
        base = folder / f"{results.path.stem}-base.toml"
        base.write_text(text)
        return base

    def save_and_run(self) -> str | None:
        """Write the draft as a scenario extending the shown one, validate it, add it to the
        catalogue and run it; when it completes it is compared with the shown results.
        Returns the new scenario's path (``None`` and a message when it was refused)."""
        self.ctx.require("planner", "Saving a strategy")
        self._finish_measure()
        name = str(self.data.scenario_name or "").strip()
        try:
            path = self._write(name)
        except InputError as exc:
            self._say(str(exc), error=True)
            self._redraw()
            return None
        self._run(path)
        self._redraw()
        return str(path)

    def _write(self, name: str) -> Path:
        from twin3d.scenario.schema import SpecError
        from twin3d.scenario.spec import check_points_inside, load_scenario

        folder = user_scenarios_dir()
        if not self.data.measures:
            raise InputError(folder, "no measures yet: draw a barrier, place a pump or close a road")
        if not name:
            raise InputError(folder, "give the scenario a name")
        base = self._base_scenario(folder)
        path = folder / f"{slug(name)}.toml"
        if path.exists():
            path = folder / f"{slug(name)}-{dt.datetime.now():%Y%m%d-%H%M%S}.toml"
        n = len(self.data.measures)
        description = f"{n} measure{'s' if n != 1 else ''} drawn by {self.ctx.options.user} on {base.stem}"
        path.write_text(strategy_toml(base, name, self.data.measures, description))
        try:
            scenario = load_scenario(path)
            check_points_inside({"strategy": scenario.spec.get("strategy", {})}, self.ctx.results.grid.bounds)
        except InputError as exc:
            path.unlink(missing_ok=True)
            raise InputError(path, exc.reason) from None
        except SpecError as exc:
            path.unlink(missing_ok=True)
            raise InputError(path, str(exc)) from None
        return path

    def _run(self, path: Path) -> None:
        catalog = self.ctx.panels["catalog"]
        baseline = self.ctx.results
        self.data.base_key = catalog.key_of(baseline) or ""
        self.data.new_key = catalog.add_scenario(path, select=True, on_complete=self._compare)
        self.data.saved_path = str(path)
        self.data.measures = []
        self._say(f"Saved {path.name}; running it in the background")

    def _compare(self, results) -> None:
        """The authored run is complete: show it (A) against the baseline (B)."""
        catalog = self.ctx.panels["catalog"]
        baseline = catalog.results_of(self.data.base_key) if self.data.base_key else None
        if results is not self.ctx.results:
            catalog.select(self.data.new_key)
        compare = self.ctx.panels.get("compare")
        if baseline is not None and hasattr(compare, "compare_with"):
            compare.compare_with(baseline)
        self._say(f"{Path(self.data.saved_path).name} complete: compared with the baseline")

    def _say(self, message: str, error: bool = False) -> None:
        self.data.message, self.data.error = message.splitlines()[0] if message else "", error
