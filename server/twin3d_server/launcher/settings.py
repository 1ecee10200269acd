"""What the multi-user launcher is allowed to do: read from settings, never from the browser.

Values resolve like every twin3d setting: built-in defaults, then a ``[launcher]`` table in
``twin3d.toml`` (or the file named by ``TWIN3D_CONFIG``), then ``TWIN3D_LAUNCHER_<FIELD>``
environment variables, then explicit keyword overrides (the CLI's flags).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from twin3d.errors import InputError

SECRET_ENV = "TWIN3D_SESSION_SECRET"  # how a session process receives its secret (never argv, never a file)


@dataclass(frozen=True)
class LauncherSettings:
    """Limits and addresses of one launcher host.

    Attributes
    ----------
    host, port : where the front process (launcher, pages, relay) listens.
    max_sessions : at most this many app processes at once; one more browser gets the "full" page.
    first_port : session processes listen on ``first_port .. first_port + max_sessions - 1`` (loopback).
    session_host : the interface session processes bind (loopback unless a proxy on another host routes to them).
    idle_timeout_s : a session process exits this long after its last client left (wslink ``--timeout``).
    start_timeout_s : a session that is not ready by then is stopped and the browser gets a 503.
    sessions_per_user : a user's own sessions at most; starting one more stops their oldest.
    memory_mb : address-space cap (RLIMIT_AS) of each session process, in MiB; 0 for none.
    run_dir : where the generated launcher configuration and session logs go ("" = a new private temp dir).
    consultation_hours : a join code expires this long after it was created.
    client_render : sessions render in the browser with vtk.js (small cities, weak servers).
    host_index : this launcher host's place behind a shared proxy (0: the only or first host); session
        websocket paths of host ``i > 0`` are ``/session/<i>-<port>/ws``.
    """

    host: str = "127.0.0.1"
    port: int = 8080
    max_sessions: int = 8
    first_port: int = 9100
    session_host: str = "127.0.0.1"
    sessions_per_user: int = 2
    idle_timeout_s: int = 300
    start_timeout_s: int = 90
    memory_mb: int = 6144
    run_dir: str = ""
    consultation_hours: float = 12.0
    host_index: int = 0
    client_render: bool = False

    @property
    def last_port(self) -> int:
        return self.first_port + self.max_sessions - 1

    @property
    def session_ports(self) -> range:
        return range(self.first_port, self.last_port + 1)


def _convert(kind, value):
    kind = kind if isinstance(kind, str) else kind.__name__
    if kind == "bool":
        return value if isinstance(value, bool) else str(value).strip().lower() in ("1", "true", "yes", "on")
    if kind == "int":
        return int(value)
    if kind == "float":
        return float(value)
    return str(value)


def load_launcher_settings(environ: dict[str, str] | None = None, **overrides) -> LauncherSettings:
    """Resolve :class:`LauncherSettings` from defaults, ``twin3d.toml`` ``[launcher]``, the
    environment and ``overrides`` (``None`` values are ignored).

    Examples
    --------
    >>> load_launcher_settings({}, max_sessions=2).last_port
    9101
    """
    from twin3d.config import given_settings, load_settings

    base = load_settings(environ)
    known = {f.name: f for f in fields(LauncherSettings)}
    values: dict[str, object] = {"host": base.host, "port": base.port}
    values.update(given_settings(known, environ, table="launcher", prefix="TWIN3D_LAUNCHER_"))
    values.update({k: v for k, v in overrides.items() if v is not None})
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise InputError(None, f"unknown launcher settings: {', '.join(unknown)}")
    try:
        settings = replace(LauncherSettings(), **{k: _convert(known[k].type, v) for k, v in values.items()})
    except ValueError as exc:
        raise InputError(None, f"launcher settings: {exc}") from None
    if settings.max_sessions < 1:
        raise InputError(None, "launcher max_sessions must be at least 1")
    if not (1024 <= settings.first_port and settings.last_port <= 65535):
        raise InputError(None, "launcher session ports must lie in 1024..65535")
    if settings.host_index < 0:
        raise InputError(None, "launcher host_index must be 0 or more")
    if settings.first_port <= settings.port <= settings.last_port:
        raise InputError(None, f"the launcher port {settings.port} lies in the session ports")
    return settings
