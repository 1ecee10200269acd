"""export logic (being built)."""


class ExportLogic:
    def __init__(self, ctx):
        self.ctx = ctx
