"""One registry of readers and writers, keyed by file extension (and content for .json).

Readers are named by ``"module:function"`` and imported only when used, so
``import twin3d.io`` does not pull in open3d, rasterio or pygltflib.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path

from twin3d.errors import InputError

# suffix -> "module:function"; the longest matching suffix wins.
READERS: dict[str, str] = {
    ".city.json": "twin3d.io.cityjson:read_cityjson",
    ".json": "twin3d.io.cityjson:read_cityjson",  # GeoJSON is told apart by content
    ".city.jsonl": "twin3d.io.cityjson:read_cityjsonseq",
    ".jsonl": "twin3d.io.cityjson:read_cityjsonseq",
    ".geojson": "twin3d.io.geojson:read_geojson",
    ".gltf": "twin3d.io.gltf:read_gltf",
    ".glb": "twin3d.io.gltf:read_gltf",
    ".obj": "twin3d.io.meshfile:read_mesh",
    ".ply": "twin3d.io.meshfile:read_mesh",
    ".stl": "twin3d.io.meshfile:read_mesh",
    ".asc": "twin3d.io.raster:read_terrain_city",
    ".tif": "twin3d.io.raster:read_terrain_city",
    ".tiff": "twin3d.io.raster:read_terrain_city",
    ".img": "twin3d.io.raster:read_terrain_city",  # ERDAS Imagine (GDAL)
    ".vrt": "twin3d.io.raster:read_terrain_city",
    ".inp": "twin3d.io.epanet:read_epanet_city",
    ".h5": "twin3d.io.store:read_store",
    ".hdf5": "twin3d.io.store:read_store",
    ".toml": "twin3d.io.recipe:build_city",
}

WRITERS: dict[str, str] = {
    ".h5": "twin3d.io.store:write_store",
    ".hdf5": "twin3d.io.store:write_store",
    ".glb": "twin3d.io.gltf_write:write_gltf",
    ".gltf": "twin3d.io.gltf_write:write_gltf",
}


def _resolve(spec: str):
    module, func = spec.split(":")
    return getattr(importlib.import_module(module), func)


def _match(path: Path, table: dict[str, str], what: str) -> str:
    name = path.name.lower()
    for suffix in sorted(table, key=len, reverse=True):
        if name.endswith(suffix):
            return table[suffix]
    known = ", ".join(sorted(table))
    raise InputError(path, f"unknown file extension for {what} (known: {known})")


def check_readable(path: str | os.PathLike) -> Path:
    """Fail with one InputError for a missing path, a directory or an empty file."""
    p = Path(path)
    if not p.exists():
        raise InputError(p, "no such file")
    if p.is_dir():
        raise InputError(p, "is a directory, not a file")
    if p.stat().st_size == 0:
        raise InputError(p, "file is empty")
    return p


def load_json(path: str | os.PathLike):
    """Parse a JSON file; a missing, empty or malformed file is one InputError."""
    import json

    p = check_readable(path)
    try:
        with p.open("rb") as fh:
            return json.load(fh)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(p, f"not valid JSON ({getattr(exc, 'msg', exc)})") from None
    except RecursionError:
        raise InputError(p, "JSON nested too deeply") from None


def _looks_like_geojson(path: Path) -> bool:
    with path.open("rb") as fh:
        head = fh.read(4096).decode("utf-8", "replace").replace(" ", "")
    return '"type":"FeatureCollection"' in head or '"type":"Feature"' in head


def reader_for(path: str | os.PathLike):
    """The reader function for a path, chosen by extension and, for .json, content."""
    p = check_readable(path)
    spec = _match(p, READERS, "reading")
    if spec.endswith("read_cityjson") and p.suffix.lower() == ".json" and _looks_like_geojson(p):
        spec = READERS[".geojson"]
    return _resolve(spec)


def read(path: str | os.PathLike, **options):
    """Read any supported file into a :class:`~twin3d.model.City`.

    Raises :class:`~twin3d.errors.InputError` naming the file for bad input.
    """
    return reader_for(path)(Path(path), **options)


def write(city, path: str | os.PathLike, **options) -> None:
    """Write a city to a supported format (.h5 city store, .glb/.gltf), atomically."""
    p = Path(path)
    _resolve(_match(p, WRITERS, "writing"))(city, p, **options)
