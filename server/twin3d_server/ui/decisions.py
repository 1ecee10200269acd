"""Decision form (planners) and the recent decisions of the log (everyone)."""

from __future__ import annotations

from trame.widgets import html
from trame.widgets import vuetify3 as v3


def decision_panel(ctx) -> None:
    ctrl, n = ctx.ctrl, ctx.panels["decisions"].typed.name
    with html.Section(classes="pa-2", id="decision-panel", raw_attrs=['aria-label="Decisions"']):
        html.H2("Decisions", classes="text-subtitle-1 font-weight-medium mb-1")
        with html.Div(v_if=("can_edit",), id="decision-form"):
            v3.VTextField(v_model=(n.title,), label="Decision", density="compact", hide_details=True, classes="mb-1")
            v3.VTextField(v_model=(n.option,), label="Option chosen", density="compact", hide_details=True,
                          classes="mb-1")
            v3.VTextarea(v_model=(n.reason,), label="Reason", density="compact", hide_details=True, rows=2,
                         auto_grow=True, classes="mb-1")
            with html.Div(classes="d-flex align-center"):
                v3.VBtn("Record decision", click=ctrl.decision_record, prepend_icon="mdi-gavel", size="small",
                        color="primary", variant="tonal")
                html.Span(f"{{{{ {n.message} }}}}", classes="text-caption ml-2", id="decision-message",
                          raw_attrs=['aria-live="polite"'])
        html.Div(f"{{{{ {n.error} }}}}", v_if=(n.error,), classes="text-error text-caption", raw_attrs=['role="alert"'])
        html.P("No decisions recorded yet.", v_if=(f"!{n.recent}.length",), classes="text-medium-emphasis text-body-2")
        with html.Ol(v_else=True, id="decision-list", classes="pl-0", style="list-style: none;",
                     raw_attrs=['aria-label="Recent decisions"']):
            with html.Li(v_for=(f"d in {n.recent}",), key="d.seq", classes="mb-2"):
                html.Div("{{ d.seq }}. {{ d.what }}", classes="text-body-2")
                html.Div("{{ d.why }} — {{ d.who }}, frame {{ d.frame }}, {{ d.when }}",
                         classes="text-caption text-medium-emphasis")
