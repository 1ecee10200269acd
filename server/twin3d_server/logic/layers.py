"""layers logic (being built)."""


class LayersLogic:
    def __init__(self, ctx):
        self.ctx = ctx
