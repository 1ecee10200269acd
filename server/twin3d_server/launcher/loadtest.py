"""Load test of the multi-user launcher: N concurrent sessions on loopback, driven by
protocol-level wslink clients (no browsers).

Each virtual user asks the front for a session (``POST /launcher/``), connects through the
front's websocket relay with its session secret, subscribes to the server-rendered view's images
as a browser does, then changes the timeline's frame ``requests`` times; a request's latency runs
from sending the state change to the arrival of the next image (the frame as a user sees it).

``python -m twin3d_server.launcher.loadtest --sessions 20 --requests 50 [TARGETS...]`` starts its
own front (``--allow-local``, loopback, a free port) and prints one JSON object: latency
percentiles, errors, session start times, and the memory (RSS) and CPU time of the session
processes.  The lead wires it as ``twin3d bench serve``.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

TIME_INDEX = "TimelineState__time_index"
N_FRAMES = "TimelineState__n_frames"


def _percentiles(values, scale: float = 1.0, digits: int = 1) -> dict:
    if not len(values):
        return {}
    v = np.asarray(values, dtype=float) * scale
    return {"p50": round(float(np.percentile(v, 50)), digits), "p95": round(float(np.percentile(v, 95)), digits),
            "p99": round(float(np.percentile(v, 99)), digits), "max": round(float(v.max()), digits)}


async def virtual_user(http, front_url: str, requests: int, think_s: float = 0.0, headers=None,
                       start_together=None) -> dict:
    """One user's session: launch, connect, watch the view, step the frame ``requests`` times.
    ``start_together()`` (a coroutine) is awaited once connected: all users then start at once."""
    from twin3d_server.launcher.wsclient import WslinkClient

    t0 = time.perf_counter()
    async with http.post(f"{front_url}/launcher/", json={}, headers=headers or {}) as response:
        session = await response.json()
        if response.status != 200:
            raise RuntimeError(f"launch refused: HTTP {response.status} {session.get('error')}")
    launch_s = time.perf_counter() - t0
    ws_base = front_url.replace("http://", "ws://").replace("https://", "wss://")
    url = session["sessionURL"].replace("ws://use_host", ws_base).replace("ws://USE_HOST", ws_base)
    latencies, rpc_latencies, errors = [], [], 0
    async with WslinkClient(url, session["secret"]) as client:
        state = await client.get_state()
        views = await client.watch_remote_views()
        n_frames = int(state.get(N_FRAMES) or 0)
        if n_frames < 2:
            raise RuntimeError("the sessions show no results with frames to step: pass a results file")
        if start_together is not None:
            await start_together()
        for r in range(requests):
            k = (int(state.get(TIME_INDEX) or 0) + r + 1) % n_frames
            t = time.perf_counter()
            try:
                client.expect_image()
                await client.update_state({TIME_INDEX: k})
                rpc_latencies.append(time.perf_counter() - t)
                if views:
                    await client.image_arrived(timeout_s=30)
                latencies.append(time.perf_counter() - t)
            except (TimeoutError, ConnectionError, RuntimeError):
                errors += 1
            if think_s:
                await asyncio.sleep(think_s)
    return {"launch_s": launch_s, "latencies": latencies, "rpc_latencies": rpc_latencies, "errors": errors,
            "images": bool(views)}


async def run_load(front_url: str, sessions: int, requests: int, think_s: float = 0.0, headers=None,
                   on_all_connected=None) -> dict:
    """Drive ``sessions`` concurrent virtual users against a running front; returns the summary.
    Users start their requests together once all are connected (or have failed), right after
    ``on_all_connected()`` (if given) has run."""
    import aiohttp

    waiting, go, arrived_tasks = [sessions], asyncio.Event(), set()

    def arrive(task) -> None:
        arrived_tasks.add(task)
        waiting[0] -= 1
        if waiting[0] == 0:
            if on_all_connected is not None:
                on_all_connected()
            go.set()

    async def start_together() -> None:
        arrive(asyncio.current_task())
        await go.wait()

    async def user(http):
        try:
            return await virtual_user(http, front_url.rstrip("/"), requests, think_s, headers, start_together)
        except BaseException:
            if asyncio.current_task() not in arrived_tasks:
                arrive(asyncio.current_task())
            raise

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=600)) as http:
        outcomes = await asyncio.gather(*(user(http) for _ in range(sessions)), return_exceptions=True)
    done = [o for o in outcomes if isinstance(o, dict)]
    failed = [repr(o) for o in outcomes if not isinstance(o, dict)]
    latencies = [x for o in done for x in o["latencies"]]
    return {
        "sessions": sessions, "sessions_ok": len(done), "requests_per_session": requests,
        "requests_ok": len(latencies), "errors": sum(o["errors"] for o in done) + len(failed) * requests,
        "session_failures": failed[:5], "latency_ms": _percentiles(latencies, 1000.0),
        "latency_measures": "state change to next image" if any(o["images"] for o in done) else "RPC round trip",
        "rpc_latency_ms": _percentiles([x for o in done for x in o["rpc_latencies"]], 1000.0),
        "launch_s": _percentiles([o["launch_s"] for o in done], 1.0, 2),
    }


# --- the benchmark: its own front, and the session processes measured -------------------------
def free_port_block(n: int) -> int:
    """A first port with ``n`` free ports after it (loopback), from a random place."""
    import random

    start = random.randrange(20000, 50000)
    for base in [*range(start, 60000 - n, 97), *range(20000, start, 97)]:
        ok = True
        for port in range(base, base + n):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    ok = False
                    break
        if ok:
            return base
    raise RuntimeError("no free block of ports")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children_of(pid: int) -> list[int]:
    """The direct child processes of ``pid`` (Linux /proc)."""
    kids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(entry.name))
    return kids


def process_usage(pid: int) -> dict:
    """RSS, peak RSS, peak address space and its cap (MiB), and CPU seconds of one process."""
    status = Path(f"/proc/{pid}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    kib = {k: int(fields[k].split()[0]) for k in ("VmRSS", "VmHWM", "VmPeak") if k in fields}
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    limit = next((line.split()[4] for line in Path(f"/proc/{pid}/limits").read_text().splitlines()
                  if line.startswith("Max address space")), "unlimited")
    return {"rss_mb": kib.get("VmRSS", 0) / 1024, "peak_rss_mb": kib.get("VmHWM", 0) / 1024,
            "vm_peak_mb": kib.get("VmPeak", 0) / 1024, "cpu_s": (int(stat[11]) + int(stat[12])) / ticks,
            "address_space_cap_mb": None if limit == "unlimited" else int(limit) // (1024 * 1024)}


def start_front(targets, max_sessions: int, memory_mb: int, idle_timeout_s: int = 60,
                run_dir: str | None = None, allow_local: bool = True, env: dict | None = None,
                first_port: int | None = None) -> tuple[subprocess.Popen, str]:
    """Start ``python -m twin3d_server.launcher`` (``--allow-local`` unless told otherwise) on free
    loopback ports, with ``env`` added to the environment; wait until it answers.  Users may hold
    every session and are never stopped for starting more (the load test's users are all the local
    user), unless ``env`` says otherwise."""
    port, first = _free_port(), first_port or free_port_block(max_sessions)
    run_dir = run_dir or tempfile.mkdtemp(prefix="twin3d-bench-")
    cmd = [sys.executable, "-m", "twin3d_server.launcher", "--host", "127.0.0.1", "--port", str(port),
           "--max-sessions", str(max_sessions), "--first-port", str(first), "--idle-timeout", str(idle_timeout_s),
           "--memory-mb", str(memory_mb), "--run-dir", run_dir, *(["--allow-local"] if allow_local else []),
           *map(str, targets)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "TWIN3D_LAUNCHER_SESSIONS_PER_USER": str(max_sessions + 1),
                                 **(env or {})})
    wait_listening(proc, port, 60, "the front")
    return proc, f"http://127.0.0.1:{port}"


def wait_listening(proc: subprocess.Popen, port: int, timeout_s: float, what: str) -> None:
    """Wait until ``proc`` accepts connections on loopback ``port``; raise (killing it) when it
    exits first or does not listen within ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}: {proc.stdout.read()}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"{what} did not start in {timeout_s:g} s")


