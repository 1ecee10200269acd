"""Allocation: units per kind, department costs, assignments with reasons, "Optimise now"."""

from __future__ import annotations

from trame.widgets import html
from trame.widgets import vuetify3 as v3

QUANTITY_HEADERS = ("available", "demanded", "deployed", "unmet")


def allocation_panel(ctx) -> None:
    ctrl, n = ctx.ctrl, ctx.panels["allocation"].typed.name
    with html.Section(classes="pa-2", id="allocation-panel", raw_attrs=['aria-label="Resource allocation"']):
        with html.Div(classes="d-flex align-center mb-1"):
            html.H2("Resources", classes="text-subtitle-1 font-weight-medium")
            v3.VSpacer()
            v3.VChip(f"{{{{ {n.source} }}}} · {{{{ {n.status} }}}}", v_if=(n.source,), size="small",
                     id="allocation-status", variant="tonal")
        html.P("These results have no resource allocation.", v_if=(f"!{n.has_allocation}",),
               classes="text-medium-emphasis text-body-2")
        with html.Div(v_if=(n.has_allocation,)):
            _kind_table(n)
            _costs(n)
            _assignments(n)
            _optimise(ctrl, n)


def _kind_table(n) -> None:
    with v3.VTable(density="compact", classes="text-caption", id="allocation-kinds",
                   style="--v-table-header-height: 28px; --v-table-row-height: 26px;"):
        with html.Thead():
            with html.Tr():
                html.Th("kind", classes="px-1")
                for q in QUANTITY_HEADERS:
                    html.Th(q, classes="text-right px-1")
        with html.Tbody():
            with html.Tr(v_for=(f"row in {n.kinds}",), key="row.kind"):
                html.Td("{{ row.kind }}", classes="px-1 text-no-wrap")
                for q in QUANTITY_HEADERS[:-1]:
                    html.Td(f"{{{{ row.{q}.toLocaleString('en') }}}}", classes="text-right px-1")
                html.Td("{{ row.unmet.toLocaleString('en') }}", classes=("row.unmet > 0 ? 'text-right px-1 text-error' : 'text-right px-1'",))


def _costs(n) -> None:
    with html.Div(classes="text-body-2 my-1"):
        html.Span("Cost: ", classes="text-medium-emphasis")
        html.Span("{{ row.department }} {{ row.cost }}; ", v_for=(f"row in {n.costs}",), key="row.department")
        html.Div(f"Avoided loss {{{{ {n.totals}.avoided_loss }}}} for {{{{ {n.totals}.cost }}}} "
                 f"(net {{{{ {n.totals}.objective }}}}), {{{{ {n.totals}.n_demands }}}} demands")


def _assignments(n) -> None:
    html.Div("No assignments this frame.", v_if=(f"!{n.assignments}.length",),
             classes="text-medium-emphasis text-body-2")
    with html.Ol(v_else=True, id="allocation-assignments", classes="text-caption pl-4 overflow-y-auto",
                 style="max-height: 180px;", raw_attrs=['aria-label="Assignments this frame, with why"']):
        html.Li("{{ a.reason }}", v_for=(f"(a, i) in {n.assignments}",), key="i", classes="mb-1")


def _optimise(ctrl, n) -> None:
    with html.Div(v_if=("can_edit",), classes="mt-2"):
        with v3.VExpansionPanels(variant="accordion", density="compact"):
            with v3.VExpansionPanel(title="Inventory (units per department)"):
                with v3.VExpansionPanelText():
                    with html.Div(v_for=(f"(item, i) in {n.inventory}",), key="i", classes="d-flex align-center"):
                        v3.VTextField(v_model_number=("item.units",), type="number", min=0, step=1,
                                      label=("`${item.department} ${item.kind.replaceAll('_', ' ')}`",),
                                      density="compact", hide_details=True, classes="my-1",
                                      update_modelValue=f"flushState('{n.inventory}')")
                    v3.VBtn("Scenario counts", click=ctrl.allocation_reset_inventory, size="small",
                            variant="text", classes="mt-1")
        with html.Div(classes="d-flex align-center mt-2"):
            v3.VBtn("Optimise now", click=ctrl.allocation_optimize, loading=(n.optimising,),
                    disabled=(n.optimising,), prepend_icon="mdi-calculator-variant", size="small", color="primary",
                    variant="tonal")
            html.Span(f"{{{{ {n.optimise_status} }}}}", id="allocation-optimise-status",
                      classes="text-caption ml-2", raw_attrs=['aria-live="polite"'])
        html.Div(f"{{{{ {n.error} }}}}", v_if=(n.error,), classes="text-error text-caption", raw_attrs=['role="alert"'])
