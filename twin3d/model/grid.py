"""The one raster convention of twin3d, shared by terrain, simulation fields and results.

``origin`` is the float64 lower-left corner of cell ``[0, 0]`` in the city CRS,
``cell_size`` is in metres and ``shape`` is ``(ny, nx)``.  Row index increases
northward (y grows with the row) and column index eastward.  Readers of
north-first formats (.asc, GeoTIFF) flip their rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Grid:
    """A regular grid of square cells.

    Examples
    --------
    >>> g = Grid(origin=(1000.0, 2000.0), cell_size=5.0, shape=(3, 4))
    >>> g.bounds
    (1000.0, 2000.0, 1020.0, 2015.0)
    >>> g.cell_of(1012.0, 2001.0)
    (0, 2)
    """

    origin: tuple[float, float]
    cell_size: float
    shape: tuple[int, int]

    def __post_init__(self) -> None:
        object.__setattr__(self, "origin", (float(self.origin[0]), float(self.origin[1])))
        object.__setattr__(self, "cell_size", float(self.cell_size))
        object.__setattr__(self, "shape", (int(self.shape[0]), int(self.shape[1])))
        if not (self.cell_size > 0 and np.isfinite(self.cell_size)):
            raise ValueError(f"cell_size must be positive, got {self.cell_size}")
        if self.shape[0] < 1 or self.shape[1] < 1:
            raise ValueError(f"shape must be at least (1, 1), got {self.shape}")
        if not all(np.isfinite(self.origin)):
            raise ValueError(f"origin must be finite, got {self.origin}")

    @property
    def ny(self) -> int:
        return self.shape[0]

    @property
    def nx(self) -> int:
        return self.shape[1]

    @property
    def n_cells(self) -> int:
        return self.ny * self.nx

    @property
    def cell_area(self) -> float:
        return self.cell_size * self.cell_size

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(xmin, ymin, xmax, ymax)`` of the outer cell edges."""
        x0, y0 = self.origin
        return (x0, y0, x0 + self.nx * self.cell_size, y0 + self.ny * self.cell_size)

    def x_centers(self) -> np.ndarray:
        """Cell-centre x coordinates, one per column (float64)."""
        return self.origin[0] + (np.arange(self.nx) + 0.5) * self.cell_size

    def y_centers(self) -> np.ndarray:
        """Cell-centre y coordinates, one per row, increasing northward (float64)."""
        return self.origin[1] + (np.arange(self.ny) + 0.5) * self.cell_size

    def cell_of(self, x, y):
        """Row and column of the cell holding point(s) ``(x, y)``; -1 outside the grid."""
        col = np.floor((np.asarray(x, dtype=np.float64) - self.origin[0]) / self.cell_size)
        row = np.floor((np.asarray(y, dtype=np.float64) - self.origin[1]) / self.cell_size)
        inside = (row >= 0) & (row < self.ny) & (col >= 0) & (col < self.nx)
        row = np.where(inside, row, -1).astype(np.int64)
        col = np.where(inside, col, -1).astype(np.int64)
        if row.ndim == 0:
            return int(row), int(col)
        return row, col

    def contains(self, x, y):
        """Whether point(s) lie inside the grid's bounds."""
        xmin, ymin, xmax, ymax = self.bounds
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        return (x >= xmin) & (x < xmax) & (y >= ymin) & (y < ymax)

    def zeros(self, dtype=np.float64) -> np.ndarray:
        """A ``(ny, nx)`` array of zeros on this grid."""
        return np.zeros(self.shape, dtype=dtype)

    def to_dict(self) -> dict:
        return {"origin": list(self.origin), "cell_size": self.cell_size, "shape": list(self.shape)}
