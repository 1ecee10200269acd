"""What every panel shares: the server, the scene, the active results, the viewer's role,
and the hooks through which panels hear about a new results file or a new frame.

Panels never call each other.  The catalogue sets the active results with
:meth:`AppContext.set_results`; the timeline announces the frame it has applied with
:meth:`AppContext.frame_changed`; every panel that shows something per frame subscribes with
:meth:`AppContext.on_frame`.  Renders go through :meth:`AppContext.request_render`, which
coalesces them to at most one per ``RENDER_INTERVAL_S``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

RENDER_INTERVAL_S = 1 / 30
CLICK_SLOP_PX = 3  # a press and release further apart than this is a camera drag, not a click
ROLES = ("viewer", "planner", "admin")  # each may do what the ones before it may


class NotAllowed(PermissionError):
    """An action the session's role (or kiosk mode) does not allow."""


@dataclass
class AppOptions:
    """How the app was started."""

    kiosk: bool = False
    client_render: bool = False
    role: str = "planner"  # the serving layer narrows this per session
    user: str = "local"


@dataclass
class AppContext:
    server: object
    scene: object  # twin3d.scene.city_scene.CityScene
    options: AppOptions = field(default_factory=AppOptions)
    results: object | None = None  # the active ResultsFile
    frame: int | None = None  # the frame the scene shows
    _results_listeners: list[Callable] = field(default_factory=list)
    _frame_listeners: list[Callable] = field(default_factory=list)
    _click_listeners: list[Callable] = field(default_factory=list)
    _click_observers: list[Callable] = field(default_factory=list)
    panels: dict = field(default_factory=dict)  # the panels' logic objects by name
    _pressed_at: tuple[float, float] | None = None
    _last_render: float = 0.0
    _render_pending: bool = False

    @property
    def state(self):
        return self.server.state

    @property
    def ctrl(self):
        return self.server.controller

    @property
    def city(self):
        return self.scene.city

    # --- roles -------------------------------------------------------------------------
    def allowed(self, role: str) -> bool:
        """Whether this session may act as ``role`` (kiosk sessions are viewers)."""
        mine = "viewer" if self.options.kiosk else self.options.role
        return ROLES.index(mine) >= ROLES.index(role)

    def require(self, role: str, action: str) -> None:
        """Raise :class:`NotAllowed` unless this session may act as ``role``."""
        if not self.allowed(role):
            raise NotAllowed(f"{action} needs the {role} role")

    # --- hooks -------------------------------------------------------------------------
    def on_results(self, callback: Callable) -> None:
        """``callback(results)`` whenever the active results change (``None``: none)."""
        self._results_listeners.append(callback)

    def on_frame(self, callback: Callable) -> None:
        """``callback(k)`` after the scene has applied frame ``k`` of the active results."""
        self._frame_listeners.append(callback)

    def on_click(self, callback: Callable, observe: bool = False) -> None:
        """``callback(pick) -> bool`` for a click on the main view (a ``twin3d.scene.picking.Pick``);
        listeners are asked in the order they registered, and the first returning True consumes it.
        ``observe``: hear every click first, never consuming it (the coordinate readout)."""
        if observe:
            self._click_observers.append(callback)
        else:
            self._click_listeners.append(callback)

    def press(self, event: dict | None) -> None:
        """A vtk.js ``LeftButtonPress`` on the main view: remember where (a click or a drag?)."""
        self._pressed_at = _position(event)

    def release(self, event: dict | None) -> None:
        """A vtk.js ``LeftButtonRelease``: a click (not a camera drag) when it is within
        ``CLICK_SLOP_PX`` of the press; pick once, then dispatch."""
        pressed, self._pressed_at = self._pressed_at, None
        released = _position(event)
        if pressed is None or released is None or max(abs(a - b) for a, b in zip(pressed, released)) > CLICK_SLOP_PX:
            return
        self.click(event)

    def click(self, event: dict | None) -> None:
        """A click at the event's position: pick once, then dispatch to the listeners."""
        from twin3d.scene.picking import pick_at

        position = _position(event)
        if position is None:
            return
        pick = pick_at(self.scene, *position)
        for callback in self._click_observers:
            callback(pick)
        for callback in self._click_listeners:
            if callback(pick):
                break

    def set_results(self, results) -> None:
        self.results = results
        self.frame = None
        for callback in self._results_listeners:
            callback(results)

    def frame_changed(self, k: int) -> None:
        self.frame = k
        for callback in self._frame_listeners:
            callback(k)

    # --- rendering -----------------------------------------------------------------------
    def request_render(self) -> None:
        """Render once, after the handler that asked returns: every request made while one is
        pending (all the panels reacting to one tick) shares that render, and renders are at
        least ``RENDER_INTERVAL_S`` apart."""
        if self._render_pending:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (tests without a server): render now
            self._render()
            return
        self._render_pending = True
        loop.call_later(max(0.0, self._last_render + RENDER_INTERVAL_S - time.monotonic()), self._render)

    def _render(self) -> None:
        self._render_pending = False
        self._last_render = time.monotonic()
        if self.ctrl.view_update.exists():
            self.ctrl.view_update()


def _position(event: dict | None) -> tuple[float, float] | None:
    """The display position of a vtk.js interactor event: CSS pixels of the view from its
    lower-left corner, which is what the server's render window counts (its size follows the
    canvas's CSS size, whatever the devicePixelRatio)."""
    position = (event or {}).get("position") or {}
    if "x" not in position or "y" not in position:
        return None
    return float(position["x"]), float(position["y"])
