"""inspect logic (being built)."""


class InspectLogic:
    def __init__(self, ctx):
        self.ctx = ctx
