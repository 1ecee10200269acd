"""A small run of the launcher load test (the 20-session run is a benchmark, not a test)."""

from __future__ import annotations

import concurrent.futures

from twin3d_server.launcher.loadtest import bench_serve


def test_three_sessions_step_their_timelines_without_errors(targets):
    # in a thread of its own: the benchmark runs its own event loop (Playwright may hold this thread's)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        summary = pool.submit(bench_serve, targets, sessions=3, requests=5, memory_mb=5000).result(timeout=300)
    assert summary["errors"] == 0 and summary["sessions_ok"] == 3 and summary["requests_ok"] == 15
    assert set(summary["latency_ms"]) == {"p50", "p95", "p99", "max"}
    assert summary["latency_measures"] == "state change to next image"
    assert summary["session_processes"] == 3 and summary["caps_applied"] == [5000]
    assert 50 < summary["rss_mb_per_session"]["p50"] < summary["memory_cap_mb"]
