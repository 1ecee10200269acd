"""KPI cards without a browser: values at the shown frame, the chart's marker, the report."""

from __future__ import annotations

import time

import h5py
import numpy as np
import pytest

from tests.io.test_store import national_grid_city
from tests.scene.test_frames import write_results
from tests.server.mis_app import default_city, river_flood, serving, show_frame  # noqa: F401 (fixtures)
from twin3d_server.logic.kpis import format_kpi, kpi_figure


@pytest.fixture
def app(request, river_flood, default_city):  # noqa: F811
    with serving(request.node.name, default_city, river_flood) as served:
        yield served


def stored(path, name: str) -> np.ndarray:
    with h5py.File(path, "r") as f:
        return f["kpi"][name][()]


def test_cards_show_the_stored_values_at_each_frame(app, river_flood):  # noqa: F811
    server, ctx, results = app
    kpis = ctx.panels["kpis"]
    flooded, damage = stored(river_flood, "flooded_buildings"), stored(river_flood, "damage_eur")
    assert flooded[0] == 0 and flooded[-1] > 100  # the flood reaches the town during the run
    for k in range(results.n_frames):
        show_frame(server, ctx, k)
        values = kpis.data.values
        assert values["flooded_buildings"]["text"] == f"{int(flooded[k]):,} buildings"
        assert values["damage_eur"]["text"] == format_kpi(damage[k], "EUR")
    assert kpis.data.values["damage_eur"]["text"].endswith(" EUR") and "," in kpis.data.values["damage_eur"]["text"]


def test_broken_down_kpis_show_their_columns(app, river_flood):  # noqa: F811
    server, ctx, results = app
    show_frame(server, ctx, results.n_frames - 1)
    shelter = ctx.panels["kpis"].data.values["shelter_balance"]
    last = stored(river_flood, "shelter_balance")[-1]
    assert [c["name"] for c in shelter["columns"]] == ["demand", "capacity", "unmet"]
    assert [c["text"] for c in shelter["columns"]] == [format_kpi(v, "persons") for v in last]
    card = next(c for c in ctx.panels["kpis"].data.cards if c["name"] == "shelter_balance")
    assert [trace["name"] for trace in card["figure"]["data"]] == ["demand", "capacity", "unmet"]


def test_the_marker_moves_and_the_charts_stay(app):
    server, ctx, results = app
    kpis = ctx.panels["kpis"]
    cards = kpis.data.cards
    times_h = results.times() / 3600.0
    assert len(cards) == len(results.file["kpi"]) and kpis.data.note == ""
    for card in cards:  # the client places the marker on each chart's fixed time range
        lo, hi = card["figure"]["layout"]["xaxis"]["range"]
        assert lo < times_h[0] and times_h[-1] < hi and hi - lo < 1.1 * (times_h[-1] - times_h[0])
    costs = []
    for k in (3, 5, 1):
        show_frame(server, ctx, k)
        assert kpis.data.marker_h == pytest.approx(times_h[k])
        t0 = time.perf_counter()
        kpis.on_frame(k)
        costs.append(time.perf_counter() - t0)
    assert kpis.data.cards == cards  # a tick sends the marker, not new charts
    print(f"KPI tick: {np.median(costs) * 1000:.2f} ms for {len(cards)} cards")


def test_unreachable_and_unknown_values_read_as_such():
    assert format_kpi(np.inf, "min") == "∞" and format_kpi(np.nan, "%") == "n/a"
    assert format_kpi(24.98, "%") == "24.98%" and format_kpi(1234.0, "persons") == "1,234 persons"
    fig = kpi_figure(np.array([0.0, 1.0]), np.array([1.5, np.inf]), None, "min")
    assert fig["data"][0]["y"] == [1.5, None]  # a gap, not a spike


def test_results_without_kpis_show_a_note(tmp_path, request):
    from trame.app import get_server

    from twin3d.scenario.results import ResultsFile
    from twin3d_server.app import build_app

    with ResultsFile(write_results(tmp_path / "plain.h5")) as results:
        server, ctx = build_app(national_grid_city(), get_server(request.node.name, client_type="vue3"), [results])
        server.state.ready()
        kpis = ctx.panels["kpis"]
        assert kpis.data.cards == [] and "no KPIs" in kpis.data.note
        show_frame(server, ctx, 1)
        assert kpis.data.values == {}


def test_report_is_the_html_report_of_the_active_results(app):
    server, ctx, results = app
    kpis = ctx.panels["kpis"]
    html = kpis.report_html()
    assert html.lstrip().lower().startswith("<!doctype html") and "<svg" in html
    assert "Flooded buildings" in html and results.file.attrs["content_hash"] in html
    assert kpis.data.report_name == "100-year-river-flood-report.html" and kpis.data.report_error == ""
