"""The web front: who is asking (cookie session, bearer token or trusted proxy header), the login
and logout pages, limits and security headers, as aiohttp middlewares and routes.

API::

    front = WebFront(settings)                 # settings: twin3d_server.web.settings.WebSettings
    app = front.make_app()                     # a new aiohttp Application (H7's launcher front)
    front.attach(app)                          # or: add middlewares + routes to an existing app
    front.identity_of(request)                 # Identity | None, after the auth middleware ran

``attach`` must run before the app starts (aiohttp freezes middlewares on startup).
Unauthenticated requests get 401 (JSON), except page loads of ``/`` and ``/index.html``,
which are redirected to ``/login``.  Requests authenticated by cookie that change something
(POST, PUT, DELETE) must come from this origin (an ``Origin`` header naming another host
is refused with 403), on top of SameSite=Strict.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
from urllib.parse import quote, urlsplit

from aiohttp import web

from twin3d_server.web.pages import login_page
from twin3d_server.web.ratelimit import RateLimit, retry_after_header
from twin3d_server.web.sessions import COOKIE, SECURE_COOKIE, SessionStore
from twin3d_server.web.users import ROLES, Identity, verify_password, verify_token

FRONT_KEY = web.AppKey("twin3d_front", object)
IDENTITY = web.RequestKey("twin3d_identity", object)  # the Identity of the request
SESSION = web.RequestKey("twin3d_session", object)  # its browser Session, if any
PUBLIC = {("GET", "/login"), ("POST", "/login"), ("HEAD", "/login"), ("GET", "/favicon.ico")}
PAGES = {"/", "/index.html", "/app/"}  # and /join/<code>: browsers are sent to the login page
SLOW = {"/launcher/"}  # starting a session process may take longer than the request timeout
SESSION_ENDPOINT = "/paraview/"  # where the trame client asks for its sessionURL and secret
WS_PATH = "/ws"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
VERIFY_SLOTS = 2  # password checks at once


def json_error(status: int, message: str, **headers) -> web.HTTPException:
    """An HTTP error whose body is ``{"error": message}`` (one line)."""
    classes = {400: web.HTTPBadRequest, 401: web.HTTPUnauthorized, 403: web.HTTPForbidden,
               404: web.HTTPNotFound, 405: web.HTTPMethodNotAllowed, 409: web.HTTPConflict,
               413: web.HTTPRequestEntityTooLarge, 415: web.HTTPUnsupportedMediaType,
               429: web.HTTPTooManyRequests, 503: web.HTTPServiceUnavailable, 504: web.HTTPGatewayTimeout}
    body = json.dumps({"error": " ".join(str(message).split())})
    if status == 413:
        return web.HTTPRequestEntityTooLarge(max_size=0, actual_size=0, text=body, content_type="application/json",
                                             headers=headers)
    if status == 405:
        return web.HTTPMethodNotAllowed("", [], text=body, content_type="application/json", headers=headers)
    return classes[status](text=body, content_type="application/json", headers=headers)


def content_security_policy(script_hashes: tuple[str, ...] = ()) -> str:
    """The CSP header: same-origin everything, no framing.  trame's client compiles Vue templates at
    runtime (``'unsafe-eval'``) and Vuetify sets inline styles; its one inline script is allowed by hash."""
    scripts = " ".join(f"'sha256-{h}'" for h in script_hashes)
    return ("default-src 'self'; "
            f"script-src 'self' 'unsafe-eval' {scripts}".rstrip() + "; "
            "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; "
            "connect-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'self'; "
            "form-action 'self'; frame-ancestors 'none'")


def security_headers(csp: str) -> dict[str, str]:
    """Headers set on every response."""
    return {"Content-Security-Policy": csp, "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
            "Referrer-Policy": "same-origin", "Cross-Origin-Opener-Policy": "same-origin",
            "Permissions-Policy": "camera=(), microphone=(), geolocation=()"}


def _is_loopback(address: str | None) -> bool:
    try:
        return ipaddress.ip_address(address or "").is_loopback
    except ValueError:
        return False


class WebFront:
    """Authentication, limits and headers for one aiohttp application."""

    def __init__(self, settings, script_hashes: tuple[str, ...] = ()):
        self.settings = settings
        self.sessions = SessionStore(settings)
        self.user_limit = RateLimit(settings.login_attempts, settings.login_window_s)
        self.address_limit = RateLimit(settings.login_attempts, settings.login_window_s)
        self.headers = security_headers(content_security_policy(script_hashes))
        self._proxies = settings.proxy_networks()
        self._sweeper: asyncio.Task | None = None
        self._verify_slots: asyncio.Semaphore | None = None

    # --- wiring --------------------------------------------------------------------------
    def make_app(self) -> web.Application:
        """A new aiohttp application with this front's middlewares and login routes."""
        app = web.Application(client_max_size=self.settings.max_body_bytes)
        self.attach(app)
        return app

    def attach(self, app: web.Application) -> None:
        """Add the middlewares (outermost first), the login/logout routes and the headers signal."""
        app[FRONT_KEY] = self
        app.middlewares[0:0] = [self.limits_middleware, self.auth_middleware]
        app.on_response_prepare.append(self._add_headers)
        app.router.add_get("/login", self.login_form)
        app.router.add_post("/login", self.login_submit)
        app.router.add_post("/logout", self.logout)
        app.router.add_get("/logout", self.logout)
        app.on_startup.append(self._start_sweeper)
        app.on_cleanup.append(self._stop_sweeper)

    async def _start_sweeper(self, _app) -> None:
        async def sweep():
            while True:
                await asyncio.sleep(30)
                self.sessions.sweep()
                self.user_limit.forget_idle()
                self.address_limit.forget_idle()

        self._sweeper = asyncio.get_running_loop().create_task(sweep())

    async def _stop_sweeper(self, _app) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()

    async def _add_headers(self, request, response) -> None:
        for key, value in self.headers.items():
            response.headers.setdefault(key, value)
        if request.path.startswith("/api/") or request.path in ("/login", SESSION_ENDPOINT):
            response.headers.setdefault("Cache-Control", "no-store")

    # --- who is asking -----------------------------------------------------------------------
    def from_proxy(self, request) -> bool:
        """Whether the request comes straight from a configured reverse proxy."""
        try:
            address = ipaddress.ip_address(request.remote or "")
        except ValueError:
            return False
        return any(address in network for network in self._proxies)

    def client_address(self, request) -> str:
        """The client's address: the proxy's ``X-Forwarded-For`` (last hop) when from a trusted proxy."""
        if self.from_proxy(request):
            forwarded = [a.strip() for a in request.headers.get("X-Forwarded-For", "").split(",") if a.strip()]
            if forwarded:
                return forwarded[-1]
        return request.remote or ""

    def secure_transport(self, request) -> bool:
        """Whether the browser reached us over TLS (directly, or through a trusted proxy)."""
        if request.secure:
            return True
        return self.from_proxy(request) and request.headers.get("X-Forwarded-Proto", "").lower() == "https"

    def cookie_secure(self, request) -> bool:
        """Secure cookies always, except plain http on loopback with ``http_loopback`` set."""
        return not (self.settings.http_loopback and not self.secure_transport(request)
                    and _is_loopback(request.remote))

    def _cookie_name(self, request) -> str:
        return SECURE_COOKIE if self.cookie_secure(request) else COOKIE

    def header_identity(self, request) -> Identity | None:
        """The trusted-header identity (only with ``trusted_header`` on and from a trusted proxy)."""
        if not self.settings.trusted_header or not self.from_proxy(request):
            return None
        user = request.headers.get("X-Forwarded-User", "").strip()
        role = request.headers.get("X-Forwarded-Role", "viewer").strip().lower() or "viewer"
        if not user or role not in ROLES or len(user) > 128:
            return None
        return Identity(user, role, "header")

    def _bearer_identity(self, request) -> Identity | None:
        auth = request.headers.get("Authorization", "")
        if not auth.lower().startswith("bearer ") or not self.settings.users_file:
            return None
        return verify_token(self.settings.users_file, auth[7:].strip())

    def _session_of(self, request):
        return self.sessions.get(request.cookies.get(self._cookie_name(request)))

    @staticmethod
    def identity_of(request) -> Identity | None:
        """The identity the auth middleware found for ``request``."""
        return request.get(IDENTITY)

    def _set_cookie(self, request, response, session_id: str) -> None:
        response.set_cookie(self._cookie_name(request), session_id, path="/", httponly=True,
                            secure=self.cookie_secure(request), samesite="Strict")

    # --- middlewares ---------------------------------------------------------------------------
    @web.middleware
    async def limits_middleware(self, request, handler):
        """Body cap (413) and a timeout on every request except the websocket."""
        length = request.content_length
        if length is not None and length > self.settings.max_body_bytes:
            raise json_error(413, f"request body over {self.settings.max_body_bytes} bytes")
        if request.headers.get("Upgrade", "").lower() == "websocket" or request.path in SLOW:
            return await handler(request)
        try:
            async with asyncio.timeout(self.settings.request_timeout_s):
                return await handler(request)
        except TimeoutError:
            raise json_error(504, f"request took over {self.settings.request_timeout_s:g} s") from None

    @web.middleware
    async def auth_middleware(self, request, handler):
        """Find the identity; refuse anonymous requests (401) and cross-origin changes (403)."""
        if (request.method, request.path) in PUBLIC:
            return await handler(request)
        session, identity = None, self.header_identity(request)
        new_session = None
        if identity is not None:
            session = self._session_of(request)
            if session is not None and session.identity != identity:
                session = None
            if session is None and not request.path.startswith("/api/"):  # a browser: it needs a ws secret
                session = new_session = self.sessions.create(identity)
        else:
            identity = self._bearer_identity(request)
            if identity is None:
                session = self._session_of(request)
                identity = session.identity if session else None
        if identity is None:
            if request.method in ("GET", "HEAD") and (request.path in PAGES or request.path.startswith("/join/")):
                raise web.HTTPFound(f"/login?next={quote(request.path_qs, safe='')}")
            raise json_error(401, "not signed in", **{"WWW-Authenticate": 'Bearer realm="twin3d"'})
        if identity.via != "token" and request.method in UNSAFE and not self._same_origin(request):
            raise json_error(403, "cross-origin request refused")
        request[IDENTITY], request[SESSION] = identity, session
        response = await handler(request)
        if new_session is not None and not response.prepared:
            self._set_cookie(request, response, new_session.id)
        return response

    @staticmethod
    def _same_origin(request) -> bool:
        origin = request.headers.get("Origin")
        if origin is None:
            return True
        return urlsplit(origin).netloc == request.host

    # --- login ---------------------------------------------------------------------------------------
    @staticmethod
    def _next(value: str | None) -> str:
        value = value or "/"
        return value if value.startswith("/") and not value.startswith("//") and "\\" not in value else "/"

    async def login_form(self, request) -> web.Response:
        return web.Response(text=login_page(self._next(request.query.get("next"))), content_type="text/html")

    async def login_submit(self, request) -> web.Response:
        """Check the form; 429 with Retry-After past the per-user or per-address limit."""
        if not self._same_origin(request):
            raise json_error(403, "cross-origin request refused")
        form = await request.post()
        user, password = str(form.get("username", ""))[:128], str(form.get("password", ""))[:1024]
        next_path = self._next(str(form.get("next", "/")))
        wait = max(self.user_limit.retry_after(user.lower()), self.address_limit.retry_after(self.client_address(request)))
        if wait > 0:
            return web.Response(status=429, text=login_page(next_path, user, "Too many sign-in attempts; try later."),
                                content_type="text/html", headers={"Retry-After": retry_after_header(wait)})
        self.user_limit.hit(user.lower())
        self.address_limit.hit(self.client_address(request))
        identity = None
        if self.settings.users_file:
            if self._verify_slots is None:
                self._verify_slots = asyncio.Semaphore(VERIFY_SLOTS)
            async with self._verify_slots:  # argon2 takes 64 MiB and ~0.1-0.7 s a check: a few at a time
                identity = await asyncio.to_thread(verify_password, self.settings.users_file, user, password)
        if identity is None:
            return web.Response(status=401, text=login_page(next_path, user, "Wrong user name or password."),
                                content_type="text/html")
        old = self._session_of(request)
        if old is not None:
            self.sessions.end(old.id)
        session = self.sessions.create(identity)
        response = web.HTTPSeeOther(next_path)
        self._set_cookie(request, response, session.id)
        raise response

    async def logout(self, request) -> web.Response:
        session = request.get(SESSION)
        if session is not None:
            self.sessions.end(session.id)
        response = web.HTTPSeeOther("/login")
        response.del_cookie(self._cookie_name(request), path="/")
        raise response
