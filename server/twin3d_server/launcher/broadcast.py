"""Consultation broadcast: a presenter's scenario, time and camera, mirrored one way to followers.

The presenter's process publishes ``{scenario_id, time_index, camera}`` to the front's relay
(``POST /relay/<code>`` on the front's private unix socket, authenticated by the presenter's own
session secret).  Each follower is a process of its own (a kiosk, so a viewer) that subscribes to
``/relay/<code>`` (a websocket, authenticated by the follower's session secret) and applies what it receives to its own state.
Nothing flows back: a follower's clients can move only their own process, and the relay accepts
publishes only from the presenter's secret.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math

log = logging.getLogger(__name__)

PUBLISH_INTERVAL_S = 0.1  # at most ten updates a second reach the relay
RECONNECT_S = (0.5, 1, 2, 5)
CAMERA_KEYS = ("position", "focal_point", "view_up")


def relay_client(relay: str, code: str, **session_options):
    """An aiohttp client session and the URL of consultation ``code`` on the relay (``unix:<socket>``
    for the front's private socket, or an http URL)."""
    import aiohttp

    if relay.startswith("unix:"):
        connector = aiohttp.UnixConnector(path=relay[len("unix:"):])
        return aiohttp.ClientSession(connector=connector, **session_options), f"http://twin3d-relay/relay/{code}"
    return aiohttp.ClientSession(**session_options), f"{relay.rstrip('/')}/{code}"


# --- the mirrored view ----------------------------------------------------------------------
def view_of(ctx) -> dict:
    """What followers mirror: the active scenario, the frame and the camera."""
    camera = ctx.scene.plotter.camera
    return {
        "scenario_id": str(ctx.panels["catalog"].data.scenario_id or ""),
        "time_index": int(ctx.panels["timeline"].data.time_index or 0),
        "camera": {"position": [float(v) for v in camera.position],
                   "focal_point": [float(v) for v in camera.focal_point],
                   "view_up": [float(v) for v in camera.up],
                   "view_angle": float(camera.view_angle)},
    }


def validate_view(view) -> dict:
    """``view`` checked and normalised (raises ValueError): what a relay accepts and a follower applies."""
    if not isinstance(view, dict):
        raise ValueError("a view is a JSON object")
    scenario_id = view.get("scenario_id", "")
    if not isinstance(scenario_id, str) or len(scenario_id) > 64:
        raise ValueError("scenario_id must be a short string")
    time_index = view.get("time_index", 0)
    if isinstance(time_index, bool) or not isinstance(time_index, int) or not 0 <= time_index < 10**7:
        raise ValueError("time_index must be a non-negative integer")
    camera = view.get("camera") or {}
    if not isinstance(camera, dict):
        raise ValueError("camera must be an object")
    clean = {}
    for key in CAMERA_KEYS:
        value = camera.get(key)
        if value is None:
            continue
        if (not isinstance(value, list) or len(value) != 3
                or not all(isinstance(v, int | float) and math.isfinite(v) for v in value)):
            raise ValueError(f"camera.{key} must be three finite numbers")
        clean[key] = [float(v) for v in value]
    angle = camera.get("view_angle")
    if angle is not None:
        if not isinstance(angle, int | float) or not 1.0 <= angle <= 179.0:
            raise ValueError("camera.view_angle must be in degrees, 1 to 179")
        clean["view_angle"] = float(angle)
    return {"scenario_id": scenario_id, "time_index": time_index, "camera": clean}


def apply_view(ctx, view: dict) -> None:
    """Show ``view`` (validated) in this process: scenario first, then the frame, then the camera."""
    catalog, timeline = ctx.panels["catalog"].data, ctx.panels["timeline"].data
    known = {s["value"] for s in catalog.scenarios}
    if view["scenario_id"] in known and view["scenario_id"] != catalog.scenario_id:
        with ctx.state:  # its own flush: selecting results resets the frame to 0
            catalog.scenario_id = view["scenario_id"]
    with ctx.state:
        timeline.time_index = int(view["time_index"])
    camera = ctx.scene.plotter.camera
    cam = view.get("camera") or {}
    if "position" in cam:
        camera.position = cam["position"]
    if "focal_point" in cam:
        camera.focal_point = cam["focal_point"]
    if "view_up" in cam:
        camera.up = cam["view_up"]
    if "view_angle" in cam:
        camera.view_angle = cam["view_angle"]
    if cam:
        ctx.scene.plotter.renderer.ResetCameraClippingRange()
    ctx.request_render()


# --- presenter ------------------------------------------------------------------------------
class Presenter:
    """Publishes this session's view to the relay whenever the scenario, frame or camera changes
    (coalesced to one POST per ``PUBLISH_INTERVAL_S``, and only when the view differs)."""

    def __init__(self, ctx, relay_url: str, code: str, secret: str):
        self.ctx = ctx
        self.relay, self.code = relay_url, code
        self.url = None
        self._headers = {"Authorization": f"Bearer {secret}"}
        self._last_sent = None
        self._task = None
        self._http = None
        self.published = 0
        catalog, timeline = ctx.panels["catalog"].typed.name, ctx.panels["timeline"].typed.name
        ctx.state.change(catalog.scenario_id, timeline.time_index)(self.changed)
        ctx.scene.plotter.camera.AddObserver("ModifiedEvent", lambda *_: self.changed())
        ctx.ctrl.on_server_ready.add(lambda **_: self.changed())

    def changed(self, **_) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # no server loop (logic tests): nothing to publish to
            return
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._publish_soon())

    async def _publish_soon(self) -> None:
        await asyncio.sleep(PUBLISH_INTERVAL_S)
        view = view_of(self.ctx)
        if view == self._last_sent:
            return
        import aiohttp

        if self._http is None:
            self._http, self.url = relay_client(self.relay, self.code, timeout=aiohttp.ClientTimeout(total=5))
        try:
            async with self._http.post(self.url, json=view, headers=self._headers) as response:
                if response.status == 204:
                    self._last_sent = view
                    self.published += 1
                else:
                    log.warning("relay refused the view: HTTP %s", response.status)
        except (TimeoutError, aiohttp.ClientError) as exc:
            log.warning("relay unreachable: %s", exc)


