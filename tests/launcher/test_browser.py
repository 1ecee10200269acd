"""Real-browser journeys through the multi-user front: a planner's own session (trame's client in
launcher mode), the "full" page for the next browser, and a consultation's join link."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser


def _artifacts(tmp_path) -> Path:
    folder = Path(os.environ.get("TWIN3D_TEST_ARTIFACTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_own_session_then_the_full_page(browser, targets, front_factory, tmp_path):  # noqa: F811
    url = front_factory(targets, max_sessions=1).url
    first = browser.new_context(viewport={"width": 1280, "height": 800})
    page = first.new_page()
    sockets = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    page.goto(f"{url}/")
    page.get_by_role("link", name="Open my session").click()
    page.wait_for_function("document.title.includes('Delft-ish')", timeout=90_000)
    page.get_by_text("2 buildings").wait_for(timeout=60_000)
    assert any(re.search(r"/session/\d+/ws$", s) for s in sockets), sockets
    page.wait_for_timeout(2000)
    page.screenshot(path=str(_artifacts(tmp_path) / "launcher-own-session.png"))
    # every slot is taken: the next browser gets a clear page, not a broken app
    second = browser.new_context()
    other = second.new_page()
    response = other.goto(f"{url}/app/")
    assert response.status == 503
    assert other.get_by_role("alert").inner_text().startswith("All sessions are in use")
    other.screenshot(path=str(_artifacts(tmp_path) / "launcher-full.png"))
    second.close()
    first.close()


def test_a_consultation_is_joined_by_its_link(browser, targets, front_factory, tmp_path):  # noqa: F811
    url = front_factory(targets, max_sessions=2).url
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{url}/")
    page.get_by_role("button", name="Start a consultation").click()
    code = page.locator("code").inner_text()
    assert re.fullmatch(r"[A-Z2-9]{8}", code)
    join_link = page.get_by_role("link", name=f"join/{code}").get_attribute("href")
    follower = browser.new_context().new_page()
    launches = []
    follower.on("request", lambda r: launches.append(r.post_data) if r.url.endswith("/launcher/") else None)
    follower.goto(f"{url}/{join_link}")
    follower.wait_for_function("document.title.includes('Delft-ish')", timeout=90_000)
    assert any(f'"follow":"{code}"' in (body or "") for body in launches), launches
    follower.screenshot(path=str(_artifacts(tmp_path) / "launcher-follower.png"))
    context.close()


def test_sign_in_then_a_session_under_the_web_packages_headers(browser, targets, front_factory, tmp_path):  # noqa: F811
    from twin3d_server.web.users import add_user

    users = tmp_path / "users.toml"
    add_user(users, "ann", "planner", "correct horse battery staple")
    url = front_factory(targets, max_sessions=1, env={
        "TWIN3D_CONFIG": str(tmp_path / "none.toml"), "TWIN3D_USERS_FILE": str(users), "TWIN3D_HTTP_LOOPBACK": "1"}).url
    context = browser.new_context()
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{url}/")
    assert "/login" in page.url
    page.locator("input[name=username]").fill("ann")
    page.locator("input[name=password]").fill("correct horse battery staple")
    page.locator("button[type=submit], input[type=submit]").first.click()
    page.get_by_role("link", name="Open my session").click()
    page.get_by_text("2 buildings").wait_for(timeout=90_000)
    assert not errors, errors  # the content security policy lets trame's client run in launcher mode
    page.screenshot(path=str(_artifacts(tmp_path) / "launcher-signed-in.png"))
    context.close()
