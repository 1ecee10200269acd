"""compare UI (being built)."""


def compare_toggle(ctx) -> None:
    pass


def compare_view(ctx) -> None:
    pass
