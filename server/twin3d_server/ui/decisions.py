"""decisions UI (being built)."""


def decision_panel(ctx) -> None:
    pass
