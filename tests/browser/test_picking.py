"""An engineer clicks a building in the browser and sees the id that server-side picking gives for
that pixel; the Export menu's files reach the browser as downloads."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np
import pytest

from tests.browser.conftest import start_server

pytestmark = pytest.mark.browser

VIEWPORT = {"width": 1600, "height": 1000}
MARGIN_PX = 70  # keep clear of the map overlays along the view's edges


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A quick default-city flood run served by `twin3d serve`: (url, results path)."""
    import twin3d.mis.stages
    from twin3d.config import asset
    from twin3d.scenario.runner import run_scenario

    cache = tmp_path_factory.mktemp("cache")
    before = os.environ.get("TWIN3D_CACHE_DIR")
    os.environ["TWIN3D_CACHE_DIR"] = str(cache)
    try:
        results = run_scenario(asset("scenarios", "river_flood_100y.toml"), quick=True, arch="cpu",
                               progress=False, stages=twin3d.mis.stages.STAGES)
        proc, url = start_server([str(results)])
    finally:
        if before is None:
            os.environ.pop("TWIN3D_CACHE_DIR", None)
        else:
            os.environ["TWIN3D_CACHE_DIR"] = before
    yield url, results
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture
def artifacts(tmp_path) -> Path:
    path = Path(os.environ.get("TWIN3D_TEST_ARTIFACTS", tmp_path))
    path.mkdir(parents=True, exist_ok=True)
    return path


def replica_scene(results_path, size: tuple[int, int]):
    """The server's scene rebuilt here: same city, results, first frame, camera and window size."""
    from twin3d.io.default_city import load_city
    from twin3d.scenario.results import ResultsFile
    from twin3d.scene.city_scene import CityScene

    scene = CityScene(load_city(None)[0])
    results = ResultsFile(results_path)
    scene.attach_results(results)
    scene.apply_frame(0)
    scene.plotter.window_size = size
    scene.plotter.render()
    return scene, results


def steady_building_pixels(scene, width: int, height: int, wanted: int = 2) -> list[tuple[int, int, int]]:
    """(x, y, building) in VTK display pixels (origin lower-left) of ``wanted`` different buildings
    where the pixel and its neighbours 2 px away all show the same building: a click there
    cannot miss it.  Clear of the edges, nearest the view's centre first."""
    from twin3d.scene.picking import pick_at

    xs, ys = np.meshgrid(np.arange(MARGIN_PX, width - MARGIN_PX, 5), np.arange(MARGIN_PX, height - MARGIN_PX, 5))
    order = np.argsort(np.hypot(xs - width / 2, ys - height / 2), axis=None)
    found: list[tuple[int, int, int]] = []
    for x, y in zip(xs.ravel()[order].tolist(), ys.ravel()[order].tolist(), strict=True):
        hit = pick_at(scene, x, y).building
        if hit is None or any(hit == f[2] for f in found):
            continue
        if {pick_at(scene, x + dx, y + dy).building for dx in (-2, 0, 2) for dy in (-2, 0, 2)} == {hit}:
            found.append((x, y, hit))
            if len(found) == wanted:
                break
    return found


def open_app(browser, url: str, scale: float):
    page = browser.new_page(viewport=VIEWPORT, device_scale_factor=scale, accept_downloads=True)
    page.goto(url)
    page.get_by_text("3000 buildings").wait_for(timeout=120_000)
    page.locator("#view-a canvas").first.wait_for(timeout=60_000)
    page.wait_for_timeout(1500)  # the first image
    return page


def test_clicked_building_shows_the_server_side_pick(browser, served, artifacts):
    url, results_path = served
    page = open_app(browser, url, 1.0)
    box = page.locator("#view-a canvas").first.bounding_box()
    width, height = round(box["width"]), round(box["height"])
    scene, results = replica_scene(results_path, (width, height))
    try:
        candidates = steady_building_pixels(scene, width, height)
        ids = scene.city.buildings.table["id"]
    finally:
        results.close()
    assert len(candidates) >= 2
    for scale, (x, y, building) in zip((1.0, 2.0), candidates, strict=True):  # devicePixelRatio 1, then 2
        if scale != 1.0:
            page.get_by_role("button", name="Close details").click()  # the card covers part of the view
            page.locator("#pick-card").wait_for(state="detached", timeout=60_000)
            page.close()
            page = open_app(browser, url, scale)
            assert page.evaluate("window.devicePixelRatio") == 2
        view = page.locator("#view-a canvas").first.bounding_box()
        assert (round(view["width"]), round(view["height"])) == (width, height)
        # VTK counts display pixels from the lower-left corner, the page from the top-left
        page.mouse.click(view["x"] + x, view["y"] + (height - y))
        page.wait_for_function(f"document.querySelector('#picked-building-id')?.innerText.trim() === "
                               f"{str(ids[building])!r}", timeout=90_000)
        assert page.locator("#pick-card").get_by_text("Hazard now").is_visible()
        page.screenshot(path=str(artifacts / f"picking-dpr{scale:g}.png"))
    page.get_by_role("button", name="Close details").click()
    page.locator("#pick-card").wait_for(state="detached", timeout=60_000)
    page.close()


def test_export_menu_downloads_png_and_kpi_csv(browser, served, artifacts):
    from twin3d.scenario.results import ResultsFile
    from twin3d.scene.export import kpi_csv

    url, results_path = served
    page = open_app(browser, url, 1.0)
    view = page.locator("#view-a canvas").first.bounding_box()
    saved = {}
    for item, suffix in (("Screenshot (PNG)", "png"), ("KPIs (CSV)", "csv")):
        page.get_by_role("button", name="Export").click()
        with page.expect_download(timeout=90_000) as download:
            page.get_by_text(item).click()
        name = download.value.suggested_filename
        assert name.endswith(f"-frame000.{suffix}") and name.startswith("Riverton-")
        saved[suffix] = artifacts / name
        download.value.save_as(saved[suffix])
    png = saved["png"].read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", png[16:24]) == (round(view["width"]), round(view["height"]))
    with ResultsFile(results_path) as results:
        assert saved["csv"].read_text() == kpi_csv(results)
    page.close()
