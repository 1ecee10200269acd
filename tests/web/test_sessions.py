"""Sessions, rate limits, users file and settings without a server."""

from __future__ import annotations

import stat

import pytest

from twin3d_server.web.ratelimit import RateLimit
from twin3d_server.web.sessions import SessionStore
from twin3d_server.web.settings import WebSettings, load_web_settings
from twin3d_server.web.users import Identity


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


def test_sessions_expire_when_idle_and_after_their_maximum_age():
    clock = Clock()
    store = SessionStore(WebSettings(session_idle_s=60, session_max_s=300), clock=clock)
    ended = []
    store.on_end(ended.append)
    s = store.create(Identity("ann", "planner"))
    assert s.id != s.ws_secret and len(s.id) >= 40
    for _ in range(5):  # active every 50 s: alive until the absolute limit
        clock.t += 50
        assert store.get(s.id) is s
    clock.t += 51
    assert store.get(s.id) is None and ended == [s]
    idle = store.create(Identity("bob", "viewer"))
    clock.t += 61
    assert store.sweep() == 1 and store.get(idle.id) is None


def test_ws_secret_lookup_is_per_session():
    store = SessionStore(WebSettings())
    a, b = store.create(Identity("a", "viewer")), store.create(Identity("b", "viewer"))
    assert store.by_ws_secret(a.ws_secret) is a and store.by_ws_secret(b.ws_secret) is b
    assert store.by_ws_secret("wslink-secret") is None


def test_rate_limit_window_slides():
    clock = Clock()
    limit = RateLimit(5, 60, clock=clock)
    assert [limit.hit("x") for _ in range(5)] == [0.0] * 5
    assert limit.hit("x") == pytest.approx(60)
    assert limit.hit("y") == 0.0  # keys are independent
    clock.t += 30
    assert limit.retry_after("x") == pytest.approx(30)
    clock.t += 30
    assert limit.hit("x") == 0.0


def test_users_file_holds_hashes_only_and_is_private(tmp_path):
    from twin3d_server.web import users

    path = tmp_path / "users.toml"
    users.add_user(path, "ann", "planner", "a long password")
    token = users.add_token(path, "gis", "viewer")
    text = path.read_text()
    assert "a long password" not in text and token not in text and "$argon2id$" in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert users.verify_password(path, "ann", "a long password") == Identity("ann", "planner", "password")
    assert users.verify_password(path, "ann", "wrong password") is None
    assert users.verify_token(path, token) == Identity("gis", "viewer", "token")
    users.set_role(path, "ann", "admin")
    users.set_password(path, "ann", "another long one")
    assert users.verify_password(path, "ann", "another long one").role == "admin"
    assert users.list_users(path) == [{"name": "ann", "role": "admin"}]
    assert [t["name"] for t in users.list_tokens(path)] == ["gis"]
    users.remove_token(path, "gis")
    assert users.verify_token(path, token) is None
    users.remove_user(path, "ann")
    assert users.list_users(path) == []
    with pytest.raises(ValueError):
        users.add_user(path, "bob", "superuser", "a long password")
    with pytest.raises(ValueError):
        users.add_user(path, "bob", "viewer", "short")
    with pytest.raises(ValueError):
        users.add_user(path, "../bob", "viewer", "a long password")


def test_settings_from_the_config_file_and_the_environment(tmp_path):
    config = tmp_path / "twin3d.toml"
    config.write_text('users_file = "/etc/twin3d/users.toml"\ntrusted_header = true\nport = 9000\n')
    s = load_web_settings({"TWIN3D_CONFIG": str(config), "TWIN3D_TRUSTED_PROXIES": "10.0.0.1, 10.1.0.0/16",
                           "TWIN3D_WS_MAX_MSG_BYTES": "65536"})
    assert s.users_file == "/etc/twin3d/users.toml" and s.trusted_header is True and s.ws_max_msg_bytes == 65536
    assert [str(n) for n in s.proxy_networks()] == ["10.0.0.1/32", "10.1.0.0/16"]
    defaults = load_web_settings({"TWIN3D_CONFIG": str(tmp_path / "none.toml")})
    assert defaults.trusted_header is False and defaults.http_loopback is False and defaults.users_file == ""


def test_no_users_file_and_no_trusted_header_refuses_to_serve():
    from twin3d_server.web.serving import NoUsers, make_web_app

    with pytest.raises(NoUsers):
        make_web_app(WebSettings())


def test_users_command_line(tmp_path, capsys, monkeypatch):
    import argparse
    import io

    from twin3d_server.web.cli import add_users_arguments, users_command

    parser = argparse.ArgumentParser()
    add_users_arguments(parser)
    path = str(tmp_path / "users.toml")

    def run(*argv, stdin=""):
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        return users_command(parser.parse_args(["--file", path, *argv]))

    assert run("add", "ann", "--role", "planner", "--password-stdin", stdin="a long password\n") == 0
    assert run("add", "ann", "--role", "viewer", "--password-stdin", stdin="a long password\n") == 2
    assert run("token-add", "gis", "--role", "viewer") == 0
    token = capsys.readouterr().out.strip()
    assert token.startswith("t3d_gis_")
    assert run("list") == 0 and capsys.readouterr().out == "ann\tplanner\n"
    assert run("role", "ann", "admin") == 0 and run("remove", "bob") == 2
    from twin3d_server.web.users import verify_password, verify_token

    assert verify_password(path, "ann", "a long password").role == "admin"
    assert verify_token(path, token).user == "gis"
