"""The timeline logic without a browser: state changes drive the scene's arrays."""

from __future__ import annotations

import asyncio
import concurrent.futures

import numpy as np
import pytest

from tests.io.test_store import national_grid_city
from tests.scene.test_frames import GRID, frame_depth, write_results
from twin3d.scenario.results import ResultsFile


@pytest.fixture
def app(tmp_path, request):
    from trame.app import get_server

    from twin3d_server.app import build_app

    results = ResultsFile(write_results(tmp_path / "results.h5"))
    server, ctx = build_app(national_grid_city(), get_server(request.node.name, client_type="vue3"), [results])
    server.state.ready()
    yield server, ctx
    results.close()


def shown_depth(scene) -> np.ndarray:
    return np.asarray(scene.water.depth).reshape(GRID.shape, order="F")


def test_index_change_shows_that_frame(app):
    server, ctx = app
    scene, tl = ctx.scene, ctx.panels["timeline"].data
    assert tl.n_frames == 3 and tl.clock == "2026-02-09 08:00"
    assert tl.events == [{"index": 1, "kind": "breach", "label": "Dike breach"}]
    tl.time_index = 2
    server.state.flush()
    assert scene.frame == 2
    np.testing.assert_allclose(shown_depth(scene)[:, :3], 1.5, atol=1e-6)
    assert tl.clock == "2026-02-09 08:20"


def test_step_advances_one_frame_and_stops_at_the_end(app):
    server, ctx = app
    scene, tl = ctx.scene, ctx.panels["timeline"].data
    for expected in (1, 2, 2):
        server.controller.timeline_step()
        server.state.flush()
        assert tl.time_index == expected and scene.frame == expected
    np.testing.assert_allclose(shown_depth(scene)[:, 0], frame_depth(2)[:, 0], atol=1e-6)


def test_play_then_pause_changes_nothing_after_pause(app):
    server, ctx = app
    scene, tl = ctx.scene, ctx.panels["timeline"].data
    tl.speed = 10

    async def play_a_while():
        server.controller.timeline_play()
        assert tl.playing
        await asyncio.sleep(0.25)  # ~2 frames at 10 frames/s
        server.controller.timeline_pause()
        paused_at = tl.time_index
        await asyncio.sleep(0.3)
        return paused_at

    # a loop of its own in a worker thread: other tests (Playwright's sync API) may hold this thread's loop
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        paused_at = pool.submit(asyncio.run, play_a_while()).result(timeout=60)
    server.state.flush()
    assert paused_at >= 1 and not tl.playing
    assert tl.time_index == paused_at and scene.frame == paused_at


def test_live_run_frames_appear_on_step(tmp_path, request):
    from trame.app import get_server

    from twin3d.scenario.results import ResultsLayout, ResultsWriter
    from twin3d_server.app import build_app

    layout = ResultsLayout(grid=GRID, elevation=np.zeros(GRID.shape), fields=("depth",), n_buildings=2,
                           building_quantities=("max_depth",), mass_balance_columns=("volume",))
    with ResultsWriter(tmp_path / "live.h5", layout, {"start": "2026-02-09T08:00:00"}) as writer:
        writer.append_frame(0.0, {"depth": frame_depth(0)}, {"max_depth": np.zeros(2)}, np.zeros(1))
        results = ResultsFile(tmp_path / "live.h5")
        server, ctx = build_app(national_grid_city(), get_server(request.node.name, client_type="vue3"), [results])
        scene, tl = ctx.scene, ctx.panels["timeline"].data
        server.state.ready()
        writer.append_frame(600.0, {"depth": frame_depth(1)}, {"max_depth": np.ones(2)}, np.zeros(1))
        server.controller.timeline_step()
        server.state.flush()
        assert tl.n_frames == 2 and scene.frame == 1
        assert tl.clock == "2026-02-09 08:10"
        results.close()


def test_serve_targets_split_into_city_and_results(tmp_path):
    from twin3d.scenario.results import is_results_file
    from twin3d_server.logic.catalog import split_targets

    path = write_results(tmp_path / "results.h5")
    assert is_results_file(path) and not is_results_file(tmp_path / "missing.h5")
    city, entries = split_targets([str(path)])  # empty city_path: the default city is served
    assert city is None and entries == [path]
