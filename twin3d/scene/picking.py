"""Server-side picking: what is under a pixel of the rendered view."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Pick:
    """What a pixel shows: the actor's name, the building index (buildings only), and the
    picked point in the city CRS (``None`` when the pixel shows background)."""

    actor: str | None
    building: int | None
    point: np.ndarray | None  # (3,) float64, city CRS

    def as_dict(self) -> dict:
        return {"actor": self.actor, "building": self.building,
                "point": None if self.point is None else [float(v) for v in self.point]}


def pick_at(scene, x: float, y: float) -> Pick:
    """Pick at display pixel (``x``, ``y``), origin lower-left as VTK counts, on the scene's
    first renderer: the nearest cell of any pickable actor."""
    from vtkmodules.vtkRenderingCore import vtkCellPicker

    picker = vtkCellPicker()
    picker.SetTolerance(0.0005)
    renderer = scene.plotter.renderer
    if not picker.Pick(float(x), float(y), 0.0, renderer):
        return Pick(None, None, None)
    actor = picker.GetActor()
    name = next((n for n, a in scene.actors.items() if a is actor), None)
    point = np.array(picker.GetPickPosition(), dtype=np.float64) + scene.city.origin
    building = None
    if name == "buildings" and picker.GetCellId() >= 0:
        building = int(scene.buildings_poly.cell_data["feature"][picker.GetCellId()])
    return Pick(name, building, point)
