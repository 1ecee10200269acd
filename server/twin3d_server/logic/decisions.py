"""decisions logic (being built)."""


class DecisionLogic:
    def __init__(self, ctx):
        self.ctx = ctx
