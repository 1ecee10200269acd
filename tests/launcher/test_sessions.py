"""Session processes through the front: the secret gates the websocket, sessions are isolated,
the server says clearly when it is full, and idle sessions give their slot back."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from tests.launcher.conftest import launch, run, ws_url
from twin3d_server.launcher.pages import FULL_MESSAGE
from twin3d_server.launcher.wsclient import WslinkClient, WslinkError

TIME = "TimelineState__time_index"


def test_a_wrong_or_missing_secret_is_refused(targets, front_factory):
    url = front_factory(targets, max_sessions=1).url

    async def scenario():
        async with aiohttp.ClientSession() as http:
            status, session = await launch(http, url)
            assert status == 200 and len(session["secret"]) >= 32
            direct = f"ws://127.0.0.1:{session['sessionURL'].split('/')[-2]}/ws"
            for where in (ws_url(url, session), direct):
                for secret in ("wslink-secret", "", session["secret"][:-1] + "x"):
                    with pytest.raises(WslinkError, match="Authentication failed"):
                        await WslinkClient(where, secret).connect()
            # a client that skips the hello is not served either
            client = WslinkClient(ws_url(url, session), session["secret"])
            await client.connect()
            stranger = WslinkClient(ws_url(url, session), "")
            await stranger.connect(hello=False)
            with pytest.raises(WslinkError, match="Unauthorized"):
                await stranger.call("trame.state.get")
            await stranger.close()
            state = await client.get_state()  # the right secret is served
            await client.close()
            return state

    state = run(scenario())
    assert state["TimelineState__n_frames"] == 5 and state["can_edit"] is True


def test_two_planners_are_isolated_and_a_third_browser_gets_the_full_page(targets, front_factory):
    url = front_factory(targets, max_sessions=2).url

    async def scenario():
        async with aiohttp.ClientSession() as http:
            (sa, a), (sb, b) = await asyncio.gather(launch(http, url), launch(http, url))
            assert sa == sb == 200 and a["sessionURL"] != b["sessionURL"] and a["secret"] != b["secret"]
            async with WslinkClient(ws_url(url, a), a["secret"]) as ca, \
                    WslinkClient(ws_url(url, b), b["secret"]) as cb:
                await ca.update_state({TIME: 3})
                await cb.update_state({TIME: 1})
                await asyncio.sleep(0.5)
                seen = ((await ca.get_state())[TIME], (await cb.get_state())[TIME])
                async with http.get(f"{url}/") as page:
                    full_page = page.status, await page.text()
                async with http.get(f"{url}/app/") as page:
                    full_app = page.status
                full_launch = await launch(http, url)
            return seen, full_page, full_app, full_launch

    seen, full_page, full_app, full_launch = run(scenario())
    assert seen == (3, 1)
    assert full_page[0] == 503 and FULL_MESSAGE in full_page[1]
    assert full_app == 503
    assert full_launch == (503, {"error": FULL_MESSAGE})


def test_an_idle_session_exits_and_frees_its_slot(targets, front_factory):
    url = front_factory(targets, max_sessions=1, idle_timeout_s=2).url

    async def scenario():
        async with aiohttp.ClientSession() as http:
            status, session = await launch(http, url)
            assert status == 200
            async with WslinkClient(ws_url(url, session), session["secret"]) as client:
                await client.get_state()
            async with http.get(f"{url}/") as page:
                busy = page.status
            for _ in range(120):  # the process exits 2 s after its client left; the front reaps it
                await asyncio.sleep(0.5)
                async with http.get(f"{url}/") as page:
                    if page.status == 200:
                        return busy, True
            return busy, False

    busy, freed = run(scenario())
    assert busy == 503 and freed


def test_a_users_new_session_stops_their_oldest_beyond_the_cap(targets, front_factory):
    url = front_factory(targets, max_sessions=2, env={"TWIN3D_LAUNCHER_SESSIONS_PER_USER": "1"}).url

    async def scenario():
        async with aiohttp.ClientSession() as http:
            _, first = await launch(http, url)
            status, second = await launch(http, url)  # a reloaded page: the first session is left behind
            try:
                await WslinkClient(ws_url(url, first), first["secret"]).connect()
                first_alive = True
            except (aiohttp.ClientError, ConnectionError, WslinkError):
                first_alive = False
            async with WslinkClient(ws_url(url, second), second["secret"]) as client:
                n_frames = (await client.get_state())["TimelineState__n_frames"]
            async with http.get(f"{url}/") as page:
                return status, first_alive, n_frames, page.status

    status, first_alive, n_frames, landing = run(scenario())
    assert status == 200 and not first_alive and n_frames == 5
    assert landing == 200  # one of two slots in use
