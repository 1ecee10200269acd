"""The runner end to end on bare terrain: CLI equals the solver, cache, kill and resume, mass balance."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from twin3d.io.raster import write_terrain
from twin3d.model import Grid, Terrain
from twin3d.scenario.results import ResultsFile

GRID = Grid((1000.0, 2000.0), 2.0, (12, 40))


def dam_break_files(tmp_path, duration_s=20.0, interval_s=5.0, extra="", dtype="float32"):
    bed = np.zeros(GRID.shape)
    depth = np.zeros(GRID.shape)
    depth[:, :20] = 1.0
    write_terrain(Terrain(GRID, bed), tmp_path / "bed.asc")
    write_terrain(Terrain(GRID, depth), tmp_path / "h0.asc")
    spec = tmp_path / "dam.toml"
    spec.write_text(textwrap.dedent(f"""
        name = "dam break"
        city = "none"
        start = 2026-01-01T00:00:00Z
        [grid]
        cell_size_m = 2.0
        terrain = "bed.asc"
        initial_depth = "h0.asc"
        manning = 0.01
        dtype = "{dtype}"
        [time]
        duration_s = {duration_s}
        output_interval_s = {interval_s}
        """) + extra)
    return spec


def cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "twin3d.cli", *args], capture_output=True, text=True,
                          timeout=600, env={**os.environ, **(env or {})})


@pytest.fixture
def cache_env(tmp_path, monkeypatch):
    monkeypatch.setenv("TWIN3D_CACHE_DIR", str(tmp_path / "cache"))
    return {"TWIN3D_CACHE_DIR": str(tmp_path / "cache")}


def test_cli_dam_break_equals_direct_solver(tmp_path, cache_env, taichi_cpu):
    from twin3d.physics.flood import FloodSolver

    out = tmp_path / "dam.h5"
    result = cli("run", str(dam_break_files(tmp_path)), "-o", str(out), "--arch", "cpu", "--no-progress",
                 env=cache_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(out)
    solver = FloodSolver(GRID, np.zeros(GRID.shape), manning=0.01)
    h0 = np.zeros(GRID.shape)
    h0[:, :20] = 1.0
    solver.set_depth(h0)
    with ResultsFile(out) as r:
        assert r.complete and r.n_frames == 5
        np.testing.assert_array_equal(r.times(), [0, 5, 10, 15, 20])
        for k, t in enumerate(r.times()):
            solver.advance(t - solver.time)
            np.testing.assert_allclose(r.field("depth", k), solver.depth(), atol=1e-6)
        assert r.file.attrs["scenario"].startswith("name")
        assert r.file.attrs["start"] == "2026-01-01T00:00:00+00:00"
        assert r.file["fields/depth"].attrs["max"] == pytest.approx(1.0, abs=1e-6)
    info = cli("info", str(out), "--json")
    assert info.returncode == 0, info.stderr
    summary = json.loads(info.stdout)
    assert summary["frames"] == 5 and summary["complete"] and summary["fields"] == ["depth", "speed"]


def test_cached_rerun_returns_without_stepping(tmp_path, cache_env, monkeypatch):
    from twin3d.scenario import hazards
    from twin3d.scenario.runner import run_scenario

    spec = dam_break_files(tmp_path)
    first = run_scenario(spec, arch="cpu", progress=False)
    class Stepped(Exception):
        pass

    def advance_to(*args):
        raise Stepped

    monkeypatch.setattr(hazards.Hazards, "advance_to", advance_to)
    t0 = time.perf_counter()
    assert run_scenario(spec, arch="cpu", progress=False) == first
    assert time.perf_counter() - t0 < 5.0
    spec.write_text(spec.read_text().replace("manning = 0.01", "manning = 0.02"))
    with pytest.raises(Stepped):
        run_scenario(spec, arch="cpu", progress=False)


def test_killed_run_is_readable_and_resume_finishes_it(tmp_path, cache_env):
    spec = dam_break_files(tmp_path, duration_s=4000.0, interval_s=50.0,
                           extra='[[hazards.rain]]\nintensity_mm_h = 30.0\n', dtype="float64")
    out = tmp_path / "long.h5"
    proc = subprocess.Popen([sys.executable, "-m", "twin3d.cli", "run", str(spec), "-o", str(out),
                             "--arch", "cpu", "--no-progress"], env={**os.environ, **cache_env},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        frames = 0
        while frames < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
            if out.exists():
                try:
                    with ResultsFile(out) as r:
                        frames = r.n_frames
                except Exception:  # the writer may not have switched to SWMR yet
                    frames = 0
        assert proc.poll() is None, "the run ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    with ResultsFile(out) as r:
        assert not r.complete and 3 <= r.n_frames < 81
    result = cli("run", str(spec), "-o", str(out), "--arch", "cpu", "--resume", "--no-progress", env=cache_env)
    assert result.returncode == 0, result.stderr
    with ResultsFile(out) as r:
        assert r.complete and r.n_frames == 81
        np.testing.assert_allclose(np.diff(r.times()), 50.0)
        mb = dict(zip(r.file["mass_balance"].attrs["columns"], r.file["mass_balance"][-1]))
        assert mb["relative_error"] < 1e-5
        assert mb["rain"] == pytest.approx(30e-3 / 3600 * 4000 * GRID.n_cells * GRID.cell_area, rel=1e-9)


def test_mass_balance_under_rain_in_results(tmp_path, cache_env):
    # float64: 0.5 m3 of rain on 240 m3 of water is below float32's resolution of the sum
    spec = dam_break_files(tmp_path, extra='[[hazards.rain]]\nintensity_mm_h = [[0, 0], [10, 100], [20, 0]]\n',
                           dtype="float64")
    out = tmp_path / "rain.h5"
    assert cli("run", str(spec), "-o", str(out), "--arch", "cpu", "--no-progress", env=cache_env).returncode == 0
    with ResultsFile(out) as r:
        cols = list(r.file["mass_balance"].attrs["columns"])
        mb = r.file["mass_balance"][()]
        rain = mb[:, cols.index("rain")]
        stored = mb[:, cols.index("stored")] - mb[:, cols.index("initial")]
        # triangle hyetograph peaking at 100 mm/h: 1000 mm/h * s over 20 s
        assert rain[-1] == pytest.approx(100e-3 / 3600 * 10 * GRID.n_cells * GRID.cell_area, rel=1e-9)
        np.testing.assert_allclose(stored, rain, rtol=1e-5, atol=1e-6)
        assert [e["kind"] for e in r.file["events"][()]] == [b"rain"]


def test_points_outside_grid_exit_2(tmp_path, cache_env):
    spec = dam_break_files(tmp_path, extra="[[strategy.pumps]]\npoint = [0.0, 0.0]\nrate_m3s = 1.0\n")
    result = cli("run", str(spec), "--arch", "cpu", env=cache_env)
    assert result.returncode == 2
    assert result.stderr.strip().startswith(f"error: {spec}: strategy.pumps[0].point")
    assert "outside the grid" in result.stderr


def test_cuda_without_gpu_exits_2(tmp_path, cache_env):
    import ctypes.util

    if ctypes.util.find_library("cuda"):
        pytest.skip("a CUDA driver is present")
    result = cli("run", str(dam_break_files(tmp_path)), "--arch", "cuda", env=cache_env)
    assert result.returncode == 2 and "cuda" in result.stderr.lower()


def test_breach_lowers_the_bed_at_its_time(tmp_path, cache_env):
    bed = np.zeros(GRID.shape)
    bed[:, 18:22] = 3.0  # a dam across the channel
    depth = np.where(np.arange(GRID.nx) < 18, 1.5, 0.0)[None, :].repeat(GRID.ny, 0)
    write_terrain(Terrain(GRID, bed), tmp_path / "bed.asc")
    write_terrain(Terrain(GRID, depth), tmp_path / "h0.asc")
    spec = tmp_path / "breach.toml"
    spec.write_text(textwrap.dedent("""
        city = "none"
        [grid]
        cell_size_m = 2.0
        terrain = "bed.asc"
        initial_depth = "h0.asc"
        dtype = "float64"
        [time]
        duration_s = 40
        output_interval_s = 10
        [[hazards.breach]]
        polygon = [[1035.5, 2000.0], [1044.5, 2000.0], [1044.5, 2024.0], [1035.5, 2024.0]]
        time_s = 15
        level_m = 0.0
        label = "dam breach"
        """))
    out = tmp_path / "breach.h5"
    result = cli("run", str(spec), "-o", str(out), "--arch", "cpu", "--no-progress", env=cache_env)
    assert result.returncode == 0, result.stderr
    with ResultsFile(out) as r:
        east = [r.field("depth", k)[:, 25:].sum() for k in range(r.n_frames)]
        assert east[0] == east[1] == 0.0  # held by the dam until t = 15 s
        assert east[2] > 0 and east[4] > east[2]
        assert r.file["grid/elevation"][:, 18:22].max() == 0.0  # the breached bed is what was simulated
        assert [(e["time"], e["kind"]) for e in r.file["events"][()]] == [(15.0, b"breach")]
