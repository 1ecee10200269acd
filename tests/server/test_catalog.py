"""The catalogue and its background runs without a browser: scenario files are run in
subprocesses, followed, reused from the cache, and stopped with the server."""

from __future__ import annotations

import os
import time

import pytest

from tests.io.test_store import national_grid_city
from tests.scenario.test_runner import dam_break_files


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TWIN3D_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("TWIN3D_QUICK_RUNS", raising=False)
    return tmp_path / "cache"


def build(request, targets, suffix=""):
    from trame.app import get_server

    from twin3d_server.app import build_app

    server, ctx = build_app(national_grid_city(), get_server(request.node.name + suffix, client_type="vue3"),
                            targets)
    server.state.ready()
    return server, ctx


def poll_until(server, catalog, predicate, timeout_s=120.0):
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"timed out; statuses {catalog.data.scenarios}"
        catalog.poll()
        server.state.flush()
        time.sleep(0.1)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is not a running process
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def test_scenario_file_is_run_becomes_active_then_is_reused(tmp_path, cache, request):
    spec = dam_break_files(tmp_path)
    server, ctx = build(request, [spec])
    catalog = ctx.panels["catalog"]
    assert [e["title"] for e in catalog.data.scenarios] == ["dam break"]
    assert catalog.data.scenarios[0]["status"] in ("queued", "running")
    poll_until(server, catalog, lambda: catalog.data.scenarios[0]["status"] == "complete")
    results = ctx.results
    assert results is not None and results.complete and results.n_frames == 5
    assert ctx.panels["timeline"].data.n_frames == 5 and ctx.scene.frame == 0
    assert catalog.scenario_of(results) == spec.resolve()
    assert catalog.data.scenario_id == "s0" and catalog.data.status == "complete"
    output = results.path
    written = output.stat().st_mtime
    catalog.shutdown()

    # a second serve shows the cached run at once, while its run checks it: the runner finds the
    # complete run with the same content hash and returns at once, and the shown file is kept
    server2, ctx2 = build(request, [spec], suffix="-again")
    catalog2 = ctx2.panels["catalog"]
    assert catalog2.data.scenarios[0]["status"] == "cached"
    assert ctx2.results is not None and ctx2.results.path == output and ctx2.results.complete
    shown = ctx2.results
    poll_until(server2, catalog2, lambda: catalog2.entries["s0"].run.done and not catalog2.entries["s0"].checking)
    assert catalog2.data.scenarios[0]["status"] == "cached" and ctx2.results is shown
    assert output.stat().st_mtime == written
    assert not output.with_name(f".{output.name}.check").exists()  # the check's copy is gone
    catalog2.shutdown()


def test_stale_cached_run_is_shown_then_replaced(tmp_path, cache, request):
    """A cached file whose inputs changed is shown until the new run is complete, then replaced."""
    spec = dam_break_files(tmp_path)
    server, ctx = build(request, [spec])
    catalog = ctx.panels["catalog"]
    poll_until(server, catalog, lambda: catalog.data.scenarios[0]["status"] == "complete")
    output = ctx.results.path
    old_hash = ctx.results.file.attrs["content_hash"]
    catalog.shutdown()
    spec.write_text(spec.read_text().replace("manning = 0.01", "manning = 0.02"))
    server2, ctx2 = build(request, [spec], suffix="-changed")
    catalog2 = ctx2.panels["catalog"]
    assert ctx2.results.file.attrs["content_hash"] == old_hash  # the earlier run, at once
    poll_until(server2, catalog2, lambda: catalog2.entries["s0"].run.done and not catalog2.entries["s0"].checking)
    assert catalog2.data.scenarios[0]["status"] == "complete"
    assert ctx2.results.path == output and ctx2.results.complete
    assert ctx2.results.file.attrs["content_hash"] != old_hash
    assert not output.with_name(f".{output.name}.check").exists()
    catalog2.shutdown()


def test_failed_run_reports_its_one_line_error(tmp_path, cache, request):
    outside = '[[hazards.breach]]\nline = [[0.0, 0.0], [10.0, 0.0]]\ntime_s = 5\nlevel_m = 0.0\n'
    bad_run = dam_break_files(tmp_path, extra=outside)
    bad_spec = tmp_path / "typo.toml"
    bad_spec.write_text('name = "typo"\ncity = "none"\n[grid]\ncell_size_mm = 2\n[time]\nduration_s = 10\n')
    server, ctx = build(request, [bad_run, bad_spec])
    catalog = ctx.panels["catalog"]
    assert catalog.data.scenarios[1]["status"].startswith("failed: ")
    assert "cell_size_mm" in catalog.data.scenarios[1]["status"]
    poll_until(server, catalog, lambda: catalog.entries["s0"].run.done)
    status = catalog.data.scenarios[0]["status"]
    assert status.startswith("failed: ") and "outside the grid" in status and "\n" not in status
    assert ctx.results is None
    assert catalog.data.status == status  # the first entry is the chosen one: its error shows by the picker
    catalog.shutdown()


