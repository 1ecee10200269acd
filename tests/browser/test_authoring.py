"""A planner draws a flood barrier on the 3D view, saves and runs the strategy in the
background, and the new run differs from the baseline where the barrier stands."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import numpy as np
import pytest

from tests.browser.conftest import start_server
from twin3d.config import asset

pytestmark = pytest.mark.browser

VIEWPORT = {"width": 1600, "height": 1000}


@pytest.fixture
def artifacts(tmp_path) -> Path:
    path = Path(os.environ.get("TWIN3D_TEST_ARTIFACTS", tmp_path))
    path.mkdir(parents=True, exist_ok=True)
    return path


def page_points(xy: np.ndarray, view: dict) -> list[tuple[float, float]]:
    """Page pixels of ground points ``xy`` (city CRS) in the server's view, from a replica of its
    scene (same city, camera and window size)."""
    from vtkmodules.vtkRenderingCore import vtkCoordinate

    from twin3d.io.default_city import load_city
    from twin3d.scene.city_scene import CityScene
    from twin3d.scene.measures import ground_elevation

    scene = CityScene(load_city(None)[0])
    width, height = round(view["width"]), round(view["height"])
    scene.plotter.window_size = (width, height)
    scene.plotter.render()
    local = np.column_stack([xy, ground_elevation(scene.city, xy)]) - scene.city.origin
    out = []
    for p in local:
        c = vtkCoordinate()
        c.SetCoordinateSystemToWorld()
        c.SetValue(*map(float, p))
        x, y = c.GetComputedDoubleDisplayValue(scene.plotter.renderer)
        out.append((view["x"] + x, view["y"] + (height - y)))  # VTK counts from the lower left
    scene.plotter.close()
    return out


def cells_on_line(grid, line: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row and column of the grid cells whose centres lie within half a cell of the polyline."""
    xs = grid.origin[0] + (np.arange(grid.shape[1]) + 0.5) * grid.cell_size
    ys = grid.origin[1] + (np.arange(grid.shape[0]) + 0.5) * grid.cell_size
    px, py = np.meshgrid(xs, ys)
    near = np.zeros(grid.shape, dtype=bool)
    for (x0, y0), (x1, y1) in zip(line[:-1], line[1:], strict=True):
        d = np.array([x1 - x0, y1 - y0])
        t = np.clip(((px - x0) * d[0] + (py - y0) * d[1]) / max(float(d @ d), 1e-9), 0, 1)
        near |= np.hypot(px - (x0 + t * d[0]), py - (y0 + t * d[1])) <= grid.cell_size / 2
    return np.nonzero(near)


def test_planner_draws_a_barrier_saves_runs_and_it_changes_the_flood(browser, tmp_path, monkeypatch, artifacts):
    from twin3d.scenario.results import ResultsFile

    cache = tmp_path / "cache"
    monkeypatch.setenv("TWIN3D_CACHE_DIR", str(cache))
    monkeypatch.setenv("TWIN3D_QUICK_RUNS", "1")
    target = np.array(tomllib.loads(asset("scenarios", "river_flood_100y_barrier.toml").read_text())
                      ["strategy"]["barriers"][0]["line"])
    proc, url = start_server([str(asset("scenarios", "river_flood_100y.toml"))])
    try:
        page = browser.new_page(viewport=VIEWPORT)
        page.set_default_timeout(90_000)  # a loaded 2-core machine renders the remote view slowly
        page.goto(url)
        page.get_by_text("3000 buildings").wait_for(timeout=120_000)
        status = page.locator("#scenario-status")
        page.wait_for_function("document.querySelector('#scenario-status')?.innerText.trim() === 'complete'",
                               timeout=120_000)  # the baseline ran in the background
        page.locator("#view-a canvas").first.wait_for(timeout=60_000)
        page.wait_for_timeout(1000)
        view = page.locator("#view-a canvas").first.bounding_box()

        page.get_by_role("button", name="Draw barrier").click()
        page.get_by_label("Crest height above ground (m)").fill("2")
        for i, (x, y) in enumerate(page_points(target, view)):
            page.mouse.click(x, y)
            page.wait_for_function(f"document.querySelector('#authoring-points')?.innerText.startsWith('{i + 1} ')",
                                   timeout=30_000)
        page.screenshot(path=str(artifacts / "authoring-drawn.png"))
        page.get_by_label("Scenario name").fill("North bank wall")
        page.get_by_role("button", name="Save and run").click()
        page.get_by_text("Saved north-bank-wall.toml").wait_for(timeout=30_000)
        page.wait_for_function("document.querySelector('#scenario-status')?.innerText.trim() === 'complete'",
                               timeout=120_000)
        page.get_by_text("compared with the baseline").wait_for(timeout=30_000)
        page.screenshot(path=str(artifacts / "authoring-complete.png"))
        assert status.inner_text().strip() == "complete"
    finally:
        proc.terminate()
        proc.wait(timeout=30)

    saved = tomllib.loads((cache / "scenarios" / "north-bank-wall.toml").read_text())
    assert saved["extends"] == str(asset("scenarios", "river_flood_100y.toml").resolve())
    (barrier,) = saved["strategy"]["barriers"]
    line = np.array(barrier["line"])
    assert barrier["height_m"] == 2.0 and line.shape == (4, 2)
    assert np.median(np.abs(line - target)) < 5.0  # the clicks landed where they were aimed
    runs = cache / "runs"
    (base_path,) = runs.glob("river_flood_100y-*-quick.h5")
    (new_path,) = runs.glob("north-bank-wall-*-quick.h5")
    with ResultsFile(base_path) as base, ResultsFile(new_path) as new:
        assert new.complete and new.n_frames == base.n_frames
        rows, cols = cells_on_line(new.grid, line)
        raised = new.file["grid/elevation"][()][rows, cols] - base.file["grid/elevation"][()][rows, cols]
        assert np.mean(raised > 1.0) > 0.8  # the barrier's cells stand ~2 m above the ground
        near = np.zeros(new.grid.shape, dtype=bool)
        for dr in range(-5, 6):
            for dc in range(-5, 6):
                near[np.clip(rows + dr, 0, new.grid.shape[0] - 1), np.clip(cols + dc, 0, new.grid.shape[1] - 1)] = True
        last = new.n_frames - 1
        change = np.abs(new.field("depth", last) - base.field("depth", last))[near]
        assert change.max() > 0.1  # the flood is different around the barrier
