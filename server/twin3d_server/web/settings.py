"""Settings of the serving layer (authentication, limits, the data root).

They resolve like :func:`twin3d.config.load_settings`: built-in defaults, then top-level keys
of ``twin3d.toml`` (or the file named by ``TWIN3D_CONFIG``), then ``TWIN3D_<FIELD>``
environment variables (``TWIN3D_USERS_FILE``, ``TWIN3D_DATA_ROOT``, ...).  There is no
default user and no default secret: with no users file and trusted headers off, nobody can
log in.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, fields, replace
from pathlib import Path

_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class WebSettings:
    """How the web front authenticates and what it accepts.

    Attributes
    ----------
    users_file : str
        TOML file of users and machine tokens (``twin3d users add ...`` writes it).
    data_root : str
        The only folder the REST API reads files from (default: the ``data_dir`` setting).
    http_loopback : bool
        Drop the cookies' Secure flag for plain-http clients on the loopback address only
        (local development); every other client always gets Secure cookies.
    session_idle_s, session_max_s : int
        A session ends after this long without a request or websocket message, and after
        this long in any case.
    login_attempts, login_window_s : int
        At most ``login_attempts`` logins per user and per client address in ``login_window_s``.
    trusted_header : bool
        Take the user from ``X-Forwarded-User`` / ``X-Forwarded-Role`` (a reverse proxy with
        single sign-on); only from ``trusted_proxies``.  Off by default.
    trusted_proxies : str
        Comma-separated addresses or networks of the reverse proxies.
    max_body_bytes : int
        Largest request body (uploads included); larger bodies get 413.
    ws_max_msg_bytes : int
        Largest websocket message from a client (wslink's default is 4 MiB, trame's 10 MB).
    request_timeout_s : float
        Every HTTP request (not the websocket) is cancelled after this long (504).
    max_jobs : int
        Scenario runs started through the API that may run at once.
    """

    users_file: str = ""
    data_root: str = ""
    http_loopback: bool = False
    session_idle_s: int = 1800
    session_max_s: int = 12 * 3600
    login_attempts: int = 5
    login_window_s: int = 60
    trusted_header: bool = False
    trusted_proxies: str = ""
    max_body_bytes: int = 4 * 1024 * 1024
    ws_max_msg_bytes: int = 256 * 1024
    request_timeout_s: float = 30.0
    max_jobs: int = 1

    def data_root_path(self) -> Path:
        """The data root as an absolute, resolved path."""
        if self.data_root:
            return Path(self.data_root).expanduser().resolve()
        from twin3d.config import load_settings

        return Path(load_settings().data_dir).expanduser().resolve()

    def proxy_networks(self) -> list:
        """``trusted_proxies`` parsed into ``ipaddress`` networks."""
        return [ipaddress.ip_network(p.strip(), strict=False) for p in self.trusted_proxies.split(",") if p.strip()]

    def with_(self, **changes) -> WebSettings:
        """A copy with some fields changed."""
        return replace(self, **changes)


def _convert(kind, value):
    if kind in ("bool", bool):
        return value if isinstance(value, bool) else str(value).strip().lower() in _TRUE
    if kind in ("int", int):
        return int(value)
    if kind in ("float", float):
        return float(value)
    return str(value)


def load_web_settings(environ: dict[str, str] | None = None) -> WebSettings:
    """Resolve :class:`WebSettings` from defaults, ``twin3d.toml`` and ``TWIN3D_*`` variables.

    Examples
    --------
    >>> load_web_settings({"TWIN3D_CONFIG": "/nonexistent", "TWIN3D_LOGIN_ATTEMPTS": "3"}).login_attempts
    3
    """
    from twin3d.config import given_settings

    known = {f.name: f.type for f in fields(WebSettings)}
    values = given_settings(known, environ)
    return WebSettings(**{k: _convert(known[k], v) for k, v in values.items() if k in known})
