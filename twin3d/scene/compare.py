"""Two scenes of one city side by side: one camera, frames matched by time, same display.

Scene B follows scene A: :func:`link_cameras` makes B's renderer use A's very camera
object, :func:`frame_at_time` picks B's frame shown at A's time, and :func:`mirror_display`
copies which layers are visible and how buildings are coloured.
"""

from __future__ import annotations

import numpy as np

TIME_TOLERANCE_S = 1e-6


def link_cameras(scene_a, scene_b) -> None:
    """Make ``scene_b`` render through ``scene_a``'s camera: moving one moves both."""
    scene_b.plotter.renderer.camera = scene_a.plotter.renderer.camera


def frame_at_time(times_s: np.ndarray, t_s: float) -> int | None:
    """The frame to show at time ``t_s``: the last one at or before it (the first frame before
    the run starts, the last after it ends); ``None`` when there are no frames.

    Examples
    --------
    >>> frame_at_time(np.array([0.0, 600.0, 1200.0]), 900.0)
    1
    """
    times_s = np.asarray(times_s, dtype=np.float64)
    if not len(times_s):
        return None
    k = int(np.searchsorted(times_s, float(t_s) + TIME_TOLERANCE_S, side="right")) - 1
    return int(np.clip(k, 0, len(times_s) - 1))


def mirror_display(scene_a, scene_b) -> None:
    """Show in ``scene_b`` the layers shown in ``scene_a`` and colour its buildings the same way
    (the colours change with B's next frame)."""
    if hasattr(scene_a, "layers") and hasattr(scene_b, "set_layer_visible"):
        names_b = {layer["name"] for layer in scene_b.layers()}
        for layer in scene_a.layers():
            if layer["name"] in names_b:
                scene_b.set_layer_visible(layer["name"], layer["visible"])
    else:
        for name, actor in scene_a.actors.items():
            other = scene_b.actors.get(name)
            if other is not None:
                other.SetVisibility(actor.GetVisibility())
    scene_b.building_mode = scene_a.building_mode
