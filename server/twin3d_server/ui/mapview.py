"""mapview UI (being built)."""


def map_overlays(ctx) -> None:
    pass


def map_tools(ctx) -> None:
    pass
