"""Near-surface urban heat: land-use rasters to the source and relaxation fields of the transport solver.

Heat is one use of :class:`~twin3d.physics.transport.TransportSolver`: the field is the
air temperature of a well-mixed layer of depth ``H``; a land-use class with excess
sensible heat flux ``Q`` (W/m2) heats it at ``Q / (rho cp H)`` K/s, and the layer relaxes
toward the rural background ``T_bg(t)`` at ``1 / tau``.  A large uniform patch settles at
``T_bg + Q tau / (rho cp H)``.  The parameters and their literature sources are in
``assets/physics/heat.toml``.

Examples
--------
>>> import numpy as np
>>> params = load_heat_parameters()
>>> fields = heat_fields(np.array([[0, 1], [5, 7]]), params)
>>> steady = fields.source_K_per_s / np.where(fields.walls, 1, fields.relaxation_per_s)
>>> print(np.round(steady, 2))
[[ 0.    3.13]
 [-0.94  0.  ]]
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from twin3d.config import asset, read_toml
from twin3d.errors import InputError

SECONDS_PER_DAY = 86400.0


@dataclass(frozen=True)
class LandUseClass:
    """One land-use class: its raster code and its excess sensible heat flux (W/m2)."""

    name: str
    code: int
    anthropogenic_W_m2: float
    surface_excess_W_m2: float
    wall: bool = False
    relaxation_time_s: float | None = None

    @property
    def sensible_flux_W_m2(self) -> float:
        """Total excess flux over the rural reference: anthropogenic plus surface."""
        return self.anthropogenic_W_m2 + self.surface_excess_W_m2


@dataclass(frozen=True)
class HeatParameters:
    """Air properties, layer depth, relaxation time, land-use classes and the diurnal source profile."""

    density_kg_m3: float
    heat_capacity_J_kg_K: float
    mixing_height_m: float
    relaxation_time_s: float
    classes: dict[str, LandUseClass]
    diurnal_profile: np.ndarray = field(default_factory=lambda: np.ones(24))

    def heating_rate(self, flux_W_m2):
        """Heating rate in K/s of the layer under a flux in W/m2: ``Q / (rho cp H)``."""
        return np.asarray(flux_W_m2) / (self.density_kg_m3 * self.heat_capacity_J_kg_K * self.mixing_height_m)


@dataclass(frozen=True)
class HeatFields:
    """Per-cell inputs of the transport solver for heat."""

    source_K_per_s: np.ndarray
    relaxation_per_s: np.ndarray
    walls: np.ndarray


def _positive(table: dict, key: str, path) -> float:
    value = table.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (value > 0 and np.isfinite(value)):
        raise InputError(path, f"{key} must be a positive number, got {value!r}")
    return float(value)


def _read_class(name: str, table, path) -> LandUseClass:
    if not isinstance(table, dict):
        raise InputError(path, f"classes.{name} must be a table")
    code = table.get("code")
    if isinstance(code, bool) or not isinstance(code, int) or code < 0:
        raise InputError(path, f"classes.{name}.code must be a non-negative integer, got {code!r}")
    fluxes = []
    for key in ("anthropogenic_W_m2", "surface_excess_W_m2"):
        value = table.get(key, 0.0)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
            raise InputError(path, f"classes.{name}.{key} must be a number, got {value!r}")
        fluxes.append(float(value))
    tau = _positive(table, "relaxation_time_s", path) if "relaxation_time_s" in table else None
    if not isinstance(table.get("wall", False), bool):
        raise InputError(path, f"classes.{name}.wall must be true or false")
    return LandUseClass(name, code, fluxes[0], fluxes[1], table.get("wall", False), tau)


def load_heat_parameters(path: str | os.PathLike | None = None) -> HeatParameters:
    """Read heat parameters from a TOML file (default: the packaged ``physics/heat.toml``).

    Raises
    ------
    InputError
        The file is missing, not TOML, or a value is missing or out of range.
    """
    path = Path(path) if path is not None else asset("physics", "heat.toml")
    doc = read_toml(path, "heat parameters")
    air, classes = doc.get("air"), doc.get("classes")
    if not isinstance(air, dict) or not isinstance(classes, dict) or not classes:
        raise InputError(path, "needs an [air] table and at least one [classes.<name>] table")
    read = {name: _read_class(name, table, path) for name, table in classes.items()}
    codes = [c.code for c in read.values()]
    if len(set(codes)) != len(codes):
        raise InputError(path, f"land-use codes must be unique, got {sorted(codes)}")
    profile = np.asarray(doc.get("diurnal", {}).get("profile", [1.0] * 24), dtype=object)
    if profile.shape != (24,) or not all(isinstance(p, (int, float)) and p >= 0 for p in profile):
        raise InputError(path, "diurnal.profile must be 24 non-negative numbers")
    profile = profile.astype(np.float64)
    if profile.sum() <= 0:
        raise InputError(path, "diurnal.profile must not be all zero")
    keys = ("density_kg_m3", "heat_capacity_J_kg_K", "mixing_height_m", "relaxation_time_s")
    return HeatParameters(*(_positive(air, k, path) for k in keys), classes=read,
                          diurnal_profile=profile / profile.mean())


def heat_fields(landuse, params: HeatParameters | None = None) -> HeatFields:
    """Source (K/s), relaxation rate (1/s) and wall mask from a raster of land-use codes.

    Parameters
    ----------
    landuse : integer array (ny, nx)
        Class codes as in the parameters (``classes.<name>.code``).
    params : HeatParameters, optional
        Default: :func:`load_heat_parameters` of the packaged file.

    Raises
    ------
    InputError
        The raster is not an integer array, or holds a code no class has.
    """
    params = params or load_heat_parameters()
    raster = np.asarray(landuse)
    if raster.ndim != 2 or raster.dtype.kind not in "iu":
        raise InputError(None, f"land-use raster must be a 2-D integer array, got {raster.dtype} {raster.shape}")
    classes = sorted(params.classes.values(), key=lambda c: c.code)
    codes = np.array([c.code for c in classes])
    index = np.clip(np.searchsorted(codes, raster), 0, len(codes) - 1)
    unknown = codes[index] != raster
    if unknown.any():
        bad = np.unique(raster[unknown])[:5].tolist()
        raise InputError(None, f"land-use raster holds codes with no class: {bad}")
    rate = params.heating_rate(np.array([c.sensible_flux_W_m2 for c in classes]))
    relax = np.array([1.0 / (c.relaxation_time_s or params.relaxation_time_s) for c in classes])
    wall = np.array([c.wall for c in classes])
    walls = wall[index]
    return HeatFields(source_K_per_s=np.where(walls, 0.0, rate[index]),
                      relaxation_per_s=np.where(walls, 0.0, relax[index]), walls=walls)


def diurnal_source_scale(times_s, params: HeatParameters | None = None) -> np.ndarray:
    """The source multiplier at ``times_s`` (s after local midnight), periodic and linear between hours."""
    params = params or load_heat_parameters()
    hours = np.mod(np.asarray(times_s, dtype=np.float64) / 3600.0, 24.0)
    profile = np.append(params.diurnal_profile, params.diurnal_profile[0])
    return np.interp(hours, np.arange(25.0), profile)


def heatwave_background(times_s, mean: float, amplitude_K: float, peak_hour: float = 15.0,
                        warming_K_per_day: float = 0.0) -> np.ndarray:
    """A rural background temperature: a sinusoidal daily cycle on a mean that warms day by day.

    ``T(t) = mean + warming * t / day + amplitude * cos(2 pi (t / 3600 - peak_hour) / 24)``,
    ``t`` in s after local midnight of the first day; ``mean`` in the unit of the field.
    """
    t = np.asarray(times_s, dtype=np.float64)
    phase = 2 * np.pi * (t / 3600.0 - peak_hour) / 24.0
    return mean + warming_K_per_day * t / SECONDS_PER_DAY + amplitude_K * np.cos(phase)
