"""Hear about camera moves: interactions on a remote view change the server's camera without
going through the app, so panels that depend on the view watch the camera itself."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

WATCH_INTERVAL_S = 0.1  # at most ten reactions a second while the camera moves


def camera_pose(camera) -> tuple:
    """What a viewer sees change: position, focal point, view up, zoom (mm precision)."""
    values = (*camera.GetPosition(), *camera.GetFocalPoint(), *camera.GetViewUp(), camera.GetViewAngle(),
              camera.GetParallelScale(), camera.GetParallelProjection())
    return tuple(round(float(v), 3) for v in values)


class CameraWatch:
    """Calls ``callback()`` once the camera's pose changed, at most every ``interval_s``
    (right away when no event loop runs, as in logic tests).  Clipping-range updates during a
    render do not count, so a render triggered by the callback cannot trigger it again."""

    def __init__(self, camera, callback: Callable[[], None], interval_s: float = WATCH_INTERVAL_S):
        self.camera = camera
        self.callback = callback
        self.interval_s = interval_s
        self._seen = camera_pose(camera)
        self._pending = False
        camera.AddObserver("ModifiedEvent", self._on_modified)

    def _on_modified(self, *_args) -> None:
        if self._pending or camera_pose(self.camera) == self._seen:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._fire()
            return
        self._pending = True
        loop.call_later(self.interval_s, self._fire)

    def _fire(self) -> None:
        self._pending = False
        pose = camera_pose(self.camera)
        if pose != self._seen:
            self._seen = pose
            self.callback()
