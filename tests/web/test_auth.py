"""Sign-in, cookies, rate limits, trusted headers and refusals of anonymous requests."""

from __future__ import annotations

import requests

from tests.web.conftest import PASSWORD, LiveServer, bearer, login, web_settings


def test_anonymous_rest_request_is_refused(live):
    r = requests.get(f"{live.url}/api/results", timeout=30)
    assert r.status_code == 401
    assert r.json() == {"error": "not signed in"}


def test_anonymous_page_load_goes_to_the_login_form(live):
    r = requests.get(f"{live.url}/index.html", allow_redirects=False, timeout=30)
    assert r.status_code == 302 and r.headers["Location"].startswith("/login?next=")
    form = requests.get(f"{live.url}/login", timeout=30)
    assert form.status_code == 200
    assert '<label for="username">User name</label>' in form.text and 'type="password"' in form.text


def test_login_sets_a_strict_httponly_session_cookie(live):
    r = requests.post(f"{live.url}/login", data={"username": "planner", "password": PASSWORD},
                      allow_redirects=False, timeout=30)
    assert r.status_code == 303
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert len(r.cookies["twin3d_session"]) >= 40  # 32 random bytes, url-safe


def test_cookies_are_secure_unless_loopback_http_is_allowed(web_data):
    from twin3d_server.web.serving import make_web_app

    server = LiveServer(make_web_app(web_settings(web_data, http_loopback=False)))
    try:
        r = requests.post(f"{server.url}/login", data={"username": "viewer", "password": PASSWORD},
                          allow_redirects=False, timeout=30)
        assert r.status_code == 303
        cookie = r.headers["Set-Cookie"]
        assert cookie.startswith("__Host-twin3d_session=") and "Secure" in cookie and "HttpOnly" in cookie
    finally:
        server.close()


def test_wrong_password_and_unknown_user_are_refused_alike(live):
    for user, password in (("planner", "wrong password!"), ("nobody", PASSWORD)):
        r = requests.post(f"{live.url}/login", data={"username": user, "password": password},
                          allow_redirects=False, timeout=30)
        assert r.status_code == 401
        assert "Wrong user name or password." in r.text


def test_session_reaches_the_api_and_logout_ends_it(live):
    s = login(live.url, "planner")
    assert s.get(f"{live.url}/api/whoami", timeout=30).json() == {"user": "planner", "role": "planner",
                                                                   "via": "password"}
    s.post(f"{live.url}/logout", allow_redirects=False, timeout=30)
    s.cookies.clear()
    assert s.get(f"{live.url}/api/whoami", timeout=30).status_code == 401


def test_bearer_tokens_carry_their_scope(live, web_data):
    tokens = web_data[2]
    r = requests.get(f"{live.url}/api/whoami", headers=bearer(tokens["viewer"]), timeout=30)
    assert r.json() == {"user": "viewer-bot", "role": "viewer", "via": "token"}
    forged = tokens["viewer"][:-4] + "AAAA"
    assert requests.get(f"{live.url}/api/whoami", headers=bearer(forged), timeout=30).status_code == 401


def test_login_is_rate_limited_per_user_and_per_address(web_data):
    from twin3d_server.web.serving import make_web_app

    server = LiveServer(make_web_app(web_settings(web_data, login_attempts=5)))
    try:
        codes = [requests.post(f"{server.url}/login", data={"username": "admin", "password": "guess number x"},
                               allow_redirects=False, timeout=30).status_code for _ in range(6)]
        assert codes == [401] * 5 + [429]
        r = requests.post(f"{server.url}/login", data={"username": "admin", "password": PASSWORD},
                          allow_redirects=False, timeout=30)
        assert r.status_code == 429, "even the right password waits out the window"
        assert 1 <= int(r.headers["Retry-After"]) <= 60
        # the address is limited too: another user from the same address
        r = requests.post(f"{server.url}/login", data={"username": "viewer", "password": PASSWORD},
                          allow_redirects=False, timeout=30)
        assert r.status_code == 429
    finally:
        server.close()


def test_trusted_headers_are_off_by_default(live):
    headers = {"X-Forwarded-User": "mallory", "X-Forwarded-Role": "admin"}
    assert requests.get(f"{live.url}/api/whoami", headers=headers, timeout=30).status_code == 401


def test_trusted_headers_only_from_configured_proxies(web_data):
    from twin3d_server.web.serving import make_web_app

    headers = {"X-Forwarded-User": "carol", "X-Forwarded-Role": "planner"}
    trusted = LiveServer(make_web_app(web_settings(web_data, trusted_header=True, trusted_proxies="127.0.0.1")))
    untrusted = LiveServer(make_web_app(web_settings(web_data, trusted_header=True, trusted_proxies="10.0.0.0/8")))
    try:
        r = requests.get(f"{trusted.url}/api/whoami", headers=headers, timeout=30)
        assert r.json() == {"user": "carol", "role": "planner", "via": "header"}
        assert requests.get(f"{untrusted.url}/api/whoami", headers=headers, timeout=30).status_code == 401
    finally:
        trusted.close()
        untrusted.close()


def test_security_headers_on_every_response(live):
    for path in ("/login", "/api/results", "/nowhere"):
        r = requests.get(f"{live.url}{path}", timeout=30)
        csp = r.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["X-Frame-Options"] == "DENY"
        assert r.headers["Referrer-Policy"] == "same-origin"


def test_cross_origin_change_with_a_cookie_is_refused(live):
    s = login(live.url, "planner")
    r = s.post(f"{live.url}/api/runs", json={"scenario": "cloudburst"}, headers={"Origin": "https://evil.example"},
               timeout=30)
    assert r.status_code == 403
