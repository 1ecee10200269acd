"""Consultation: followers track the presenter's scenario, time and camera, and cannot drive it."""

from __future__ import annotations

import asyncio

import aiohttp

from tests.launcher.conftest import launch, run, ws_url
from twin3d_server.launcher.broadcast import relay_client
from twin3d_server.launcher.wsclient import WslinkClient

TIME = "TimelineState__time_index"


async def _open(http, url):
    async with http.post(f"{url}/consultations", json={}) as response:
        assert response.status == 201
        return (await response.json())["code"]


def test_followers_track_the_presenter_and_cannot_drive(targets, front_factory):
    front = front_factory(targets, max_sessions=3)
    url = front.url

    async def scenario():
        out = {}
        async with aiohttp.ClientSession() as http:
            code = await _open(http, url)
            (sp, presenter), (sf, follower) = await asyncio.gather(launch(http, url, {"present": code}),
                                                                   launch(http, url, {"follow": code}))
            assert sp == sf == 200
            out["second_presenter"] = (await launch(http, url, {"present": code}))[0]
            out["unknown_code"] = (await launch(http, url, {"follow": "ZZZZZZZZ"}))[0]
            async with WslinkClient(ws_url(url, presenter), presenter["secret"]) as cp, \
                    WslinkClient(ws_url(url, follower), follower["secret"]) as cf:
                fstate = await cf.get_state()
                out["follower_kiosk"] = (fstate["kiosk"], fstate["can_edit"])
                await cp.update_state({TIME: 3})
                out["tracked"] = await cf.wait_for(TIME, lambda v: v == 3, timeout_s=30)
                # the follower's own websocket changes its own process only ...
                await cf.update_state({TIME: 1})
                await asyncio.sleep(1.0)
                out["presenter_after_follower_moved"] = (await cp.get_state())[TIME]
                # ... and the next move of the presenter brings it back in line
                await cp.update_state({TIME: 4})
                out["tracked_again"] = await cf.wait_for(TIME, lambda v: v == 4, timeout_s=30)
            # the relay is not on the public side at all ...
            async with http.post(f"{url}/relay/{code}", json={}) as r:
                out["public_relay"] = r.status
        # ... and on its private socket it takes views only from the presenter's secret, subscribers
        # only with a follower's
        relay, relay_url = relay_client(f"unix:{front.relay}", code)
        async with relay:
            view = {"scenario_id": "s0", "time_index": 0, "camera": {}}
            statuses = []
            for secret in (follower["secret"], "", "x" * 43):
                async with relay.post(relay_url, json=view, headers={"Authorization": f"Bearer {secret}"}) as r:
                    statuses.append(r.status)
            async with relay.post(relay_url, json={"time_index": -5},
                                  headers={"Authorization": f"Bearer {presenter['secret']}"}) as r:
                statuses.append(r.status)
            out["publish"] = statuses
            subscribe = []
            for secret in (presenter["secret"], ""):
                try:
                    async with relay.ws_connect(relay_url, headers={"Authorization": f"Bearer {secret}"}):
                        subscribe.append(101)
                except aiohttp.WSServerHandshakeError as exc:
                    subscribe.append(exc.status)
            out["subscribe"] = subscribe
        return out

    out = run(scenario())
    assert out["follower_kiosk"] == (True, False)
    assert out["tracked"] == 3 and out["tracked_again"] == 4
    assert out["presenter_after_follower_moved"] == 3
    assert out["second_presenter"] == 409 and out["unknown_code"] == 404
    assert out["public_relay"] in (404, 405)
    assert out["publish"] == [403, 403, 403, 400]
    assert out["subscribe"] == [403, 403]
