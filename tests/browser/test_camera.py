"""A user switches camera presets, and shares the view as a link that restores it."""

from __future__ import annotations

import numpy as np
import pytest

from tests.browser.conftest import start_server
from tests.browser.views import artifacts, quick_results, wait_for_image

pytestmark = pytest.mark.browser

VIEW = "#view-a img"
SIZE = {"width": 1400, "height": 900}


def _differs(reference, by: float = 6.0):
    return lambda image: image.std() > 10 and np.abs(image - reference).mean() > by


def _state(page, name: str):
    return page.evaluate(f"window.trame.state.get('{name}')")


def test_presets_give_different_images_and_a_link_restores_the_view(browser, tmp_path, monkeypatch):
    paths = quick_results(tmp_path, monkeypatch, "river_flood_100y.toml")
    proc, url = start_server(paths)
    out = artifacts(tmp_path)
    try:
        context = browser.new_context(viewport=SIZE, permissions=["clipboard-read", "clipboard-write"])
        page = context.new_page()
        page.goto(url)
        page.get_by_text("3000 buildings").wait_for(timeout=120_000)
        first = wait_for_image(page, VIEW, lambda im: im.std() > 10)
        images, before = {}, first
        for name, title in (("street", "Street level"), ("district", "District"), ("overview", "Overview")):
            page.get_by_role("button", name=title, exact=True).click()
            page.wait_for_function(f"window.trame.state.get('MapState__preset') === '{name}'", timeout=60_000)
            images[name] = before = wait_for_image(page, VIEW, _differs(before))
            page.screenshot(path=out / f"camera_{name}.png", timeout=120_000)
        for a, b in (("street", "district"), ("district", "overview"), ("overview", "street")):
            assert np.abs(images[a] - images[b]).mean() > 6.0, f"{a} and {b} look the same"

        # the link of the district view, taken while it is shown
        page.get_by_role("button", name="District", exact=True).click()
        page.wait_for_function("window.trame.state.get('MapState__preset') === 'district'", timeout=60_000)
        page.wait_for_function("(window.trame.state.get('MapState__share_query') || '').includes('cam=')",
                               timeout=60_000)
        district = wait_for_image(page, VIEW, lambda im: np.abs(im - images["district"]).mean() < 3)
        assert np.abs(district - images["district"]).mean() < 3  # a preset gives the same view each time
        query = _state(page, "MapState__share_query")
        page.get_by_role("button", name="Copy link").click()
        link = page.locator("input#share-link").input_value(timeout=30_000)
        assert link.startswith(url) and link.endswith("?" + query)  # the page may be /index.html
        page.keyboard.press("Escape")
        page.get_by_role("button", name="Street level", exact=True).click()
        wait_for_image(page, VIEW, _differs(district))

        # opening the link brings the district view back
        other = context.new_page()
        other.goto(link)
        other.get_by_text("3000 buildings").wait_for(timeout=120_000)
        other.wait_for_function(f"window.trame.state.get('MapState__share_query') === {query!r}", timeout=120_000)
        restored = wait_for_image(other, VIEW, lambda im: np.abs(im - district).mean() < 3)
        other.screenshot(path=out / "camera_link_restored.png", timeout=120_000)
        assert np.abs(restored - district).mean() < 3
    finally:
        proc.terminate()
        proc.wait(timeout=30)
