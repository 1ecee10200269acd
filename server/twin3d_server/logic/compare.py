"""Compare logic: a second scenario (B) beside the active one (A), one camera, one timeline,
and the difference view A - B; each view draws its scenario's strategy measures."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from trame_server.utils.typed_state import TypedState

from twin3d_server.logic.camera_watch import CameraWatch


@dataclass
class CompareState:
    enabled: bool = False
    scenario_b: str = ""  # a catalogue entry's value, or a key of results given to compare_with
    extra_choices: list[dict] = field(default_factory=list)  # {value, title}: results not in the catalogue
    difference: bool = False
    difference_available: bool = False  # the scene can show A - B
    title_a: str = ""
    title_b: str = ""
    frame_b: int = -1  # the frame of B on show (-1: none)
    measures_a: str = ""  # "1 barrier, 2 pumps"
    measures_b: str = ""


def scenario_title(results) -> str:
    """The scenario name a results file carries, else its file name."""
    if results is None:
        return ""
    name = results.file.attrs.get("name", "")
    name = name.decode() if isinstance(name, bytes) else str(name)
    return name or results.path.stem


def measures_text(n_barriers: int, n_pumps: int) -> str:
    """ "1 barrier, 2 pumps"; "" when there are none."""
    parts = [f"{n} {word}{'s' if n != 1 else ''}" for n, word in ((n_barriers, "barrier"), (n_pumps, "pump")) if n]
    return ", ".join(parts)


class CompareLogic:
    """Scene B (built at start so its view exists at layout time) follows scene A.

    Public: :meth:`compare_with` (turn compare on with a ``ResultsFile``), ``scene_b``.
    The UI sets ``ctrl.compare_view_update`` to B's view update.
    """

    def __init__(self, ctx):
        from twin3d.scene.city_scene import CityScene
        from twin3d.scene.compare import link_cameras
        from twin3d.scene.measures import StrategyMeasures

        self.ctx = ctx
        self.typed = TypedState(ctx.state, CompareState)
        self.data = self.typed.data
        try:  # vtk.js cannot run the water shader
            self.scene_b = CityScene(ctx.city, shader=not ctx.options.client_render)
        except TypeError:  # a scene without shader support
            self.scene_b = CityScene(ctx.city)
        link_cameras(ctx.scene, self.scene_b)
        self.measures_a = StrategyMeasures(ctx.scene)
        self.measures_b = StrategyMeasures(self.scene_b)
        self.results_b = None
        self._extra = {}  # key -> ResultsFile given to compare_with and not in the catalogue
        self._times_a = np.zeros(0)
        self._times_b = np.zeros(0)
        self.data.difference_available = hasattr(ctx.scene, "attach_difference")
        self.typed.bind_changes({self.typed.name.enabled: self.set_enabled,
                                 self.typed.name.scenario_b: self.select_b,
                                 self.typed.name.difference: self.set_difference})
        ctx.on_results(self.on_results)
        ctx.on_frame(self.on_frame)
        ctx.ctrl.view_update.add(self.render_b)  # every (coalesced) render of A renders B too
        self.camera_watch = CameraWatch(self.scene_b.plotter.camera, self._camera_moved)

    # --- A -----------------------------------------------------------------------------
    def on_results(self, results) -> None:
        """A new active scenario: its measures in A; B shown at A's first time."""
        self.measures_a.show(results)
        self.data.title_a = scenario_title(results)
        self.data.measures_a = measures_text(self.measures_a.n_barriers, self.measures_a.n_pumps)
        self._times_a = results.times() if results is not None else np.zeros(0)
        if self.data.difference:
            self._attach_difference()

    def on_frame(self, k: int) -> None:
        """The timeline shows A's frame ``k``: show B's frame at the same time."""
        if self.data.enabled:
            self._show_b_at(k)

    def _time_a(self, k: int) -> float:
        if k >= len(self._times_a) and self.ctx.results is not None:
            self._times_a = self.ctx.results.times()
        return float(self._times_a[k]) if 0 <= k < len(self._times_a) else 0.0

    # --- B -----------------------------------------------------------------------------
    def _results_for(self, key: str):
        if key in self._extra:
            return self._extra[key]
        catalog = self.ctx.panels.get("catalog")
        if catalog is None:
            return None
        lookup = getattr(catalog, "results_of", None)
        return lookup(key) if lookup is not None else getattr(catalog, "open", {}).get(key)

    def _catalog_key(self, results) -> str | None:
        catalog = self.ctx.panels.get("catalog")
        lookup = getattr(catalog, "key_of", None)
        if lookup is not None:
            return lookup(results)
        return next((k for k, other in getattr(catalog, "open", {}).items() if other is results), None)

    def _default_b(self) -> str:
        """The first catalogue scenario other than the active one."""
        catalog = self.ctx.panels.get("catalog")
        active = getattr(getattr(catalog, "data", None), "scenario_id", "")
        for entry in list(getattr(getattr(catalog, "data", None), "scenarios", [])) + list(self.data.extra_choices):
            if entry["value"] != active:
                return entry["value"]
        return ""

    def select_b(self, key) -> None:
        """Show the scenario ``key`` as B (catalogue value or a :meth:`compare_with` key)."""
        results = self._results_for(str(key or ""))
        if results is self.results_b:
            return
        self.results_b = results
        self.data.title_b = scenario_title(results)
        self.measures_b.show(results)
        self.data.measures_b = measures_text(self.measures_b.n_barriers, self.measures_b.n_pumps)
        self._times_b = results.times() if results is not None else np.zeros(0)
        self.scene_b.frame = None
        if results is not None:
            self.scene_b.attach_results(results, building_mode=self.ctx.scene.building_mode)
        if self.data.difference:
            self._attach_difference()
        if self.data.enabled:
            self._show_b_at(self.ctx.frame if self.ctx.frame is not None else 0)
            self.ctx.request_render()

    def _show_b_at(self, k: int) -> None:
        from twin3d.scene.compare import frame_at_time, mirror_display

        r = self.results_b
        if r is None:
            self.data.frame_b = -1
            return
        t = self._time_a(k)
        if not r.complete and (not len(self._times_b) or t > self._times_b[-1]):
            r.refresh()
            self._times_b = r.times()
        kb = frame_at_time(self._times_b, t)
        mirror_display(self.ctx.scene, self.scene_b)
        if kb is not None and (kb != self.scene_b.frame or self.scene_b.building_colours is None
                               or self.scene_b.building_colours.mode != self.ctx.scene.building_mode):
            self.scene_b.apply_frame(kb)
        self.data.frame_b = -1 if kb is None else int(kb)

    def compare_with(self, results_b) -> None:
        """Turn compare on with ``results_b`` (an open ``ResultsFile``) as B: the authoring
        panel calls this after a run, with the run's results."""
        key = self._catalog_key(results_b)
        if key is None:
            key = f"run:{results_b.path}"
            self._extra[key] = results_b
            title = scenario_title(results_b)
            if all(c["value"] != key for c in self.data.extra_choices):
                self.data.extra_choices = [*self.data.extra_choices, {"value": key, "title": title}]
        self.data.scenario_b = key
        self.select_b(key)
        self.data.enabled = True
        self.set_enabled(True)

    # --- modes -------------------------------------------------------------------------
    def set_enabled(self, enabled) -> None:
        """Compare on: B beside A, at A's time; off: B hidden and the difference view off."""
        if enabled:
            if self.results_b is None:
                key = self.data.scenario_b or self._default_b()
                self.data.scenario_b = key
                self.select_b(key)
            self._show_b_at(self.ctx.frame if self.ctx.frame is not None else 0)
        elif self.data.difference:
            self.data.difference = False
            self.set_difference(False)
        self.ctx.request_render()

    def set_difference(self, on) -> None:
        """Main view: depth A - B (needs compare on and a B); off: depth A."""
        if on and not self.data.enabled:
            self.data.enabled = True
            self.set_enabled(True)
        self._attach_difference()
        if self.ctx.frame is not None and self.ctx.results is not None:
            self.ctx.scene.apply_frame(self.ctx.frame)
        self.ctx.request_render()

    def _attach_difference(self) -> None:
        attach = getattr(self.ctx.scene, "attach_difference", None)
        if attach is None:
            self.data.difference = False
            return
        attach(self.results_b if self.data.difference and self.data.enabled else None)

    # --- rendering ---------------------------------------------------------------------
    def render_b(self) -> None:
        """Render B's view (with A's, through ``ctrl.view_update``) while compare is on."""
        if self.data.enabled and self.ctx.ctrl.compare_view_update.exists():
            self.scene_b.plotter.renderer.ResetCameraClippingRange()
            self.ctx.ctrl.compare_view_update()

    def _camera_moved(self) -> None:
        """The shared camera moved (an interaction on A's view): B follows."""
        with self.ctx.state:
            self.render_b()
