"""Layers & legend logic: which layers the scene draws, how buildings are coloured, and the
legend of everything coloured and visible (no layout here).

Changing layers is not editing: viewers (and kiosk sessions) may do it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from trame_server.utils.typed_state import TypedState

BUILDING_MODE_ITEMS = [{"title": "Use", "value": "use"}, {"title": "Flood depth", "value": "depth"},
                       {"title": "Damage", "value": "damage"}, {"title": "Status", "value": "status"}]


@dataclass
class LayersState:
    building_mode: str = "depth"  # asked for; the legend says what the buildings actually show
    building_modes: list[dict] = field(default_factory=lambda: [dict(i) for i in BUILDING_MODE_ITEMS])
    layers: list[dict] = field(default_factory=list)  # {"name", "title", "visible", "available"}
    visible_layers: list[str] = field(default_factory=list)  # the checked layers' names
    legend: list[dict] = field(default_factory=list)  # scene.legend() entries


class LayersLogic:
    """Binds the layer checkboxes, the building colour mode and the legend to the scene.

    The state follows the scene through ``scene.on_change`` (whichever panel changed it: the compare
    view's difference, the allocation panel's arrows, a shared link) and ``ctx.on_frame``.
    Controllers: ``layers_refresh`` (re-read layers and legend from the scene).
    """

    def __init__(self, ctx):
        self.ctx = ctx
        self.typed = TypedState(ctx.state, LayersState)
        self.data = self.typed.data
        self.data.building_mode = ctx.scene.building_mode
        self.typed.bind_changes({self.typed.name.building_mode: self.on_building_mode,
                                 self.typed.name.visible_layers: self.on_visible_layers})
        ctx.ctrl.layers_refresh = self.refresh
        ctx.on_results(self.on_results)
        ctx.on_frame(self.on_frame)
        if hasattr(ctx.scene, "on_change"):  # other panels (compare, allocation, links) change the scene too
            ctx.scene.on_change(self.refresh)
        self.refresh()

    @property
    def scene(self):
        return self.ctx.scene

    def refresh(self) -> None:
        """Copy the scene's layers, checked layers and legend into the state (only what changed)."""
        layers = self.scene.layers()
        visible = [layer["name"] for layer in layers if layer["visible"]]
        legend = self.scene.legend()
        if layers != self.data.layers:
            self.data.layers = layers
        if visible != list(self.data.visible_layers or []):
            self.data.visible_layers = visible
        if legend != self.data.legend:
            self.data.legend = legend

    def on_results(self, results) -> None:
        """A new active results file: its overlays (water, heat, plume, arrows) come and go.
        (The timeline attaches a results file to the scene; no results at all is detached here.)"""
        if results is None and self.scene.results is not None:
            self.scene.attach_results(None)
            self.ctx.request_render()
        self.refresh()

    def on_frame(self, k: int) -> None:
        """A frame was applied: what the legend lists may change (arrow kinds, modes with data)."""
        self.refresh()

    def on_building_mode(self, building_mode) -> None:
        """Recolour the buildings of the current frame in place."""
        mode = str(building_mode or "use")
        if mode == self.scene.building_mode and self.scene.colour_mode == mode:
            return
        self.scene.set_building_mode(mode)
        self.refresh()
        self.ctx.request_render()

    def on_visible_layers(self, visible_layers) -> None:
        """Show the checked layers and hide the others."""
        wanted = set(visible_layers or [])
        changed = False
        for layer in self.scene.layers():
            if (layer["name"] in wanted) != layer["visible"]:
                self.scene.set_layer_visible(layer["name"], layer["name"] in wanted)
                changed = True
        if changed:
            self.refresh()
            self.ctx.request_render()

    def set_layer_visible(self, name: str, visible: bool) -> None:
        """Check or uncheck one layer (as its checkbox does), in the scene at once and in the state."""
        self.scene.set_layer_visible(name, visible)
        self.refresh()
        self.ctx.request_render()

    def set_building_mode(self, mode: str) -> None:
        """Choose the building colour mode (as the select does), in the scene at once and in the state."""
        self.scene.set_building_mode(mode)
        self.data.building_mode = mode
        self.refresh()
        self.ctx.request_render()
