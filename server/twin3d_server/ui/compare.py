"""Compare: the top bar's switch, the scenario B picker and the difference toggle; view B."""

from __future__ import annotations

from trame.widgets import html
from trame.widgets import vuetify3 as v3

TITLE_STYLE = "position: absolute; top: 8px; left: 8px; z-index: 3; max-width: 60%;"


def compare_toggle(ctx) -> None:
    n = ctx.panels["compare"].typed.name
    cat = ctx.panels["catalog"].typed.name
    v3.VSwitch(v_model=(n.enabled,), label="Compare", color="primary", density="compact", hide_details=True,
               inset=True, classes="ml-4 text-no-wrap", style="flex: none;", id="compare-switch")
    v3.VSelect(v_show=(n.enabled,), v_model=(n.scenario_b,), label="Compare with",
               items=(f"{cat.scenarios}.filter(s => s.value !== {cat.scenario_id}).concat({n.extra_choices})",),
               item_title="title", item_value="value", density="compact", hide_details=True,
               variant="outlined", style="min-width: 220px; max-width: 280px", classes="ml-2", id="compare-with")
    v3.VSwitch(v_show=(f"{n.enabled} && {n.difference_available}",), v_model=(n.difference,),
               label="Difference", color="secondary", density="compact", hide_details=True, inset=True,
               classes="ml-3 text-no-wrap", style="flex: none;", id="compare-difference",
               title="Main view: water depth of A minus B")


def compare_view(ctx) -> None:
    """View B beside the main view while compare is on (the view exists from the start)."""
    from trame.widgets import vtk as vtk_widgets

    logic = ctx.panels["compare"]
    n = logic.typed.name
    with html.Div(v_show=(n.enabled,), id="view-b",
                  style="flex: 1; position: relative; border-left: 3px solid rgba(128,128,128,.6);"):
        kind = vtk_widgets.VtkLocalView if ctx.options.client_render else vtk_widgets.VtkRemoteView
        extra = {} if ctx.options.client_render else {"interactive_ratio": 1}
        view = kind(logic.scene_b.plotter.render_window, interactor_events=("events", ["EndAnimation"]),
                    EndAnimation=ctx.request_render, **extra)  # A catches up once B's drag ends
        ctx.ctrl.compare_view_update = view.update
        with html.Div(style=TITLE_STYLE):
            v3.VChip(f"B: {{{{ {n.title_b} }}}}", color="secondary", variant="elevated", size="small",
                     id="title-b", prepend_icon="mdi-alpha-b-box")
            v3.VChip(f"{{{{ {n.measures_b} }}}}", v_if=(n.measures_b,), size="small", variant="elevated",
                     classes="ml-1", prepend_icon="mdi-wall")
