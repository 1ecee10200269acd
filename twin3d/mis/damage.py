"""Flood damage: depth-damage curves as data, linear interpolation, euros per building.

A curve set maps each building use to a curve of damage fraction (0-1 of the
replacement value) against water depth (m).  The default set is the JRC global
flood depth-damage functions for Europe (Huizinga et al. 2017), in
``assets/damage/jrc_europe.toml``; a user file of the same layout replaces it.

Examples
--------
>>> import numpy as np
>>> curves = DamageCurves.load()
>>> damage_fraction(curves, np.array(["residential", "industrial"]), np.array([0.75, 7.0]))
array([0.325, 1.   ])
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from twin3d.config import asset, read_toml
from twin3d.errors import InputError


@dataclass(frozen=True)
class DamageCurves:
    """Depth-damage curves and the building uses they apply to.

    ``depth_m[name]`` (strictly increasing, from 0) and ``fraction[name]`` (in [0, 1],
    never decreasing) are the points of curve ``name``; ``uses`` maps a building use to
    a curve name; a use not in ``uses`` takes ``default_curve``.
    """

    name: str
    depth_m: dict[str, np.ndarray]
    fraction: dict[str, np.ndarray]
    uses: dict[str, str]
    default_curve: str
    source: dict
    path: Path | None = None

    @classmethod
    def load(cls, path: str | Path | None = None) -> DamageCurves:
        """Read a curve file (TOML); ``None`` reads the packaged JRC Europe curves.

        Raises
        ------
        InputError
            The file is missing, not TOML, or a curve or use mapping is invalid.
        """
        if path is None:
            path = asset("damage", "jrc_europe.toml")
        path = Path(path)
        return _from_document(read_toml(path, "damage curves"), path)

    def curve_of(self, use: np.ndarray) -> np.ndarray:
        """The curve name of each building use."""
        use = np.asarray(use, dtype=object)
        names, inverse = np.unique(use.astype(str), return_inverse=True)
        mapped = np.array([self.uses.get(u, self.default_curve) for u in names], dtype=object)
        return mapped[np.ravel(inverse)].reshape(use.shape)


@lru_cache(maxsize=1)
def default_curves() -> DamageCurves:
    """The packaged JRC Europe curves, read once."""
    return DamageCurves.load()


def _from_document(doc: dict, path: Path) -> DamageCurves:
    curves = doc.get("curves")
    if not isinstance(curves, dict) or not curves:
        raise InputError(path, "no [curves.<name>] tables")
    depth, fraction = {}, {}
    for name, curve in curves.items():
        depth[name], fraction[name] = _curve_points(path, name, curve)
    uses = doc.get("uses", {})
    if not isinstance(uses, dict) or not all(isinstance(v, str) for v in uses.values()):
        raise InputError(path, "[uses] must map building uses to curve names")
    default = doc.get("default_curve", next(iter(curves)))
    for use, target in [*uses.items(), ("default_curve", default)]:
        if target not in curves:
            raise InputError(path, f"{use}: no curve named {target!r} (curves: {', '.join(curves)})")
    source = doc.get("source", {})
    return DamageCurves(name=str(doc.get("name", path.stem)), depth_m=depth, fraction=fraction,
                        uses=dict(uses), default_curve=default,
                        source=source if isinstance(source, dict) else {"text": str(source)}, path=path)


def _curve_points(path: Path, name: str, curve) -> tuple[np.ndarray, np.ndarray]:
    """Validated ``(depth_m, fraction)`` arrays of one curve table."""
    where = f"curves.{name}"
    if not isinstance(curve, dict) or "depth_m" not in curve or "fraction" not in curve:
        raise InputError(path, f"{where}: needs depth_m and fraction lists")
    try:
        d = np.asarray(curve["depth_m"], dtype=np.float64)
        f = np.asarray(curve["fraction"], dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(path, f"{where}: depth_m and fraction must be lists of numbers") from None
    if d.ndim != 1 or f.shape != d.shape or len(d) < 2:
        raise InputError(path, f"{where}: depth_m and fraction need the same length, at least 2")
    if not (np.all(np.isfinite(d)) and np.all(np.isfinite(f))):
        raise InputError(path, f"{where}: values must be finite")
    if d[0] != 0.0:
        raise InputError(path, f"{where}: depth_m must start at 0, not {d[0]:g}")
    if np.any(np.diff(d) <= 0):
        raise InputError(path, f"{where}: depth_m must be strictly increasing")
    if f.min() < 0.0 or f.max() > 1.0:
        raise InputError(path, f"{where}: fraction must lie in [0, 1]")
    if np.any(np.diff(f) < 0):
        raise InputError(path, f"{where}: fraction must not decrease with depth")
    return d, f


def damage_fraction(curves: DamageCurves, use: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """Damage fraction (0-1) of each building at water depth ``depth`` (m).

    Parameters
    ----------
    curves
        The curve set (:meth:`DamageCurves.load`).
    use
        Building use per building, shape ``(n,)``.
    depth
        Water depth per building, shape ``(n,)`` or ``(T, n)``.  NaN (a building
        outside the hazard grid) and depths at or below 0 give 0 damage; beyond
        the last curve point the last fraction holds.
    """
    depth = np.nan_to_num(np.asarray(depth, dtype=np.float64), nan=0.0)
    curve = curves.curve_of(use)
    if curve.shape != depth.shape[-1:]:
        raise InputError(None, f"damage: {curve.shape[0]} uses for {depth.shape[-1]} depths")
    out = np.zeros(depth.shape)
    for name in np.unique(curve.astype(str)):
        sel = curve == name
        out[..., sel] = np.interp(depth[..., sel], curves.depth_m[name], curves.fraction[name])
    return out


def running_max(max_depth: np.ndarray) -> np.ndarray:
    """Maximum depth reached so far at every frame: ``(T, n)`` -> ``(T, n)``, NaN ignored."""
    return np.fmax.accumulate(np.asarray(max_depth, dtype=np.float64), axis=0)


def compute_damage(buildings_table: dict[str, np.ndarray], max_depth_so_far: np.ndarray,
                   curves: DamageCurves | None = None) -> np.ndarray:
    """Flood damage so far in EUR per building: fraction at the deepest water x replacement value.

    Parameters
    ----------
    buildings_table
        The building table (``use`` and ``replacement_value`` columns; a missing
        value counts as 0 EUR).
    max_depth_so_far
        The maximum depth (m) each building has seen up to the frame, ``(n,)`` or
        ``(T, n)`` (see :func:`running_max`).
    curves
        Depth-damage curves; the packaged JRC Europe set when None.

    Examples
    --------
    >>> table = {"use": np.array(["residential"]), "replacement_value": np.array([2.0e5])}
    >>> compute_damage(table, np.array([1.25]))
    array([90000.])
    """
    curves = default_curves() if curves is None else curves
    value = np.nan_to_num(np.asarray(buildings_table["replacement_value"], dtype=np.float64))
    return damage_fraction(curves, buildings_table["use"], max_depth_so_far) * value
