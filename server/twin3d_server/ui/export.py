"""export UI (being built)."""


def export_menu(ctx) -> None:
    pass
