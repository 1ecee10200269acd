"""The pick card over the view and the "Engineer tools" panel of the left drawer (widgets only)."""

from __future__ import annotations

from trame.widgets import html
from trame.widgets import vuetify3 as v3

CARD_STYLE = ("position: absolute; top: 8px; right: 8px; z-index: 5; width: 300px; "
              "max-height: calc(100% - 96px); overflow-y: auto;")


def _rows(items: str, dense_title: str | None = None) -> None:
    """A two-column table over a state list of {"name", "value"}."""
    if dense_title:
        html.Div(dense_title, classes="text-overline mt-2")
    with v3.VTable(density="compact", classes="text-body-2"):
        with html.Tbody():
            with html.Tr(v_for=f"row in {items}", key="row.name"):
                html.Td("{{ row.name }}", classes="text-medium-emphasis")
                html.Td("{{ row.value }}", classes="text-right")


def pick_card(ctx) -> None:
    n = ctx.panels["inspect"].typed.name
    with v3.VCard(v_if=(n.pick_open,), style=CARD_STYLE, elevation=4, id="pick-card",
                  raw_attrs=['role="region"', 'aria-label="Picked object"']):
        with v3.VCardTitle(classes="d-flex align-center text-subtitle-1"):
            html.Span("Building ", classes="mr-1", v_if=(f"{n.picked_kind} === 'building'",))
            html.Span(f"{{{{ {n.picked_id} }}}}", id="picked-building-id", classes="font-weight-bold",
                      v_if=(f"{n.picked_kind} === 'building'",))
            html.Span(f"{{{{ {n.picked_title} }}}}", v_if=(f"{n.picked_kind} !== 'building'",))
            v3.VSpacer()
            v3.VBtn(icon="mdi-close", size="small", variant="text", click=ctx.ctrl.inspect_close,
                    raw_attrs=['aria-label="Close details"'])
        with v3.VCardText(v_if=(f"{n.picked_kind} === 'building'",)):
            html.Div("Hazard now", classes="text-overline")
            html.Div("no results", v_if=(f"!{n.hazard}.length",), classes="text-body-2 text-medium-emphasis")
            with v3.VTable(density="compact", classes="text-body-2", v_if=(f"{n.hazard}.length",)):
                with html.Tbody():
                    with html.Tr(v_for=f"row in {n.hazard}", key="row.name"):
                        html.Td("{{ row.name }}", classes="text-medium-emphasis")
                        html.Td("{{ row.value }}", classes="text-right")
            html.Div("Status", classes="text-overline mt-2")
            with html.Div(id="picked-status"):
                v3.VChip("{{ flag }}", v_for=f"flag in {n.status}", key="flag", size="small", color="warning",
                         classes="mr-1 mb-1")
                v3.VChip("operating", v_if=(f"{n.status_known} && !{n.status}.length",), size="small",
                         color="success")
                html.Span("unknown", v_if=(f"!{n.status_known}",), classes="text-body-2 text-medium-emphasis")
            html.Div("Damage so far", classes="text-overline mt-2")
            html.Div(f"{{{{ {n.damage} || '—' }}}}", id="picked-damage", classes="text-body-2")
            _rows(n.attributes, "Attributes")
            with html.Div(v_if=(f"{n.source}.length",)):
                _rows(n.source, "Source attributes")
        with v3.VCardText(v_if=(f"{n.picked_kind} === 'cell'",)):
            _rows(n.cell_rows)


def engineer_panel(ctx) -> None:
    n = ctx.panels["inspect"].typed.name
    with v3.VExpansionPanels(variant="accordion", classes="mt-2", v_if=("!kiosk",)):
        with v3.VExpansionPanel():
            v3.VExpansionPanelTitle("Engineer tools")
            with v3.VExpansionPanelText():
                v3.VSwitch(v_model=(n.edges,), label="Edges", density="compact", hide_details=True,
                           color="primary")
                v3.VSwitch(v_model=(n.wireframe,), label="Wireframe", density="compact", hide_details=True,
                           color="primary")
                v3.VSwitch(v_model=(n.normals,), label="Normals", density="compact", hide_details=True,
                           color="primary")
                _clipping(n)
                _measuring(ctx, n)
                v3.VSelect(v_model_number=(n.lod,), items=(n.lod_items,), label="Level of detail",
                           density="compact", hide_details=True, classes="mt-3", loading=(n.lod_busy,))
                html.Div(f"{{{{ {n.lod_triangles}.toLocaleString() }}}} triangles", classes="text-caption")
                _quality(ctx, n)


def _clipping(n) -> None:
    v3.VSwitch(v_model=(n.clip_enabled,), label="Clipping plane", density="compact", hide_details=True,
               color="primary")
    with html.Div(v_if=(n.clip_enabled,)):
        with v3.VBtnToggle(v_model=(n.clip_axis,), mandatory=True, density="compact", divided=True,
                           variant="outlined", raw_attrs=['aria-label="Clipping axis"']):
            for axis in ("x", "y", "z"):
                v3.VBtn(axis, value=axis, size="small")
        v3.VSlider(v_model_number=(n.clip_position,), min=0, max=1, step=0.01, label="Clip position",
                   hide_details=True, density="compact")


def _measuring(ctx, n) -> None:
    v3.VSwitch(v_model=(n.measuring,), label="Measure distance", density="compact", hide_details=True,
               color="primary")
    with html.Div(v_if=(n.measuring,), classes="d-flex align-center"):
        html.Span(f"{{{{ {n.distance_text} || 'click two points in the view' }}}}", id="measured-distance",
                  classes="text-body-2", aria_live="polite")
        v3.VSpacer()
        v3.VBtn("Clear", size="small", variant="text", click=ctx.ctrl.inspect_measure_clear)


def _quality(ctx, n) -> None:
    v3.VBtn("Check mesh quality", size="small", variant="tonal", classes="mt-3", block=True,
            click=ctx.ctrl.inspect_quality)
    with html.Div(v_if=(f"{n.quality}.counts",), classes="mt-2", id="mesh-quality"):
        html.Div(f"Triangle aspect ratio ({{{{ {n.quality}.n_triangles.toLocaleString() }}}} triangles, "
                 f"median {{{{ {n.quality}.median.toFixed(2) }}}})", classes="text-caption")
        with html.Div(v_for=f"(count, i) in {n.quality}.counts", key="i", classes="d-flex align-center",
                      style="height: 16px;"):
            html.Span(f"{{{{ {n.quality}.labels[i] }}}}", classes="text-caption", style="width: 60px;")
            html.Div(style=(f"{{ width: {n.quality}.shares[i] * 1.4 + 'px', height: '10px', "
                            "background: '#0072b2' }",))
            html.Span("{{ count }}", classes="text-caption ml-1")
        html.Div(f"Degenerate faces: {{{{ {n.quality}.degenerate }}}}", classes="text-caption")
