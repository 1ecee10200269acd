"""mapview logic (being built)."""


class MapLogic:
    def __init__(self, ctx):
        self.ctx = ctx
