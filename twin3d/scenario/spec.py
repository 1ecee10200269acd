"""Scenario specs: a hazard event x a strategy x a response plan, in TOML.

A spec may ``extends = "base.toml"``: tables merge key by key (the extending file wins),
arrays are replaced whole.  :func:`load_scenario` resolves the chain, validates every key
before anything runs, and returns a :class:`Scenario` whose ``text`` is the resolved TOML.
The format is documented in docs/scenario-format.md.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

from twin3d.config import read_toml
from twin3d.errors import InputError
from twin3d.model.buildings import USES
from twin3d.scenario.schema import (
    ArrayOf,
    SpecError,
    Table,
    boolean,
    datetime,
    file_path,
    integer,
    number,
    one_of,
    point,
    polyline,
    series,
    text,
)

SIDES = ("north", "south", "east", "west")
MAX_EXTENDS = 16


def _schema(base: Path) -> Table:
    path = file_path(base)
    positive = number(0.0, open_lo=True)
    manning = one_of(number(0.0, 1.0, open_lo=True), path,
                     Table({u: number(0.0, 1.0, open_lo=True) for u in (*USES, "default", "road", "water",
                                                                         "vegetation")}),
                     what="a Manning n (0-1], a raster path, or a table per land use")
    boundary = one_of(text("closed", "open"), Table({"stage_m": series(-500, 9000, "m")}, ("stage_m",)),
                      what='"closed", "open" or {stage_m = series}')
    where = {"point": point, "line": polyline(2), "polygon": polyline(3)}
    return Table({
        "name": text(), "description": text(), "extends": text(), "start": datetime,
        "city": text(), "kind": text("flood", "heat", "plume", "multi"),
        "grid": Table({"cell_size_m": number(0.01, 10_000, open_lo=True, unit="m"),
                       "extent": polyline(2), "terrain": text(), "initial_depth": path,
                       "manning": manning, "dtype": text("float32", "float64")}, ("cell_size_m",)),
        "time": Table({"duration_s": number(0.0, 3.2e7, open_lo=True, unit="s"),
                       "output_interval_s": number(0.0, open_lo=True, unit="s"),
                       "output_times_s": ArrayOf(number(0.0, unit="s"))}, ("duration_s",)),
        "boundaries": Table({s: boundary for s in SIDES}),
        "hazards": Table({
            "rain": ArrayOf(Table({"intensity_mm_h": series(0, 1000, "mm/h"), "raster": path,
                                   "label": text()}, ("intensity_mm_h",))),
            "inflow": ArrayOf(Table({**where, "discharge_m3s": series(0, 1e6, "m3/s"), "label": text()},
                                    ("discharge_m3s",))),
            "breach": ArrayOf(Table({**where, "time_s": number(0.0, unit="s"),
                                     "level_m": number(-500, 9000, unit="m"), "label": text()},
                                    ("time_s", "level_m"))),
            "heatwave": Table({"background_c": series(-60, 60, "degC"), "label": text()},
                              ("background_c",)),
            "release": ArrayOf(Table({"point": point, "rate_kg_s": series(0, 1e6, "kg/s"),
                                      "wind_speed_m_s": series(0, 60, "m/s"),
                                      "wind_direction_deg": series(0, 360, "deg"),
                                      "decay_per_s": number(0.0), "diffusivity_m2_s": positive,
                                      "label": text()}, ("point", "rate_kg_s", "wind_speed_m_s",
                                                         "wind_direction_deg"))),
        }),
        "strategy": Table({
            "barriers": ArrayOf(Table({"line": polyline(2), "crest_m": number(-500, 9000, unit="m"),
                                       "height_m": number(0, 50, open_lo=True, unit="m"), "label": text()},
                                      ("line",))),
            "pumps": ArrayOf(Table({"point": point, "rate_m3s": number(0, 100, open_lo=True, unit="m3/s"),
                                    "label": text()}, ("point", "rate_m3s"))),
            "drainage": ArrayOf(Table({"capacity_mm_h": number(0, 1000, unit="mm/h"), "polygon": polyline(3),
                                       "label": text()}, ("capacity_mm_h",))),
            "cooling": ArrayOf(Table({"kind": text("green_roofs", "cooling_centre", "shade"),
                                      "polygon": polyline(3), "point": point,
                                      "cooling_k": number(0, 10, unit="K"), "capacity": integer(0),
                                      "label": text()}, ("kind",))),
            "road_closures": ArrayOf(Table({"line": polyline(2), "edges": ArrayOf(text()), "label": text()})),
        }),
        "response": Table({"departments": Table({}, open_keys=Table({}, open_keys=integer(0, 10**6)))}),
        "sampling": Table({"ring_m": number(0, 100, unit="m"), "flood_threshold_m": number(0, 10, unit="m"),
                           "quick": boolean}),
    }, ("time", "grid"))


@dataclass
class Scenario:
    """A validated scenario: ``spec`` holds checked values, ``text`` the resolved TOML."""

    path: Path
    spec: dict
    text: str

    @property
    def name(self) -> str:
        return self.spec.get("name", self.path.stem)

    def output_times(self) -> list[float]:
        """Output times in seconds from the start, always including 0 and the end."""
        t = self.spec["time"]
        end = t["duration_s"]
        if "output_times_s" in t:
            times = sorted({0.0, *[x for x in t["output_times_s"] if x <= end], end})
        else:
            step = t.get("output_interval_s", end / 12)
            n = int(end // step)
            times = sorted({*(i * step for i in range(n + 1)), end})
        return times


def merge(base: dict, over: dict) -> dict:
    """Deep merge: tables merge recursively, everything else (arrays included) is replaced."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _load_chain(path: Path, seen: tuple[Path, ...] = ()) -> dict:
    path = path.resolve()
    if path in seen or len(seen) > MAX_EXTENDS:
        raise InputError(path, "extends: circular or too deep chain of extends")
    if not path.is_file():
        raise InputError(path, "no such scenario file")
    raw = read_toml(path, "scenario")
    parent = raw.pop("extends", None)
    if parent is None:
        return raw
    if not isinstance(parent, str):
        raise InputError(path, f"extends: expected a file name, got {parent!r}")
    return merge(_load_chain(path.parent / parent, (*seen, path)), raw)


