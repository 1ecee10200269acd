"""The decision form without a browser: decisions land in the shared SQLite log with the user,
scenario and frame; viewers are refused on the server."""

from __future__ import annotations

import sqlite3

import pytest

from tests.server.mis_app import default_city, river_flood, serving, show_frame  # noqa: F401 (fixtures)
from twin3d_server.context import NotAllowed


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("TWIN3D_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def fill(panel, title="Pumps for the hospital", option="all six pumps", reason="the basement floods first"):
    panel.data.title, panel.data.option, panel.data.reason = title, option, reason


def test_a_decision_lands_in_the_log_with_user_scenario_and_frame(request, data_dir, river_flood,  # noqa: F811
                                                                   default_city):  # noqa: F811
    from twin3d.mis.decisions import DecisionLog, default_log_path

    with serving(request.node.name, default_city, river_flood, user="incident.commander") as (server, ctx, results):
        panel = ctx.panels["decisions"]
        assert panel.path == default_log_path() == data_dir / "decisions.sqlite"  # the CLI's log
        assert panel.data.recent == []
        show_frame(server, ctx, 5)
        fill(panel)
        panel.record()
        assert panel.data.error == "" and panel.data.message.startswith("recorded as entry 1")
        assert (panel.data.title, panel.data.option, panel.data.reason) == ("", "", "")
        assert [d["what"] for d in panel.data.recent] == ["Pumps for the hospital: all six pumps"]
        fill(panel, "Open the school as a shelter", "north school", "the shelters are full")
        panel.record()
        assert [d["seq"] for d in panel.data.recent] == [2, 1]  # newest first
        flooded_at_5 = float(results.file["kpi/flooded_buildings"][5])
        time_at_5 = float(results.times()[5])
        content_hash = results.file.attrs["content_hash"]

    with sqlite3.connect(data_dir / "decisions.sqlite") as db:
        who, what, why, frame, time_s, scenario = db.execute(
            "SELECT who, what, why, frame_index, frame_time_s, scenario_hash FROM decisions WHERE seq = 1").fetchone()
    assert (who, what, why) == ("incident.commander", "Pumps for the hospital: all six pumps",
                                "the basement floods first")
    assert (frame, time_s, scenario) == (5, time_at_5, content_hash)
    log = DecisionLog(data_dir / "decisions.sqlite")
    first = log.entries()[0]
    assert first.kpis["scenario"] == "100-year river flood"
    assert first.kpis["values"]["flooded_buildings"] == flooded_at_5
    assert first.allocation["pumps_available"] == 6
    assert log.verify().ok and len(log) == 2


def test_an_incomplete_form_is_not_recorded(request, data_dir, river_flood, default_city):  # noqa: F811
    with serving(request.node.name, default_city, river_flood) as (server, ctx, results):
        panel = ctx.panels["decisions"]
        fill(panel, reason=" ")
        panel.record()
        assert "reason" in panel.data.error and not (data_dir / "decisions.sqlite").exists()


def test_viewers_cannot_record(request, data_dir, river_flood, default_city):  # noqa: F811
    for options in ({"role": "viewer"}, {"kiosk": True}):
        with serving(f"{request.node.name}_{next(iter(options))}", default_city, river_flood,
                     **options) as (server, ctx, results):
            panel = ctx.panels["decisions"]
            fill(panel)
            with pytest.raises(NotAllowed):
                panel.record()
            assert server.state.can_edit is False
    assert not (data_dir / "decisions.sqlite").exists()


def test_decisions_from_the_cli_are_listed(request, data_dir, river_flood, default_city):  # noqa: F811
    from twin3d.mis.decisions import DecisionLog

    DecisionLog().append({"who": "duty officer", "what": "close the river road", "why": "water on the road",
                          "scenario_hash": "ab12", "frame_index": 3})
    with serving(request.node.name, default_city, river_flood) as (server, ctx, results):
        recent = ctx.panels["decisions"].data.recent
        assert [(d["seq"], d["who"], d["what"]) for d in recent] == [(1, "duty officer", "close the river road")]
