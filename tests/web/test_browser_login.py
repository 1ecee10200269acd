"""A user signs in through the login page and the app loads under the security headers (CSP)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.web.conftest import PASSWORD
from tests.web.test_websocket import start_app

pytestmark = pytest.mark.browser


def test_sign_in_then_the_app_loads_under_the_csp(browser, web_data, tmp_path):
    proc, url = start_app(web_data)
    artifacts = Path(os.environ.get("TWIN3D_TEST_ARTIFACTS", tmp_path))
    try:
        page = browser.new_page(viewport={"width": 1200, "height": 800})
        violations, errors = [], []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.add_init_script("document.addEventListener('securitypolicyviolation', e => "
                             "console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI))")
        page.goto(url + "/")
        assert "/login" in page.url
        page.get_by_label("User name").fill("planner")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        try:
            page.get_by_text("2 buildings").wait_for(timeout=90_000)
        except Exception:
            page.screenshot(path=str(artifacts / "web_login_failed.png"))
            raise AssertionError(f"{page.url} {errors} {page.inner_text('body')[:300]}") from None
        page.wait_for_timeout(2000)
        page.screenshot(path=str(artifacts / "web_login_app.png"))
        violations = [e for e in errors if "CSP violation" in e or "Content Security Policy" in e]
        assert violations == []
        cookies = {c["name"]: c for c in page.context.cookies()}
        session = cookies["twin3d_session"]
        assert session["httpOnly"] and session["sameSite"] == "Strict"
        assert page.evaluate("document.cookie") == "", "the session cookie is not readable from scripts"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_wrong_password_shows_an_alert(browser, web_data):
    proc, url = start_app(web_data)
    try:
        page = browser.new_page()
        page.goto(url + "/login")
        page.get_by_label("User name").fill("planner")
        page.get_by_label("Password").fill("not the password")
        page.get_by_role("button", name="Sign in").click()
        assert page.get_by_role("alert").inner_text() == "Wrong user name or password."
    finally:
        proc.terminate()
        proc.wait(timeout=30)
