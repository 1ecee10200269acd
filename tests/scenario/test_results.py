"""The results file is readable while it is written, and after the writer is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np

from twin3d.model import Grid
from twin3d.scenario.results import ResultsFile, ResultsLayout, ResultsWriter

WRITER = textwrap.dedent("""
    import sys, time, numpy as np
    from twin3d.model import Grid
    from twin3d.scenario.results import ResultsLayout, ResultsWriter, finish
    layout = ResultsLayout(Grid((0.0, 0.0), 1.0, (8, 9)), np.zeros((8, 9)), ("depth", "speed"), 3,
                           ("max_depth",), ("rain", "outflow"), {"power": (4, 3)}, checkpoint_shape=(3, 8, 9))
    with ResultsWriter(sys.argv[1], layout, {"scenario": "test"}) as w:
        for k in range(int(sys.argv[2])):
            w.append_frame(60.0 * k, {"depth": np.full((8, 9), k, "f4"), "speed": np.zeros((8, 9))},
                           {"max_depth": np.arange(3) * k}, np.array([k, -k]),
                           {"power": (np.ones(4, bool), np.ones(3, bool))})
            w.checkpoint(np.full((3, 8, 9), k), 60.0 * k, np.array([k]))
            print(k, flush=True)
            time.sleep(float(sys.argv[3]))
    finish(sys.argv[1])
""")


def start_writer(path, frames, pause):
    return subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(frames), str(pause)],
                            stdout=subprocess.PIPE, text=True)


def test_frames_round_trip(tmp_path):
    path = tmp_path / "r.h5"
    proc = start_writer(path, 3, 0.0)
    assert proc.wait(timeout=60) == 0
    with ResultsFile(path) as r:
        assert r.complete and r.n_frames == 3
        np.testing.assert_array_equal(r.times(), [0, 60, 120])
        assert r.field("depth", 2).dtype == np.float32 and r.field("depth", 2)[0, 0] == 2
        assert r.file["fields/depth"].attrs["max"] == 2.0
        assert r.file["fields/depth"].chunks == (1, 8, 9)
        assert list(r.file["mass_balance"].attrs["columns"]) == ["rain", "outflow"]


def test_live_reader_sees_frames_appear(tmp_path):
    path = tmp_path / "live.h5"
    proc = start_writer(path, 6, 0.4)
    try:
        proc.stdout.readline()  # first frame written
        with ResultsFile(path) as r:
            seen = [r.refresh()]
            deadline = time.monotonic() + 30
            while seen[-1] < 6 and time.monotonic() < deadline:
                time.sleep(0.1)
                seen.append(r.refresh())
            assert seen[0] >= 1 and seen[-1] == 6 and len(set(seen)) > 2, seen
            assert r.field("depth", 5)[0, 0] == 5
    finally:
        proc.wait(timeout=60)


def test_killed_writer_leaves_a_readable_file(tmp_path):
    path = tmp_path / "killed.h5"
    proc = start_writer(path, 100, 0.2)
    for _ in range(3):
        proc.stdout.readline()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    with ResultsFile(path) as r:
        assert not r.complete
        n = r.n_frames
        assert 3 <= n < 100
        assert r.field("depth", n - 1)[0, 0] == n - 1
        assert r.file["checkpoint/frames"][0] >= 3


def test_layout_is_complete_before_first_frame(tmp_path):
    path = tmp_path / "empty.h5"
    layout = ResultsLayout(Grid((0.0, 0.0), 1.0, (2, 2)), np.zeros((2, 2)), ("depth",), 1,
                           ("max_depth",), ("rain",))
    ResultsWriter(path, layout, {}).close()
    with ResultsFile(path) as r:
        assert r.n_frames == 0 and not r.complete
        assert set(r.file) >= {"time", "grid", "fields", "buildings", "networks", "allocation", "events",
                               "mass_balance"}
