"""kiosk UI (being built)."""


def kiosk_note(ctx) -> None:
    pass
