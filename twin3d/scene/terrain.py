"""Terrain shading and ground heights: a calm hillshade over elevation colours."""

from __future__ import annotations

import numpy as np

from twin3d.scene.palettes import LAND_CMAP, cmap_rgb

TERRAIN_CMAP = LAND_CMAP
SUN_AZIMUTH_DEG = 315.0  # from the north-west, as cartographers light maps
SUN_ALTITUDE_DEG = 45.0
SHADE_FLOOR = 0.55  # the darkest a slope facing away from the sun gets (keeps the map calm)


def hillshade(elevation: np.ndarray, cell_size: float, azimuth_deg: float = SUN_AZIMUTH_DEG,
              altitude_deg: float = SUN_ALTITUDE_DEG, exaggeration: float = 2.0) -> np.ndarray:
    """Lambertian hillshade in [0, 1] of a grid whose rows go north.

    Parameters
    ----------
    elevation : ndarray, shape (ny, nx)
        Elevation (m); NaN is treated as flat.
    cell_size : float
        Grid spacing (m).
    azimuth_deg, altitude_deg : float
        Sun direction: clockwise from north, and above the horizon.
    exaggeration : float
        Vertical exaggeration of slopes (flat cities need a little to read).

    Returns
    -------
    ndarray, shape (ny, nx)
        ``max(0, n . s)``: 1 faces the sun, 0 faces away; flat ground gives ``sin(altitude)``.
    """
    z = np.asarray(elevation, dtype=np.float64)
    z = np.nan_to_num(z, nan=float(np.nanmean(z)) if np.isfinite(z).any() else 0.0) * exaggeration
    dz_dy, dz_dx = np.gradient(z, float(cell_size))  # rows go north: axis 0 is +y
    az, alt = np.radians(azimuth_deg), np.radians(altitude_deg)
    sun = np.array([np.sin(az) * np.cos(alt), np.cos(az) * np.cos(alt), np.sin(alt)])  # east, north, up
    norm = np.sqrt(dz_dx**2 + dz_dy**2 + 1.0)
    shade = (-dz_dx * sun[0] - dz_dy * sun[1] + sun[2]) / norm
    return np.clip(shade, 0.0, 1.0)


def terrain_rgb(elevation: np.ndarray, cell_size: float) -> np.ndarray:
    """RGB (uint8, (ny, nx, 3)) of the terrain: elevation colours modulated by the hillshade.

    The colour map's range is padded so its dark ends stay off the ground, and the shade is
    scaled into ``[SHADE_FLOOR, 1]`` relative to flat ground, which keeps plains at their colour.
    """
    z = np.asarray(elevation, dtype=np.float64)
    finite = z[np.isfinite(z)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    pad = 0.4 * (hi - lo) + 1.0
    base = cmap_rgb(TERRAIN_CMAP, (np.nan_to_num(z, nan=lo) - (lo - pad)) / (hi - lo + 2 * pad))
    flat = np.sin(np.radians(SUN_ALTITUDE_DEG))
    shade = np.clip(hillshade(z, cell_size) / flat, 0.0, 1.15)
    factor = SHADE_FLOOR + (1.0 - SHADE_FLOOR) * shade
    return np.clip(base.astype(np.float64) * factor[..., None], 0, 255).round().astype(np.uint8)


class Ground:
    """Ground height lookups (nearest terrain cell) in the city's local frame.

    Parameters
    ----------
    terrain : twin3d.model.Terrain or None
        The city's terrain; without one the ground is at the origin's height.
    origin : ndarray, shape (3,)
        The city origin meshes are shifted by.
    """

    def __init__(self, terrain, origin: np.ndarray):
        self.origin = np.asarray(origin, dtype=np.float64)
        self.terrain = terrain
        if terrain is not None:
            z = np.asarray(terrain.elevation, dtype=np.float64)
            fill = float(np.nanmin(z)) if np.isfinite(z).any() else float(self.origin[2])
            self._z = np.nan_to_num(z, nan=fill) - self.origin[2]

    def z(self, x_local: np.ndarray, y_local: np.ndarray) -> np.ndarray:
        """Local ground height (m above the origin) at local points; outside the terrain: the nearest edge."""
        x = np.asarray(x_local, dtype=np.float64)
        if self.terrain is None:
            return np.zeros_like(x)
        g = self.terrain.grid
        ny, nx = g.shape
        col = np.clip(np.floor((x + self.origin[0] - g.origin[0]) / g.cell_size).astype(np.int64), 0, nx - 1)
        row = np.clip(np.floor((np.asarray(y_local, dtype=np.float64) + self.origin[1] - g.origin[1])
                               / g.cell_size).astype(np.int64), 0, ny - 1)
        return self._z[row, col]
