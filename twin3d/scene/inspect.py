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


class BuildingSeries:
    """One building's per-frame quantities and status bits, read from a results file once.

    A timeline tick then costs no read; a frame past the ones read (a run still computing)
    reads the columns again.

    Parameters
    ----------
    results : ResultsFile
        The results.
    index : int
        The building's row in the city's table.
    """

    def __init__(self, results, index: int):
        from twin3d.scene.frames import status_names

        self.results, self.index = results, int(index)
        b = results.file["buildings"]
        self.names = [n for n in HAZARD_QUANTITIES if n in b and b[n].shape[1] > self.index]
        self.units = {n: _text(b[n].attrs.get("units", HAZARD_UNITS[n])) for n in self.names}
        self.has_status = "status" in b and b["status"].shape[1] > self.index
        self.flags = status_names(b["status"].attrs.get("flags", [])) if "status" in b else {}
        self.values: dict[str, np.ndarray] = {}
        self.status = np.zeros(0, dtype=np.uint8)
        self._read()

    def _read(self) -> None:
        if not self.results.complete:
            self.results.refresh()  # a run still computing: see its new frames
        b = self.results.file["buildings"]
        for n in self.names:
            self.values[n] = np.asarray(b[n][:, self.index], dtype=np.float64)
        if self.has_status:
            self.status = np.asarray(b["status"][:, self.index])

    @property
    def n_frames(self) -> int:
        lengths = [len(v) for v in self.values.values()] + ([len(self.status)] if self.has_status else [])
        return min(lengths) if lengths else 0

    def ensure(self, frame: int) -> None:
        """Read again when ``frame`` is past the frames read."""
        if frame >= self.n_frames:
            self._read()


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def hazard_now(series: BuildingSeries, frame: int) -> dict:
    """The building's hazard quantities at ``frame``.

    Returns
    -------
    dict
        ``{quantity: {"value": float | None, "units": str}}`` for each of
        :data:`HAZARD_QUANTITIES` the results hold (None: outside the hazard grid).
    """
    series.ensure(frame)
    return {n: {"value": _plain(float(series.values[n][frame])), "units": series.units[n]} for n in series.names}


def damage_so_far(buildings, series: BuildingSeries, frame: int, curves=None) -> dict | None:
    """Flood damage of the building up to ``frame``: the curve of its use at the deepest water
    seen in frames 0..frame, times its replacement value (None without depths).

    Returns
    -------
    dict or None
        ``{"max_depth_so_far_m", "fraction", "eur", "curve"}``; ``eur`` is None when the
        replacement value is unknown.
    """
    from twin3d.mis.damage import damage_fraction, default_curves

    if "max_depth" not in series.values:
        return None
    series.ensure(frame)
    curves = default_curves() if curves is None else curves
    depths = series.values["max_depth"][: frame + 1]
    deepest = float(np.nanmax(depths)) if np.isfinite(depths).any() else float("nan")
    index = series.index
    use = np.array([buildings.table["use"][index]], dtype=object)
    fraction = float(damage_fraction(curves, use, np.array([deepest]))[0])
    value = float(buildings.table["replacement_value"][index])
    return {"max_depth_so_far_m": _plain(deepest), "fraction": fraction,
            "eur": fraction * value if math.isfinite(value) else None, "curve": str(curves.curve_of(use)[0])}


def building_report(buildings, results, frame: int | None, index: int, curves=None,
                    series: BuildingSeries | None = None) -> dict:
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
    series : BuildingSeries, optional
        The building's series already read (the app keeps one per picked building, so a
        timeline tick reads nothing); read here when None.

    Returns
    -------
    dict
        ``{"attributes", "hazard", "status", "damage"}``; ``status`` is
        ``{"bits", "flags": [set names], "known": [all names]}`` or None.
    """
    report = {"attributes": building_attributes(buildings, index), "hazard": {}, "status": None, "damage": None}
    if results is None or frame is None or not 0 <= frame < results.n_frames:
        return report
    if series is None or series.results is not results or series.index != index:
        series = BuildingSeries(results, index)
    report["hazard"] = hazard_now(series, frame)
    if series.has_status:
        series.ensure(frame)
        bits = int(series.status[frame])
        report["status"] = {"bits": bits, "flags": decode_status(bits, series.flags),
                            "known": [name for _, name in sorted(series.flags.items())]}
    report["damage"] = damage_so_far(buildings, series, frame, curves)
    return report
