"""kpis UI (being built)."""


def kpi_panel(ctx) -> None:
    pass
