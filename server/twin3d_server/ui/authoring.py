"""authoring UI (being built)."""


def authoring_panel(ctx) -> None:
    pass
