"""Multi-user serving: ``twin3d serve --multi-user``.

One app process per browser session, started by wslink's launcher from a configuration generated
at start (:mod:`.config`); a front process (:mod:`.front`) that serves trame's client in launcher
mode, the "full" page, consultation join codes and the presenter-to-followers relay
(:mod:`.broadcast`); the per-session entry point (:mod:`.session`); a protocol-level load test
(:mod:`.loadtest`).  Entry point for the CLI: :func:`twin3d_server.launcher.serve.serve_multi_user`.
"""
