"""What a clicked building is and what is happening to it: attributes, hazard now, status, damage.

:func:`building_report` gathers, for one building and one frame of a results file, the
building table row and the source attributes, the per-building hazard quantities at the
frame, the decoded status bits and the flood damage so far (the JRC depth-damage curves at
the deepest water the building has seen up to the frame, as the ``damage_eur`` KPI does).

Examples
--------
>>> decode_status(5, {1: "flooded", 2: "without_power", 4: "without_water", 8: "down"})
['flooded', 'without_water']
"""

from __future__ import annotations

import math

import numpy as np

HAZARD_QUANTITIES = ("max_depth", "max_speed", "temperature", "concentration")
HAZARD_UNITS = {"max_depth": "m", "max_speed": "m/s", "temperature": "°C", "concentration": "kg/m³"}
ATTRIBUTE_COLUMNS = ("id", "use", "height", "storeys", "population", "replacement_value",
                     "population_estimated", "value_estimated", "footprint_area", "ground_elevation",
                     "elderly_share", "children_share", "capacity", "parts")


def _plain(value):
    """A numpy scalar as plain Python; NaN and infinities as None."""
    value = value.item() if isinstance(value, np.generic) else value
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, bytes):
        return value.decode()
    return value


def building_attributes(buildings, index: int) -> dict:
    """Building ``index``'s table row (plain values, NaN as None) and its source attributes.

    Returns
    -------
    dict
        ``{"index", "id", "use", "height", ..., "source": {...}}`` with the columns of
        :data:`ATTRIBUTE_COLUMNS`.
    """
    if not 0 <= index < len(buildings):
        raise IndexError(f"building {index} outside 0..{len(buildings) - 1}")
    row = {"index": int(index)}
    for column in ATTRIBUTE_COLUMNS:
        row[column] = _plain(buildings.table[column][index])
    row["id"] = str(row["id"])
    row["source"] = {str(k): _plain(v) for k, v in buildings.attributes[index].items()}
    return row


def decode_status(bits: int, flags: dict[int, str]) -> list[str]:
    """The names of the flags set in ``bits`` (``flags`` maps bit value -> name), in bit order."""
    return [name for bit, name in sorted(flags.items()) if int(bits) & int(bit)]


def _status_flags(results) -> dict[int, str]:
    from twin3d.scene.frames import status_names

    b = results.file["buildings"]
    return status_names(b["status"].attrs.get("flags", [])) if "status" in b else {}


def hazard_now(results, frame: int, index: int) -> dict:
    """The results' per-building hazard quantities of building ``index`` at ``frame``.

    Returns
    -------
    dict
        ``{quantity: {"value": float | None, "units": str}}`` for each of
        :data:`HAZARD_QUANTITIES` the results hold (None: outside the hazard grid).
    """
    b = results.file["buildings"]
    out = {}
    for name in HAZARD_QUANTITIES:
        if name in b and b[name].shape[1] > index:
            units = b[name].attrs.get("units", HAZARD_UNITS[name])
            units = units.decode() if isinstance(units, bytes) else str(units)
            out[name] = {"value": _plain(float(b[name][frame, index])), "units": units}
    return out


def damage_so_far(buildings, results, frame: int, index: int, curves=None) -> dict | None:
    """Flood damage of building ``index`` up to ``frame``: the curve of its use at the deepest
    water seen in frames 0..frame, times its replacement value (None without depths).

    Returns
    -------
    dict or None
        ``{"max_depth_so_far_m", "fraction", "eur", "curve"}``; ``eur`` is None when the
        replacement value is unknown.
    """
    from twin3d.mis.damage import damage_fraction, default_curves

    b = results.file["buildings"]
    if "max_depth" not in b or b["max_depth"].shape[1] <= index:
        return None
    curves = default_curves() if curves is None else curves
    depths = np.asarray(b["max_depth"][: frame + 1, index], dtype=np.float64)
    deepest = float(np.nanmax(depths)) if np.isfinite(depths).any() else float("nan")
    use = np.array([buildings.table["use"][index]], dtype=object)
    fraction = float(damage_fraction(curves, use, np.array([deepest]))[0])
    value = float(buildings.table["replacement_value"][index])
    return {"max_depth_so_far_m": _plain(deepest), "fraction": fraction,
            "eur": fraction * value if math.isfinite(value) else None, "curve": str(curves.curve_of(use)[0])}


def building_report(buildings, results, frame: int | None, index: int, curves=None) -> dict:
    """Everything the pick card shows of building ``index`` at ``frame`` of ``results``.

    Parameters
    ----------
    buildings : Buildings
        The city's buildings (table and source attributes).
    results : ResultsFile or None
        The active results; None (or ``frame`` None) gives the attributes only.
    frame : int or None
        The frame the scene shows.
    index : int
        The building's row in the table (what :func:`twin3d.scene.picking.pick_at` returns).
    curves : DamageCurves, optional
        Depth-damage curves; the packaged JRC Europe set when None.

    Returns
    -------
    dict
        ``{"attributes", "hazard", "status", "damage"}``; ``status`` is
        ``{"bits", "flags": [set names], "known": [all names]}`` or None.
    """
    report = {"attributes": building_attributes(buildings, index), "hazard": {}, "status": None, "damage": None}
    if results is None or frame is None or not 0 <= frame < results.n_frames:
        return report
    report["hazard"] = hazard_now(results, frame, index)
    b = results.file["buildings"]
    if "status" in b and b["status"].shape[1] > index:
        flags = _status_flags(results)
        bits = int(b["status"][frame, index])
        report["status"] = {"bits": bits, "flags": decode_status(bits, flags),
                            "known": [name for _, name in sorted(flags.items())]}
    report["damage"] = damage_so_far(buildings, results, frame, index, curves)
    return report
