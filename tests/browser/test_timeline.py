"""A user plays a scenario's results on the timeline in a real browser."""

from __future__ import annotations

import pytest

from tests.browser.conftest import start_server

pytestmark = pytest.mark.browser


def test_timeline_steps_and_plays_quick_river_flood(browser, tmp_path, monkeypatch):
    import twin3d.mis.stages
    from twin3d.config import asset
    from twin3d.scenario.runner import run_scenario

    monkeypatch.setenv("TWIN3D_CACHE_DIR", str(tmp_path / "cache"))
    results = run_scenario(asset("scenarios", "river_flood_100y.toml"), quick=True, arch="cpu", progress=False,
                           stages=twin3d.mis.stages.STAGES)
    proc, url = start_server([str(results)])
    try:
        page = browser.new_page(viewport={"width": 1200, "height": 800})
        page.goto(url)
        page.get_by_text("3000 buildings").wait_for(timeout=90_000)
        clock = page.locator("#timeline-clock")
        clock.wait_for(timeout=60_000)
        before = clock.inner_text()
        page.get_by_role("button", name="Step").click()
        page.wait_for_function(f"document.querySelector('#timeline-clock').innerText.trim() "
                               f"!== {before.strip()!r}", timeout=30_000)
        assert clock.inner_text().strip() != before.strip()
        page.get_by_role("button", name="Play").click()
        page.wait_for_timeout(1500)
        page.get_by_role("button", name="Pause").click()
        page.wait_for_timeout(500)
        paused = clock.inner_text()
        page.wait_for_timeout(1500)
        assert clock.inner_text() == paused
        assert page.get_by_role("slider").count() >= 1
    finally:
        proc.terminate()
        proc.wait(timeout=30)
