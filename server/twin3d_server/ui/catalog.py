"""The scenario picker in the top bar."""

from __future__ import annotations

from trame.widgets import vuetify3 as v3


def scenario_picker(ctx) -> None:
    n = ctx.panels["catalog"].typed.name
    v3.VSelect(v_model=(n.scenario_id,), items=(n.scenarios,), item_title="title", item_value="value",
               label="Scenario", density="compact", hide_details=True, variant="outlined",
               style="max-width: 320px", disabled=(f"!{n.scenarios}.length",))
