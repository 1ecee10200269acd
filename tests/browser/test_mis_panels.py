"""A planner follows the KPIs while the flood plays, optimises the resources, records a decision
and downloads the report, in a real browser."""

from __future__ import annotations

import os
from pathlib import Path

import h5py
import pytest

from tests.browser.conftest import start_server

pytestmark = pytest.mark.browser


def _text(page, selector: str) -> str:
    return page.locator(selector).inner_text().strip()


def test_planner_follows_kpis_optimises_decides_and_downloads_the_report(browser, tmp_path, monkeypatch):
    import twin3d.mis.stages
    from twin3d.config import asset
    from twin3d.scenario.runner import run_scenario

    monkeypatch.setenv("TWIN3D_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("TWIN3D_DATA_DIR", str(tmp_path / "data"))  # the decision log of this test
    artifacts = Path(os.environ.get("TWIN3D_TEST_ARTIFACTS", tmp_path))
    artifacts.mkdir(parents=True, exist_ok=True)
    results = run_scenario(asset("scenarios", "river_flood_100y.toml"), quick=True, arch="cpu", progress=False,
                           stages=twin3d.mis.stages.STAGES)
    with h5py.File(results, "r") as f:
        flooded_first, flooded_last = (f"{int(v):,} buildings" for v in f["kpi/flooded_buildings"][[0, -1]])
    proc, url = start_server([str(results)])
    try:
        page = browser.new_page(viewport={"width": 1200, "height": 800}, accept_downloads=True)
        page.goto(url)
        flooded = page.locator("#kpi-flooded_buildings")
        flooded.wait_for(timeout=90_000)
        assert _text(page, "#kpi-flooded_buildings") == flooded_first == "0 buildings"  # the river is in its bed
        assert page.locator("[id^=kpi-] ").count() >= 10
        assert page.locator("#kpi-panel .js-plotly-plot").count() >= 10  # a chart per card

        # play until the flood reaches buildings, then pause: the card follows the frames
        # (timeouts are generous: each frame is a software render of the 3D view, seconds on a busy machine)
        page.get_by_role("button", name="Play").click()
        page.wait_for_function("document.querySelector('#kpi-flooded_buildings').innerText.trim() "
                               f"!== {flooded_first!r}", timeout=120_000)
        page.get_by_role("button", name="Pause").click()
        for _ in range(3):  # and steps to the last frame
            page.get_by_role("button", name="Step").click()
            page.wait_for_timeout(150)
        page.wait_for_function("document.querySelector('#kpi-flooded_buildings').innerText.trim() "
                               f"=== {flooded_last!r}", timeout=120_000)
        page.wait_for_function("document.querySelector('#allocation-status')?.innerText.includes('stored plan')",
                               timeout=120_000)
        page.screenshot(path=str(artifacts / "mis_panels_last_frame.png"), full_page=True)

        # optimise the shown frame again: a status with the solver outcome and its time
        page.get_by_role("button", name="Optimise now").click()
        page.wait_for_function("/ms in all/.test(document.querySelector('#allocation-optimise-status').innerText)",
                               timeout=120_000)
        assert "units deployed" in _text(page, "#allocation-optimise-status")
        assert "optimised now" in _text(page, "#allocation-status")
        page.locator("#allocation-panel").scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / "mis_panels_optimised.png"))

        # record a decision: it appears in the list
        page.get_by_role("textbox", name="Decision", exact=True).fill("Pumps for the hospital")
        page.get_by_role("textbox", name="Option chosen").fill("all six pumps from the fire station")
        page.get_by_role("textbox", name="Reason").fill("the basement floods first")
        page.get_by_role("button", name="Record decision").click()
        page.locator("#decision-list").get_by_text("Pumps for the hospital: all six pumps from the fire station") \
            .wait_for(timeout=120_000)
        assert "recorded as entry 1" in _text(page, "#decision-message")

        # the report downloads as one self-contained HTML page
        with page.expect_download(timeout=120_000) as download:
            page.get_by_role("button", name="Download report").click()
        saved = artifacts / download.value.suggested_filename
        download.value.save_as(saved)
        assert saved.name == "100-year-river-flood-report.html"
        html = saved.read_text(encoding="utf-8")
        assert html.lstrip().lower().startswith("<!doctype html") and "<svg" in html and "Flooded buildings" in html
        page.locator("#decision-list").scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / "mis_panels_after_decision.png"))
    finally:
        proc.terminate()
        proc.wait(timeout=30)

    from twin3d.mis.decisions import DecisionLog

    entries = DecisionLog(tmp_path / "data" / "decisions.sqlite").entries()
    assert [e.what for e in entries] == ["Pumps for the hospital: all six pumps from the fire station"]
    assert entries[0].frame_index == 6 and entries[0].who == "local"
