"""The trame app behind the web front: websockets need a session and that session's own secret;
a viewer's controller calls are refused on the server."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import msgpack
import pytest
import requests

from tests.browser.conftest import free_port
from tests.web.conftest import PASSWORD, run_async
from twin3d_server.launcher.loadtest import wait_listening


def start_app(web_data, **env):
    root, users_file, _ = web_data
    port = free_port()
    environ = {**os.environ, "TWIN3D_USERS_FILE": str(users_file), "TWIN3D_DATA_ROOT": str(root),
               "TWIN3D_HTTP_LOOPBACK": "1", "TWIN3D_CONFIG": "/nonexistent", "TWIN3D_LOGIN_ATTEMPTS": "1000", **env}
    proc = subprocess.Popen([sys.executable, "-m", "tests.web.app_server", str(port)], env=environ,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wait_listening(proc, port, 120, "the app")
    return proc, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def app(web_data):
    proc, url = start_app(web_data)
    yield url
    proc.terminate()
    proc.wait(timeout=30)


def _chunk(message: dict) -> bytes:
    payload = msgpack.packb(message)
    header = (1).to_bytes(4, "little") + (0).to_bytes(4, "little") + len(payload).to_bytes(4, "little")
    return header + payload


async def _unchunk(ws) -> dict:
    parts, total = bytearray(), None
    while total is None or len(parts) < total:
        msg = await asyncio.wait_for(ws.receive(), 30)
        if msg.type.name != "BINARY":
            return {"closed": msg.type.name}
        total = int.from_bytes(msg.data[8:12], "little")
        parts += msg.data[12:]
    return msgpack.unpackb(bytes(parts))


async def hello(url: str, secret: str, cookies: dict | None = None, then: dict | None = None):
    """Open the websocket, say hello; returns (hello reply, reply to ``then``)."""
    import aiohttp

    ws_url = url.replace("http://", "ws://") + "/ws"
    async with aiohttp.ClientSession(cookies=cookies or {}) as http, http.ws_connect(ws_url) as ws:
        await ws.send_bytes(_chunk({"wslink": "1.0", "id": "system:c0:0", "method": "wslink.hello",
                                    "args": [{"secret": secret}], "kwargs": {}}))
        reply = await _unchunk(ws)
        answer = None
        if then is not None:
            client = reply.get("result", {}).get("clientID", "c0")
            await ws.send_bytes(_chunk({"wslink": "1.0", "id": f"rpc:{client}:1", **then}))
            while True:
                answer = await _unchunk(ws)
                if answer.get("id") == f"rpc:{client}:1" or "closed" in answer:
                    break
        return reply, answer


def sign_in(url: str, user: str) -> requests.Session:
    s = requests.Session()
    r = s.post(f"{url}/login", data={"username": user, "password": PASSWORD}, allow_redirects=False, timeout=30)
    assert r.status_code == 303
    return s


def test_anonymous_websocket_upgrade_is_refused(app):
    import aiohttp

    with pytest.raises(aiohttp.WSServerHandshakeError) as info:
        run_async(hello(app, "wslink-secret"))
    assert info.value.status == 401


def test_websocket_needs_the_sessions_own_secret(app):
    planner, viewer = sign_in(app, "planner"), sign_in(app, "viewer")
    secret = planner.post(f"{app}/paraview/", json={}, timeout=30).json()["secret"]
    other = viewer.post(f"{app}/paraview/", json={}, timeout=30).json()["secret"]
    assert secret != other and len(secret) >= 40
    cookies = planner.cookies.get_dict()
    ok, _ = run_async(hello(app, secret, cookies))
    assert "clientID" in ok["result"] and ok["result"]["maxMsgSize"] == 256 * 1024
    for wrong in ("wslink-secret", other, ""):
        refused, _ = run_async(hello(app, wrong, cookies))
        assert refused["error"]["message"] == "Authentication failed"


def test_the_index_page_needs_a_session(app):
    r = requests.get(f"{app}/index.html", allow_redirects=False, timeout=30)
    assert r.status_code == 302 and r.headers["Location"].startswith("/login")
    s = sign_in(app, "viewer")
    page = s.get(f"{app}/index.html", timeout=30)
    assert page.status_code == 200 and "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]


def test_websocket_messages_over_the_cap_close_the_connection(app):
    s = sign_in(app, "planner")
    secret = s.post(f"{app}/paraview/", json={}, timeout=30).json()["secret"]
    big = {"method": "trame.state.update", "args": [[{"key": "x", "value": "y" * 400_000}]], "kwargs": {}}
    _, answer = run_async(hello(app, secret, s.cookies.get_dict(), then=big))
    assert "closed" in answer


def test_viewer_controller_calls_are_refused_on_the_server(app):
    """A viewer triggers an editing controller by hand: the server answers with NotAllowed."""
    s = sign_in(app, "viewer")
    secret = s.post(f"{app}/paraview/", json={}, timeout=30).json()["secret"]
    call = {"method": "trame.trigger", "args": ["probe_role", [], {}], "kwargs": {}}
    _, answer = run_async(hello(app, secret, s.cookies.get_dict(), then=call))
    assert answer.get("result") == {"role": "viewer", "user": "viewer", "allowed_planner": False}


EDITING_CONTROLLERS = ["allocation_optimize", "allocation_reset_inventory", "decision_record",
                       "authoring_draw_barrier", "authoring_place_pump", "authoring_close_road", "authoring_clear",
                       "authoring_save_run"]


@pytest.mark.parametrize("name", EDITING_CONTROLLERS)
def test_viewer_is_refused_editing_controllers(app, name):
    s = sign_in(app, "viewer")
    secret = s.post(f"{app}/paraview/", json={}, timeout=30).json()["secret"]
    call = {"method": "trame.trigger", "args": ["probe_controller", [name], {}], "kwargs": {}}
    _, answer = run_async(hello(app, secret, s.cookies.get_dict(), then=call))
    result = answer.get("result") or {}
    if "missing" in result:
        pytest.skip(f"{name} is not wired yet")
    assert "refused" in result, answer


def test_planner_session_acts_as_planner(app):
    s = sign_in(app, "planner")
    secret = s.post(f"{app}/paraview/", json={}, timeout=30).json()["secret"]
    call = {"method": "trame.trigger", "args": ["probe_role", [], {}], "kwargs": {}}
    _, answer = run_async(hello(app, secret, s.cookies.get_dict(), then=call))
    assert answer.get("result") == {"role": "planner", "user": "planner", "allowed_planner": True}


def test_logout_closes_the_sessions_websockets(app):
    import aiohttp

    async def scenario():
        s = sign_in(app, "planner")
        secret = s.post(f"{app}/paraview/", json={}, timeout=30).json()["secret"]
        async with aiohttp.ClientSession(cookies=s.cookies.get_dict()) as http, \
                http.ws_connect(app.replace("http://", "ws://") + "/ws") as ws:
            await ws.send_bytes(_chunk({"wslink": "1.0", "id": "system:c0:0", "method": "wslink.hello",
                                        "args": [{"secret": secret}], "kwargs": {}}))
            reply = await _unchunk(ws)
            assert "result" in reply
            await asyncio.to_thread(s.post, f"{app}/logout", allow_redirects=False, timeout=30)
            msg = await asyncio.wait_for(ws.receive(), 30)
            return msg.type.name, msg.data

    kind, code = run_async(scenario())
    assert kind in ("CLOSE", "CLOSED") and code == 4401
