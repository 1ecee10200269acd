"""The trame app behind the web front, for tests: ``python -m tests.web.app_server PORT``.

Settings come from the ``TWIN3D_*`` environment (users file, data root, http_loopback)."""

from __future__ import annotations

import sys


def main(port: int) -> None:
    from trame.app import get_server

    from tests.io.test_store import national_grid_city
    from twin3d_server.app import build_app
    from twin3d_server.web.serving import install
    from twin3d_server.web.settings import load_web_settings

    server, ctx = build_app(national_grid_city(), get_server("twin3d_web_test", client_type="vue3"))
    install(server, load_web_settings(), ctx)

    @server.trigger("probe_role")
    def probe_role():
        return {"role": ctx.options.role, "user": ctx.options.user, "allowed_planner": ctx.allowed("planner")}

    @server.trigger("probe_controller")
    def probe_controller(name):
        """Call an editing controller as the current client; report a refusal."""
        from twin3d_server.context import NotAllowed

        if not getattr(ctx.ctrl, name).exists():
            return {"missing": name}
        try:
            getattr(ctx.ctrl, name)()
        except NotAllowed as exc:
            return {"refused": str(exc)}
        return {"done": name}
    server.start(host="127.0.0.1", port=port, open_browser=False, show_connection_info=False)


if __name__ == "__main__":
    main(int(sys.argv[1]))
