"""The front's state for ``twin3d serve --multi-user``: sessions (wslink's launcher classes),
consultations and the relay's bookkeeping.  Its HTTP side is :mod:`.routes`.

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
import secrets
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web
from wslink.launcher import ProcessManager, ProxyMappingManagerTXT, SessionManager

from twin3d_server.launcher import pages
from twin3d_server.launcher.config import APPLICATION, READY_LINE
from twin3d_server.launcher.settings import SECRET_ENV

log = logging.getLogger(__name__)

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud in a meeting room
CODE_LENGTH = 8  # 40 bits
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
        self.sessions_per_user = max(int(extra.get("sessions_per_user", 2)), 1)
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
                self.end_consultation(code)
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
    def _who_may_launch(self, identity: Identity | None, mode: str, code: str):
        """``(user, role, None)`` for a launch that may go ahead, else ``(None, None, refusal)``."""
        def refuse(status: int, message: str):
            return None, None, web.json_response({"error": message}, status=status)

        consultation = self.consultations.get(code) if mode != "own" else None
        if mode != "own" and consultation is None:
            return refuse(404, "No consultation with this code.")
        if mode == "follow":
            return (identity.user if identity else "guest"), "viewer", None
        if identity is None:
            return refuse(401, "Sign in first.")
        if mode == "present":
            if not identity.may("planner") or (consultation.owner != identity.user and not identity.may("admin")):
                return refuse(403, "Only its planner presents a consultation.")
            self.reap()
            if consultation.presenter is not None:
                return refuse(409, "This consultation already has a presenter.")
        return identity.user, identity.role, None

    def _make_room_for(self, user: str) -> None:
        """A user has at most ``sessions_per_user`` sessions of their own: the oldest ones stop
        (a reloaded page leaves its old session behind; presenting and following do not count)."""
        mine = sorted((s for s in self.sessions.sessions.values() if s.get("user") == user and s.get("mode") == "own"),
                      key=lambda s: float(s.get("started", 0)))
        for session in mine[:max(len(mine) - self.sessions_per_user + 1, 0)]:
            self.sessions.deleteSession(session["id"])
            self.processes.stopProcess(session["id"])

    async def launch(self, identity: Identity | None, mode: str, code: str) -> web.Response:
        """Start a session process for ``identity`` (``mode``: own, present or follow ``code``)."""
        user, role, refusal = self._who_may_launch(identity, mode, code)
        if refusal is not None:
            return refusal
        if mode == "own":
            self._make_room_for(user)
        if self.free_slots() == 0:
            return web.json_response({"error": pages.FULL_MESSAGE}, status=503)
        options = {"application": APPLICATION, "role": role, "user": user, "mode": mode, "code": code,
                   "secret": secrets.token_urlsafe(32), "started": f"{time.time():.6f}"}
        session = self.sessions.createSession(options)
        if session is None:
            return web.json_response({"error": pages.FULL_MESSAGE}, status=503)
        if mode == "present":
            self.consultations[code].presenter = session["id"]
        if self.processes.startProcess(session) is None or not await self._wait_ready(session):
            self.sessions.deleteSession(session["id"])
            if session["id"] in self.processes.processes:
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

    def end_consultation(self, code: str) -> None:
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
            self.end_consultation(code)
        self.processes.stop_all()

    async def _reap_loop(self) -> None:
        while True:
            await asyncio.sleep(REAP_INTERVAL_S)
            self.reap()
