"""kpis logic (being built)."""


class KpiLogic:
    def __init__(self, ctx):
        self.ctx = ctx
