"""A user opens the app in a real browser and sees the city drawn."""

from __future__ import annotations

import numpy as np
import pytest

from tests.browser.conftest import start_server
from tests.io.test_store import national_grid_city
from twin3d.io import write

pytestmark = pytest.mark.browser


def test_serve_shows_city_in_browser(browser, tmp_path):
    city_file = tmp_path / "city.h5"
    write(national_grid_city(), city_file)
    proc, url = start_server([str(city_file)])
    try:
        page = browser.new_page(viewport={"width": 1200, "height": 800})
        page.goto(url)
        page.wait_for_function("document.title.includes('Delft-ish')", timeout=60_000)
        page.get_by_text("2 buildings").wait_for(timeout=60_000)
        page.wait_for_timeout(3000)  # let the remote view push its first image
        shot = tmp_path / "shot.png"
        page.screenshot(path=str(shot))
        from PIL import Image

        pixels = np.asarray(Image.open(shot).convert("RGB"), dtype=float)
        view = pixels[100:700, 100:1100]
        assert view.std() > 5, "the 3D view is blank"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_serve_without_arguments_shows_the_default_city(browser, tmp_path, monkeypatch):
    monkeypatch.setenv("TWIN3D_CACHE_DIR", str(tmp_path / "cache"))
    proc, url = start_server([])
    try:
        page = browser.new_page(viewport={"width": 1200, "height": 800})
        page.goto(url)
        page.get_by_text("3000 buildings").wait_for(timeout=90_000)
        assert "Riverton" in page.title()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