def test_runs_go_one_at_a_time_and_none_survive_shutdown(tmp_path, cache, request):
    long_a = dam_break_files(tmp_path, duration_s=100000.0, interval_s=10.0)
    (tmp_path / "b").mkdir()
    long_b = dam_break_files(tmp_path / "b", duration_s=100000.0, interval_s=10.0)
    server, ctx = build(request, [long_a, long_b])
    catalog = ctx.panels["catalog"]
    poll_until(server, catalog, lambda: ctx.results is not None)  # the first run is followed live
    assert not ctx.results.complete and ctx.panels["timeline"].data.computing
    assert catalog.data.scenarios[0]["status"].startswith("running")
    assert catalog.data.scenarios[1]["status"] == "queued"
    assert len(catalog.queue.processes()) == 1
    pid = catalog.queue.processes()[0].pid
    server.controller.catalog_shutdown()
    assert not alive(pid)
    assert catalog.queue.processes() == []
    assert catalog.entries["s1"].run.status == "failed"


def test_run_dies_with_a_server_killed_outright(tmp_path, cache):
    """SIGKILL leaves no chance to clean up: the run asked Linux to end it with its server."""
    import signal
    import subprocess
    import sys

    if sys.platform != "linux":
        pytest.skip("PR_SET_PDEATHSIG is Linux only")
    spec = dam_break_files(tmp_path, duration_s=100000.0, interval_s=10.0)
    server = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\n"
        "from twin3d_server.logic.runs import RunQueue\n"
        "queue = RunQueue(quick=False)\n"
        f"run = queue.submit({str(spec)!r})\n"
        "print(run.process.pid, flush=True)\n"
        "time.sleep(600)\n")], stdout=subprocess.PIPE, text=True)
    child = int(server.stdout.readline())
    assert alive(child)
    server.send_signal(signal.SIGKILL)
    server.wait(timeout=30)
    deadline = time.monotonic() + 30
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(child)


def test_kiosk_plays_through_the_scenarios(tmp_path, request):
    """Kiosk mode plays the active scenario and goes on to the next one when it ends."""
    import asyncio
    import concurrent.futures

    from trame.app import get_server

    from tests.scene.test_frames import write_results
    from twin3d_server.app import build_app
    from twin3d_server.context import AppOptions

    first, second = write_results(tmp_path / "a.h5"), write_results(tmp_path / "b.h5")
    server, ctx = build_app(national_grid_city(), get_server(request.node.name, client_type="vue3"),
                            [first, second], AppOptions(kiosk=True))
    server.state.ready()
    catalog, timeline = ctx.panels["catalog"], ctx.panels["timeline"]
    assert not ctx.allowed("planner") and server.state.can_edit is False  # a kiosk only shows
    timeline.data.speed = 10
    shown = []

    async def watch():
        for _ in range(200):
            catalog.poll()
            shown.append((catalog.data.scenario_id, int(timeline.data.time_index)))
            if shown[-1] == ("s1", 2):
                break
            await asyncio.sleep(0.05)
        timeline.pause()

    # a loop of its own in a worker thread: other tests (Playwright's sync API) may hold this thread's loop
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, watch()).result(timeout=60)
    assert ("s0", 2) in shown and shown[-1] == ("s1", 2)
    assert ctx.results.path == second
    catalog.shutdown()


def test_two_servers_on_one_cache_run_one_at_a_time(tmp_path, cache):
    from twin3d_server.logic.runs import RunQueue

    first, second = RunQueue(), RunQueue()  # two servers (e.g. launcher sessions) sharing the cache
    long_run = first.submit(dam_break_files(tmp_path, duration_s=100000.0, interval_s=10.0))
    (tmp_path / "b").mkdir()
    short = second.submit(dam_break_files(tmp_path / "b"))
    assert long_run.status == "running"
    time.sleep(1.0)
    second.poll()
    assert short.status == "queued"  # waits for the other server's run
    first.shutdown()
    assert second.wait(short, timeout_s=120).status == "complete"
    second.shutdown()
