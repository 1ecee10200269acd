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


def sign_in(launcher: LauncherSettings, allow_local: bool = False, web_settings=None):
    """``(authenticate, app)``: who a request is, and the aiohttp app the front's routes join.

    By default the web package's front: its sign-in pages, cookie sessions, tokens, limits and
    security headers (``twin3d_server.web.make_web_app``), and its identity for every request.
    ``allow_local`` (loopback addresses only): no sign-in, everyone is the local planner.
    """
    from twin3d_server.launcher.front import Identity, local_planner

    if allow_local:
        if not _loopback(launcher.host):
            raise SystemExit("--allow-local serves without sign-in: only on a loopback address")
        return local_planner, None
    from twin3d_server.web import NoUsers, load_web_settings, make_web_app
    from twin3d_server.web.front import WebFront

    try:
        app = make_web_app(web_settings or load_web_settings())
    except NoUsers as exc:
        raise SystemExit(f"multi-user serving needs sign-in: {exc}") from None

    def authenticate(request):
        who = WebFront.identity_of(request)
        return Identity(who.user, who.role) if who is not None else None

    return authenticate, app


def prepare(launcher: LauncherSettings, targets=()) -> tuple[dict, str]:
    """Generate, write (0600) and re-read (with wslink's parser) the launcher configuration;
    returns it and the path of its file (in the run directory, beside the relay's socket)."""
    run_dir = make_run_dir(launcher)
    path = write_config(launcher_config(launcher, run_dir, targets), run_dir)
    return read_config(path), str(path)


def serve_multi_user(settings=None, host: str | None = None, port: int | None = None, targets=(), *,
                     max_sessions: int | None = None, idle_timeout_s: int | None = None,
                     memory_mb: int | None = None, first_port: int | None = None, run_dir: str | None = None,
                     client_render: bool | None = None, allow_local: bool = False) -> int:
    """Serve ``twin3d serve --multi-user`` until interrupted; returns the exit code.

    Parameters
    ----------
    settings : the app's settings (``twin3d.config.Settings``): their host and port are the defaults.
    host, port : where the front listens.
    targets : what each session serves (city, results and scenario files), as for ``twin3d serve``.
    max_sessions, idle_timeout_s, memory_mb, first_port, run_dir, client_render : override
        :class:`LauncherSettings` (``None``: from settings).
    allow_local : no sign-in, everyone is the local planner (loopback addresses only).
    """
    import asyncio
    import signal
    from pathlib import Path

    from twin3d_server.launcher.config import RELAY_SOCKET
    from twin3d_server.launcher.routes import make_front_apps, run_front

    host = host or getattr(settings, "host", None)
    port = port or getattr(settings, "port", None)
    launcher = load_launcher_settings(host=host, port=port, max_sessions=max_sessions, idle_timeout_s=idle_timeout_s,
                                      memory_mb=memory_mb, first_port=first_port, run_dir=run_dir,
                                      client_render=client_render)
    authenticate, app = sign_in(launcher, allow_local)
    config, path = prepare(launcher, targets)
    public, relay = make_front_apps(config, authenticate, app)
    print(f"twin3d multi-user front at http://{launcher.host}:{launcher.port}/ — up to {launcher.max_sessions} "
          f"sessions on ports {launcher.first_port}-{launcher.last_port}; launcher configuration {path}", flush=True)

    async def main() -> None:
        task = asyncio.ensure_future(run_front(public, relay, launcher.host, launcher.port,
                                               str(Path(path).parent / RELAY_SOCKET)))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        try:
            await task
        except asyncio.CancelledError:
            pass

    asyncio.run(main())
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
    p.add_argument("--client-render", action="store_true", default=None, help="sessions render with vtk.js")
    p.add_argument("--allow-local", action="store_true", help="no sign-in (loopback only; tests, one machine)")
    args = p.parse_args(argv)
    from twin3d.config import load_settings

    logging.basicConfig(level=logging.WARNING)
    return serve_multi_user(load_settings(), args.host, args.port, args.targets, max_sessions=args.max_sessions,
                            idle_timeout_s=args.idle_timeout_s, memory_mb=args.memory_mb, first_port=args.first_port,
                            run_dir=args.run_dir, client_render=args.client_render, allow_local=args.allow_local)


if __name__ == "__main__":
    sys.exit(main())
