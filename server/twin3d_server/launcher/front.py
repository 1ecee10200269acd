"""The front process of ``twin3d serve --multi-user``: wslink's launcher, the pages, the relay.

Routes (all relative to the front's root):

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

Sessions, ports and processes are wslink's launcher classes (``SessionManager``,
``ResourceManager``, ``ProcessManager``) driven from the generated configuration; what goes into a
session's command line (role, user, mode, code) comes from the authenticated identity and the
server's consultations, never from the request body, and passes wslink's sanitize rules.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import inspect
import json
import logging
import os
import re
import secrets
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import WSMsgType, web
from wslink.launcher import ProcessManager, ProxyMappingManagerTXT, SessionManager

from twin3d_server.launcher import pages
from twin3d_server.launcher.broadcast import validate_view
from twin3d_server.launcher.config import APPLICATION, READY_LINE
from twin3d_server.launcher.settings import SECRET_ENV

log = logging.getLogger(__name__)

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud in a meeting room
CODE_LENGTH = 8  # 40 bits
MAX_BODY_BYTES = 64 * 1024
MAX_VIEW_BYTES = 16 * 1024
BROWSER_MSG_BYTES = 4 * 1024 * 1024  # browser -> session through the relay
REAP_INTERVAL_S = 2.0
STOP_GRACE_S = 5.0


@dataclass(frozen=True)
class Identity:
    """Who asks: a user name and a role (viewer, planner, admin)."""

    user: str
    role: str

    def may(self, role: str) -> bool:
        order = ("viewer", "planner", "admin")
        return self.role in order and order.index(self.role) >= order.index(role)


Authenticator = Callable[[web.Request], "Identity | None"]  # may also be a coroutine function


def local_planner(_request: web.Request) -> Identity:
    """Everyone is the local planner: for tests and a single-user machine only."""
    return Identity("local", "planner")


@dataclass
class Consultation:
    code: str
    owner: str
    expires: float
    presenter: str | None = None  # the presenter's session id
    view: dict | None = None  # the last view published
    followers: set = field(default_factory=set)  # the followers' relay websockets


class SessionProcesses(ProcessManager):
    """wslink's process manager, plus: the secret in the environment only, each session in its
    own process group, and an address-space cap (RLIMIT_AS) per process."""

    def __init__(self, config: dict):
        super().__init__(config)
        self.memory_mb = int(config.get("twin3d", {}).get("memory_mb", 0))

    def startProcess(self, session):  # noqa: N802 (wslink's name)
        env = dict(os.environ)
        env[SECRET_ENV] = session["secret"]
        log_path = self._getLogFilePath(session["id"])
        with log_path.open("a+", buffering=1, encoding="utf-8") as log_file:
            try:
                proc = subprocess.Popen(session["cmd"], stdout=log_file, stderr=subprocess.STDOUT, env=env,
                                        stdin=subprocess.DEVNULL, start_new_session=True, close_fds=True)
            except OSError as exc:
                log.error("the session command failed: %s", exc)
                return None
        if self.memory_mb > 0:
            import resource

            cap = self.memory_mb * 1024 * 1024
            with contextlib.suppress(OSError, ProcessLookupError):
                resource.prlimit(proc.pid, resource.RLIMIT_AS, (cap, cap))
        self.processes[session["id"]] = proc
        return proc

    def stop_all(self) -> None:
        procs = list(self.processes.values())
        for proc in procs:
            with contextlib.suppress(Exception):
                proc.terminate()
        deadline = time.monotonic() + STOP_GRACE_S
        for proc in procs:
            try:
                proc.wait(max(deadline - time.monotonic(), 0.01))
            except subprocess.TimeoutExpired:
                proc.kill()
        self.processes.clear()


def _bearer(request: web.Request) -> str:
    value = request.headers.get("Authorization", "")
    return value[7:].strip() if value.startswith("Bearer ") else ""


def _same(a: str, b: str) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(a.encode(), b.encode())


class LauncherFront:
    """The front's state: sessions (wslink's managers), consultations and the relay."""

    def __init__(self, config: dict, authenticate: Authenticator):
        self.config = config
        self.authenticate = authenticate
        extra = config.get("twin3d", {})
        self.consultation_s = float(extra.get("consultation_hours", 12.0)) * 3600
        self.max_consultations = 4 * int(extra.get("max_sessions", 8))
        self.start_timeout_s = float(config["configuration"]["timeout"])
        self.host_index = int(extra.get("host_index", 0))
        self.sessions = SessionManager(config, ProxyMappingManagerTXT(config["configuration"]["proxy_file"]))
        self.processes = SessionProcesses(config)
        self.consultations: dict[str, Consultation] = {}
        self._reaper = None

    # --- capacity ---------------------------------------------------------------------------
    def reap(self) -> None:
        """Free the slots of session processes that have exited (idle timeout, crash)."""
        for session_id in self.processes.listEndedProcess():
            self.sessions.deleteSession(session_id)
            self.processes.stopProcess(session_id)
        now = time.time()
        for code, c in list(self.consultations.items()):
            if c.expires < now:
                self._end(code)
            elif c.presenter is not None and self.sessions.getSession(c.presenter) is None:
                c.presenter = None

    def free_slots(self) -> int:
        self.reap()
        return sum(len(r["available"]) for r in self.sessions.resources.resources.values())

    def live_session(self, port: int) -> dict | None:
        for session in self.sessions.sessions.values():
            if int(session["port"]) == port:
                return session
        return None

    async def identity(self, request: web.Request) -> Identity | None:
        who = self.authenticate(request)
        if inspect.isawaitable(who):
            who = await who
        return who

    # --- sessions ---------------------------------------------------------------------------
    async def launch(self, identity: Identity | None, mode: str, code: str) -> web.Response:
        if mode == "follow":
            consultation = self.consultations.get(code)
            if consultation is None:
                return web.json_response({"error": "No consultation with this code."}, status=404)
            user, role = (identity.user if identity else "guest"), "viewer"
        else:
            if identity is None:
                return web.json_response({"error": "Sign in first."}, status=401)
            user, role = identity.user, identity.role
            if mode == "present":
                consultation = self.consultations.get(code)
                if consultation is None:
                    return web.json_response({"error": "No consultation with this code."}, status=404)
                if not identity.may("planner") or (consultation.owner != user and not identity.may("admin")):
                    return web.json_response({"error": "Only its planner presents a consultation."}, status=403)
                self.reap()
                if consultation.presenter is not None:
                    return web.json_response({"error": "This consultation already has a presenter."}, status=409)
        if self.free_slots() == 0:
            return web.json_response({"error": pages.FULL_MESSAGE}, status=503)
        options = {"application": APPLICATION, "role": role, "user": user, "mode": mode, "code": code,
                   "secret": secrets.token_urlsafe(32)}
        session = self.sessions.createSession(options)
        if session is None:
            return web.json_response({"error": pages.FULL_MESSAGE}, status=503)
        if mode == "present":
            self.consultations[code].presenter = session["id"]
        if self.processes.startProcess(session) is None:
            self.sessions.deleteSession(session["id"])
            return web.json_response({"error": "The session could not start."}, status=503)
        if not await self._wait_ready(session):
            self.sessions.deleteSession(session["id"])
            self.processes.stopProcess(session["id"])
            return web.json_response({"error": "The session did not start in time; try again."}, status=503)
        return web.json_response({"id": session["id"], "sessionURL": session["sessionURL"],
                                  "secret": session["secret"], "mode": mode, "code": code})

    async def _wait_ready(self, session: dict) -> bool:
        log_path = self.processes._getLogFilePath(session["id"])
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            proc = self.processes.processes.get(session["id"])
            if proc is None or proc.poll() is not None:
                return False
            with contextlib.suppress(OSError), log_path.open(encoding="utf-8", errors="replace") as fh:
                if READY_LINE in fh.read():
                    return True
            await asyncio.sleep(0.2)
        return False

    # --- consultations -----------------------------------------------------------------------
    def open_consultation(self, owner: str) -> Consultation | None:
        self.reap()
        if len(self.consultations) >= self.max_consultations:
            return None
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        consultation = Consultation(code, owner, time.time() + self.consultation_s)
        self.consultations[code] = consultation
        return consultation

    def _end(self, code: str) -> None:
        consultation = self.consultations.pop(code, None)
        if consultation is None:
            return
        for ws in list(consultation.followers):
            asyncio.ensure_future(ws.close(code=4404, message=b"consultation ended"))

    async def publish(self, code: str, token: str, view: dict) -> int:
        consultation = self.consultations.get(code)
        if consultation is None:
            return 404
        presenter = self.sessions.getSession(consultation.presenter) if consultation.presenter else None
        if presenter is None or not _same(token, presenter["secret"]):
            return 403
        consultation.view = view
        text = json.dumps(view)
        for ws in list(consultation.followers):
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.send_str(text)
        return 204

    def follower_allowed(self, code: str, token: str) -> bool:
        return any(s.get("mode") == "follow" and s.get("code") == code and _same(token, s["secret"])
                   for s in self.sessions.sessions.values())

    async def start(self, _app) -> None:
        self._reaper = asyncio.ensure_future(self._reap_loop())

    async def stop(self, _app) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
        for code in list(self.consultations):
            self._end(code)
        self.processes.stop_all()

    async def _reap_loop(self) -> None:
        while True:
            await asyncio.sleep(REAP_INTERVAL_S)
            self.reap()


# --- HTTP handlers -------------------------------------------------------------------------------
def _html(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html",
                        headers={"Cache-Control": "no-store"})


def _cross_site(request: web.Request) -> bool:
    """A state-changing request whose Origin is another site (cookies are SameSite; this is a second lock)."""
    from urllib.parse import urlsplit

    origin = request.headers.get("Origin")
    return origin is not None and urlsplit(origin).netloc != request.host


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


_CODE = re.compile(r"^[A-Za-z0-9]{4,16}$")


def _code(value) -> str | None:
    return value.upper() if isinstance(value, str) and _CODE.match(value) else None


def make_routes(front: LauncherFront, client_index: str, static_dirs: dict[str, str]) -> list:
    """The front's aiohttp routes (see the module docstring)."""

    async def landing(request):
        if front.free_slots() == 0:
            return _html(pages.full_page(), 503)
        who = await front.identity(request)
        return _html(pages.landing_page(who.user if who else None, bool(who and who.may("planner"))))

    async def app_index(request):
        if front.free_slots() == 0:
            return _html(pages.full_page(), 503)
        return _html(client_index)

    async def launch(request):
        if _cross_site(request):
            raise web.HTTPForbidden(text="cross-site request")
        body = await _json_body(request)
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(text="expected a JSON object")
        follow, present = _code(body.get("follow")), _code(body.get("present"))
        mode, code = ("follow", follow) if follow else ("present", present) if present else ("own", "")
        return await front.launch(await front.identity(request), mode, code)

    async def session_ws(request):
        index, _, port = request.match_info["key"].rpartition("-")
        if int(index or 0) != front.host_index:
            raise web.HTTPNotFound(text="a session of another launcher host")
        session = front.live_session(int(port))
        if session is None:
            raise web.HTTPNotFound(text="no such session")
        return await _relay_websocket(request, session)

    async def consultation_new(request):
        if _cross_site(request):
            raise web.HTTPForbidden(text="cross-site request")
        who = await front.identity(request)
        if who is None:
            raise web.HTTPUnauthorized(text="sign in first")
        if not who.may("planner"):
            raise web.HTTPForbidden(text="a consultation needs the planner role")
        consultation = front.open_consultation(who.user)
        if consultation is None:
            raise web.HTTPServiceUnavailable(text="too many consultations are open")
        if request.content_type == "application/x-www-form-urlencoded":
            return _html(pages.consultation_page(consultation.code), 201)
        return web.json_response({"code": consultation.code, "join_url": f"join/{consultation.code}",
                                  "presenter_url": f"app/?present={consultation.code}"}, status=201)

    async def consultation_end(request):
        if _cross_site(request):
            raise web.HTTPForbidden(text="cross-site request")
        who = await front.identity(request)
        code = _code(request.match_info["code"])
        consultation = front.consultations.get(code or "")
        if who is None:
            raise web.HTTPUnauthorized(text="sign in first")
        if consultation is None:
            raise web.HTTPNotFound(text="no such consultation")
        if consultation.owner != who.user and not who.may("admin"):
            raise web.HTTPForbidden(text="not your consultation")
        front._end(consultation.code)
        return web.Response(status=204)

    async def join(request):
        code = _code(request.match_info.get("code") or request.query.get("code"))
        if code is None or code not in front.consultations:
            return _html(pages.not_found_page("No consultation with this code."), 404)
        prefix = "../" if "code" in request.match_info else ""
        raise web.HTTPSeeOther(f"{prefix}app/?follow={code}")

    async def status(request):
        who = await front.identity(request)
        if who is None or not who.may("admin"):
            raise web.HTTPForbidden(text="admin only")
        free = front.free_slots()
        return web.json_response({"sessions": len(front.sessions.sessions), "free": free,
                                  "consultations": len(front.consultations)})

    async def app_slash(_request):
        raise web.HTTPFound("app/")

    routes = [web.get("/", landing), web.get("/app", app_slash),
              web.get("/app/", app_index), web.get("/app/index.html", app_index),
              web.post("/launcher/", launch), web.post("/launcher", launch),
              web.get(r"/session/{key:(?:\d{1,3}-)?\d{1,5}}/ws", session_ws),
              web.post("/consultations", consultation_new), web.delete("/consultations/{code}", consultation_end),
              web.get("/join", join), web.get("/join/{code}", join), web.get("/status", status)]
    for prefix in sorted(static_dirs, key=len, reverse=True):
        routes.append(web.static(f"/app/{prefix}", static_dirs[prefix]))
    return routes


