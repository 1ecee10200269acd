"""layers UI (being built)."""


def layers_panel(ctx) -> None:
    pass
