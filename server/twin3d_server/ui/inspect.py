"""inspect UI (being built)."""


def pick_card(ctx) -> None:
    pass


def engineer_panel(ctx) -> None:
    pass