def relay_routes(front: LauncherFront) -> list:
    """The relay's routes (served on the private unix socket only)."""

    async def relay_publish(request):
        code = _code(request.match_info["code"]) or ""
        try:
            view = validate_view(await _json_body(request, MAX_VIEW_BYTES))
        except ValueError as exc:
            raise web.HTTPBadRequest(text=str(exc)) from None
        status = await front.publish(code, _bearer(request), view)
        return web.Response(status=status)

    async def relay_subscribe(request):
        code = _code(request.match_info["code"]) or ""
        consultation = front.consultations.get(code)
        if consultation is None:
            raise web.HTTPNotFound(text="no such consultation")
        if not front.follower_allowed(code, _bearer(request)):
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

    return [web.post("/relay/{code}", relay_publish), web.get("/relay/{code}", relay_subscribe)]


async def _relay_websocket(request: web.Request, session: dict) -> web.WebSocketResponse:
    """Pump websocket messages between the browser and the session process, both ways."""
    import aiohttp

    browser = web.WebSocketResponse(max_msg_size=BROWSER_MSG_BYTES, heartbeat=30)
    await browser.prepare(request)
    url = f"ws://{session['host']}:{session['port']}/ws"
    async with aiohttp.ClientSession() as http:
        try:
            upstream = await http.ws_connect(url, max_msg_size=0, autoping=True)
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
    ``../launcher/``) and the static folders of every installed trame module, by URL prefix."""
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


def make_front_apps(config: dict, authenticate: Authenticator,
                    app: web.Application | None = None) -> tuple[web.Application, web.Application]:
    """The front as two aiohttp applications: the public one (pages, launcher, session relay; or
    ``app`` with these routes added, e.g. the web package's app with sign-in and security
    middlewares) and the relay, for the private unix socket."""
    front = LauncherFront(config, authenticate)
    index, static = trame_client()
    public = app if app is not None else web.Application(client_max_size=MAX_BODY_BYTES)
    public.add_routes(make_routes(front, index, {k: v for k, v in static.items() if k}))
    public.router.add_static("/app/", static[""])
    public.on_startup.append(front.start)
    public.on_shutdown.append(front.stop)
    public[FRONT_KEY] = front
    relay = web.Application(client_max_size=MAX_VIEW_BYTES)
    relay.add_routes(relay_routes(front))
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


FRONT_KEY = web.AppKey("twin3d_launcher_front", LauncherFront)
