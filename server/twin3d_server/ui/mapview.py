"""Map context: overlays on the main view (scale bar, north arrow, camera presets, coordinates,
attribution, scenario titles) and the top bar's tools (building search, shareable link)."""

from __future__ import annotations

from trame.widgets import client, html
from trame.widgets import vuetify3 as v3

OVERLAY = "position: absolute; z-index: 3; pointer-events: none;"
PANEL = ("background: rgba(255,255,255,.85); color: #111; border-radius: 4px; padding: 2px 8px; "
         "font-size: 0.75rem; line-height: 1.4;")


def map_overlays(ctx) -> None:
    n = ctx.panels["mapview"].typed.name
    c = ctx.panels["compare"].typed.name
    with html.Div(v_show=(c.enabled,), style=f"{OVERLAY} top: 8px; left: 8px;"):
        v3.VChip(f"A: {{{{ {c.title_a} }}}}", color="primary", variant="elevated", size="small", id="title-a",
                 prepend_icon="mdi-alpha-a-box")
        v3.VChip(f"{{{{ {c.measures_a} }}}}", v_if=(c.measures_a,), size="small", variant="elevated",
                 classes="ml-1", prepend_icon="mdi-wall")
    with html.Div(style=f"{OVERLAY} top: 8px; right: 12px; text-align: center;", id="north-arrow",
                  role="img", raw_attrs=[f':aria-label="\'North arrow, turned \' + {n.north_deg} + \' degrees\'"']):
        html.Div("N", style=f"{PANEL} font-weight: 700; padding: 0 6px;")
        v3.VIcon("mdi-navigation", size="x-large", color="black",
                 style=(f"{{ transform: 'rotate(' + {n.north_deg} + 'deg)', filter: 'drop-shadow(0 0 2px white)' }}",))
    with html.Div(style=f"{OVERLAY} top: 76px; right: 8px; pointer-events: auto; display: flex; "
                        "flex-direction: column; gap: 4px; align-items: stretch;",
                  id="camera-presets", role="group", raw_attrs=['aria-label="Camera presets"']):
        v3.VBtn("{{ p.title }}", v_for=f"p in {n.presets}", key="p.value", size="small",
                variant=(f"{n.preset} === p.value ? 'flat' : 'elevated'",),
                color=(f"{n.preset} === p.value ? 'primary' : undefined",),
                click=(ctx.ctrl.camera_preset_apply, "[p.value]"))
    with html.Div(style=f"{OVERLAY} bottom: 8px; left: 8px;", id="scale-bar"):
        html.Div(style=(f"{{ width: {n.scale_px} + 'px', height: '8px', border: '2px solid #111', "
                        "borderTop: 'none', background: 'rgba(255,255,255,.6)' }",))
        html.Span(f"{{{{ {n.scale_label} }}}}", style=PANEL, id="scale-label")
    with html.Div(style=f"{OVERLAY} bottom: 8px; right: 8px; text-align: right; max-width: 70%;"):
        html.Div(f"{{{{ {n.pointer} }}}}", v_if=(n.pointer,), style=PANEL, id="pointer-readout",
                 aria_live="polite")
        html.Div(f"{{{{ {n.crs_name} }}}}", style=f"{PANEL} margin-top: 2px;", id="crs-name")
        html.Div(f"Times: {{{{ {n.timezone} }}}}", v_if=(n.timezone,), style=f"{PANEL} margin-top: 2px;",
                 id="timezone")
        html.Div(f"{{{{ {n.attribution}.join(' · ') }}}}", style=f"{PANEL} margin-top: 2px;", id="attribution")


def map_tools(ctx) -> None:
    n = ctx.panels["mapview"].typed.name
    ctrl = ctx.ctrl
    v3.VCombobox(v_model_search=(n.find_text,), items=(n.find_matches,), item_title="title", item_value="value",
                 return_object=True, no_filter=True, label="Find building", density="compact", hide_details=True,
                 variant="outlined", prepend_inner_icon="mdi-magnify", clearable=True, style="min-width: 200px; max-width: 260px",
                 update_modelValue=(ctrl.building_find, "[$event]"), id="find-building")
    html.Span(f"{{{{ {n.find_message} }}}}", classes="text-caption ml-1 text-truncate", style="max-width: 160px",
              aria_live="polite", id="find-message")
    with v3.VMenu(close_on_content_click=False, location="bottom end"):
        with v3.Template(v_slot_activator="{ props }"):
            v3.VBtn("Copy link", v_bind="props", prepend_icon="mdi-link-variant", size="small", variant="tonal",
                    classes="ml-2", id="copy-link",
                    click=(f"{n.link_copied} = false; window.navigator.clipboard && "
                           f"window.navigator.clipboard.writeText(window.location.origin + "
                           f"window.location.pathname + '?' + {n.share_query})"
                           f".then(() => {{ {n.link_copied} = true }}, () => {{ {n.link_copied} = false }})"))
        with v3.VCard(min_width=420, title="Link to this view"):
            with v3.VCardText():
                v3.VTextField(model_value=(f"window.location.origin + window.location.pathname + '?' + "
                                           f"{n.share_query}",), readonly=True, label="Link", density="compact",
                              hide_details=True, id="share-link")
                html.Div("Copied to the clipboard.", v_if=(n.link_copied,), classes="text-caption mt-1")
    # a page opened from a link restores its view
    client.ClientTriggers(mounted=(ctrl.link_apply, "[window.location.search]"))
