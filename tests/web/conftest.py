"""The web front on a loopback port, in a thread: a data root with a small results file, a users
file with one user and one token per role."""

from __future__ import annotations

import asyncio
import threading

import pytest
import requests

from tests.browser.conftest import free_port  # noqa: F401

PASSWORD = "correct horse battery"


class LiveServer:
    """An aiohttp application served on 127.0.0.1 from a background thread's event loop."""

    def __init__(self, app):
        from aiohttp import web

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.loop = asyncio.new_event_loop()
        self.runner = web.AppRunner(app)
        started = threading.Event()

        def serve():
            asyncio.set_event_loop(self.loop)
            self.loop.run_until_complete(self.runner.setup())
            self.loop.run_until_complete(web.TCPSite(self.runner, "127.0.0.1", self.port).start())
            started.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=serve, daemon=True)
        self.thread.start()
        assert started.wait(30)

    def close(self):
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(30)


@pytest.fixture(scope="session")
def web_data(tmp_path_factory):
    """(data root, users file, tokens by role)."""
    from tests.scene.test_frames import write_results
    from twin3d_server.web import users

    base = tmp_path_factory.mktemp("web")
    root = base / "data"
    (root / "results").mkdir(parents=True)
    write_results(root / "results" / "flood.h5", n_frames=3)
    users_file = base / "users.toml"
    tokens = {}
    for role in ("viewer", "planner", "admin"):
        users.add_user(users_file, role, role, PASSWORD)
        tokens[role] = users.add_token(users_file, f"{role}-bot", role)
    return root, users_file, tokens


def web_settings(web_data, **changes):
    from twin3d_server.web.settings import WebSettings

    root, users_file, _ = web_data
    values = {"users_file": str(users_file), "data_root": str(root), "http_loopback": True, "login_attempts": 1000}
    return WebSettings(**{**values, **changes})


@pytest.fixture(scope="session")
def live(web_data):
    """The web front with the REST API (no trame), generous login limits."""
    from twin3d_server.web.serving import make_web_app

    server = LiveServer(make_web_app(web_settings(web_data)))
    yield server
    server.close()


def login(url: str, user: str, password: str = PASSWORD) -> requests.Session:
    """A requests session signed in through the login form."""
    s = requests.Session()
    r = s.post(f"{url}/login", data={"username": user, "password": password, "next": "/api/whoami"},
               allow_redirects=False, timeout=30)
    assert r.status_code == 303, r.text
    return s


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def run_async(coro):
    """Run a coroutine to completion on a thread of its own (Playwright's sync API may hold the
    main thread's event loop)."""
    result, error = [], []

    def target():
        try:
            result.append(asyncio.run(coro))
        except BaseException as exc:  # re-raised in the caller
            error.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if error:
        raise error[0]
    return result[0]
