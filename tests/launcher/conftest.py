"""Launcher tests: a tiny city and results file served by real session processes on loopback."""

from __future__ import annotations

import asyncio
import concurrent.futures
from typing import NamedTuple

import pytest


class Front(NamedTuple):
    url: str  # the public side
    relay: str  # the relay's unix socket (session processes only)
    first_port: int  # its first session port


@pytest.fixture(scope="session")
def targets(tmp_path_factory):
    """A city file and a 5-frame results file over it (what every session serves)."""
    from tests.io.test_store import national_grid_city
    from tests.scene.test_frames import write_results
    from twin3d.io import write

    folder = tmp_path_factory.mktemp("launcher-data")
    write(national_grid_city(), folder / "city.h5")
    write_results(folder / "results.h5", n_frames=5)
    return [folder / "city.h5", folder / "results.h5"]


def run(coro, timeout_s: float = 240):
    """Run a coroutine on a loop of its own in a worker thread (Playwright may hold this thread's loop)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result(timeout=timeout_s)


@pytest.fixture
def front_factory(tmp_path):
    """Start fronts (``--allow-local``, loopback, free ports); all are stopped after the test."""
    from twin3d_server.launcher.loadtest import free_port_block, start_front, stop_front

    started = []

    def start(targets, max_sessions: int = 2, idle_timeout_s: int = 60, memory_mb: int = 6144,
              env: dict | None = None) -> Front:
        run_dir = tmp_path / f"run{len(started)}"
        first_port = free_port_block(max_sessions)
        proc, url = start_front(targets, max_sessions, memory_mb, idle_timeout_s, run_dir=str(run_dir),
                                allow_local="TWIN3D_USERS_FILE" not in (env or {}), env=env, first_port=first_port)
        started.append(proc)
        return Front(url, str(run_dir / "relay.sock"), first_port)

    yield start
    for proc in started:
        stop_front(proc)


async def launch(http, url: str, body: dict | None = None):
    """``POST /launcher/``: returns (HTTP status, JSON answer)."""
    async with http.post(f"{url}/launcher/", json=body or {}) as response:
        return response.status, await response.json()


def ws_url(url: str, session: dict) -> str:
    """The session's websocket URL as the browser resolves it (through the front's relay)."""
    return session["sessionURL"].replace("ws://USE_HOST", url.replace("http://", "ws://"))
