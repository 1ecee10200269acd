"""Kiosk (``--kiosk``): large type, a dark high-contrast theme, and a plain-language note on
what the model can and cannot tell, at the top of the right drawer.  Editing controls are
hidden by their panels (``v_if="can_edit"``); the logic refuses edits for kiosk sessions."""

from __future__ import annotations

from trame.widgets import client, html
from trame.widgets import vuetify3 as v3

KIOSK_THEME = {"theme": {"defaultTheme": "kiosk", "themes": {"kiosk": {"dark": True, "colors": {
    "background": "#000000", "surface": "#111111", "on-background": "#ffffff", "on-surface": "#ffffff",
    "primary": "#ffd54f", "secondary": "#80d8ff", "error": "#ff8a80", "warning": "#ffd180",
    "success": "#b9f6ca"}}}}}
KIOSK_CSS = """
html { font-size: 150%; }
@media (min-width: 3400px) { html { font-size: 200%; } }
.v-application { --v-medium-emphasis-opacity: 1; --v-high-emphasis-opacity: 1; }
.v-application .text-medium-emphasis, .v-application .text-caption { opacity: 1 !important; }
#kiosk-note p { font-size: 1rem; line-height: 1.5; }
"""
# Any screen: a 4K wall at scale 1 (3840 CSS px) scales type and spacing up (kiosk: more).
WALL_CSS = """
@media (min-width: 2560px) { html { font-size: 125%; } }
@media (min-width: 3400px) { html { font-size: 150%; } }
"""


def kiosk_note(ctx) -> None:
    client.Style(WALL_CSS)
    if not ctx.options.kiosk:
        return
    ctx.state.trame__vuetify3_config = KIOSK_THEME
    client.Style(KIOSK_CSS)
    n = ctx.panels["mapview"].typed.name
    with v3.VCard(variant="outlined", classes="ma-2", id="kiosk-note", title="About this view",
                  prepend_icon="mdi-information-outline"):
        with v3.VCardText():
            with html.Div(v_for=f"item in {n.model_note}", key="item.title", classes="mb-2"):
                html.Strong("{{ item.title }}")
                html.P("{{ item.text }}", classes="mb-0")
