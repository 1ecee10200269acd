"""twin3d: an open urban digital twin for floods, heatwaves and plumes.

``import twin3d`` stays cheap: heavy libraries (taichi, vtk, open3d, trame) are
imported only by the modules that need them, when they are used.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
