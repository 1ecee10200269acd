"""The nginx example: generated from the settings, accepted by ``nginx -t``, and working on loopback
in front of the launcher (TLS, the launcher's POST, a session's websocket routed to its port)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import aiohttp
import pytest

from tests.launcher.conftest import launch, run
from twin3d_server.launcher.deploy import SYSTEMD_UNIT, Site, nginx_site
from twin3d_server.launcher.settings import LauncherSettings
from twin3d_server.launcher.wsclient import WslinkClient

REPO = Path(__file__).resolve().parents[2]
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def test_the_committed_examples_are_the_generated_ones():
    assert (REPO / "server/deploy/nginx/twin3d.conf").read_text() == nginx_site(LauncherSettings(), Site())
    assert (REPO / "server/deploy/systemd/twin3d.service").read_text() == SYSTEMD_UNIT
    for line in ("DynamicUser=yes", "ProtectSystem=strict", "NoNewPrivileges=yes", "ReadWritePaths="):
        assert line in SYSTEMD_UNIT


def _nginx_conf(folder: Path, site: str) -> Path:
    (folder / "twin3d.conf").write_text(site)
    conf = folder / "nginx.conf"
    temp = " ".join(f"{kind}_temp_path {folder / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    conf.write_text(f"""user root;
worker_processes 1;
pid {folder / 'nginx.pid'};
error_log {folder / 'error.log'} warn;
events {{ worker_connections 256; }}
http {{
    access_log {folder / 'access.log'};
    {temp}
    include {folder / 'twin3d.conf'};
}}
""")
    return conf


def _certificate(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def nginx_tools():
    if not Path(NGINX).exists() or not shutil.which("openssl"):
        pytest.skip("nginx or openssl is not installed (apt-get install nginx-light openssl)")


def test_nginx_accepts_the_site(nginx_tools, tmp_path):
    cert, key = _certificate(tmp_path)
    site = nginx_site(LauncherSettings(), Site("localhost", str(cert), str(key), f"127.0.0.1:{_free_port()}", ""))
    check = subprocess.run([NGINX, "-t", "-p", str(tmp_path), "-c", str(_nginx_conf(tmp_path, site))],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


def test_a_session_through_nginx_with_tls(nginx_tools, targets, front_factory, tmp_path):
    front = front_factory(targets, max_sessions=1)
    front_port = int(front.url.rsplit(":", 1)[1])
    cert, key = _certificate(tmp_path)
    nginx_port = _free_port()
    settings = LauncherSettings(port=front_port, first_port=front.first_port, max_sessions=1)
    site = nginx_site(settings, Site("localhost", str(cert), str(key), f"127.0.0.1:{nginx_port}", ""))
    conf = _nginx_conf(tmp_path, site)
    proc = subprocess.Popen([NGINX, "-p", str(tmp_path), "-c", str(conf), "-g", "daemon off;"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        _wait_for_port(nginx_port, proc)
        out = run(_through_nginx(f"https://127.0.0.1:{nginx_port}"))
    finally:
        proc.terminate()
        proc.wait(10)
    assert out["launch"] == 200 and out["n_frames"] == 5
    assert out["unmapped_port"] == 404 and out["oversized"] == 413


async def _through_nginx(base: str) -> dict:
    out = {}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=False)) as http:
        out["launch"], session = await launch(http, base)
        ws = session["sessionURL"].replace("ws://USE_HOST", base.replace("https://", "wss://"))
        async with WslinkClient(ws, session["secret"], http=http) as client:
            out["n_frames"] = (await client.get_state())["TimelineState__n_frames"]
        async with http.get(f"{base}/session/22/ws") as r:
            out["unmapped_port"] = r.status
        async with http.post(f"{base}/launcher/", data=b"x" * (9 * 1024 * 1024)) as r:
            out["oversized"] = r.status
    return out


def _wait_for_port(port: int, proc, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"nginx exited: {proc.stdout.read().decode()}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError("nginx did not start")
