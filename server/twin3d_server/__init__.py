"""twin3d_server: the only package that imports trame (app composition, state, ui, api)."""
