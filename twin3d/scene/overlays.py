"""Heat and plume overlays: a semi-transparent drape over the results grid, updated in place.

Like the water surface, each overlay is one StructuredGrid and one actor built when the
results are attached; a frame only rewrites its value array (and, for the plume, which cells
are blanked).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twin3d.model import Grid
from twin3d.scene.frames import HIDDEN_POINT


@dataclass(frozen=True)
class OverlayStyle:
    """How one field is drawn.

    ``lift`` (m) raises the drape above the simulated bed; cells below ``threshold`` (a share of
    the range above its low end) are blanked, ``None`` draws every cell.  ``default_range`` is
    used when the field carries no ``min``/``max`` attributes yet (a live run).  ``log_decades``
    draws ``log10`` of the field over that many decades below its maximum (plumes span orders of
    magnitude); values below are blanked.
    """

    field: str
    title: str
    units: str
    cmap: str
    default_range: tuple[float, float]
    opacity: float
    lift: float
    threshold: float | None = None
    log_decades: float | None = None


HEAT = OverlayStyle("temperature", "Air temperature", "°C", "inferno", (15.0, 45.0), 0.55, 2.0)
PLUME = OverlayStyle("concentration", "Plume concentration", "kg/m³", "cividis", (0.0, 1e-3), 0.6, 30.0,
                     log_decades=3.0)
OVERLAYS = {"heat": HEAT, "plume": PLUME}


def field_range(dataset, style: OverlayStyle) -> tuple[float, float]:
    """The fixed colour range of a results field: its ``min``/``max`` attributes (written when the
    run finished), else the style's default; for log overlays ``(log10(max) - decades, log10(max))``."""
    lo, hi = dataset.attrs.get("min"), dataset.attrs.get("max")
    if lo is None or hi is None or not (np.isfinite(lo) and np.isfinite(hi)) or hi <= lo:
        lo, hi = style.default_range
    if style.log_decades is not None:
        top = float(np.log10(max(float(hi), 1e-30)))
        return top - style.log_decades, top
    return float(lo), float(hi)


def overlay_labels(style: OverlayStyle, value_range: tuple[float, float], n: int = 5) -> list[str]:
    """Tick labels of an overlay's legend in the field's own units (log overlays: ``10**v``)."""
    from twin3d.scene.palettes import value_label

    values = np.linspace(value_range[0], value_range[1], n)
    return [value_label(10.0**v if style.log_decades is not None else v) for v in values]


class FieldOverlay:
    """One field of the results drawn as a drape over the grid.

    Parameters
    ----------
    grid : Grid
        The results grid.
    elevation : ndarray, shape (ny, nx)
        The simulated bed (m); the drape sits ``style.lift`` above it.
    origin : ndarray, shape (3,)
        The city origin meshes are shifted by.
    style : OverlayStyle
        Field name, colour map, range, opacity and lift.
    value_range : tuple of float
        The fixed colour range ``(lo, hi)``.
    """

    def __init__(self, grid: Grid, elevation: np.ndarray, origin: np.ndarray, style: OverlayStyle,
                 value_range: tuple[float, float]):
        import pyvista as pv

        self.style = style
        self.range = (float(value_range[0]), float(value_range[1]))
        bed = np.asarray(elevation, dtype=np.float64)
        bed = np.nan_to_num(bed, nan=float(np.nanmin(bed)) if np.isfinite(bed).any() else 0.0)
        x = (grid.x_centers() - float(origin[0])).astype(np.float32)
        y = (grid.y_centers() - float(origin[1])).astype(np.float32)
        xx, yy = np.meshgrid(x, y)
        self.surface = pv.StructuredGrid(xx, yy, (bed - float(origin[2]) + style.lift).astype(np.float32))
        self._order = np.arange(bed.size).reshape(bed.shape).ravel(order="F")
        self.surface.point_data["value"] = np.full(bed.size, self.range[0], dtype=np.float32)
        self.surface.point_data["vtkGhostType"] = np.full(bed.size, HIDDEN_POINT, dtype=np.uint8)
        self.value = self.surface.point_data["value"]
        self.ghosts = self.surface.point_data["vtkGhostType"]
        self.actor = None

    def update(self, values: np.ndarray) -> None:
        """Write a frame's field (ny, nx) into the existing arrays; NaN and, for thresholded
        overlays, values below the threshold are blanked."""
        v = np.asarray(values, dtype=np.float32).reshape(-1)[self._order]
        shown = np.isfinite(v)
        if self.style.log_decades is not None:
            with np.errstate(divide="ignore", invalid="ignore"):
                v = np.log10(np.where(shown & (v > 0), v, np.nan)).astype(np.float32)
            shown = np.isfinite(v) & (v >= self.range[0])
        if self.style.threshold is not None:
            lo, hi = self.range
            shown &= v > lo + self.style.threshold * (hi - lo)
        self.value[:] = np.where(shown, v, self.range[0])
        self.ghosts[:] = np.where(shown, 0, HIDDEN_POINT)
        for name in ("value", "vtkGhostType"):
            self.surface.GetPointData().GetArray(name).Modified()
        self.surface.Modified()

    def add_to(self, plotter, name: str):
        """Add the one semi-transparent actor (no scalar bar); returns it."""
        self.actor = plotter.add_mesh(self.surface, scalars="value", cmap=self.style.cmap, clim=self.range,
                                      opacity=self.style.opacity, name=name, show_scalar_bar=False,
                                      lighting=False, pickable=False)
        return self.actor
