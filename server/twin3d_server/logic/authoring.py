"""authoring logic (being built)."""


class AuthoringLogic:
    def __init__(self, ctx):
        self.ctx = ctx
