"""Terrain: an elevation raster on a :class:`~twin3d.model.grid.Grid`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twin3d.model.grid import Grid


@dataclass
class Terrain:
    """Ground elevation in metres on a grid; cells without data hold NaN.

    ``nodata`` is the source's own no-data value, kept so that a writer can
    restore it; in memory, missing cells are always NaN.
    """

    grid: Grid
    elevation: np.ndarray
    nodata: float | None = None

    def __post_init__(self) -> None:
        self.elevation = np.asarray(self.elevation, dtype=np.float64)
        if self.elevation.shape != self.grid.shape:
            raise ValueError(f"elevation shape {self.elevation.shape} != grid shape {self.grid.shape}")

    @property
    def valid(self) -> np.ndarray:
        """Boolean mask of cells with data."""
        return np.isfinite(self.elevation)

    def sample(self, x, y) -> np.ndarray:
        """Bilinear elevation at points; NaN outside the grid or next to no-data."""
        g = self.grid
        fx = (np.asarray(x, dtype=np.float64) - g.origin[0]) / g.cell_size - 0.5
        fy = (np.asarray(y, dtype=np.float64) - g.origin[1]) / g.cell_size - 0.5
        fx = np.clip(fx, 0.0, g.nx - 1.0)
        fy = np.clip(fy, 0.0, g.ny - 1.0)
        i0 = np.minimum(np.floor(fy).astype(np.int64), max(g.ny - 2, 0))
        j0 = np.minimum(np.floor(fx).astype(np.int64), max(g.nx - 2, 0))
        i1 = np.minimum(i0 + 1, g.ny - 1)
        j1 = np.minimum(j0 + 1, g.nx - 1)
        ty, tx = fy - i0, fx - j0
        z = self.elevation
        out = (
            z[i0, j0] * (1 - tx) * (1 - ty)
            + z[i0, j1] * tx * (1 - ty)
            + z[i1, j0] * (1 - tx) * ty
            + z[i1, j1] * tx * ty
        )
        inside = g.contains(x, y)
        return np.where(inside, out, np.nan)

    def equals(self, other: Terrain) -> bool:
        return (
            self.grid == other.grid
            and np.array_equal(self.elevation, other.elevation, equal_nan=True)
            and self.nodata == other.nodata
        )
