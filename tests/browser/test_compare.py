"""A user compares a strategy with the baseline: two views, both showing the city."""

from __future__ import annotations

import pytest

from tests.browser.conftest import start_server
from tests.browser.views import artifacts, quick_results, wait_for_image

pytestmark = pytest.mark.browser


def test_compare_shows_two_views_both_drawn(browser, tmp_path, monkeypatch):
    paths = quick_results(tmp_path, monkeypatch, "river_flood_100y.toml", "river_flood_100y_barrier.toml")
    proc, url = start_server(paths)
    try:
        page = browser.new_page(viewport={"width": 1600, "height": 900})
        page.goto(url)
        page.get_by_text("3000 buildings").wait_for(timeout=120_000)
        page.get_by_label("Compare", exact=True).check()
        page.locator("#title-b").get_by_text("with barrier").wait_for(timeout=180_000)
        assert page.locator("#view-a img").count() == 1 and page.locator("#view-b img").count() == 1
        assert page.locator("#view-b").is_visible()
        drawn = wait_for_image(page, "#view-a img", lambda im: im.std() > 10)
        drawn_b = wait_for_image(page, "#view-b img", lambda im: im.std() > 10)
        page.screenshot(path=artifacts(tmp_path) / "compare_two_views.png", timeout=120_000)
        assert drawn is not None and drawn.std() > 10
        assert drawn_b is not None and drawn_b.std() > 10
        assert "100-year river flood" in page.locator("#title-a").inner_text()
        page.get_by_label("Difference", exact=True).check()
        page.wait_for_function("window.trame.state.get('CompareState__difference') === true", timeout=60_000)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
