"""The city store: a City in one HDF5 file that reloads to an identical City.

Layout (documented in docs/city-store.md)::

    /                      attrs: format="twin3d-city", format_version, name, crs, origin, metadata
    /buildings/mesh/       vertices (n,3) f8, triangles (m,3) i8, triangle_feature i4, triangle_surface i1
    /buildings/table/      one dataset per column of the building table
    /buildings/attributes  the source's attributes, one JSON text per building
    /terrain               attrs origin, cell_size, shape, nodata; dataset elevation (ny,nx) f8
    /networks/<kind>/      node_* and edge_* datasets, attributes as JSON texts
    /dependencies/         consumer_layer, consumer_index, provider_layer, provider_index
    /layers/<name>/        mesh/, feature_id, feature_kind, attributes
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from twin3d.errors import InputError
from twin3d.io.atomic import atomic_path
from twin3d.model import (
    Buildings,
    City,
    ContextLayer,
    Dependencies,
    Grid,
    Mesh,
    Network,
    Terrain,
)

FORMAT = "twin3d-city"
FORMAT_VERSION = 1
_MESH = ("vertices", "triangles", "triangle_feature", "triangle_surface")
_NETWORK = ("node_id", "node_xyz", "node_kind", "edges", "edge_id", "edge_kind", "node_capacity",
            "edge_capacity", "edge_length", "edge_vertices", "edge_offsets")
_DEPS = ("consumer_layer", "consumer_index", "provider_layer", "provider_index")


def write_store(city: City, path: Path) -> None:
    """Write ``city`` to an HDF5 city store, atomically (temporary file, then rename)."""
    import h5py

    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs.update(format=FORMAT, format_version=FORMAT_VERSION, name=city.name,
                       crs=city.crs or "", origin=city.origin, metadata=json.dumps(city.metadata))
        b = f.create_group("buildings")
        _put_mesh(b.create_group("mesh"), city.buildings.mesh)
        table = b.create_group("table")
        for name, values in city.buildings.table.items():
            _put(table, name, values)
        _put(b, "attributes", _json_rows(city.buildings.attributes))
        if city.terrain is not None:
            g = city.terrain.grid
            t = f.create_group("terrain")
            t.attrs.update(origin=g.origin, cell_size=g.cell_size, shape=g.shape,
                           nodata=np.nan if city.terrain.nodata is None else city.terrain.nodata)
            _put(t, "elevation", city.terrain.elevation)
        nets = f.create_group("networks")
        for kind, net in city.networks.items():
            n = nets.create_group(kind)
            for name in _NETWORK:
                _put(n, name, getattr(net, name))
            _put(n, "node_attributes", _json_rows(net.node_attributes))
            _put(n, "edge_attributes", _json_rows(net.edge_attributes))
        deps = f.create_group("dependencies")
        for name in _DEPS:
            _put(deps, name, getattr(city.dependencies, name))
        layers = f.create_group("layers")
        for key, layer in city.layers.items():
            g = layers.create_group(key)
            g.attrs["name"] = layer.name
            _put_mesh(g.create_group("mesh"), layer.mesh)
            _put(g, "feature_id", layer.feature_id)
            _put(g, "feature_kind", layer.feature_kind)
            _put(g, "attributes", _json_rows(layer.attributes))


def read_store(path: Path) -> City:
    """Read a city store written by :func:`write_store`."""
    import h5py

    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise InputError(path, f"not a readable HDF5 file ({exc})") from None
    with f:
        if f.attrs.get("format") != FORMAT:
            raise InputError(path, f"not a twin3d city store (format attribute is not {FORMAT!r})")
        version = int(f.attrs.get("format_version", 0))
        if version > FORMAT_VERSION:
            raise InputError(path, f"city store format_version {version} is newer than this twin3d")
        try:
            return _read_city(f)
        except (KeyError, ValueError, TypeError) as exc:
            raise InputError(path, f"damaged city store: {exc}") from None


def _read_city(f) -> City:
    b = f["buildings"]
    buildings = Buildings(_get_mesh(b["mesh"]), {k: _get(v) for k, v in b["table"].items()},
                          _dict_rows(b["attributes"]))
    terrain = None
    if "terrain" in f:
        t = f["terrain"]
        nodata = float(t.attrs["nodata"])
        terrain = Terrain(Grid(tuple(t.attrs["origin"]), float(t.attrs["cell_size"]),
                               tuple(t.attrs["shape"])), _get(t["elevation"]),
                          None if np.isnan(nodata) else nodata)
    networks = {}
    for kind, n in f["networks"].items():
        networks[kind] = Network(kind=kind, **{k: _get(n[k]) for k in _NETWORK},
                                 node_attributes=_dict_rows(n["node_attributes"]),
                                 edge_attributes=_dict_rows(n["edge_attributes"]))
    deps = Dependencies(**{k: _get(f["dependencies"][k]) for k in _DEPS})
    layers = {}
    for key, g in f["layers"].items():
        layers[key] = ContextLayer(str(g.attrs["name"]), _get_mesh(g["mesh"]), _get(g["feature_id"]),
                                   _get(g["feature_kind"]), _dict_rows(g["attributes"]))
    crs = str(f.attrs["crs"]) or None
    return City(name=str(f.attrs["name"]), crs=crs, buildings=buildings, terrain=terrain,
                networks=networks, dependencies=deps, layers=layers,
                origin=np.asarray(f.attrs["origin"], dtype=np.float64),
                metadata=json.loads(f.attrs["metadata"]))


def _put(group, name: str, values) -> None:
    import h5py

    arr = np.asarray(values)
    if arr.dtype == object or arr.dtype.kind == "U":
        group.create_dataset(name, data=np.asarray(arr, dtype=object).astype(str).astype(object),
                             dtype=h5py.string_dtype())
        group[name].attrs["text"] = True
        return
    big = arr.size > 4096
    group.create_dataset(name, data=arr, compression="gzip" if big else None,
                         compression_opts=4 if big else None, shuffle=big)


def _get(dataset) -> np.ndarray:
    if dataset.attrs.get("text", False):
        return np.asarray(dataset.asstr()[()], dtype=object)
    return dataset[()]


def _put_mesh(group, mesh: Mesh) -> None:
    for name in _MESH:
        _put(group, name, getattr(mesh, name))


def _get_mesh(group) -> Mesh:
    return Mesh(**{name: _get(group[name]) for name in _MESH})


def _json_rows(rows: list[dict]) -> np.ndarray:
    return np.array([json.dumps(r, separators=(",", ":"), default=_jsonable) for r in rows], dtype=object)


def _dict_rows(dataset) -> list[dict]:
    return [json.loads(s) for s in _get(dataset)]


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"attribute value of type {type(value).__name__} cannot be stored")
