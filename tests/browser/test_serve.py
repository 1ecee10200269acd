"""A user opens the app in a real browser and sees the city drawn."""

from __future__ import annotations

import time
from pathlib import Path

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


def test_serve_without_arguments_offers_the_default_scenarios(browser, tmp_path, monkeypatch):
    from tests.server.test_catalog import alive
    from twin3d_server.logic.catalog import default_scenarios

    monkeypatch.setenv("TWIN3D_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("TWIN3D_QUICK_RUNS", "1")
    proc, url = start_server([])
    try:
        page = browser.new_page(viewport={"width": 1200, "height": 800})
        page.set_default_timeout(90_000)  # a loaded 2-core machine answers slowly
        page.goto(url)
        page.get_by_text("3000 buildings").wait_for(timeout=90_000)
        assert "Riverton" in page.title()
        # the first scenario is shown as soon as its run has a frame, while the others wait their turn
        page.wait_for_function("!['', 'no results', 'no frames yet'].includes("
                               "document.querySelector('#timeline-clock')?.innerText.trim() ?? '')", timeout=120_000)
        page.locator("#scenario-picker").click(force=True)  # the field over the input opens the menu
        options = page.get_by_role("option")
        options.first.wait_for()
        texts = [t.strip() for t in options.all_inner_texts()]
        assert len(texts) == len(default_scenarios()) == 5
        assert "Cloudburst" in texts[0]
        statuses = ("cached", "queued", "running", "complete")
        assert all(any(s in t for s in statuses) for t in texts), texts
        runs = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and _runs_into(p, tmp_path)]
        assert len(runs) <= 1  # one run at a time
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in runs) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(alive(pid) for pid in runs), "a run outlived the server"


def _runs_into(proc_dir: Path, tmp_path: Path) -> bool:
    """Whether a /proc entry is a twin3d run writing under ``tmp_path``."""
    try:
        cmdline = (proc_dir / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"twin3d_server.logic.runs" in cmdline and any(str(tmp_path).encode() in a for a in cmdline)
