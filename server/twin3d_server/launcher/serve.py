"""Run the multi-user front: generate the launcher configuration, then serve until interrupted."""

from __future__ import annotations

import ipaddress
import logging
import sys

from twin3d_server.launcher.config import launcher_config, make_run_dir, read_config, write_config
from twin3d_server.launcher.settings import LauncherSettings, load_launcher_settings

log = logging.getLogger(__name__)


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def default_authenticator(settings=None, launcher: LauncherSettings | None = None, allow_local: bool = False):
    """Who a request is: the web package's signed-in user (cookie session or token) when it is
    installed; ``allow_local`` (a loopback-only front) makes everyone the local planner instead."""
    from twin3d_server.launcher.front import local_planner

    if allow_local:
        if launcher is not None and not _loopback(launcher.host):
            raise SystemExit("--allow-local serves without sign-in: only on a loopback address")
        return local_planner
    try:
        from twin3d_server.launcher.webauth import web_authenticator
    except ImportError:
        web_authenticator = None
    authenticator = web_authenticator(settings) if web_authenticator else None
    if authenticator is None:
        raise SystemExit("multi-user serving needs sign-in: set up a users file (twin3d users add ...), "
                         "or pass --allow-local on a loopback address for a single machine")
    return authenticator


def prepare(launcher: LauncherSettings, targets=()) -> tuple[dict, str]:
    """Generate, write (0600) and re-read (with wslink's parser) the launcher configuration."""
    run_dir = make_run_dir(launcher)
    path = write_config(launcher_config(launcher, run_dir, targets), run_dir)
    return read_config(path), str(path)


def serve_multi_user(settings=None, host: str | None = None, port: int | None = None, targets=(), *,
                     max_sessions: int | None = None, idle_timeout_s: int | None = None,
                     memory_mb: int | None = None, first_port: int | None = None, run_dir: str | None = None,
                     allow_local: bool = False, authenticate=None) -> int:
    """Serve ``twin3d serve --multi-user`` until interrupted; returns the exit code.

    Parameters
    ----------
    settings : the app's settings (``twin3d.config.Settings``; handed to the sign-in layer).
    host, port : where the front listens (default: the settings' host and port).
    targets : what each session serves (city, results and scenario files), as for ``twin3d serve``.
    max_sessions, idle_timeout_s, memory_mb, first_port, run_dir : override :class:`LauncherSettings`.
    allow_local : no sign-in, everyone is the local planner (loopback addresses only).
    authenticate : ``request -> Identity | None`` (default: :func:`default_authenticator`).
    """
    from aiohttp import web

    from twin3d_server.launcher.front import make_front_app

    launcher = load_launcher_settings(host=host, port=port, max_sessions=max_sessions, idle_timeout_s=idle_timeout_s,
                                      memory_mb=memory_mb, first_port=first_port, run_dir=run_dir)
    authenticate = authenticate or default_authenticator(settings, launcher, allow_local)
    config, path = prepare(launcher, targets)
    app = make_front_app(config, authenticate)
    print(f"twin3d multi-user front at http://{launcher.host}:{launcher.port}/ — up to {launcher.max_sessions} "
          f"sessions on ports {launcher.first_port}-{launcher.last_port}; launcher configuration {path}", flush=True)
    web.run_app(app, host=launcher.host, port=launcher.port, print=None, access_log=None)
    return 0


def main(argv=None) -> int:
    """``python -m twin3d_server.launcher`` (what the systemd unit and the load test run)."""
    import argparse

    p = argparse.ArgumentParser(prog="python -m twin3d_server.launcher", description="twin3d multi-user front")
    p.add_argument("targets", nargs="*")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--max-sessions", type=int)
    p.add_argument("--idle-timeout", type=int, dest="idle_timeout_s")
    p.add_argument("--memory-mb", type=int)
    p.add_argument("--first-port", type=int)
    p.add_argument("--run-dir")
    p.add_argument("--allow-local", action="store_true", help="no sign-in (loopback only; tests, one machine)")
    args = p.parse_args(argv)
    from twin3d.config import load_settings

    logging.basicConfig(level=logging.WARNING)
    return serve_multi_user(load_settings(), args.host, args.port, args.targets, max_sessions=args.max_sessions,
                            idle_timeout_s=args.idle_timeout_s, memory_mb=args.memory_mb, first_port=args.first_port,
                            run_dir=args.run_dir, allow_local=args.allow_local)


if __name__ == "__main__":
    sys.exit(main())
