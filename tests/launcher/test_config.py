"""The launcher configuration is generated from settings, private, valid for wslink, and secret-free."""

from __future__ import annotations

import json
import stat

import pytest

from twin3d_server.launcher.config import launcher_config, session_url
from twin3d_server.launcher.serve import prepare
from twin3d_server.launcher.settings import SECRET_ENV, LauncherSettings, load_launcher_settings


def test_generated_config_matches_settings_and_holds_no_secret(tmp_path):
    settings = LauncherSettings(port=8100, max_sessions=3, first_port=9200, idle_timeout_s=42, start_timeout_s=20,
                                run_dir=str(tmp_path / "run"))
    config, path = prepare(settings, targets=[tmp_path / "city.h5"])
    assert config["resources"] == [{"host": "127.0.0.1", "port_range": [9200, 9202]}]
    assert config["configuration"]["port"] == 8100 and config["configuration"]["timeout"] == 20
    cmd = config["apps"]["twin3d"]["cmd"]
    assert cmd[cmd.index("--timeout") + 1] == "42" and cmd[cmd.index("--port") + 1] == "${port}"
    assert cmd[cmd.index("--secret-env") + 1] == SECRET_ENV  # the variable's name, never a value
    assert "--authKey" not in cmd and "${secret}" not in " ".join(cmd)
    assert "secret" not in config["configuration"]["fields"]
    # private: the file 0600 in a 0700 directory
    assert stat.S_IMODE(path_mode(path)) == 0o600
    assert stat.S_IMODE(path_mode(tmp_path / "run")) == 0o700
    # deterministic: generating again gives the same bytes, so no per-start secret hides in it
    first = open(path).read()
    prepare(settings, targets=[tmp_path / "city.h5"])
    assert open(path).read() == first
    assert json.loads(first)["apps"]["twin3d"]["cmd"] == cmd


def path_mode(path) -> int:
    import os

    return os.stat(path).st_mode


def test_what_a_browser_sends_cannot_reach_the_command_line(tmp_path):
    from wslink.launcher import ProxyMappingManagerTXT, SessionManager

    config = launcher_config(LauncherSettings(max_sessions=1), tmp_path)
    manager = SessionManager(config, ProxyMappingManagerTXT(tmp_path / "proxy.txt"))
    session = manager.createSession({"application": "twin3d", "role": "root", "user": "ann; rm -rf /",
                                     "mode": "own --role admin", "code": "$(reboot)", "secret": "x" * 32})
    cmd = session["cmd"]
    assert cmd[cmd.index("--role") + 1] == "viewer" and cmd[cmd.index("--user") + 1] == "unknown"
    assert cmd[cmd.index("--mode") + 1] == "own" and cmd[cmd.index("--code") + 1] == ""
    assert session["sessionURL"] == "ws://USE_HOST/session/9100/ws"


def test_settings_resolve_from_toml_then_environment_then_flags(tmp_path):
    toml = tmp_path / "twin3d.toml"
    toml.write_text("port = 8200\n[launcher]\nmax_sessions = 5\nidle_timeout_s = 99\nmemory_mb = 1000\n")
    env = {"TWIN3D_CONFIG": str(toml), "TWIN3D_LAUNCHER_IDLE_TIMEOUT_S": "77"}
    settings = load_launcher_settings(env, memory_mb=2000)
    assert (settings.port, settings.max_sessions, settings.idle_timeout_s, settings.memory_mb) == (8200, 5, 77, 2000)
    assert list(settings.session_ports) == [9100, 9101, 9102, 9103, 9104]


@pytest.mark.parametrize("overrides", [{"max_sessions": 0}, {"port": 9101}, {"first_port": 80},
                                       {"host_index": -1}, {"colour": "red"}])
def test_impossible_settings_are_refused(overrides):
    from twin3d.errors import InputError

    with pytest.raises(InputError):
        load_launcher_settings({"TWIN3D_CONFIG": "/nonexistent.toml"}, **overrides)


def test_a_second_launcher_host_prefixes_its_session_paths():
    assert session_url(LauncherSettings(host_index=2)) == "ws://USE_HOST/session/2-${port}/ws"


def test_the_session_secret_check_accepts_only_its_secret():
    from tests.launcher.conftest import run
    from twin3d_server.launcher.session import secret_check

    check = secret_check("s" * 43)
    answers = [run(check.validateToken(token, "c1")) for token in ("s" * 43, "s" * 42, "", None, 42)]
    assert answers == [True, False, False, False, False]
