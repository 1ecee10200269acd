"""Exposure: who is in the water, the heat or the plume, per building and per frame.

Pure functions of the building table and per-building hazard arrays (the runner's
``/buildings/max_depth``, ``temperature``, ``concentration``).  Hazard arrays are
``(n,)`` for one frame or ``(T, n)`` for a series; NaN (a building outside the hazard
grid) never counts as exposed.  The thresholds and weights are documented, with their
sources, in docs/kpis.md.

Examples
--------
>>> import numpy as np
>>> table = {"population": np.array([10.0, 20.0]), "elderly_share": np.array([0.5, 0.0]),
...          "children_share": np.array([0.0, 0.5]), "use": np.array(["residential"] * 2)}
>>> weighted_population(table)
array([15., 25.])
>>> population_above(population(table), np.array([31.0, 36.0]), HEAT_THRESHOLDS_C)
array([30., 20.])
"""

from __future__ import annotations

import numpy as np

FLOODED_DEPTH_M = 0.1           # a building counts as flooded from this depth (m)
DEPTH_CLASS_EDGES_M = (0.1, 0.3, 1.0)   # classes [0.1, 0.3), [0.3, 1), [1, inf) m
DEPTH_CLASS_LABELS = ("0.1-0.3 m", "0.3-1 m", ">1 m")
DISPLACEMENT_DEPTH_M = 0.3      # residents leave a home flooded this deep (m)
HEAT_THRESHOLDS_C = (30.0, 35.0)              # degC, near-surface air temperature
PLUME_THRESHOLDS_KG_M3 = (3.5e-8, 2.5e-7)     # 35 and 250 ug/m3 (PM2.5 equivalents)
ELDERLY_WEIGHT = 2.0            # heat-vulnerability weight of a person aged 65+
CHILDREN_WEIGHT = 1.5           # ... of a child aged 0-14 (others weigh 1)


def population(table: dict[str, np.ndarray]) -> np.ndarray:
    """Occupants per building; a missing or negative value counts as 0."""
    return np.clip(np.nan_to_num(np.asarray(table["population"], dtype=np.float64)), 0.0, None)


def vulnerability_weight(table: dict[str, np.ndarray]) -> np.ndarray:
    """Mean heat-vulnerability weight of a building's occupants.

    ``1 + (ELDERLY_WEIGHT - 1) * elderly_share + (CHILDREN_WEIGHT - 1) * children_share``;
    missing shares count as 0.
    """
    def share(name: str) -> np.ndarray:
        return np.clip(np.nan_to_num(np.asarray(table[name], dtype=np.float64)), 0.0, 1.0)

    return 1.0 + (ELDERLY_WEIGHT - 1.0) * share("elderly_share") + (CHILDREN_WEIGHT - 1.0) * share(
        "children_share")


def weighted_population(table: dict[str, np.ndarray]) -> np.ndarray:
    """Occupants per building weighted by vulnerability (persons-equivalent)."""
    return population(table) * vulnerability_weight(table)


def flooded(depth: np.ndarray, threshold_m: float = FLOODED_DEPTH_M) -> np.ndarray:
    """True where the water at a building is at least ``threshold_m`` deep (NaN: False)."""
    return np.nan_to_num(np.asarray(depth, dtype=np.float64), nan=0.0) >= threshold_m


def population_above(weights: np.ndarray, values: np.ndarray, thresholds) -> np.ndarray:
    """Sum of ``weights`` over buildings whose value exceeds each threshold.

    Parameters
    ----------
    weights
        Persons (or weighted persons) per building, ``(n,)``.
    values
        Hazard per building, ``(n,)`` or ``(T, n)``; NaN never exceeds.
    thresholds
        ``k`` thresholds; a building counts where ``value > threshold``.

    Returns
    -------
    numpy.ndarray
        ``(k,)`` or ``(T, k)``.
    """
    values = np.asarray(values, dtype=np.float64)
    above = values[..., None, :] > np.asarray(thresholds, dtype=np.float64)[:, None]
    return above @ np.asarray(weights, dtype=np.float64)


def population_by_depth_class(weights: np.ndarray, depth: np.ndarray,
                              edges_m=DEPTH_CLASS_EDGES_M) -> np.ndarray:
    """Persons per depth class: class ``i`` holds depths in ``[edges[i], edges[i + 1])``, the last
    class is open above; depths below ``edges[0]`` or NaN are in no class.

    Returns ``(k,)`` for ``(n,)`` depths or ``(T, k)`` for ``(T, n)``.
    """
    depth = np.nan_to_num(np.asarray(depth, dtype=np.float64), nan=-np.inf)
    cls = np.digitize(depth, np.asarray(edges_m, dtype=np.float64))  # 0 = below the first edge
    one_hot = cls[..., None, :] == np.arange(1, len(edges_m) + 1)[:, None]
    return one_hot @ np.asarray(weights, dtype=np.float64)


def displaced_population(table: dict[str, np.ndarray], max_depth_so_far: np.ndarray) -> np.ndarray:
    """Residents who need shelter: population of residential buildings whose water has reached
    ``DISPLACEMENT_DEPTH_M`` so far (they do not return during the event).  Per building."""
    home = np.asarray(table["use"]) == "residential"
    return population(table) * (home & flooded(max_depth_so_far, DISPLACEMENT_DEPTH_M))


def heat_exposed(table: dict[str, np.ndarray], temperature_c: np.ndarray) -> np.ndarray:
    """Vulnerability-weighted population above each of ``HEAT_THRESHOLDS_C``: ``(k,)`` or ``(T, k)``."""
    return population_above(weighted_population(table), temperature_c, HEAT_THRESHOLDS_C)


def plume_exposed(table: dict[str, np.ndarray], concentration_kg_m3: np.ndarray) -> np.ndarray:
    """Population above each of ``PLUME_THRESHOLDS_KG_M3``: ``(k,)`` or ``(T, k)``."""
    return population_above(population(table), concentration_kg_m3, PLUME_THRESHOLDS_KG_M3)
