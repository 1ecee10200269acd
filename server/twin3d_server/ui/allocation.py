"""allocation UI (being built)."""


def allocation_panel(ctx) -> None:
    pass
