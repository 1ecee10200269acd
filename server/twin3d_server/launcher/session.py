"""One browser session's app process, started by the launcher.

``python -m twin3d_server.launcher.session --port P --secret-env VAR --role R --user U
[--mode own|present|follow --code CODE --relay URL] [--timeout S] [TARGETS...]``

The session secret is read from the environment variable ``VAR`` (and removed from the
environment at once, so nothing this process starts inherits it); it becomes wslink's
``authKey``, so only a client that sends it in its ``wslink.hello`` is served.  The role and
user become the app's :class:`~twin3d_server.context.AppOptions`; a follower is a kiosk
(viewer) that mirrors its presenter through :mod:`twin3d_server.launcher.broadcast`.
"""

from __future__ import annotations

import argparse
import sys

from twin3d_server.launcher.config import MODES, READY_LINE
from twin3d_server.launcher.settings import SECRET_ENV

MIN_SECRET_CHARS = 24


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m twin3d_server.launcher.session", description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--secret-env", default=SECRET_ENV, help="environment variable holding the session secret")
    p.add_argument("--role", default="viewer", choices=("viewer", "planner", "admin"))
    p.add_argument("--user", default="unknown")
    p.add_argument("--mode", default="own", choices=MODES)
    p.add_argument("--code", default="", help="the consultation's join code (present / follow)")
    p.add_argument("--relay", default="", help="the front's relay URL (present / follow)")
    p.add_argument("--timeout", type=int, default=300, help="exit this many seconds after the last client left")
    p.add_argument("--client-render", action="store_true", help="render in the browser with vtk.js")
    p.add_argument("targets", nargs="*", help="city, results files and scenario files, as for twin3d serve")
    args = p.parse_args(argv)
    if args.mode != "own" and not (args.code and args.relay):
        p.error(f"--mode {args.mode} needs --code and --relay")
    return args


def take_secret(name: str, environ=None) -> str:
    """Pop the session secret from the environment; refuse a missing or short one."""
    import os

    env = os.environ if environ is None else environ
    secret = env.pop(name, "")
    if len(secret) < MIN_SECRET_CHARS:
        raise SystemExit(f"no session secret in ${name} (the launcher passes one); refusing to serve")
    return secret


def secret_check(secret: str):
    """A wslink link protocol whose ``validateToken`` accepts only ``secret`` (compared in constant
    time; wslink's own comparison of its ``authKey`` is a plain ``==``)."""
    import hmac

    from wslink.websocket import LinkProtocol

    class SecretCheck(LinkProtocol):
        async def validateToken(self, token, client_id):  # noqa: N802 (wslink's name)
            return isinstance(token, str) and hmac.compare_digest(token.encode(), secret.encode())

    return SecretCheck()


def build_session(args, secret: str):
    """Compose the app for this session; returns ``(server, ctx)`` (not started)."""
    from twin3d.io.default_city import load_city
    from twin3d_server.app import build_app
    from twin3d_server.context import AppOptions
    from twin3d_server.launcher import broadcast
    from twin3d_server.logic.catalog import split_targets

    city_spec, entries = split_targets(args.targets)
    city = load_city(city_spec)[0]
    follower = args.mode == "follow"
    options = AppOptions(kiosk=follower, client_render=args.client_render,
                         role="viewer" if follower else args.role, user=args.user)
    server, ctx = build_app(city, targets=entries, options=options)
    if args.mode == "present":
        broadcast.attach_presenter(ctx, args.relay, args.code, secret)
    elif follower:
        broadcast.attach_follower(ctx, args.relay, args.code, secret)
    server.cli.set_defaults(authKey=secret)  # wslink's own check; never on argv
    check = secret_check(secret)  # ... and the one that decides, in constant time
    ctx.ctrl.on_server_bind.add(lambda _webserver: server.protocol.registerLinkProtocol(check))
    try:  # the web package's cap on a client's websocket messages, as in single-process serving
        from twin3d_server.web import load_web_settings

        server.options["ws_max_msg_size"] = load_web_settings().ws_max_msg_bytes
    except ImportError:
        pass
    return server, ctx


def main(argv=None) -> int:
    args = parse_args(argv)
    secret = take_secret(args.secret_env)
    server, ctx = build_session(args, secret)
    sys.argv = sys.argv[:1]  # trame parses sys.argv again in start(): only our defaults apply
    ctx.ctrl.on_server_ready.add(lambda **_: print(f"{READY_LINE} on port {args.port}", flush=True))
    server.start(port=args.port, host=args.host, open_browser=False, show_connection_info=False,
                 timeout=args.timeout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
