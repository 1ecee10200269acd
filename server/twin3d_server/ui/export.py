"""The top bar's "Export" menu: Screenshot (PNG), Frame (GLB), KPIs (CSV), saved by the browser."""

from __future__ import annotations

from trame.widgets import vuetify3 as v3

from twin3d_server.logic.export import MIME


def _download(n, trigger: str, suffix: str) -> str:
    """A client-side expression: call the server trigger and save what it returns."""
    return f"utils.download({n.stem} + '.{suffix}', trigger('{trigger}'), '{MIME[suffix]}')"


def export_menu(ctx) -> None:
    n = ctx.panels["export"].typed.name
    with v3.VMenu(location="bottom end"):
        with v3.Template(v_slot_activator="{ props }"):
            v3.VBtn("Export", v_bind="props", prepend_icon="mdi-download", size="small", variant="tonal",
                    classes="ml-2", id="export-menu")
        with v3.VList(density="compact"):
            v3.VListItem(title="Screenshot (PNG)", prepend_icon="mdi-camera",
                         click=_download(n, "export_screenshot", "png"))
            v3.VListItem(title="Frame (GLB)", prepend_icon="mdi-cube-outline",
                         click=_download(n, "export_glb", "glb"))
            v3.VListItem(title="KPIs (CSV)", prepend_icon="mdi-table", disabled=(f"!{n.has_kpis}",),
                         click=_download(n, "export_kpis", "csv"))
