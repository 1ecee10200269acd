"""Terrain of the synthetic city: a river valley with a meandering channel, floodplain and fractal hills.

The river flows from west to east across the whole grid; the valley floor
falls downstream, rises gently across the floodplain and more steeply up the
valley sides, where spectral (1/f) noise adds hills.  Everything is numpy
on the whole grid at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twin3d.model.grid import Grid
from twin3d.model.mesh import SURFACE_CODE, ContextLayer, Mesh
from twin3d.model.terrain import Terrain

VALLEY_FLOOR_M = 45.0          # floodplain elevation at the city centre, m above datum
DOWN_VALLEY_SLOPE = 0.0008     # 0.8 m per km, falling to the east
FLOODPLAIN_RISE_M = 1.5        # rise from bank to floodplain edge
VALLEY_SIDE_M = 40.0           # height the valley sides reach far from the river
VALLEY_SIDE_LENGTH_M = 1500.0  # horizontal scale of the valley sides
CHANNEL_DEPTH_M = 3.0          # bed below bank at the channel centre
BANKFULL_FREEBOARD_M = 1.0     # normal water level below the bank
HILL_SHARE = 0.35              # standard deviation of the fractal hills, as a share of the valley rise
HILL_BETA = 3.2                # spectral slope: power ~ k^-beta
MARGIN_M = 400.0               # terrain beyond the city on every side
CELL_SIZE_M = 5.0
MAX_CELLS_PER_SIDE = 3000


@dataclass(frozen=True)
class River:
    """A river whose centreline is ``y = y0 + sum(a sin(2 pi (x - x0) / L + phase))``."""

    x0: float
    y0: float
    amplitude: tuple[float, ...]
    wavelength: tuple[float, ...]
    phase: tuple[float, ...]
    half_width: float = 20.0
    floodplain_half_width: float = 250.0

    def centre_y(self, x) -> np.ndarray:
        """Centreline y at ``x``."""
        x = np.asarray(x, dtype=np.float64) - self.x0
        y = np.full(x.shape, self.y0)
        for a, wl, ph in zip(self.amplitude, self.wavelength, self.phase):
            y = y + a * np.sin(2 * np.pi * x / wl + ph)
        return y

    def slope(self, x) -> np.ndarray:
        """dy/dx of the centreline."""
        x = np.asarray(x, dtype=np.float64) - self.x0
        s = np.zeros(x.shape)
        for a, wl, ph in zip(self.amplitude, self.wavelength, self.phase):
            s = s + a * 2 * np.pi / wl * np.cos(2 * np.pi * x / wl + ph)
        return s

    def offset(self, x, y) -> np.ndarray:
        """Signed distance across the river (positive north), from the local tangent."""
        return (np.asarray(y, dtype=np.float64) - self.centre_y(x)) / np.sqrt(1.0 + self.slope(x) ** 2)

    def floodplain_z(self, x) -> np.ndarray:
        """Bank (floodplain) elevation at ``x``, falling downstream."""
        return VALLEY_FLOOR_M - DOWN_VALLEY_SLOPE * (np.asarray(x, dtype=np.float64) - self.x0)


def make_river(centre: tuple[float, float], city_radius_m: float, rng: np.random.Generator) -> River:
    """A meandering river passing just south of the city centre."""
    phase = tuple(float(p) for p in rng.uniform(0, 2 * np.pi, 2))
    return River(x0=centre[0], y0=centre[1] - 0.12 * city_radius_m - 120.0,
                 amplitude=(110.0, 0.08 * city_radius_m + 40.0),
                 wavelength=(900.0, 2.5 * city_radius_m + 1500.0), phase=phase)


def terrain_grid(bounds: tuple[float, float, float, float]) -> Grid:
    """A whole-metre grid covering ``(xmin, ymin, xmax, ymax)`` plus the margin."""
    x0, y0 = np.floor(bounds[0] - MARGIN_M), np.floor(bounds[1] - MARGIN_M)
    span = max(bounds[2] - bounds[0], bounds[3] - bounds[1]) + 2 * MARGIN_M
    cell = CELL_SIZE_M * max(1.0, np.ceil(span / (CELL_SIZE_M * MAX_CELLS_PER_SIDE)))
    nx = int(np.ceil((bounds[2] + MARGIN_M - x0) / cell))
    ny = int(np.ceil((bounds[3] + MARGIN_M - y0) / cell))
    return Grid(origin=(x0, y0), cell_size=cell, shape=(ny, nx))


def spectral_noise(shape: tuple[int, int], cell_size: float, rng: np.random.Generator,
                   beta: float = HILL_BETA, longest_m: float = 4000.0) -> np.ndarray:
    """Zero-mean, unit-variance fractal noise with power ~ k^-beta (wavelengths up to ``longest_m``)."""
    ny, nx = shape
    white = rng.standard_normal(shape)
    ky = np.fft.fftfreq(ny, d=cell_size)[:, None]
    kx = np.fft.rfftfreq(nx, d=cell_size)[None, :]
    amplitude = (kx * kx + ky * ky + (1.0 / longest_m) ** 2) ** (-beta / 4.0)
    amplitude[0, 0] = 0.0
    field = np.fft.irfft2(np.fft.rfft2(white) * amplitude, s=shape)
    std = field.std()
    return field / std if std > 0 else field


def valley_elevation(river: River, x: np.ndarray, y: np.ndarray, hills: np.ndarray) -> np.ndarray:
    """Elevation of the valley at points; ``hills`` (unit noise) scale with the rise above the river.

    Hills are a share of the local valley rise (at least a fifth of it is kept), so the
    floodplain stays flat and no hollow away from the river lies below its banks.
    """
    d = np.abs(river.offset(x, y))
    fp = river.floodplain_half_width
    rise = FLOODPLAIN_RISE_M * np.clip(d / fp, 0.0, 1.0) ** 2
    rise = rise + VALLEY_SIDE_M * np.tanh(np.maximum(d - fp, 0.0) / VALLEY_SIDE_LENGTH_M)
    channel = CHANNEL_DEPTH_M * np.clip(1.0 - (d / river.half_width) ** 2, 0.0, 1.0)
    return river.floodplain_z(x) + rise * np.maximum(1.0 + HILL_SHARE * hills, 0.2) - channel


def make_terrain(river: River, bounds: tuple[float, float, float, float],
                 rng: np.random.Generator) -> Terrain:
    """Terrain on a grid covering ``bounds`` plus margin: valley, channel and hills, in metres."""
    grid = terrain_grid(bounds)
    hills = spectral_noise(grid.shape, grid.cell_size, rng)
    # river terms depend on x only: evaluate them per column and let numpy broadcast
    elevation = valley_elevation(river, grid.x_centers()[None, :], grid.y_centers()[:, None], hills)
    return Terrain(grid, np.round(elevation, 3))


def river_layer(river: River, grid: Grid, step_m: float = 10.0) -> ContextLayer:
    """The river's water surface as one ribbon across the grid, at bankfull minus freeboard."""
    x0, _, x1, _ = grid.bounds
    x = np.linspace(x0, x1, int(np.ceil((x1 - x0) / step_m)) + 1)
    yc = river.centre_y(x)
    tangent = np.stack([np.ones_like(x), river.slope(x)], axis=1)
    normal = np.stack([-tangent[:, 1], tangent[:, 0]], axis=1) / np.linalg.norm(tangent, axis=1)[:, None]
    z = river.floodplain_z(x) - BANKFULL_FREEBOARD_M
    centre = np.stack([x, yc], axis=1)
    right = centre - river.half_width * normal
    left = centre + river.half_width * normal
    vertices = np.stack([np.column_stack([right, z]), np.column_stack([left, z])], axis=1).reshape(-1, 3)
    i = 2 * np.arange(len(x) - 1)
    triangles = np.concatenate([np.stack([i, i + 2, i + 3], axis=1), np.stack([i, i + 3, i + 1], axis=1)])
    mesh = Mesh(vertices, triangles, np.zeros(len(triangles), dtype=np.int32),
                np.full(len(triangles), SURFACE_CODE["WaterSurface"]))
    return ContextLayer("water", mesh, np.array(["river"], dtype=object), np.array(["river"], dtype=object),
                        [{"name": "river", "water_level_m": "bankfull minus 1 m, falling 0.8 m/km"}])
