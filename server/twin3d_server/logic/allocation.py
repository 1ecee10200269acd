"""allocation logic (being built)."""


class AllocationLogic:
    def __init__(self, ctx):
        self.ctx = ctx
