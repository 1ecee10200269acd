"""glTF 2.0 (.gltf, .glb): a validating buildings reader.

Each mesh-holding node of the default scene (or of every root node when there is
no scene) is one building: the triangles of its TRIANGLES, STRIP and FAN
primitives, through the node's world transform (float64), then from glTF's y-up
to z-up with ``(x, y, z) -> (x, -z, y)``; node and mesh ``extras`` are its
attributes.  Container, JSON, buffers, views and accessors are checked before any
data is read (pygltflib's loader trusts chunk lengths and property types, so only
its constants and data classes are used).  The writer is in
:mod:`twin3d.io.gltf_write`.
"""
from __future__ import annotations

import base64
import binascii
import json
import math
import struct
import warnings
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, unquote_to_bytes, urlsplit

import numpy as np

from twin3d.errors import InputError
from twin3d.model.buildings import COLUMNS, Buildings, complete_table
from twin3d.model.city import City
from twin3d.model.mesh import Mesh

MAX_UNBACKED_BYTES = 1 << 28  # accessors without a bufferView (zeros + sparse) are capped

_DTYPES = {5120: "<i1", 5121: "<u1", 5122: "<i2", 5123: "<u2", 5125: "<u4", 5126: "<f4"}
_N_COMPONENTS = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT2": 4, "MAT3": 9, "MAT4": 16}
_INDEX_TYPES = (5121, 5123, 5125)
# Extensions that only touch looks (materials, textures, lights), safe to ignore when required.
_HARMLESS_PREFIXES = ("KHR_materials_", "KHR_texture_", "KHR_lights_", "EXT_texture_", "KHR_xmp")
Y_UP_TO_Z_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


