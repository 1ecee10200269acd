"""Export logic: the view as PNG, the current frame as GLB, the active results' KPIs as CSV.

Each export is a trigger the browser calls and saves with trame's ``utils.download``
(``ui/export.py``); the same functions are controllers for Python callers.  Exports show
what the session sees, so every role may use them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from trame_server.utils.typed_state import TypedState

MIME = {"png": "image/png", "glb": "model/gltf-binary", "csv": "text/csv"}


@dataclass
class ExportState:
    stem: str = "twin3d"  # file name stem: city, scenario, frame
    has_results: bool = False
    has_kpis: bool = False
    message: str = ""


def file_stem(city_name: str, scenario: str | None, frame: int | None) -> str:
    """A safe file-name stem such as ``riverside-river_flood_100y-frame007``."""
    parts = [city_name] + ([scenario] if scenario else []) + ([f"frame{frame:03d}"] if frame is not None else [])
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", "-".join(parts)).strip("_") or "twin3d"


class ExportLogic:
    """Controllers and triggers: ``export_screenshot`` (PNG bytes), ``export_glb`` (GLB bytes),
    ``export_kpis`` (CSV text)."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.typed = TypedState(ctx.state, ExportState)
        self.data = self.typed.data
        for name, method in (("export_screenshot", self.screenshot), ("export_glb", self.glb),
                             ("export_kpis", self.kpis)):
            setattr(ctx.ctrl, name, method)
            ctx.server.trigger(name)(method)
        ctx.on_results(self.on_results)
        ctx.on_frame(self.on_frame)
        self._update_stem()

    def _scenario(self) -> str | None:
        r = self.ctx.results
        if r is None:
            return None
        name = r.file.attrs.get("name", "")
        return (name.decode() if isinstance(name, bytes) else str(name)) or r.path.stem

    def _update_stem(self) -> None:
        self.data.stem = file_stem(self.ctx.city.name, self._scenario(), self.ctx.frame)

    def on_results(self, results) -> None:
        self.data.has_results = results is not None
        self.data.has_kpis = results is not None and len(results.file.get("kpi", {})) > 0
        self._update_stem()

    def on_frame(self, k: int) -> None:
        self._update_stem()

    def screenshot(self) -> bytes:
        """The view as PNG, rendered now at the view's size."""
        from twin3d.scene.export import screenshot_png

        return screenshot_png(self.ctx.scene.plotter)

    def glb(self) -> bytes:
        """The city and the water surface of the frame shown, as GLB."""
        from twin3d.scene.export import frame_glb

        return frame_glb(self.ctx.scene)

    def kpis(self) -> str:
        """Every KPI series of the active results as CSV (empty without results)."""
        from twin3d.scene.export import kpi_csv

        return kpi_csv(self.ctx.results) if self.ctx.results is not None else ""
