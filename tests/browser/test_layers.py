"""A user recolours the buildings and hides the flood water from the Layers & Legend panel."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser.conftest import start_server

pytestmark = pytest.mark.browser


def test_layers_panel_recolours_buildings_and_hides_water(browser, tmp_path, monkeypatch):
    import twin3d.mis.stages
    from twin3d.config import asset
    from twin3d.scenario.runner import run_scenario

    artifacts = Path(os.environ.get("TWIN3D_TEST_ARTIFACTS", tmp_path))
    artifacts.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("TWIN3D_CACHE_DIR", str(tmp_path / "cache"))
    results = run_scenario(asset("scenarios", "river_flood_100y.toml"), quick=True, arch="cpu", progress=False,
                           stages=twin3d.mis.stages.STAGES)
    proc, url = start_server([str(results)])
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 860})
        page.goto(url)
        page.get_by_text("3000 buildings").wait_for(timeout=90_000)
        panel = page.locator("#layers-panel")
        panel.get_by_text("Water depth (m)").wait_for(timeout=60_000)
        assert panel.locator(".legend-gradient").count() >= 1
        assert panel.get_by_label("Heat (not in this run)").is_disabled()  # a flood run has no heat field
        page.screenshot(path=str(artifacts / "layers-before.png"))

        panel.locator(".v-select .v-field").first.click()  # Vuetify's field, not its hidden input, opens the menu
        page.get_by_role("option", name="Status").click()
        panel.get_by_text("Buildings: status").wait_for(timeout=30_000)
        assert panel.get_by_text("No impact").count() == 1  # a categorical swatch
        assert panel.locator(".legend-swatch").count() >= 2

        water = panel.get_by_label("Flood water")
        assert water.is_checked()
        water.uncheck()
        panel.get_by_text("Water depth (m)").wait_for(state="detached", timeout=30_000)
        assert not water.is_checked()
        page.screenshot(path=str(artifacts / "layers-after.png"))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