class _Gltf:
    """A glTF document whose structure has been checked; decodes accessors on demand."""

    def __init__(self, path: Path, raw: bytes):
        self.path = path
        self.glb = raw[:4] == b"glTF" or path.suffix.lower() == ".glb"
        if self.glb:
            json_bytes, self.bin_chunk = _split_glb(path, raw)
        else:
            json_bytes, self.bin_chunk = raw, None
        self.doc = _parse_json(path, json_bytes)
        self._cache: dict[int, np.ndarray] = {}
        self._check_root()
        buffers = self._list("buffers")
        self.buffer_lengths = [self._int(b, "byteLength", f"buffers[{i}]") for i, b in enumerate(buffers)]
        self.buffers = [self._load_buffer(i, b) for i, b in enumerate(buffers)]
        self.views = [self._check_view(i, v) for i, v in enumerate(self._list("bufferViews"))]
        self.accessors = [self._check_accessor(i, a) for i, a in enumerate(self._list("accessors"))]
        self.meshes = [self._check_mesh(i, m) for i, m in enumerate(self._list("meshes"))]
        self.nodes = [self._check_node(i, n) for i, n in enumerate(self._list("nodes"))]
        self.roots = self._check_hierarchy()

    # -- validation helpers ------------------------------------------------------------
    def fail(self, reason: str) -> InputError:
        return InputError(self.path, reason)

    def _list(self, key: str, obj: dict | None = None, where: str = "") -> list:
        value = (self.doc if obj is None else obj).get(key, [])
        if not isinstance(value, list):
            raise self.fail(f"{where}{key} must be an array")
        if obj is None and not all(isinstance(item, dict) for item in value):
            raise self.fail(f"every entry of {key} must be an object")
        return value

    def _int(self, obj: dict, key: str, where: str, default=None, limit: int | None = None) -> int:
        value = obj.get(key, default)
        if value is None:
            raise self.fail(f"{where}: required property '{key}' is missing")
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not ok or not math.isfinite(value) or value != int(value) or value < 0:
            raise self.fail(f"{where}.{key} must be a non-negative integer, got {value!r}")
        if limit is not None and value >= limit:
            raise self.fail(f"{where}.{key} = {int(value)} refers to a missing object (only {limit})")
        return int(value)

    def _floats(self, obj: dict, key: str, where: str, n: int) -> np.ndarray | None:
        value = obj.get(key)
        if value is None:
            return None
        try:
            arr = np.array(value, dtype=np.float64)
        except (TypeError, ValueError):
            arr = np.zeros(0)
        if arr.shape != (n,) or not np.isfinite(arr).all():
            raise self.fail(f"{where}.{key} must be {n} finite numbers")
        return arr

    # -- structure -----------------------------------------------------------------------
    def _check_root(self) -> None:
        asset = self.doc.get("asset")
        if not isinstance(asset, dict) or not isinstance(asset.get("version"), str):
            raise self.fail("required property asset.version is missing")
        if not asset["version"].startswith("2."):
            raise self.fail(f"glTF version {asset['version']} is not supported (2.x only)")
        required = self.doc.get("extensionsRequired", [])
        if not isinstance(required, list):
            raise self.fail("extensionsRequired must be an array")
        for name in required:
            if not (isinstance(name, str) and name.startswith(_HARMLESS_PREFIXES)):
                raise self.fail(f"requires the unsupported extension {name!r}")

    def _load_buffer(self, i: int, buf: dict) -> memoryview | str:
        """The buffer's bytes, or why there are none (an error only once geometry needs them)."""
        where, length, uri = f"buffers[{i}]", self.buffer_lengths[i], buf.get("uri")
        if uri is None and i == 0 and self.bin_chunk is not None:
            data = self.bin_chunk
        elif uri is None and i == 0 and self.bin_chunk is None and self.glb:
            raise self.fail(f"{where} refers to the GLB binary chunk, which is missing")
        elif uri is None:
            return f"{where} has no uri, so its data is not available"
        elif not isinstance(uri, str):
            raise self.fail(f"{where}.uri must be a string")
        elif uri.startswith("data:"):
            data = _decode_data_uri(uri, lambda r: self.fail(f"{where}: {r}"))
        elif urlsplit(uri).scheme or PurePosixPath(unquote(uri)).is_absolute():
            return f"{where}: only relative file URIs and data URIs are read, not {uri[:60]!r}"
        else:
            data = self._read_external(uri, where)
        if len(data) < length:
            raise self.fail(f"{where} holds {len(data)} bytes, fewer than its byteLength {length}")
        return memoryview(data)[:length]

    def _read_external(self, uri: str, where: str) -> bytes:
        target = self.path.parent / unquote(uri)
        try:
            return target.read_bytes()
        except OSError as exc:
            raise self.fail(f"{where}: cannot read buffer file {target.name!r} ({exc.strerror})") from exc

    def _check_view(self, i: int, view: dict) -> tuple[int, int, int, int | None]:
        where = f"bufferViews[{i}]"
        buffer = self._int(view, "buffer", where, limit=len(self.buffers))
        offset = self._int(view, "byteOffset", where, default=0)
        length = self._int(view, "byteLength", where)
        stride = self._int(view, "byteStride", where) if "byteStride" in view else None
        if stride == 0:
            raise self.fail(f"{where}.byteStride must be positive")
        if offset + length > self.buffer_lengths[buffer]:
            raise self.fail(f"{where} (offset {offset}, length {length}) does not fit "
                            f"buffer {buffer} of {self.buffer_lengths[buffer]} bytes")
        return buffer, offset, length, stride

    def _check_accessor(self, i: int, acc: dict) -> dict:
        where = f"accessors[{i}]"
        out = {"count": self._int(acc, "count", where),
               "componentType": self._int(acc, "componentType", where),
               "type": acc.get("type"), "where": where}
        if not isinstance(out["type"], str):
            raise self.fail(f"{where}: required property 'type' is missing")
        out["known"] = out["componentType"] in _DTYPES and out["type"] in _N_COMPONENTS
        if "bufferView" in acc:
            out["view"] = self._int(acc, "bufferView", where, limit=len(self.views))
            out["offset"] = self._int(acc, "byteOffset", where, default=0)
            if out["known"]:
                self._check_extent(out["view"], out["offset"], out["count"], _element_size(out),
                                   where, allow_stride=True)
        elif out["known"] and out["count"] * _element_size(out) > MAX_UNBACKED_BYTES:
            raise self.fail(f"{where}: {out['count']} elements without a bufferView is too many")
        if "sparse" in acc:
            out["sparse"] = self._check_sparse(acc["sparse"], out, where + ".sparse")
        return out

    def _check_extent(self, view: int, offset: int, count: int, size: int, where: str,
                      allow_stride: bool) -> int:
        """Check that ``count`` elements of ``size`` bytes fit the view; return the stride."""
        _, _, length, stride = self.views[view]
        stride = (stride or size) if allow_stride else size
        if stride < size:
            raise self.fail(f"{where}: byteStride {stride} is smaller than the element size {size}")
        if offset > length or (count and offset + stride * (count - 1) + size > length):
            raise self.fail(f"{where} (offset {offset}, {count} x {size} bytes, stride {stride}) "
                            f"does not fit bufferView {view} of {length} bytes")
        return stride

    def _check_sparse(self, sparse, acc: dict, where: str) -> dict:
        if not isinstance(sparse, dict) or not isinstance(sparse.get("indices"), dict) \
                or not isinstance(sparse.get("values"), dict):
            raise self.fail(f"{where} must be an object with indices and values")
        count = self._int(sparse, "count", where)
        if count > acc["count"]:
            raise self.fail(f"{where}.count {count} exceeds the accessor count {acc['count']}")
        out = {"count": count, "ind_type": self._int(sparse["indices"], "componentType", where)}
        if out["ind_type"] not in _INDEX_TYPES:
            raise self.fail(f"{where}.indices.componentType must be an unsigned integer type")
        for part, size in (("indices", np.dtype(_DTYPES[out["ind_type"]]).itemsize),
                           ("values", _element_size(acc) if acc["known"] else 0)):
            view = self._int(sparse[part], "bufferView", f"{where}.{part}", limit=len(self.views))
            offset = self._int(sparse[part], "byteOffset", f"{where}.{part}", default=0)
            self._check_extent(view, offset, count, size, f"{where}.{part}", allow_stride=False)
            out[part] = (view, offset)
        return out

    def _check_mesh(self, i: int, mesh: dict) -> list[dict]:
        """The mesh's primitives as ``{mode, POSITION, indices, _BUILDING}`` accessor indices."""
        if "primitives" not in mesh:
            raise self.fail(f"meshes[{i}]: required property 'primitives' is missing")
        out = []
        for k, prim in enumerate(self._list("primitives", mesh, f"meshes[{i}].")):
            where = f"meshes[{i}].primitives[{k}]"
            if not isinstance(prim, dict) or not isinstance(prim.get("attributes"), dict):
                raise self.fail(f"{where}: required property 'attributes' is missing")
            ref = {"mode": self._int(prim, "mode", where, default=4), "where": where}
            for key, obj in (("POSITION", prim["attributes"]), ("_BUILDING", prim["attributes"]),
                             ("indices", prim)):
                ref[key] = self._int(obj, key, where, limit=len(self.accessors)) if key in obj else None
            pos = self.accessors[ref["POSITION"]] if ref["POSITION"] is not None else None
            if pos is not None and (pos["type"], pos["componentType"]) != ("VEC3", 5126):
                raise self.fail(f"{where}: POSITION must be a VEC3 FLOAT accessor")
            ind = self.accessors[ref["indices"]] if ref["indices"] is not None else None
            if ind is not None and (ind["type"] != "SCALAR" or ind["componentType"] not in _INDEX_TYPES):
                raise self.fail(f"{where}: indices must be unsigned byte/short/int scalars")
            out.append(ref)
        return out

    def _check_node(self, i: int, node: dict) -> dict:
        where = f"nodes[{i}]"
        children = self._list("children", node, where + ".")
        out = {"children": [self._int({"c": c}, "c", where + ".children", limit=len(self.doc["nodes"]))
                            for c in children],
               "mesh": self._int(node, "mesh", where, limit=len(self.meshes)) if "mesh" in node else None,
               "name": node.get("name") if isinstance(node.get("name"), str) else None,
               "extras": node.get("extras"), "matrix": _node_matrix(self, node, where)}
        return out

    def _check_hierarchy(self) -> list[int]:
        """Root nodes of the default scene; the hierarchy must be disjoint trees."""
        parent = np.full(len(self.nodes), -1)
        for i, node in enumerate(self.nodes):
            for c in node["children"]:
                if parent[c] >= 0 or c == i:
                    raise self.fail(f"nodes[{c}] has more than one parent or is its own child")
                parent[c] = i
        reached = np.zeros(len(self.nodes), dtype=bool)
        stack = list(np.flatnonzero(parent < 0))
        while stack:
            i = stack.pop()
            reached[i] = True
            stack.extend(self.nodes[i]["children"])
        if not reached.all():
            raise self.fail(f"nodes[{int(np.argmin(reached))}] is part of a node loop")
        scenes = self._list("scenes")
        if not scenes:
            return [int(i) for i in np.flatnonzero(parent < 0)]
        index = self._int(self.doc, "scene", "glTF", default=0, limit=len(scenes))
        roots = [self._int({"n": n}, "n", f"scenes[{index}].nodes", limit=len(self.nodes))
                 for n in self._list("nodes", scenes[index], f"scenes[{index}].")]
        for r in roots:
            if parent[r] >= 0:
                raise self.fail(f"scenes[{index}] lists nodes[{r}], which is not a root node")
        return roots

    # -- data ------------------------------------------------------------------------------
    def view_bytes(self, view: int) -> memoryview:
        buffer, offset, length, _ = self.views[view]
        if isinstance(self.buffers[buffer], str):
            raise self.fail(self.buffers[buffer])
        return self.buffers[buffer][offset:offset + length]

    def accessor(self, i: int) -> np.ndarray:
        """Accessor ``i`` as a (count, components) array of its own dtype (sparse applied)."""
        if i in self._cache:
            return self._cache[i]
        acc = self.accessors[i]
        if not acc["known"]:
            raise self.fail(f"{acc['where']}: unsupported type {acc['type']!r} / componentType "
                            f"{acc['componentType']}")
        dtype, ncomp = np.dtype(_DTYPES[acc["componentType"]]), _N_COMPONENTS[acc["type"]]
        if "view" in acc and acc["type"] in ("SCALAR", "VEC2", "VEC3", "VEC4"):
            stride = self.views[acc["view"]][3] or dtype.itemsize * ncomp
            data = np.ndarray((acc["count"], ncomp), dtype, self.view_bytes(acc["view"]),
                              acc["offset"], (stride, dtype.itemsize)).copy()
        elif "view" in acc:
            raise self.fail(f"{acc['where']}: matrix accessors are not read")
        else:
            data = np.zeros((acc["count"], ncomp), dtype)
        if "sparse" in acc:
            self._apply_sparse(acc, data)
        self._cache[i] = data
        return data

    def _apply_sparse(self, acc: dict, data: np.ndarray) -> None:
        sp = acc["sparse"]
        index = np.frombuffer(self.view_bytes(sp["indices"][0]), _DTYPES[sp["ind_type"]], sp["count"],
                              sp["indices"][1])
        if sp["count"] and index.max() >= acc["count"]:
            raise self.fail(f"{acc['where']}.sparse: index {int(index.max())} >= count {acc['count']}")
        values = np.frombuffer(self.view_bytes(sp["values"][0]), data.dtype, sp["count"] * data.shape[1],
                               sp["values"][1])
        data[index.astype(np.int64)] = values.reshape(-1, data.shape[1])


