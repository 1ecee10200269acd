"""Kiosk mode on a consultation screen: read-only, large type, and a note on what the model tells."""

from __future__ import annotations

import pytest

from tests.browser.conftest import start_server
from tests.browser.views import artifacts, quick_results, wait_for_image

pytestmark = pytest.mark.browser

EDITING_BUTTONS = ("Optimise now", "Save and run", "Record decision", "Draw barrier", "Place pump", "Close road")
EDITING_LABELS = ("Decision", "Reason", "Option chosen", "Scenario name")


def _px(page, expression: str) -> float:
    return float(page.evaluate(f"parseFloat(getComputedStyle({expression}).fontSize)"))


def test_kiosk_is_read_only_readable_and_explains_the_model(browser, tmp_path, monkeypatch):
    paths = quick_results(tmp_path, monkeypatch, "river_flood_100y.toml")
    proc, url = start_server([*paths, "--kiosk"])
    out = artifacts(tmp_path)
    try:
        page = browser.new_page(viewport={"width": 1920, "height": 1080})
        page.goto(url)
        page.get_by_text("3000 buildings").wait_for(timeout=120_000)
        note = page.locator("#kiosk-note")
        note.get_by_text("not a forecast").wait_for(timeout=60_000)
        assert "What it cannot tell" in note.inner_text()
        for name in EDITING_BUTTONS:
            assert page.get_by_role("button", name=name).count() == 0, name
        for label in EDITING_LABELS:
            assert page.get_by_label(label, exact=True).count() == 0, label
        assert page.locator("textarea, input[type=number]").count() == 0
        assert _px(page, "document.documentElement") >= 24  # 150 % type
        background = page.evaluate("getComputedStyle(document.querySelector('.v-application')).backgroundColor")
        assert background == "rgb(0, 0, 0)"
        drawn = wait_for_image(page, "#view-a img", lambda im: im.std() > 10)
        assert drawn is not None and drawn.std() > 10  # the dark theme leaves the 3D view as it is
        page.screenshot(path=out / "kiosk_1920.png", timeout=120_000)

        wall = browser.new_page(viewport={"width": 3840, "height": 2160}, device_scale_factor=1)
        wall.goto(url)
        wall.get_by_text("3000 buildings").wait_for(timeout=120_000)
        wall.locator("#kiosk-note").get_by_text("not a forecast").wait_for(timeout=60_000)
        fits = wall.evaluate("[document.documentElement.scrollWidth <= window.innerWidth, "
                             "document.documentElement.scrollHeight <= window.innerHeight]")
        assert fits == [True, True]
        assert _px(wall, "document.querySelector('#timeline-clock')") >= 20  # readable across a room
        wall.screenshot(path=out / "kiosk_3840.png", timeout=120_000)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
