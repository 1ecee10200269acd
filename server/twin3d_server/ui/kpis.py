"""KPI cards (value at the shown frame, chart with a time marker) and the report download."""

from __future__ import annotations

from trame.widgets import html
from trame.widgets import vuetify3 as v3
from trame_client.widgets.core import AbstractElement
from trame_plotly import module as plotly_module

MARKER_COLOUR = "#D55E00"


class KpiChart(AbstractElement):
    """A ``trame-plotly`` chart bound to client-side expressions for its data and layout (the
    stock ``plotly.Figure`` binds one state variable of its own, which a ``v-for`` cannot give)."""

    def __init__(self, data: str, layout: str, **kwargs):
        super().__init__("trame-plotly", data=(data,), layout=(layout,), **kwargs)
        self.server.enable_module(plotly_module)
        self._attr_names += ["data", "layout", ("display_mode_bar", "displayModeBar"), "responsive",
                             ("static_plot", "staticPlot")]


def marker_style(layout: str, marker_h: str) -> str:
    """A JS expression: the CSS of a vertical bar at ``marker_h`` (hours) over the plot area of a
    chart with ``layout`` (its fixed x range and margins).

    The bar is an HTML overlay, not a plotly shape: moving it costs the browser a style change,
    where redrawing a dozen charts on every frame costs it seconds (measured with Chromium
    without a GPU), and trame-plotly 3.1.2's relayout path is broken anyway (it calls
    ``Plotly(...)`` instead of ``Plotly.relayout``).
    """
    frac = (f"Math.min(Math.max(({marker_h} - {layout}.xaxis.range[0]) / "
            f"({layout}.xaxis.range[1] - {layout}.xaxis.range[0]), 0), 1)")
    return (f"`position: absolute; pointer-events: none; width: 2px; background: {MARKER_COLOUR}; "
            f"top: ${{{layout}.margin.t}}px; "
            f"height: ${{{layout}.height - {layout}.margin.t - {layout}.margin.b}}px; "
            f"left: calc(${{{layout}.margin.l}}px + (100% - ${{{layout}.margin.l + {layout}.margin.r}}px) * "
            f"${{{frac}}});`")


def kpi_panel(ctx) -> None:
    """The KPI cards of the active results; ids ``kpi-<name>`` hold each card's value."""
    n = ctx.panels["kpis"].typed.name
    with html.Section(classes="pa-2", id="kpi-panel", raw_attrs=['aria-label="Key performance indicators"']):
        with html.Div(classes="d-flex align-center mb-1"):
            html.H2("Key figures", classes="text-subtitle-1 font-weight-medium")
            v3.VSpacer()
            v3.VBtn("Download report", prepend_icon="mdi-file-download-outline", size="small", variant="tonal",
                    disabled=(f"!{n.cards}.length",),
                    click=(f"trigger('report_download').then(t => t && utils.download({n.report_name}, t, "
                           "'text/html'))"))
        html.Div(f"{{{{ {n.report_error} }}}}", v_if=(n.report_error,), classes="text-error text-caption",
                 raw_attrs=['role="alert"'])
        html.P(f"{{{{ {n.note} }}}}", v_if=(f"!{n.cards}.length",), classes="text-medium-emphasis text-body-2",
               id="kpi-empty")
        with v3.VCard(v_for=(f"card in {n.cards}",), key="card.name", variant="outlined", density="compact",
                      classes="mb-2"):
            with v3.VCardItem(classes="py-1"):
                html.Div("{{ card.label }}", classes="text-caption text-medium-emphasis")
                html.Div(f"{{{{ {n.values}[card.name]?.text ?? '–' }}}}", id=("'kpi-' + card.name",),
                         v_if=("!card.columns",), classes="text-h6", raw_attrs=['aria-live="polite"'])
                with html.Div(v_else=True, id=("'kpi-' + card.name",), classes="d-flex flex-wrap ga-1 mt-1",
                              raw_attrs=['aria-live="polite"']):
                    v3.VChip("{{ col.name }}: {{ col.text }}", v_for=(f"col in {n.values}[card.name]?.columns "
                                                                             "?? []",),
                             key="col.name", size="small", variant="tonal")
            with html.Div(style="position: relative;"):
                KpiChart("card.figure.data", "card.figure.layout", display_mode_bar=False, responsive=True,
                         style=("`width: 100%; height: ${card.figure.layout.height}px`",))
                html.Div(classes="kpi-marker", style=(marker_style("card.figure.layout", n.marker_h),))
