"""Shared by the MIS panel tests: the quick default-city river flood, and the app serving it."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def river_flood(tmp_path_factory) -> Path:
    """The quick river flood on the default city, with the MIS stages (one run per session:
    every module that imports this fixture finds the first run in the same cache)."""
    import twin3d.mis.stages
    from twin3d.config import asset
    from twin3d.scenario.runner import run_scenario

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TWIN3D_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "mis-cache"))
        return run_scenario(asset("scenarios", "river_flood_100y.toml"), quick=True, arch="cpu", progress=False,
                            stages=twin3d.mis.stages.STAGES)


@pytest.fixture(scope="session")
def default_city():
    from twin3d.io.default_city import load_city

    return load_city(None)[0]


@contextlib.contextmanager
def serving(name: str, city, results_path, **options):
    """``(server, ctx, results)`` of the app on ``city`` with ``results_path`` active, state ready."""
    from trame.app import get_server

    from twin3d.scenario.results import ResultsFile
    from twin3d_server.app import build_app
    from twin3d_server.context import AppOptions

    results = ResultsFile(results_path)
    try:
        server, ctx = build_app(city, get_server(name, client_type="vue3"), [results], AppOptions(**options))
        server.state.ready()
        yield server, ctx, results
    finally:
        results.close()


def show_frame(server, ctx, k: int) -> None:
    """Move the timeline to frame ``k`` as the slider does, and let the state settle."""
    ctx.panels["timeline"].data.time_index = k
    server.state.flush()