def _element_size(acc: dict) -> int:
    """Bytes of one element, with the column padding of small-component matrices."""
    size = np.dtype(_DTYPES[acc["componentType"]]).itemsize
    padded = {("MAT2", 1): 8, ("MAT3", 1): 12, ("MAT3", 2): 24}
    return padded.get((acc["type"], size), size * _N_COMPONENTS[acc["type"]])


def _node_matrix(gltf: _Gltf, node: dict, where: str) -> np.ndarray:
    """The node's local 4x4 transform: ``matrix`` (column-major) or T @ R @ S."""
    matrix = gltf._floats(node, "matrix", where, 16)
    if matrix is not None:
        return matrix.reshape(4, 4).T
    t = gltf._floats(node, "translation", where, 3)
    q = gltf._floats(node, "rotation", where, 4)
    s = gltf._floats(node, "scale", where, 3)
    out = np.eye(4)
    if q is not None:
        norm = np.linalg.norm(q)
        if norm == 0:
            raise gltf.fail(f"{where}.rotation is a zero quaternion")
        x, y, z, w = q / norm
        out[:3, :3] = [[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                       [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                       [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]]
    if s is not None:
        out[:3, :3] *= s[None, :]
    if t is not None:
        out[:3, 3] = t
    return out


def _split_glb(path: Path, raw: bytes) -> tuple[bytes, bytes | None]:
    """The JSON and BIN chunks of a GLB container, after checking its header and chunks."""
    if len(raw) < 12:
        raise InputError(path, f"GLB header truncated ({len(raw)} of 12 bytes)")
    magic, version, length = struct.unpack_from("<4sII", raw)
    if magic != b"glTF":
        raise InputError(path, f"not a GLB file (magic {magic!r})")
    if version != 2:
        raise InputError(path, f"GLB version {version} is not supported (2 only)")
    if length < 20:
        raise InputError(path, f"GLB declares {length} bytes, too few for a JSON chunk")
    if length > len(raw):
        raise InputError(path, f"GLB declares {length} bytes but the file holds {len(raw)}")
    chunks: dict[bytes, bytes] = {}
    pos, n = 12, 0
    while pos < length:
        if pos + 8 > length:
            raise InputError(path, f"GLB chunk header truncated at byte {pos}")
        size, kind = struct.unpack_from("<I4s", raw, pos)
        if pos + 8 + size > length:
            raise InputError(path, f"GLB chunk at byte {pos} ({size} bytes) runs past the end")
        if size % 4:
            raise InputError(path, f"GLB chunk at byte {pos} has a length not aligned to 4 bytes")
        if (n == 0) != (kind == b"JSON") or (kind == b"BIN\0" and n != 1) or kind in chunks:
            raise InputError(path, f"GLB chunk {n} of type {kind!r} is out of place or repeated")
        if kind in (b"JSON", b"BIN\0"):
            chunks[kind] = raw[pos + 8:pos + 8 + size]
        pos, n = pos + 8 + size, n + 1
    if not chunks.get(b"JSON"):
        raise InputError(path, "GLB has an empty JSON chunk")
    return chunks[b"JSON"], chunks.get(b"BIN\0")


def _parse_json(path: Path, data: bytes) -> dict:
    if data.startswith(b"\xef\xbb\xbf"):
        raise InputError(path, "invalid JSON: starts with a byte-order mark (not allowed in glTF)")

    def no_constants(name):
        raise ValueError(f"{name} is not valid JSON")

    try:
        doc = json.loads(data.decode("utf-8"), parse_constant=no_constants)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InputError(path, f"invalid JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise InputError(path, "the glTF JSON root is not an object")
    return doc


def _decode_data_uri(uri: str, fail) -> bytes:
    head, sep, payload = uri.partition(",")
    params = head[5:].split(";")
    if not sep or any(p == "" for p in params[1:]):
        raise fail(f"malformed data URI {uri[:40]!r}")
    if params[-1] != "base64":
        return unquote_to_bytes(payload)
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise fail(f"invalid base64 in data URI ({exc})") from exc


def _strip_triangles(index: np.ndarray, mode: int) -> np.ndarray:
    """Triangles (m, 3) from an index sequence in mode 4, 5 (strip) or 6 (fan)."""
    if mode == 4:
        return index[: len(index) // 3 * 3].reshape(-1, 3)
    k = np.arange(max(len(index) - 2, 0))
    if mode == 5:
        tri = np.stack([index[k], index[k + 1 + k % 2], index[k + 2 - k % 2]], axis=1)
    else:
        tri = np.stack([index[k + 1], index[k + 2], np.full_like(k, index[0] if len(index) else 0)],
                       axis=1)
    keep = (tri[:, 0] != tri[:, 1]) & (tri[:, 1] != tri[:, 2]) & (tri[:, 0] != tri[:, 2])
    return tri[keep]


def _primitive(gltf: _Gltf, prim: dict):
    """``(vertices, triangles, triangle_part)`` of one primitive, or None if it has no triangles."""
    mode, where = prim["mode"], prim["where"]
    if mode not in (4, 5, 6) or prim["POSITION"] is None:
        if mode > 6 or prim["POSITION"] is None:  # points and lines are skipped silently
            warnings.warn(f"{gltf.path}: {where} skipped (mode {mode}, POSITION "
                          f"{'missing' if prim['POSITION'] is None else 'present'})", stacklevel=3)
        return None
    vertices = gltf.accessor(prim["POSITION"]).astype(np.float64)
    if not np.isfinite(vertices).all():
        raise gltf.fail(f"{where}: POSITION holds NaN or infinite coordinates")
    if prim["indices"] is not None:
        index = gltf.accessor(prim["indices"])[:, 0].astype(np.int64)
        if len(index) and index.max() >= len(vertices):
            raise gltf.fail(f"{where}: index {int(index.max())} >= vertex count {len(vertices)}")
    else:
        index = np.arange(len(vertices), dtype=np.int64)
    triangles = _strip_triangles(index, mode)
    part = np.zeros(len(triangles), dtype=np.int64)
    if prim["_BUILDING"] is not None and len(triangles):
        ids = gltf.accessor(prim["_BUILDING"])[:, 0].astype(np.float64)
        if len(ids) != len(vertices) or not np.isfinite(ids).all() or ids.min() < 0:
            raise gltf.fail(f"{where}: _BUILDING must hold one non-negative number per vertex")
        part = np.rint(ids[triangles[:, 0]]).astype(np.int64)
    return vertices, triangles, part


def _mesh_geometry(gltf: _Gltf, mesh: int, cache: dict):
    """All triangles of one mesh: ``(vertices, triangles, triangle_part)`` (cached per mesh)."""
    if mesh not in cache:
        parts = [p for prim in gltf.meshes[mesh] if (p := _primitive(gltf, prim)) is not None]
        offsets = np.cumsum([0] + [len(p[0]) for p in parts])
        cache[mesh] = (np.concatenate([p[0] for p in parts] or [np.zeros((0, 3))]),
                       np.concatenate([p[1] + o for p, o in zip(parts, offsets)]
                                      or [np.zeros((0, 3), np.int64)]),
                       np.concatenate([p[2] for p in parts] or [np.zeros(0, np.int64)]))
    return cache[mesh]


def _mesh_instances(gltf: _Gltf):
    """Yield ``(node_index, world_matrix)`` for every node with a mesh, depth-first."""
    stack = [(r, np.eye(4)) for r in reversed(gltf.roots)]
    while stack:
        i, parent = stack.pop()
        world = parent @ gltf.nodes[i]["matrix"]
        if gltf.nodes[i]["mesh"] is not None:
            yield i, world
        stack.extend((c, world) for c in reversed(gltf.nodes[i]["children"]))


def _entries(gltf: _Gltf, i: int, n_parts: int) -> list[tuple[str, dict, dict]]:
    """``(id, attributes, table values)`` of the building(s) that node ``i`` holds."""
    node = gltf.nodes[i]
    mesh_extras = gltf.doc["meshes"][node["mesh"]].get("extras")
    attrs: dict = {}
    for extras in (mesh_extras, node["extras"]):
        if isinstance(extras, dict):
            attrs.update(extras)
        elif extras is not None:
            attrs["extras"] = extras
    listed = attrs.get("twin3d_buildings")
    if isinstance(listed, list) and n_parts <= len(listed) and all(isinstance(e, dict) for e in listed):
        return [(str(e.get("id", f"node{i}.{k}")), e.get("attributes") or {}, e.get("twin3d") or {})
                for k, e in enumerate(listed)]
    row = attrs.pop("twin3d") if isinstance(attrs.get("twin3d"), dict) else {}
    return [(node["name"] or f"node{i}", attrs, row)]


def _buildings(gltf: _Gltf) -> Buildings:
    cache: dict = {}
    vertices, triangles, features, entries = [], [], [], []
    n_vertices = 0
    for i, world in _mesh_instances(gltf):
        v, t, part = _mesh_geometry(gltf, gltf.nodes[i]["mesh"], cache)
        node_entries = _entries(gltf, i, int(part.max()) + 1 if len(part) else 1)
        if len(node_entries) == 1:  # a foreign _BUILDING attribute without the list is ignored
            if not len(t):
                continue
            part = np.zeros_like(part)
        vertices.append((v @ world[:3, :3].T + world[:3, 3]) @ Y_UP_TO_Z_UP.T)
        triangles.append(t + n_vertices)
        features.append(part + len(entries))
        entries.extend(node_entries)
        n_vertices += len(v)
    mesh = Mesh(np.concatenate(vertices or [np.zeros((0, 3))]),
                np.concatenate(triangles or [np.zeros((0, 3), np.int64)]),
                np.concatenate(features or [np.zeros(0, np.int64)]))
    table = {"id": np.array(_unique_ids([e[0] for e in entries]), dtype=object)}
    buildings = Buildings(mesh, table, [dict(e[1]) if isinstance(e[1], dict) else {"attributes": e[1]}
                                        for e in entries])
    _restore_table(buildings.table, [e[2] for e in entries])
    return complete_table(buildings)


def _unique_ids(ids: list[str]) -> list[str]:
    """Building ids made unique: a repeated name gets ``#2``, ``#3``, ..."""
    seen: dict[str, int] = {}
    out = []
    for name in ids:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
    return out


def _restore_table(table: dict, rows: list[dict]) -> None:
    """Put back the table values a twin3d export stored (``extras.twin3d``); others are ignored."""
    for k, row in enumerate(rows):
        for col, value in (row.items() if isinstance(row, dict) else ()):
            kind = np.dtype(COLUMNS[col][0]).kind if col in COLUMNS and col != "id" else ""
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            if (kind == "f" and number) or (kind == "i" and number and value == int(value)
                                            and abs(value) < 2**31) or \
                    (kind == "b" and isinstance(value, bool)) or (kind == "O" and isinstance(value, str)):
                table[col][k] = value


def read_gltf(path: Path) -> City:
    """Read a glTF 2.0 file (.gltf with external or embedded buffers, or .glb) into a City.

    One building per mesh-holding node of the default scene, in z-up float64
    coordinates (see the module docstring).  The CRS is taken from
    ``asset.extras.crs`` where a file declares one, else None.

    Raises
    ------
    InputError
        For anything that keeps the geometry from being read faithfully.
    """
    from twin3d.io.registry import check_readable

    path = check_readable(path)
    try:
        gltf = _Gltf(path, path.read_bytes())
        buildings = _buildings(gltf)
    except OSError as exc:
        raise InputError(path, f"cannot read file ({exc.strerror})") from exc
    except (ValueError, TypeError, KeyError, IndexError, OverflowError, RecursionError,
            struct.error) as exc:  # a last guard: every check above should come first
        raise InputError(path, f"malformed glTF ({type(exc).__name__}: {exc})") from exc
    extras = gltf.doc["asset"].get("extras")
    extras = extras if isinstance(extras, dict) else {}
    origin = extras.get("twin3d_origin")
    if not (isinstance(origin, list) and len(origin) == 3 and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in origin)):
        origin = None
    crs = extras.get("crs") if isinstance(extras.get("crs"), str) else None
    name = extras.get("name") if isinstance(extras.get("name"), str) else path.stem
    return City(name=name, crs=crs, buildings=buildings, origin=origin)

