"""glTF 2.0 writer (.glb, or .gltf with an embedded buffer) for a city's buildings.

Vertices shifted to ``City.origin`` as float32 under a root node whose
translation is the origin (also kept exactly in ``asset.extras.twin3d_origin``).
Up to :data:`PER_NODE_LIMIT` buildings get a node + mesh each (named by id, the
attributes as node extras, pickable in any viewer); bigger cities get one mesh
per :data:`CHUNK_BUILDINGS` buildings with a ``_BUILDING`` vertex attribute and
the buildings listed in the node's extras, keeping JSON and draw calls small.
The reader is :func:`twin3d.io.gltf.read_gltf`.
"""

from __future__ import annotations

import base64
import json
import math
import struct
from pathlib import Path

import numpy as np

from twin3d.errors import InputError
from twin3d.model.buildings import COLUMNS, Buildings
from twin3d.model.city import City

PER_NODE_LIMIT = 5000    # up to this many buildings: one node + mesh per building
CHUNK_BUILDINGS = 1000   # above it: buildings per chunk mesh (with a _BUILDING attribute)


def _json_safe(value):
    """Attributes as plain JSON: numpy scalars unwrapped, NaN/inf as null, unknowns as text."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_json_safe(v) for v in value]
    value = value.item() if isinstance(value, np.generic) else value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return value if value is None or isinstance(value, (bool, int, str)) else str(value)


def _entry(b: Buildings, k: int) -> dict:
    """Building ``k`` for node extras: id, attributes, and its known table values."""
    row = {col: _json_safe(b.table[col][k]) for col in COLUMNS if col != "id"}
    row = {col: v for col, v in row.items() if v is not None and v != "" and v != COLUMNS[col][1]}
    return {"id": str(b.table["id"][k]), "attributes": _json_safe(b.attributes[k]), "twin3d": row}


def _layout(city: City) -> tuple[list[np.ndarray], list[tuple[int, int]], np.ndarray, np.ndarray]:
    """Binary arrays and building groups (one node + mesh each) of a city.

    Vertices are copied per building, shifted to the origin, y-up float32 and
    sorted by building, so each group's vertices and triangles are contiguous;
    returns ``([positions, indices, part], groups, vertex_cuts, triangle_cuts)``
    with indices local to their group and ``part`` the building within it.
    """
    b, mesh = city.buildings, city.buildings.mesh
    order = np.argsort(mesh.triangle_feature, kind="stable")
    tri_b = mesh.triangle_feature[order].astype(np.int64)
    nv = max(mesh.n_vertices, 1)
    key, inverse = np.unique(tri_b[:, None] * nv + mesh.triangles[order], return_inverse=True)
    vert_b, local = key // nv, mesh.local(city.origin)[key % nv]
    positions = np.stack([local[:, 0], local[:, 2], -local[:, 1]], axis=1).astype(np.float32)
    has_triangles = np.bincount(tri_b, minlength=len(b)) > 0
    if len(b) <= PER_NODE_LIMIT:
        groups = [(int(k), int(k) + 1) for k in np.flatnonzero(has_triangles)]
    else:
        groups = [(s, min(s + CHUNK_BUILDINGS, len(b))) for s in range(0, len(b), CHUNK_BUILDINGS)
                  if has_triangles[s:s + CHUNK_BUILDINGS].any()]
    starts = np.array([g[0] for g in groups] + [len(b)], dtype=np.int64)
    v_cut, t_cut = np.searchsorted(vert_b, starts), np.searchsorted(tri_b, starts)
    first = v_cut[np.searchsorted(starts, tri_b, side="right") - 1]
    indices = (inverse.reshape(-1, 3) - first[:, None]).astype(np.uint32)
    part = (vert_b - starts[np.searchsorted(starts, vert_b, side="right") - 1]).astype(np.float32)
    return [positions, indices, part], groups, v_cut, t_cut


def _document(city: City) -> tuple[dict, bytes]:
    """The glTF JSON (as a dict) and the binary buffer of a city."""
    import pygltflib as gl

    arrays, groups, v_cut, t_cut = _layout(city)
    chunked = len(city.buildings) > PER_NODE_LIMIT
    arrays = arrays[:3 if chunked else 2] if groups else []
    offsets = np.cumsum([0] + [a.nbytes for a in arrays]).tolist()
    views = [gl.BufferView(buffer=0, byteOffset=o, byteLength=a.nbytes, byteStride=stride, target=target)
             for a, o, stride, target in zip(arrays, offsets, (12, None, 4),
                                             (gl.ARRAY_BUFFER, gl.ELEMENT_ARRAY_BUFFER, gl.ARRAY_BUFFER))]
    accessors, meshes, nodes, extras = [], [], [], []
    for g, (b0, b1) in enumerate(groups):
        v0, nv, t0, nt = v_cut[g], v_cut[g + 1] - v_cut[g], t_cut[g], t_cut[g + 1] - t_cut[g]
        xyz = arrays[0][v0:v0 + nv]
        specs = [(0, 12 * v0, nv, gl.VEC3, xyz.min(axis=0).tolist(), xyz.max(axis=0).tolist()),
                 (1, 12 * t0, 3 * nt, gl.SCALAR, None, None)] + ([(2, 4 * v0, nv, gl.SCALAR, None, None)]
                                                                if chunked else [])
        n = len(accessors)
        accessors += [gl.Accessor(bufferView=v, byteOffset=int(o), count=int(c), type=t, min=lo, max=hi,
                                  componentType=gl.UNSIGNED_INT if v == 1 else gl.FLOAT)
                      for v, o, c, t, lo, hi in specs]
        attributes = gl.Attributes(POSITION=n, **({"_BUILDING": n + 2} if chunked else {}))
        meshes.append(gl.Mesh(primitives=[gl.Primitive(attributes=attributes, indices=n + 1)]))
        entries = [_entry(city.buildings, k) for k in range(b0, b1)]
        nodes.append(gl.Node(mesh=g, name=f"buildings {b0}-{b1 - 1}" if chunked else entries[0]["id"]))
        extras.append({"twin3d_buildings": entries} if chunked
                      else {**entries[0]["attributes"], "twin3d": entries[0]["twin3d"]})
    origin = [float(v) for v in city.origin]
    root = gl.Node(name=city.name, translation=[origin[0], origin[2], -origin[1]],
                   children=list(range(1, len(nodes) + 1)))
    data = b"".join(a.tobytes() for a in arrays)
    gltf = gl.GLTF2(asset=gl.Asset(generator="twin3d"), scene=0, scenes=[gl.Scene(nodes=[0])],
                    nodes=[root] + nodes, meshes=meshes, accessors=accessors, bufferViews=views,
                    buffers=[gl.Buffer(byteLength=len(data))] if data else [])
    doc = gl.delete_empty_keys(gl.gltf_asdict(gltf))  # extras go in after: it would prune them
    doc["asset"]["extras"] = {"twin3d_origin": origin, "crs": city.crs, "name": city.name}
    for node, extra in zip(doc["nodes"][1:], extras):
        node["extras"] = extra
    return doc, data


def write_gltf(city: City, path: Path) -> None:
    """Write a city's buildings as GLB (``.glb``) or glTF with an embedded buffer (``.gltf``).

    The write is atomic.  Reading the file back with :func:`~twin3d.io.gltf.read_gltf` gives the
    same triangles, ids, attributes and table values (NaN attributes become
    None), the same origin, and coordinates within float32 rounding of their
    offsets from ``City.origin``: sub-millimetre for a city a few km across, even
    in national-grid coordinates.  Buildings without triangles are left out.
    """
    from twin3d.io.atomic import atomic_path

    path = Path(path)
    if not np.isfinite(city.buildings.mesh.vertices).all():
        raise InputError(path, "the city has NaN or infinite vertex coordinates")
    doc, data = _document(city)
    if path.suffix.lower() == ".glb":
        text = json.dumps(doc, allow_nan=False, separators=(",", ":")).encode("utf-8")
        chunks = struct.pack("<I4s", len(text) + -len(text) % 4, b"JSON") + text + b" " * (-len(text) % 4)
        if data:
            chunks += struct.pack("<I4s", len(data) + -len(data) % 4, b"BIN\0") + data + b"\0" * (-len(data) % 4)
        out = struct.pack("<4sII", b"glTF", 2, 12 + len(chunks)) + chunks
    else:
        if data:
            doc["buffers"][0]["uri"] = "data:application/octet-stream;base64," + base64.b64encode(data).decode()
        out = json.dumps(doc, allow_nan=False, indent=1).encode("utf-8")
    with atomic_path(path) as tmp:
        tmp.write_bytes(out)
