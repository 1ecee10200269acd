"""Put the web front in front of a trame app (single process) or build it alone (launcher front).

API::

    from twin3d_server.web import install, make_web_app
    front = install(server, settings, ctx)     # before server.start(); ctx: the app's AppContext
    app = make_web_app(settings)               # aiohttp Application: login, logout, /api/ (launcher front)
    cap_websocket_messages(server)             # a launcher session process: only the message cap

``install`` hooks ``server.controller.on_server_bind``: when trame has created wslink's aiohttp
server it adds the middlewares, the login and API routes and the session endpoint, registers the
:class:`~twin3d_server.web.wsguard.SessionGuard` (per-session websocket secrets) and replaces the
shared wslink secret by a random one nobody is told.  With ``ctx`` given, ``ctx.options`` becomes a
:class:`SessionOptions`: its ``role`` and ``user`` are those of the websocket client whose message
is being handled, so every ``ctx.require(...)`` in the panels' logic checks the right person.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from pathlib import Path

from aiohttp import web

from twin3d_server.context import AppOptions
from twin3d_server.web.front import SESSION, SESSION_ENDPOINT, WS_PATH, WebFront, json_error


class NoUsers(RuntimeError):
    """Serving with authentication but no way to sign in (no users file, no trusted header)."""


class SessionOptions(AppOptions):
    """:class:`AppOptions` whose role and user follow the current websocket client.

    ``resolve()`` returns the current :class:`~twin3d_server.web.users.Identity` or None; with
    None (no client, or its session ended) the role is ``viewer`` and nothing can be edited.
    """

    def __init__(self, base: AppOptions, resolve):
        self.kiosk = base.kiosk
        self.client_render = base.client_render
        self._resolve = resolve

    @property
    def role(self) -> str:
        identity = self._resolve()
        return identity.role if identity is not None else "viewer"

    @role.setter
    def role(self, _value) -> None:
        raise AttributeError("the role comes from the session")

    @property
    def user(self) -> str:
        identity = self._resolve()
        return identity.user if identity is not None else ""

    @user.setter
    def user(self, _value) -> None:
        raise AttributeError("the user comes from the session")


def trame_inline_script_hashes() -> tuple[str, ...]:
    """CSP hashes of the inline scripts in trame's vue3 ``index.html`` (its loading splash)."""
    try:
        import trame_client.module.vue3 as vue3

        html = (Path(vue3.serve_path) / "index.html").read_text(encoding="utf-8")
    except (ImportError, AttributeError, OSError):
        try:
            import trame_client

            html = (Path(trame_client.__file__).parent / "module" / "vue3-www" / "index.html").read_text("utf-8")
        except OSError:
            return ()
    scripts = re.findall(r"<script>(.*?)</script>", html, flags=re.S)
    return tuple(base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() for s in scripts)


def _check_settings(settings) -> None:
    if not settings.users_file and not settings.trusted_header:
        raise NoUsers("no users file: set TWIN3D_USERS_FILE and add a user (twin3d users add NAME --role planner)")


def make_web_app(settings, *, api: bool = True) -> web.Application:
    """An aiohttp application with the login pages, the middlewares and (``api``) the REST API."""
    _check_settings(settings)
    front = WebFront(settings, trame_inline_script_hashes())
    app = front.make_app()
    if api:
        from twin3d_server.web.api import add_api_routes

        add_api_routes(app, front)
    return app


def install(server, settings=None, ctx=None, *, api: bool = True) -> WebFront:
    """Authenticate every request and websocket of a trame ``server``; call before ``server.start()``.

    Parameters
    ----------
    server : trame_server.Server
        The app's server (``build_app`` returned it).
    settings : WebSettings, optional
        Default: :func:`~twin3d_server.web.settings.load_web_settings`.
    ctx : AppContext, optional
        The app's context; its options then follow the role of the current websocket client.
    api : bool
        Also serve the REST API under ``/api/``.

    Returns
    -------
    WebFront
        The front (its ``sessions``, and ``guard`` for the websocket clients).
    """
    from twin3d_server.web.settings import load_web_settings
    from twin3d_server.web.wsguard import SessionGuard

    settings = settings or load_web_settings()
    _check_settings(settings)
    front = WebFront(settings, trame_inline_script_hashes())
    guard = SessionGuard(front.sessions, settings.ws_max_msg_bytes)
    front.guard = guard
    server.options["ws_max_msg_size"] = settings.ws_max_msg_bytes  # trame forwards it to wslink
    if ctx is not None:
        ctx.options = SessionOptions(ctx.options, guard.current_identity)

    def on_bind(webserver) -> None:
        protocol = server.protocol
        protocol.updateSecret(secrets.token_urlsafe(32))  # the shared secret: random, never told
        protocol.registerLinkProtocol(guard)
        guard.bind(webserver)
        app = webserver.app
        front.attach(app)
        app.router.add_post(SESSION_ENDPOINT, session_endpoint)
        app.router.add_post(SESSION_ENDPOINT.rstrip("/"), session_endpoint)
        if api:
            from twin3d_server.web.api import add_api_routes

            add_api_routes(app, front)

    server.controller.on_server_bind.add(on_bind)
    return front


def cap_websocket_messages(server, max_msg_bytes: int | None = None) -> None:
    """Cap a trame server's incoming websocket messages (frames and chunked messages) without the
    rest of the front: for the launcher's per-session processes, whose secret the launcher sets.
    Call before ``server.start()``; default cap: the ``ws_max_msg_bytes`` setting."""
    from twin3d_server.web.settings import load_web_settings
    from twin3d_server.web.wsguard import MessageCap

    cap = MessageCap(max_msg_bytes or load_web_settings().ws_max_msg_bytes)
    server.options["ws_max_msg_size"] = cap.max_msg_bytes

    def on_bind(webserver) -> None:
        server.protocol.registerLinkProtocol(cap)
        cap.bind(webserver)

    server.controller.on_server_bind.add(on_bind)


async def session_endpoint(request) -> web.Response:
    """What the trame client asks before it connects: the websocket URL and this session's secret."""
    session = request.get(SESSION)
    if session is None:
        raise json_error(401, "a browser session is needed (sign in)")
    return web.json_response({"sessionURL": f"ws://use_host{WS_PATH}", "secret": session.ws_secret,
                              "id": session.id[:8]})
