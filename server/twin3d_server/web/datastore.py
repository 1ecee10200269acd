"""What the REST API reads and writes, all under the data root (through :func:`resolve_under`).

Layout of the data root::

    cities/        city files and recipes (plus the packaged recipes, read-only)
    scenarios/     scenario TOML files (plus the packaged scenarios, read-only)
    results/       results files (runs started through the API write here)
    inventories/   department resource inventories posted through the API
    decisions.sqlite   the decision log

Ids in URLs are file stems matching :data:`ID`; anything else is refused before a path is built.
"""

from __future__ import annotations

import json
import math
import re
import tempfile
from pathlib import Path

import numpy as np

from twin3d.errors import InputError
from twin3d_server.web.safepaths import UnsafePath, resolve_under

ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
FIELD = re.compile(r"[a-z_]{1,32}")  # a results field: depth, speed, temperature, concentration
CITY_SUFFIXES = (".toml", ".json", ".city.json", ".h5", ".gml", ".xml", ".geojson", ".gpkg")


class NotFound(LookupError):
    """No such item under the data root."""


def check_id(value: str, what: str) -> str:
    """``value`` when it is a valid id, else :class:`UnsafePath`."""
    if not isinstance(value, str) or not ID.fullmatch(value) or ".." in value:
        raise UnsafePath(f"invalid {what} id {value!r}")
    return value


def _files(folder: Path, suffixes: tuple[str, ...]) -> list[Path]:
    if not folder.is_dir() or folder.is_symlink():
        return []
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and not p.is_symlink() and p.name.endswith(suffixes) and ID.fullmatch(p.stem))


def _packaged(name: str) -> Path:
    from twin3d.config import assets_dir

    return assets_dir() / name


def list_cities(root: Path) -> list[dict]:
    """Cities under ``root/cities`` and the packaged recipes."""
    items = {p.stem: {"id": p.stem, "file": p.name, "source": "packaged"}
             for p in _files(_packaged("cities"), (".toml",))}
    items.update({p.stem: {"id": p.stem, "file": p.name, "source": "data"} for p in _files(root / "cities", CITY_SUFFIXES)})
    return [items[k] for k in sorted(items)]


def list_scenarios(root: Path) -> list[dict]:
    """Scenario files under ``root/scenarios`` and the packaged ones (the data root's win on a clash)."""
    items = {p.stem: {"id": p.stem, "source": "packaged"} for p in _files(_packaged("scenarios"), (".toml",))}
    items.update({p.stem: {"id": p.stem, "source": "data"} for p in _files(root / "scenarios", (".toml",))})
    return [items[k] for k in sorted(items)]


def scenario_path(root: Path, scenario_id: str) -> Path:
    """The scenario file of an id: under the data root, else packaged."""
    check_id(scenario_id, "scenario")
    try:
        return resolve_under(root, "scenarios", f"{scenario_id}.toml")
    except FileNotFoundError:
        pass
    try:
        return resolve_under(_packaged("scenarios"), f"{scenario_id}.toml")
    except FileNotFoundError:
        raise NotFound(f"no scenario {scenario_id!r}") from None


def results_path(root: Path, results_id: str) -> Path:
    check_id(results_id, "results")
    try:
        return resolve_under(root, "results", f"{results_id}.h5")
    except FileNotFoundError:
        raise NotFound(f"no results {results_id!r}") from None


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _clean(values) -> list:
    """Floats for JSON: NaN and infinities become null."""
    array = np.asarray(values, dtype=float)
    return [None if not math.isfinite(v) else v for v in array.ravel().tolist()] if array.ndim <= 1 else \
        [_clean(row) for row in array]


def open_results(root: Path, results_id: str):
    from twin3d.scenario.results import ResultsFile

    return ResultsFile(results_path(root, results_id))


def results_summary(results, results_id: str) -> dict:
    attrs = results.file.attrs
    return {"id": results_id, "name": _text(attrs.get("name", results_id)),
            "status": "complete" if results.complete else "running", "n_frames": int(results.n_frames)}


def list_results(root: Path) -> list[dict]:
    """Every readable results file under ``root/results`` with its status."""
    items = []
    for path in _files(root / "results", (".h5",)):
        try:
            with open_results(root, path.stem) as results:
                items.append(results_summary(results, path.stem))
        except (InputError, NotFound, UnsafePath, OSError):
            continue
    return items


def results_info(root: Path, results_id: str) -> dict:
    """Status, frames, CRS, grid, fields and KPIs of one results file."""
    with open_results(root, results_id) as results:
        f, attrs = results.file, results.file.attrs
        times = results.times()
        return {**results_summary(results, results_id), "crs": _text(attrs.get("crs", "")),
                "content_hash": _text(attrs.get("content_hash", "")), "start": _text(attrs.get("start", "")),
                "time_s": _clean(times), "fields": sorted(f["fields"].keys()) if "fields" in f else [],
                "kpis": sorted(f["kpi"].keys()) if "kpi" in f else [],
                "grid": {"origin": [float(v) for v in results.grid.origin], "cell_size": results.grid.cell_size,
                         "shape": [int(v) for v in results.grid.shape]}}


def kpi_series(root: Path, results_id: str) -> dict:
    """The KPI time series: ``{"time_s": [...], "kpis": {name: {units, label, columns, values}}}``."""
    with open_results(root, results_id) as results:
        f = results.file
        series = {}
        for name, ds in (f["kpi"].items() if "kpi" in f else []):
            columns = [_text(c) for c in ds.attrs.get("columns", [])]
            series[name] = {"units": _text(ds.attrs.get("units", "")), "label": _text(ds.attrs.get("label", name)),
                            "columns": columns, "values": _clean(ds[()])}
        return {"id": results_id, "time_s": _clean(results.times()), "kpis": series}