def stop_front(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def bench_serve(targets=(), sessions: int = 20, requests: int = 50, memory_mb: int = 6144,
                think_s: float = 0.0) -> dict:
    """The full benchmark: a front of its own with ``sessions`` slots, ``sessions`` virtual users,
    then the memory and CPU time of every session process (measured before they exit);
    ``cpu_ms_per_request`` counts the CPU the sessions used after all had started."""
    proc, url = start_front(targets, sessions, memory_mb)
    at_start = {}

    def snapshot() -> None:  # once every session is up: what starting them cost
        at_start.update({pid: process_usage(pid) for pid in children_of(proc.pid)})

    try:
        summary = asyncio.run(run_load(url, sessions, requests, think_s, on_all_connected=snapshot))
        usage = {pid: process_usage(pid) for pid in children_of(proc.pid)}
    finally:
        stop_front(proc)
    load_cpu = sum(u["cpu_s"] - at_start[pid]["cpu_s"] for pid, u in usage.items() if pid in at_start)
    usage = list(usage.values())
    cpu = [u["cpu_s"] for u in usage]
    summary.update({
        "cpu_count": os.cpu_count(), "memory_cap_mb": memory_mb, "session_processes": len(usage),
        "caps_applied": sorted({u["address_space_cap_mb"] for u in usage}, key=str),
        "rss_mb_per_session": _percentiles([u["rss_mb"] for u in usage]),
        "peak_rss_mb_per_session": _percentiles([u["peak_rss_mb"] for u in usage]),
        "vm_peak_mb_per_session": _percentiles([u["vm_peak_mb"] for u in usage]),
        "cpu_s_per_session": _percentiles(cpu, 1.0, 2),
        "startup_cpu_s_per_session": _percentiles([u["cpu_s"] for u in at_start.values()], 1.0, 2),
        "cpu_ms_per_request": round(1000 * load_cpu / max(summary["requests_ok"], 1), 1),
    })
    return summary


def main(argv=None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="python -m twin3d_server.launcher.loadtest", description=__doc__.split("\n")[0])
    p.add_argument("targets", nargs="*", help="what each session serves (default: the default city)")
    p.add_argument("--sessions", type=int, default=20)
    p.add_argument("--requests", type=int, default=50, help="frame changes per session")
    p.add_argument("--memory-mb", type=int, default=6144, help="address-space cap per session process")
    p.add_argument("--think", type=float, default=0.0, help="seconds between one user's requests")
    p.add_argument("--output", help="also write the JSON here")
    args = p.parse_args(argv)
    summary = bench_serve(args.targets, args.sessions, args.requests, args.memory_mb, args.think)
    text = json.dumps(summary, indent=2)
    print(text)
    if args.output:
        Path(args.output).write_text(text + "\n")
    return 0 if summary["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