def load_raw(path: str | Path) -> dict:
    """The scenario's TOML with its ``extends`` chain merged, before validation."""
    return _load_chain(Path(path))


def load_scenario(path: str | Path, overrides: dict | None = None, quick: bool = False) -> Scenario:
    """Read, resolve and validate a scenario; raises InputError ``<file>: <key>: <reason>``.

    ``overrides`` is merged over the resolved spec (ensemble members); ``quick`` applies
    the quick profile: the same scenario, coarser and shorter (for tests).
    """
    import tomli_w

    path = Path(path)
    raw = merge(_load_chain(path), overrides or {})
    if quick:
        raw = quick_profile(raw)
    try:
        spec = _schema(path.resolve().parent)(raw, "")
        _check_consistency(spec)
    except SpecError as exc:
        raise InputError(path, str(exc)) from None
    return Scenario(path=path, spec=spec, text=tomli_w.dumps(_plain(raw)))


def quick_profile(raw: dict) -> dict:
    """Coarser (cells x2) and shorter (half the duration, 6 frames) run of the same scenario."""
    out = copy.deepcopy(raw)
    grid, t = out.get("grid", {}), out.get("time", {})
    if isinstance(grid.get("cell_size_m"), int | float):
        grid["cell_size_m"] = grid["cell_size_m"] * 2
    if isinstance(t.get("duration_s"), int | float):
        t["duration_s"] = t["duration_s"] / 2
        t.pop("output_times_s", None)
        t["output_interval_s"] = t["duration_s"] / 6
    out["sampling"] = {**out.get("sampling", {}), "quick": True}
    return out


def _plain(value):
    """TOML-writable copy: tuples become lists."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _check_consistency(spec: dict) -> None:
    t = spec["time"]
    if "output_interval_s" in t and t["output_interval_s"] > t["duration_s"]:
        raise SpecError("time.output_interval_s", "is longer than time.duration_s")
    for kind in ("inflow", "breach"):
        for i, item in enumerate(spec.get("hazards", {}).get(kind, [])):
            if sum(k in item for k in ("point", "line", "polygon")) != 1:
                raise SpecError(f"hazards.{kind}[{i}]", "needs exactly one of point, line or polygon")
    for i, b in enumerate(spec.get("strategy", {}).get("barriers", [])):
        if ("crest_m" in b) == ("height_m" in b):
            raise SpecError(f"strategy.barriers[{i}]", "needs exactly one of crest_m or height_m")


def check_points_inside(spec: dict, bounds: tuple[float, float, float, float]) -> None:
    """Every point, line and polygon vertex of the spec lies inside ``(xmin, ymin, xmax, ymax)``."""
    xmin, ymin, xmax, ymax = bounds
    for key, pts in _geometries(spec):
        for i, (x, y) in enumerate(pts):
            if not (xmin <= x <= xmax and ymin <= y <= ymax):
                raise SpecError(f"{key}[{i}]", f"point ({x}, {y}) is outside the grid "
                                               f"[{xmin}, {ymin}, {xmax}, {ymax}]")


def _geometries(spec: dict):
    for group in ("hazards", "strategy"):
        for kind, items in spec.get(group, {}).items():
            for j, item in enumerate(items if isinstance(items, list) else []):
                for g in ("point", "line", "polygon"):
                    if g in item:
                        pts = [item[g]] if g == "point" else item[g]
                        yield f"{group}.{kind}[{j}].{g}", pts
