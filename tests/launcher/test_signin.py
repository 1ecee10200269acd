"""The multi-user front behind the web package's sign-in: anonymous browsers get nothing, and a
session's role is the signed-in user's."""

from __future__ import annotations

import aiohttp

from tests.launcher.conftest import launch, run, ws_url
from twin3d_server.launcher.wsclient import WslinkClient

PASSWORD = "correct horse battery staple"


def test_sessions_need_sign_in_and_take_the_users_role(targets, front_factory, tmp_path):
    from twin3d_server.web.users import add_user

    users = tmp_path / "users.toml"
    add_user(users, "vic", "viewer", PASSWORD)
    front = front_factory(targets, max_sessions=1, env={
        "TWIN3D_CONFIG": str(tmp_path / "none.toml"), "TWIN3D_USERS_FILE": str(users), "TWIN3D_HTTP_LOOPBACK": "1"})
    url = front.url

    async def scenario():
        out = {}
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:  # IP hosts
            out["anonymous_launch"] = (await launch(http, url))[0]
            async with http.get(f"{url}/app/", allow_redirects=False) as r:
                out["anonymous_app"] = r.status
            async with http.post(f"{url}/login", data={"username": "vic", "password": PASSWORD, "next": "/"},
                                 allow_redirects=False) as r:
                out["login"] = r.status
            async with http.post(f"{url}/consultations", json={}) as r:
                out["viewer_consultation"] = r.status
            status, session = await launch(http, url)
            out["launch"] = status
            try:
                await WslinkClient(ws_url(url, session), session["secret"]).connect()  # no cookie
            except aiohttp.WSServerHandshakeError as exc:
                out["ws_without_cookie"] = exc.status
            async with WslinkClient(ws_url(url, session), session["secret"], http=http) as client:
                state = await client.get_state()
                out["can_edit"] = state["can_edit"]
        return out

    out = run(scenario())
    assert out["anonymous_launch"] == 401 and out["anonymous_app"] in (302, 401)
    assert out["login"] == 303 and out["viewer_consultation"] == 403
    assert out["launch"] == 200 and out["can_edit"] is False
    assert out["ws_without_cookie"] == 401
