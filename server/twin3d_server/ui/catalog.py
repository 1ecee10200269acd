"""The scenario picker in the top bar: every entry with its status, and the chosen one's status."""

from __future__ import annotations

from trame.widgets import vuetify3 as v3


def scenario_picker(ctx) -> None:
    n = ctx.panels["catalog"].typed.name
    v3.VSelect(v_model=(n.scenario_id,), items=(n.scenarios,), item_title="title", item_value="value",
               item_props=("(item) => ({subtitle: item.status})",),
               label="Scenario", density="compact", hide_details=True, variant="outlined",
               style="max-width: 320px", disabled=(f"!{n.scenarios}.length",), id="scenario-picker")
    v3.VChip(f"{{{{ {n.status} }}}}", v_if=(n.status,), size="small", classes="ml-2 text-truncate",
             style="max-width: 360px", id="scenario-status", aria_live="polite",
             color=(f"{n.status}.startsWith('failed') ? 'error' : ({n.status}.startsWith('running') "
                    f"|| {n.status} === 'queued' ? 'warning' : 'success')",),
             title=(n.status,))
