"""Taichi solvers that own their fields, with numpy references of the same schemes.

The caller initialises Taichi (:func:`twin3d.physics.arch.init_taichi`); solvers never do.
"""
