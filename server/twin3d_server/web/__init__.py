"""The serving layer's security: users and tokens, sessions, login, limits, headers, the REST API.

Entry points::

    from twin3d_server.web import install, make_web_app, load_web_settings
    install(server, load_web_settings(), ctx)   # single process: before server.start()
    app = make_web_app(load_web_settings())     # aiohttp app for the multi-user launcher front
    cap_websocket_messages(server)              # a launcher session process: the message cap only

Modules: ``settings`` (WebSettings), ``users`` (users file, argon2, tokens), ``sessions``
(cookie sessions), ``ratelimit``, ``safepaths`` (files under the data root only), ``front``
(middlewares, login), ``wsguard`` (per-session websocket secrets), ``serving`` (install),
``api`` + ``openapi`` (REST; runs go through ``twin3d_server.logic.runs.RunQueue``),
``datastore`` (what the API reads under the data root), ``geotiff``, ``pages`` (login form),
``cli`` (``twin3d users``).
See docs/security.md and docs/rest-api.md.
"""

from __future__ import annotations


def __getattr__(name):
    if name in ("install", "make_web_app", "cap_websocket_messages", "SessionOptions", "NoUsers"):
        from twin3d_server.web import serving

        return getattr(serving, name)
    if name in ("load_web_settings", "WebSettings"):
        from twin3d_server.web import settings

        return getattr(settings, name)
    raise AttributeError(name)
