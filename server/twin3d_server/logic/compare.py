"""compare logic (being built)."""


class CompareLogic:
    def __init__(self, ctx):
        self.ctx = ctx
