"""The allocation panel without a browser: the stored plan of the shown frame, arrows on the map,
and "Optimise now" (same plan for the same inventory, more pumps when the planner adds them)."""

from __future__ import annotations

import asyncio
import concurrent.futures

import h5py
import numpy as np
import pytest

from tests.server.mis_app import default_city, river_flood, serving, show_frame  # noqa: F401 (fixtures)
from twin3d_server.context import NotAllowed


@pytest.fixture
def app(request, river_flood, default_city):  # noqa: F811
    with serving(request.node.name, default_city, river_flood) as served:
        server, ctx, results = served
        drawn = []
        ctx.scene.show_allocation = lambda rows, kinds: drawn.append((rows.copy(), list(kinds)))  # a spy
        yield server, ctx, results, drawn


def stored_row(path, k: int) -> dict:
    with h5py.File(path, "r") as f:
        columns = [c.decode() if isinstance(c, bytes) else c for c in f["allocation"].attrs["columns"]]
        return dict(zip(columns, f["allocation"][k], strict=True))


def last_frame_with_demand(path) -> int:
    with h5py.File(path, "r") as f:
        columns = list(f["allocation"].attrs["columns"])
        n_assignments = f["allocation"][:, columns.index("n_assignments")]
    return int(np.flatnonzero(n_assignments > 0)[-1])


def kind_row(panel, kind: str) -> dict:
    return next(r for r in panel.data.kinds if r["kind"] == kind.replace("_", " "))


def test_the_table_shows_the_stored_plan_of_the_frame(app, river_flood):  # noqa: F811
    server, ctx, results, drawn = app
    panel = ctx.panels["allocation"]
    k = last_frame_with_demand(river_flood)
    show_frame(server, ctx, k)
    row = stored_row(river_flood, k)
    pumps = kind_row(panel, "pumps")
    assert [pumps[q] for q in ("available", "demanded", "deployed", "unmet")] == \
        [row[f"pumps_{q}"] for q in ("available", "demanded", "deployed", "unmet")]
    assert pumps["available"] == 6  # the scenario's fire department holds 6 pumps
    assert {c["department"] for c in panel.data.costs} == {"fire", "health", "utilities"}
    assert len(panel.data.assignments) == row["n_assignments"] > 0
    with h5py.File(river_flood, "r") as f:
        reasons = [r.decode() for r in f["allocation_reasons"][k][: int(row["n_assignments"])]]
        arrows = f["allocation_assignments"][k]
    assert [a["reason"] for a in panel.data.assignments] == reasons
    assert panel.data.source == "stored plan" and panel.data.status
    rows, kinds = drawn[-1]
    np.testing.assert_array_equal(rows, arrows)  # the map draws this frame's arrows
    assert kinds == ["ambulances", "generators", "pumps", "sandbag_crews", "shelter_beds"]
    show_frame(server, ctx, 0)  # no demand before the flood: no arrows
    assert panel.data.assignments == [] and np.isnan(drawn[-1][0]).all()


def test_optimise_now_with_the_scenario_inventory_gives_the_stored_plan(app, river_flood):  # noqa: F811
    server, ctx, results, drawn = app
    panel = ctx.panels["allocation"]
    k = last_frame_with_demand(river_flood)
    show_frame(server, ctx, k)
    stored_table = panel.data.kinds
    panel.optimise()  # no server loop here: solved in place
    assert panel.plan is not None and panel.plan.frame == k
    np.testing.assert_allclose(panel.plan.vector, list(stored_row(river_flood, k).values()))
    assert panel.data.kinds == stored_table and panel.data.source == "optimised now"
    assert "units deployed" in panel.data.optimise_status and "ms" in panel.data.optimise_status
    assert not panel.data.optimising and panel.data.error == ""
    np.testing.assert_array_equal(drawn[-1][0], results.file["allocation_assignments"][k])


def test_optimise_now_uses_the_edited_inventory(app, river_flood):  # noqa: F811
    server, ctx, results, drawn = app
    panel = ctx.panels["allocation"]
    k = last_frame_with_demand(river_flood)
    show_frame(server, ctx, k)
    before = stored_row(river_flood, k)
    inventory = panel.data.inventory
    assert {"department": "fire", "kind": "pumps", "units": 6} in inventory
    panel.data.inventory = [{**i, "units": 30} if i["kind"] == "pumps" else i for i in inventory]
    server.state.flush()
    panel.optimise()
    pumps = kind_row(panel, "pumps")
    assert pumps["available"] == 30 and pumps["demanded"] == before["pumps_demanded"]
    assert before["pumps_deployed"] <= pumps["deployed"] <= 30
    show_frame(server, ctx, k - 1)  # another frame shows its stored plan again
    assert panel.data.source == "stored plan" and kind_row(panel, "pumps")["available"] == 6
    panel.data.inventory = [{**i, "units": -2} if i["kind"] == "pumps" else i for i in inventory]
    panel.optimise()
    assert "whole number >= 0" in panel.data.error
    panel.reset_inventory()
    assert panel.data.inventory == inventory


def test_optimise_now_runs_off_the_ui_loop(app, river_flood):  # noqa: F811
    server, ctx, results, drawn = app
    panel = ctx.panels["allocation"]
    show_frame(server, ctx, last_frame_with_demand(river_flood))

    async def optimise_while_ticking():
        panel.optimise()
        assert panel.data.optimising  # returned at once; the solve is in a worker thread
        ticks = 0
        while panel.data.optimising:
            await asyncio.sleep(0.005)
            ticks += 1
        return ticks

    # a loop of its own in a worker thread: other tests (Playwright's sync API) may hold this thread's loop
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        ticks = pool.submit(asyncio.run, optimise_while_ticking()).result(timeout=120)
    assert ticks >= 1 and panel.data.source == "optimised now" and "units deployed" in panel.data.optimise_status


def test_viewers_cannot_optimise(request, river_flood, default_city):  # noqa: F811
    for options in ({"role": "viewer"}, {"kiosk": True}):
        with serving(f"{request.node.name}_{len(options)}_{next(iter(options))}", default_city, river_flood,
                     **options) as (server, ctx, results):
            panel = ctx.panels["allocation"]
            with pytest.raises(NotAllowed):
                panel.optimise()
            with pytest.raises(NotAllowed):
                panel.reset_inventory()
            assert panel.plan is None and server.state.can_edit is False