def attach_presenter(ctx, relay_url: str, code: str, secret: str) -> Presenter:
    """Make this session the presenter of consultation ``code``: its view goes to the relay."""
    return Presenter(ctx, relay_url, code, secret)


# --- follower -------------------------------------------------------------------------------
class Follower:
    """Subscribes to the relay and applies every view it receives; sends nothing back."""

    def __init__(self, ctx, relay_url: str, code: str, secret: str):
        self.ctx = ctx
        self.relay, self.code = relay_url, code
        self._headers = {"Authorization": f"Bearer {secret}"}
        self.received = 0
        self._task = None
        ctx.ctrl.on_server_ready.add(self.start)

    def start(self, **_) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(self._follow())

    async def _follow(self) -> None:
        import aiohttp

        attempt = 0
        http, url = relay_client(self.relay, self.code)
        async with http:
            while True:
                try:
                    async with http.ws_connect(url, headers=self._headers, heartbeat=30,
                                               max_msg_size=64 * 1024) as ws:
                        attempt = 0
                        async for message in ws:
                            if message.type == aiohttp.WSMsgType.TEXT:
                                self.receive(message.data)
                    if ws.close_code == 4404:  # the consultation has ended
                        return
                except (TimeoutError, aiohttp.ClientError) as exc:
                    log.warning("relay unreachable: %s", exc)
                await asyncio.sleep(RECONNECT_S[min(attempt, len(RECONNECT_S) - 1)])
                attempt += 1

    def receive(self, text: str) -> None:
        try:
            view = validate_view(json.loads(text))
        except (ValueError, json.JSONDecodeError) as exc:
            log.warning("ignored a malformed view from the relay: %s", exc)
            return
        self.received += 1
        apply_view(self.ctx, view)


def attach_follower(ctx, relay_url: str, code: str, secret: str) -> Follower:
    """Make this (kiosk) session follow consultation ``code``."""
    return Follower(ctx, relay_url, code, secret)
