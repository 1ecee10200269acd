"""The Layers & Legend panel (left drawer): building colour mode, layer checkboxes, the legend
drawn as HTML (a gradient bar with tick labels for continuous entries, swatches for categories)."""

from __future__ import annotations

from trame.widgets import html
from trame.widgets import vuetify3 as v3

GRADIENT = "'linear-gradient(to right, ' + entry.stops.map(s => s.colour).join(', ') + ')'"
SWATCH = ("{background: s.colour, width: '14px', height: '14px', flex: '0 0 14px', borderRadius: '3px', "
          "border: '1px solid rgba(0,0,0,0.25)', marginRight: '6px'}")


def layers_panel(ctx) -> None:
    n = ctx.panels["layers"].typed.name
    with v3.VCard(flat=True, classes="pa-2", id="layers-panel"):
        v3.VCardTitle("Layers", classes="text-subtitle-1 px-1")
        v3.VSelect(v_model=(n.building_mode,), items=(n.building_modes,), item_title="title", item_value="value",
                   label="Colour buildings by", density="compact", hide_details=True, classes="mb-2",
                   id="building-mode")
        v3.VCheckbox(v_for=f"layer in {n.layers}", key="layer.name", v_model=(n.visible_layers,),
                     value=("layer.name",), label=("layer.available ? layer.title : layer.title + ' (not in this run)'",),
                     disabled=("!layer.available",),
                     density="compact", hide_details=True, multiple=True, classes="layer-toggle")
        v3.VCardTitle("Legend", classes="text-subtitle-1 px-1 mt-2")
        html.Div("Nothing coloured is shown.", v_if=(f"!{n.legend}.length",), classes="text-caption px-1")
        with html.Div(v_for=f"entry in {n.legend}", key="entry.title", classes="px-1 mb-3 legend-entry",
                      role="group", raw_attrs=[':aria-label="entry.title"']):
            html.Div("{{ entry.title }}<span v-if='entry.units'> ({{ entry.units }})</span>",
                     classes="text-body-2 font-weight-medium mb-1")
            with html.Div(v_if="entry.kind === 'continuous'"):
                html.Div(style=(f"{{height: '12px', borderRadius: '3px', background: {GRADIENT}}}",),
                         role="img", raw_attrs=[":aria-label=\"entry.title + ' colour scale from ' + "
                                                "entry.stops[0].label + ' to ' + "
                                                "entry.stops[entry.stops.length - 1].label + ' ' + entry.units\""],
                         classes="legend-gradient")
                with html.Div(classes="d-flex justify-space-between text-caption"):
                    html.Span("{{ s.label }}", v_for="(s, i) in entry.stops", key="i")
            with html.Div(v_else=True):
                with html.Div(v_for="(s, i) in entry.stops", key="i", classes="d-flex align-center text-caption"):
                    html.Span(style=(SWATCH,), classes="legend-swatch")
                    html.Span("{{ s.label }}")
