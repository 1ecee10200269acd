"""The wslink launcher configuration, generated from :class:`LauncherSettings` at every start.

The file is written into a private run directory (0700) as ``launcher.json`` (0600).  It holds
no secret: each session's secret is drawn from :mod:`secrets` when the session starts, handed to
the session process in its environment (``TWIN3D_SESSION_SECRET``) and returned only to the
browser that asked for the session.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

from twin3d_server.launcher.settings import SECRET_ENV, LauncherSettings

APPLICATION = "twin3d"
READY_LINE = "twin3d session ready"
SESSION_URL = "ws://USE_HOST/session/${port}/ws"  # trame's client puts in the page's host and ws/wss
USER_PATTERN = r"^[A-Za-z0-9._@+-]{1,64}$"
CODE_PATTERN = r"^[A-Z0-9]{0,16}$"
MODES = ("own", "present", "follow")


RELAY_SOCKET = "relay.sock"  # in the run directory: only this user's processes reach the relay


def relay_address(run_dir: str | os.PathLike) -> str:
    """Where session processes reach the front's relay: a unix socket in the private run directory."""
    return f"unix:{Path(run_dir) / RELAY_SOCKET}"


def session_url(settings: LauncherSettings) -> str:
    """The websocket URL a browser gets (the front, or nginx, routes the path to the session's port)."""
    prefix = f"{settings.host_index}-" if settings.host_index else ""
    return f"ws://USE_HOST/session/{prefix}${{port}}/ws"


def session_command(settings: LauncherSettings, run_dir: str | os.PathLike, targets=(),
                    python: str = sys.executable) -> list[str]:
    """The session process's command line, with wslink's ``${...}`` placeholders for what
    differs per session (port, role, user, mode, join code)."""
    escaped = [str(Path(t).resolve() if Path(t).exists() else t).replace("$", "$$") for t in targets]
    return [python, "-m", "twin3d_server.launcher.session", "--port", "${port}", "--host", settings.session_host,
            "--secret-env", SECRET_ENV, "--role", "${role}", "--user", "${user}", "--mode", "${mode}",
            "--code", "${code}", "--relay", relay_address(run_dir),
            "--timeout", str(settings.idle_timeout_s), *(["--client-render"] if settings.client_render else []),
            *escaped]


def launcher_config(settings: LauncherSettings, run_dir: str | os.PathLike, targets=(),
                    python: str = sys.executable) -> dict:
    """The wslink launcher configuration (``wslink.launcher`` format) for ``settings``.

    Examples
    --------
    >>> from twin3d_server.launcher.settings import LauncherSettings
    >>> config = launcher_config(LauncherSettings(max_sessions=4), "/run/twin3d")
    >>> config["resources"]
    [{'host': '127.0.0.1', 'port_range': [9100, 9103]}]
    """
    run_dir = Path(run_dir)
    return {
        "configuration": {
            "host": settings.host,
            "port": settings.port,
            "endpoint": "launcher",
            "content": "",
            "proxy_file": str(run_dir / "proxy-mapping.txt"),
            "sessionURL": session_url(settings),
            "timeout": settings.start_timeout_s,
            "log_dir": str(run_dir / "logs"),
            "fields": ["id", "sessionURL"],
            "sanitize": {
                "role": {"type": "inList", "list": ["viewer", "planner", "admin"], "default": "viewer"},
                "mode": {"type": "inList", "list": list(MODES), "default": "own"},
                "user": {"type": "regexp", "regexp": USER_PATTERN, "default": "unknown"},
                "code": {"type": "regexp", "regexp": CODE_PATTERN, "default": ""},
            },
        },
        "resources": [{"host": settings.session_host, "port_range": [settings.first_port, settings.last_port]}],
        "properties": {},
        "apps": {APPLICATION: {"cmd": session_command(settings, run_dir, targets, python), "ready_line": READY_LINE}},
        "twin3d": {"idle_timeout_s": settings.idle_timeout_s, "memory_mb": settings.memory_mb,
                   "max_sessions": settings.max_sessions, "consultation_hours": settings.consultation_hours,
                   "host_index": settings.host_index, "sessions_per_user": settings.sessions_per_user},
    }


def make_run_dir(settings: LauncherSettings) -> Path:
    """The run directory (``settings.run_dir`` or a new temp dir), private to this user (0700)."""
    if settings.run_dir:
        path = Path(settings.run_dir)
        path.mkdir(parents=True, exist_ok=True)
    else:
        path = Path(tempfile.mkdtemp(prefix="twin3d-launcher-"))
    path.chmod(0o700)
    (path / "logs").mkdir(mode=0o700, exist_ok=True)
    return path


def write_config(config: dict, run_dir: str | os.PathLike) -> Path:
    """Write ``config`` as ``<run_dir>/launcher.json``, readable by this user only (0600)."""
    path = Path(run_dir) / "launcher.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(config, fh, indent=2)
    path.chmod(0o600)
    return path


def read_config(path: str | os.PathLike) -> dict:
    """Read and validate a launcher configuration with wslink's own parser."""
    from argparse import Namespace

    from wslink.launcher import parseConfig

    return parseConfig(Namespace(config=[str(path)]))
