"""The authoring panel (planners): draw measures on the view, name the strategy, save and run it."""

from __future__ import annotations

from trame.widgets import html
from trame.widgets import vuetify3 as v3

CREST_MODES = [{"title": "Height above ground", "value": "height"}, {"title": "Absolute level", "value": "level"}]


def authoring_panel(ctx) -> None:
    ctrl, n = ctx.ctrl, ctx.panels["authoring"].typed.name
    with v3.VCard(v_if=("can_edit",), flat=True, classes="pa-2", id="authoring"):
        v3.VCardTitle("Author a strategy", classes="text-subtitle-1 px-1")
        with html.Div(classes="d-flex flex-wrap ga-1"):
            for label, controller, mode, icon in (("Draw barrier", ctrl.authoring_draw_barrier, "barrier", "mdi-wall"),
                                                  ("Place pump", ctrl.authoring_place_pump, "pump", "mdi-pump"),
                                                  ("Close road", ctrl.authoring_close_road, "road", "mdi-road")):
                v3.VBtn(label, click=controller, prepend_icon=icon, size="small",
                        variant=(f"{n.mode} === '{mode}' ? 'flat' : 'tonal'",),
                        color=(f"{n.mode} === '{mode}' ? 'primary' : undefined",))
        html.Div(f"{{{{ {n.points}.length }}}} point(s): click on the 3D view", v_if=(n.mode,),
                 classes="text-caption mt-1", aria_live="polite", id="authoring-points")
        with html.Div(v_if=(f"{n.mode} === 'barrier'",), classes="mt-2"):
            v3.VSelect(v_model=(n.crest_mode,), items=("crest_modes", CREST_MODES), label="Barrier crest",
                       density="compact", hide_details=True)
            v3.VTextField(v_if=(f"{n.crest_mode} === 'height'",), v_model_number=(n.crest_height_m,),
                          type="number", step=0.1, min=0, label="Crest height above ground (m)",
                          density="compact", hide_details=True, classes="mt-2")
            v3.VTextField(v_if=(f"{n.crest_mode} === 'level'",), v_model_number=(n.crest_level_m,),
                          type="number", step=0.1, label="Crest level (m)", density="compact",
                          hide_details=True, classes="mt-2")
        v3.VTextField(v_if=(f"{n.mode} === 'pump'",), v_model_number=(n.pump_rate_m3s,), type="number", step=0.1,
                      min=0, label="Pump capacity (m³/s)", density="compact", hide_details=True, classes="mt-2")
        with html.Div(classes="d-flex ga-1 mt-2"):
            v3.VBtn("Undo point", click=ctrl.authoring_undo_point, prepend_icon="mdi-undo", size="small",
                    variant="text", disabled=(f"!{n.points}.length && !{n.measures}.length",))
            v3.VBtn("Clear", click=ctrl.authoring_clear, prepend_icon="mdi-close", size="small", variant="text",
                    disabled=(f"!{n.points}.length && !{n.measures}.length && !{n.mode}",))
        with v3.VList(density="compact", v_if=(f"{n.measures}.length",), raw_attrs=['aria-label="Measures"']):
            v3.VListItem(v_for=f"m in {n.measures}", key="m.title", title=("m.title",),
                         subtitle=("`${m.points.length} point(s)`",))
        v3.VTextField(v_model=(n.scenario_name,), label="Scenario name", density="compact", hide_details=True,
                      classes="mt-2")
        v3.VBtn("Save and run", click=ctrl.authoring_save_run, prepend_icon="mdi-play-box", color="primary",
                size="small", classes="mt-2", block=True,
                disabled=(f"!{n.measures}.length && !{n.points}.length",))
        v3.VAlert(f"{{{{ {n.message} }}}}", v_if=(n.message,), type=(f"{n.error} ? 'error' : 'info'",),
                  density="compact", variant="tonal", classes="mt-2 text-body-2", id="authoring-message")
