"""The front's HTTP side: the public application and the relay's (see :mod:`.front` for the state).

Public routes (all relative to the front's root):

``GET /``                    landing page (503 "full" page when every session slot is taken)
``GET /app/``                trame's client in launcher mode (it POSTs ``launcher/`` for its session)
``POST /launcher/``          start a session process for the signed-in user: ``{id, sessionURL, secret}``
                             (503 JSON with the "full" message when no slot is free)
``GET /session/{port}/ws``   websocket relay to a live session's port (when no proxy routes it)
``POST /consultations``      a planner opens a consultation: a join code
``DELETE /consultations/{code}``  its owner ends it
``GET /join/{code}``         a follower screen's link (also ``GET /join?code=``)
``GET /status``              sessions in use (admin)

and, on a second listener (a unix socket in the private run directory, for session processes only):

``POST /relay/{code}``       the presenter's process publishes its view (Bearer: its session secret)
``GET /relay/{code}``        a follower's process subscribes (websocket; Bearer: its session secret)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import WSMsgType, web

from twin3d_server.launcher import pages
from twin3d_server.launcher.broadcast import validate_view
from twin3d_server.launcher.config import APPLICATION
from twin3d_server.launcher.front import Authenticator, LauncherFront

MAX_BODY_BYTES = 64 * 1024
MAX_VIEW_BYTES = 16 * 1024
BROWSER_MSG_BYTES = 4 * 1024 * 1024  # one websocket frame, browser -> session through the relay
_CODE = re.compile(r"^[A-Za-z0-9]{4,16}$")


def _html(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html", headers={"Cache-Control": "no-store"})


def _cross_site(request: web.Request) -> bool:
    """A state-changing request whose Origin is another site (cookies are SameSite; this is a second lock)."""
    origin = request.headers.get("Origin")
    return origin is not None and urlsplit(origin).netloc != request.host


def _refuse_cross_site(request: web.Request) -> None:
    if _cross_site(request):
        raise web.HTTPForbidden(text="cross-site request")


async def _json_body(request: web.Request, limit: int = MAX_BODY_BYTES):
    raw = await request.content.read(limit + 1)
    if len(raw) > limit:
        raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=len(raw))
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise web.HTTPBadRequest(text="malformed JSON") from None


def _code(value) -> str | None:
    return value.upper() if isinstance(value, str) and _CODE.match(value) else None


def _bearer(request: web.Request) -> str:
    value = request.headers.get("Authorization", "")
    return value[7:].strip() if value.startswith("Bearer ") else ""


class PublicRoutes:
    """Pages, the launcher, the session websocket relay and consultations."""

    def __init__(self, front: LauncherFront, client_index: str, static_dirs: dict[str, str]):
        self.front = front
        self.client_index = client_index
        self.static_dirs = static_dirs

    def routes(self) -> list:
        routes = [web.get("/", self.landing), web.get("/app", self.app_slash),
                  web.get("/app/", self.app_index), web.get("/app/index.html", self.app_index),
                  web.post("/launcher/", self.launch), web.post("/launcher", self.launch),
                  web.get(r"/session/{key:(?:\d{1,3}-)?\d{1,5}}/ws", self.session_ws),
                  web.post("/consultations", self.consultation_new),
                  web.delete("/consultations/{code}", self.consultation_end),
                  web.get("/join", self.join), web.get("/join/{code}", self.join), web.get("/status", self.status)]
        for prefix in sorted(self.static_dirs, key=len, reverse=True):
            routes.append(web.static(f"/app/{prefix}", self.static_dirs[prefix]))
        return routes

    async def landing(self, request):
        if self.front.free_slots() == 0:
            return _html(pages.full_page(), 503)
        who = await self.front.identity(request)
        return _html(pages.landing_page(who.user if who else None, bool(who and who.may("planner"))))

    async def app_slash(self, _request):
        raise web.HTTPFound("app/")

    async def app_index(self, _request):
        if self.front.free_slots() == 0:
            return _html(pages.full_page(), 503)
        return _html(self.client_index)

    async def launch(self, request):
        _refuse_cross_site(request)
        body = await _json_body(request)
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(text="expected a JSON object")
        follow, present = _code(body.get("follow")), _code(body.get("present"))
        mode, code = ("follow", follow) if follow else ("present", present) if present else ("own", "")
        return await self.front.launch(await self.front.identity(request), mode, code)

    async def session_ws(self, request):
        index, _, port = request.match_info["key"].rpartition("-")
        if int(index or 0) != self.front.host_index:
            raise web.HTTPNotFound(text="a session of another launcher host")
        session = self.front.live_session(int(port))
        if session is None:
            raise web.HTTPNotFound(text="no such session")
        return await relay_websocket(request, session)

    async def consultation_new(self, request):
        _refuse_cross_site(request)
        who = await self.front.identity(request)
        if who is None:
            raise web.HTTPUnauthorized(text="sign in first")
        if not who.may("planner"):
            raise web.HTTPForbidden(text="a consultation needs the planner role")
        consultation = self.front.open_consultation(who.user)
        if consultation is None:
            raise web.HTTPServiceUnavailable(text="too many consultations are open")
        if request.content_type == "application/x-www-form-urlencoded":
            return _html(pages.consultation_page(consultation.code), 201)
        return web.json_response({"code": consultation.code, "join_url": f"join/{consultation.code}",
                                  "presenter_url": f"app/?present={consultation.code}"}, status=201)

    async def consultation_end(self, request):
        _refuse_cross_site(request)
        who = await self.front.identity(request)
        consultation = self.front.consultations.get(_code(request.match_info["code"]) or "")
        if who is None:
            raise web.HTTPUnauthorized(text="sign in first")
        if consultation is None:
            raise web.HTTPNotFound(text="no such consultation")
        if consultation.owner != who.user and not who.may("admin"):
            raise web.HTTPForbidden(text="not your consultation")
        self.front.end_consultation(consultation.code)
        return web.Response(status=204)

    async def join(self, request):
        code = _code(request.match_info.get("code") or request.query.get("code"))
        if code is None or code not in self.front.consultations:
            return _html(pages.not_found_page("No consultation with this code."), 404)
        prefix = "../" if "code" in request.match_info else ""
        raise web.HTTPSeeOther(f"{prefix}app/?follow={code}")

    async def status(self, request):
        who = await self.front.identity(request)
        if who is None or not who.may("admin"):
            raise web.HTTPForbidden(text="admin only")
        free = self.front.free_slots()
        return web.json_response({"sessions": len(self.front.sessions.sessions), "free": free,
                                  "consultations": len(self.front.consultations)})


class RelayRoutes:
    """The presenter-to-followers relay (served on the private unix socket only)."""

    def __init__(self, front: LauncherFront):
        self.front = front

    def routes(self) -> list:
        return [web.post("/relay/{code}", self.publish), web.get("/relay/{code}", self.subscribe)]

    async def publish(self, request):
        code = _code(request.match_info["code"]) or ""
        try:
            view = validate_view(await _json_body(request, MAX_VIEW_BYTES))
        except ValueError as exc:
            raise web.HTTPBadRequest(text=str(exc)) from None
        return web.Response(status=await self.front.publish(code, _bearer(request), view))

    async def subscribe(self, request):
        code = _code(request.match_info["code"]) or ""
        consultation = self.front.consultations.get(code)
        if consultation is None:
            raise web.HTTPNotFound(text="no such consultation")
        if not self.front.follower_allowed(code, _bearer(request)):
            raise web.HTTPForbidden(text="only this consultation's follower sessions subscribe")
        ws = web.WebSocketResponse(heartbeat=30, max_msg_size=1024)
        await ws.prepare(request)
        consultation.followers.add(ws)
        try:
            if consultation.view is not None:
                await ws.send_str(json.dumps(consultation.view))
            async for _ in ws:  # read-only: whatever a follower sends is dropped
                pass
        finally:
            consultation.followers.discard(ws)
        return ws


async def relay_websocket(request: web.Request, session: dict) -> web.WebSocketResponse:
    """Pump websocket messages between the browser and the session process, both ways."""
    import aiohttp

    browser = web.WebSocketResponse(max_msg_size=BROWSER_MSG_BYTES, heartbeat=30)
    await browser.prepare(request)
    async with aiohttp.ClientSession() as http:
        try:
            upstream = await http.ws_connect(f"ws://{session['host']}:{session['port']}/ws", max_msg_size=0)
        except aiohttp.ClientError:
            await browser.close(code=1011, message=b"session unreachable")
            return browser

        async def pump(source, sink):
            async for message in source:
                if message.type == WSMsgType.BINARY:
                    await sink.send_bytes(message.data)
                elif message.type == WSMsgType.TEXT:
                    await sink.send_str(message.data)
                elif message.type in (WSMsgType.CLOSE, WSMsgType.ERROR):
                    break

        tasks = [asyncio.ensure_future(pump(browser, upstream)), asyncio.ensure_future(pump(upstream, browser))]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            task.cancel()
        await upstream.close()
        await browser.close()
    return browser


def trame_client(application: str = APPLICATION) -> tuple[str, dict[str, str]]:
    """trame's browser client in launcher mode: the index page (its session manager is
    ``../launcher/``) and the static folders of every installed trame module, by URL prefix
    (``""``: the client's own folder)."""
    from trame.tools.www import StaticContentGenerator

    generator = StaticContentGenerator()
    generator.enable_all()
    www = Path(generator.www)
    index = (www / "index.html").read_text(encoding="utf-8")
    index, n = re.subn(r'<html lang="en"[^>]*>',
                       f'<html lang="en" data-app-name="{application}" data-launcher-retry="[]" '
                       'data-session-manager-url="../launcher/">', index, count=1)
    if n != 1:
        raise RuntimeError(f"unexpected trame client page: {www / 'index.html'}")
    static = {str(prefix): str(path) for prefix, path in generator.serve.items()}
    static[""] = str(www)
    return index, static


FRONT_KEY = web.AppKey("twin3d_launcher_front", LauncherFront)


def make_front_apps(config: dict, authenticate: Authenticator,
                    app: web.Application | None = None) -> tuple[web.Application, web.Application]:
    """The front as two aiohttp applications: the public one (pages, launcher, session relay; or
    ``app`` with these routes added, e.g. the web package's app with sign-in and security
    middlewares) and the relay, for the private unix socket."""
    front = LauncherFront(config, authenticate)
    index, static = trame_client()
    public = app if app is not None else web.Application(client_max_size=MAX_BODY_BYTES)
    public.add_routes(PublicRoutes(front, index, {k: v for k, v in static.items() if k}).routes())
    public.router.add_static("/app/", static[""])
    public.on_startup.append(front.start)
    public.on_shutdown.append(front.stop)
    public[FRONT_KEY] = front
    relay = web.Application(client_max_size=MAX_VIEW_BYTES)
    relay.add_routes(RelayRoutes(front).routes())
    return public, relay


async def run_front(public: web.Application, relay: web.Application, host: str, port: int,
                    relay_socket: str) -> None:
    """Serve ``public`` on ``host:port`` and ``relay`` on the unix socket (0600) until cancelled."""
    runners = [web.AppRunner(public, access_log=None), web.AppRunner(relay, access_log=None)]
    for runner in runners:
        await runner.setup()
    try:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(relay_socket)
        await web.UnixSite(runners[1], relay_socket).start()
        os.chmod(relay_socket, 0o600)
        await web.TCPSite(runners[0], host, port).start()
        await asyncio.Event().wait()
    finally:
        for runner in reversed(runners):
            await runner.cleanup()