def _frame(results, frame: int) -> int:
    if not 0 <= frame < results.n_frames:
        raise NotFound(f"no frame {frame} (the results have {results.n_frames})")
    return frame


def allocation_at(root: Path, results_id: str, frame: int) -> dict:
    """The allocation row of a frame, its assignments and their reasons."""
    with open_results(root, results_id) as results:
        f = results.file
        k = _frame(results, frame)
        out = {"id": results_id, "frame": k, "time_s": float(results.times()[k]), "columns": [], "values": [],
               "assignments": []}
        if "allocation" in f:
            ds = f["allocation"]
            out["columns"] = [_text(c) for c in ds.attrs.get("columns", [])]
            out["values"] = _clean(ds[k]) if ds.shape[0] > k else []
        if "allocation_assignments" in f and f["allocation_assignments"].shape[0] > k:
            ds = f["allocation_assignments"]
            columns = [_text(c) for c in ds.attrs.get("columns", [])]
            kinds = [_text(c) for c in ds.attrs.get("kinds", [])]
            reasons = f["allocation_reasons"][k] if "allocation_reasons" in f else [b""] * ds.shape[1]
            for row, reason in zip(ds[k], reasons, strict=False):
                if not np.isfinite(row).all():
                    continue
                item = dict(zip(columns, (float(v) for v in row), strict=False))
                kind = int(item.get("kind", -1))
                item["kind"] = kinds[kind] if 0 <= kind < len(kinds) else str(kind)
                item["units"] = int(item.get("units", 0))
                item["reason"] = _text(reason)
                out["assignments"].append(item)
        return out


def field_geotiff(root: Path, results_id: str, field_name: str, frame: int) -> bytes:
    """One field at one frame as a GeoTIFF (float32, north-up, CRS from the results' ``crs``)."""
    from twin3d_server.web.geotiff import grid_geotiff

    if not FIELD.fullmatch(field_name):
        raise UnsafePath(f"invalid field name {field_name!r}")
    with open_results(root, results_id) as results:
        if field_name not in results.file["fields"]:
            raise NotFound(f"no field {field_name!r} (has {', '.join(sorted(results.file['fields']))})")
        k = _frame(results, frame)
        values = results.field(field_name, k)
        crs = _text(results.file.attrs.get("crs", ""))
        units = _text(results.file["fields"][field_name].attrs.get("units", ""))
        return grid_geotiff(values, results.grid, crs, {"field": field_name, "units": units, "frame": str(k),
                                                        "time_s": f"{float(results.times()[k]):g}"})


# --- decisions ------------------------------------------------------------------------------------------
def decision_log(root: Path):
    from twin3d.mis.decisions import DecisionLog

    return DecisionLog(resolve_under(root, "decisions.sqlite", must_exist=False))


def decision_dict(decision) -> dict:
    from dataclasses import asdict

    return asdict(decision)


def list_decisions(root: Path) -> list[dict]:
    return [decision_dict(d) for d in decision_log(root).entries()]


def record_decision(root: Path, user: str, body: dict) -> dict:
    """Append a decision on a results file's frame; ``who`` is the authenticated user."""
    from twin3d.scenario.cache import file_digest

    with open_results(root, body["results"]) as results:
        k = _frame(results, body["frame_index"])
        scenario_hash = _text(results.file.attrs.get("content_hash", "")) or file_digest(results.path)
        time_s = float(results.times()[k])
    entry = {"who": user, "what": body["what"], "why": body["why"], "scenario_hash": scenario_hash,
             "frame_index": k, "frame_time_s": time_s, "allocation": body.get("allocation"),
             "kpis": body.get("kpis")}
    return decision_dict(decision_log(root).append(entry))


# --- inventories --------------------------------------------------------------------------------------------
def list_inventories(root: Path) -> list[dict]:
    return [{"id": p.stem, "format": p.suffix[1:]} for p in _files(root / "inventories", (".csv", ".json"))]


def _inventory_summary(inventory: dict) -> dict:
    kinds = sorted({k for depot in inventory["depots"] for k in (depot.get("resources") or {})})
    return {"departments": len(inventory["departments"]), "depots": len(inventory["depots"]), "kinds": kinds}


def parse_inventory(body: bytes, fmt: str) -> dict:
    """Validate an inventory (``csv`` or ``json`` bytes) with the allocation reader; InputError if bad."""
    from twin3d.mis import allocation_io

    if fmt == "json":
        try:
            data = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(None, f"malformed JSON: {exc}") from None
        if not isinstance(data, dict) or set(data) - {"departments", "depots"} or not {"departments", "depots"} <= set(
                data):
            raise InputError(None, "a JSON inventory is an object with exactly 'departments' and 'depots'")
        departments = allocation_io.parse_departments(data["departments"])
        allocation_io.parse_depots(data["depots"], departments["id"])
        return data
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "inventory.csv"
        path.write_bytes(body)
        try:
            return allocation_io.read_inventory(path)
        except InputError as exc:
            raise InputError(None, exc.reason) from None


def store_inventory(root: Path, name: str, body: bytes, fmt: str) -> dict:
    """Validate and store an inventory as ``inventories/<name>.<fmt>`` (replacing the other format)."""
    check_id(name, "inventory")
    inventory = parse_inventory(body, fmt)
    folder = root / "inventories"
    folder.mkdir(parents=True, exist_ok=True)
    target = resolve_under(root, "inventories", f"{name}.{fmt}", must_exist=False)
    other = resolve_under(root, "inventories", f"{name}.{'json' if fmt == 'csv' else 'csv'}", must_exist=False)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_bytes(body)
    tmp.replace(target)
    other.unlink(missing_ok=True)
    return {"id": name, "format": fmt, **_inventory_summary(inventory)}
