"""Real-browser tests: Debian's chromium driven by Playwright, against `twin3d serve`."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(args: list[str], timeout_s: float = 120.0):
    """Start `twin3d serve` on a free port; return (process, url) once it answers."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "twin3d.cli", "serve", *args, "--port", str(port),
                             "--no-browser"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    from twin3d_server.launcher.loadtest import wait_listening

    wait_listening(proc, port, timeout_s, "the server")
    return proc, f"http://127.0.0.1:{port}/"
