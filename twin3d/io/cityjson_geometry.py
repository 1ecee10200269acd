"""Vertex coordinates and surface geometry of CityJSON: checks, template instances, triangulation.

The reader in :mod:`twin3d.io.cityjson` reads each document's vertices with
:func:`read_transform` and :func:`world_vertices`, and hands every surface
geometry of every CityObject (MultiSurface, CompositeSurface, Solid,
MultiSolid, CompositeSolid, and GeometryInstances of them) to
:func:`add_geometry`.  That checks the boundary nesting and the semantic
indices, places template instances, and gathers the polygons into one
:class:`Polygons` collection; polygons of LoDs an object does not use are kept
with owner ``-1``, so that they are checked but add no triangles.  MultiPoint
and MultiLineString geometries only get their vertex indices checked
(:func:`check_points`).  :func:`triangulate` then checks every ring's vertex
indices and triangulates the owned polygons: triangles and quads in bulk, the
rest by earcut.  Any problem raises :class:`Invalid`, which the reader turns
into an :class:`~twin3d.errors.InputError` naming the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import chain

import numpy as np

from twin3d.model.mesh import SURFACE_CODE, Mesh
from twin3d.model.triangulate import triangulate_polygon

# geometry type -> list levels above the surfaces (MultiSurface: surfaces directly)
SURFACE_LEVELS = {"MultiSurface": 0, "CompositeSurface": 0, "Solid": 1, "MultiSolid": 2, "CompositeSolid": 2}
NESTING = {0: "surfaces > rings > vertex indices", 1: "shells > surfaces > rings > vertex indices",
           2: "solids > shells > surfaces > rings > vertex indices"}
POINT_LEVELS = {"MultiPoint": 0, "MultiLineString": 1}
OTHER_SURFACE = SURFACE_CODE["other"]


class Invalid(Exception):
    """A reason why the file is not valid CityJSON; turned into InputError with the path."""


# ---------------------------------------------------------------- vertex coordinates

def finite_array(values, shape_tail: tuple[int, ...], what: str) -> np.ndarray:
    """A float64 array of JSON numbers (no bools, strings, nulls or integers beyond 64 bits)."""
    try:
        arr = np.array(values)
    except (ValueError, OverflowError, TypeError):
        arr = None
    if arr is not None and arr.size == 0:
        return np.zeros((0, *shape_tail))
    if arr is None or arr.dtype.kind not in "iuf" or arr.shape[1:] != shape_tail or arr.ndim != 2:
        raise Invalid(f"{what} must be arrays of {shape_tail[0]} numbers (integers within 64 bits)")
    if arr.dtype.kind == "u" and arr.max() > np.iinfo(np.int64).max:
        raise Invalid(f"{what} hold integers beyond the 64-bit range")
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise Invalid(f"{what} hold non-finite numbers")
    return arr


def read_transform(doc: dict | None) -> tuple[np.ndarray, np.ndarray] | None:
    """The document's ``(scale, translate)``; None when it has no transform."""
    if doc is None or "transform" not in doc:
        return None
    tr = doc["transform"]
    if not isinstance(tr, dict):
        raise Invalid("bad transform: not an object")
    try:
        scale, translate = finite_array([tr.get("scale"), tr.get("translate")], (3,), "transform")
    except Invalid:
        raise Invalid("bad transform: 'scale' and 'translate' must be 3 finite numbers each") from None
    if np.any(scale == 0):
        raise Invalid("bad transform: a scale is zero")
    return scale, translate


def world_vertices(doc: dict, transform) -> np.ndarray:
    """The document's vertices in float64 world coordinates."""
    xyz = finite_array(doc["vertices"], (3,), "vertices")
    if transform is not None:
        with np.errstate(over="ignore", invalid="ignore"):
            xyz = xyz * transform[0] + transform[1]
        if not np.isfinite(xyz).all():
            raise Invalid("transformed vertices are not finite")
    return xyz


# ---------------------------------------------------------------- geometry collection

@dataclass
class Polygons:
    """Every polygon of the file: rings (block-local indices) and per-polygon data."""

    rings: list[list] = field(default_factory=list)
    n_rings: list[int] = field(default_factory=list)
    start: list[int] = field(default_factory=list)     # vertex block start
    limit: list[int] = field(default_factory=list)     # vertex block size
    owner: list[int] = field(default_factory=list)     # feature slot; -1: checked only
    surface: list[int] = field(default_factory=list)
    blocks: list[np.ndarray] = field(default_factory=list)
    n_vertices: int = 0

    def add_block(self, xyz: np.ndarray) -> tuple[int, int]:
        """Append a vertex block; returns ``(start, size)``."""
        block = (self.n_vertices, len(xyz))
        self.blocks.append(xyz)
        self.n_vertices += len(xyz)
        return block


@dataclass
class Context:
    """One document's vertices and geometry templates."""

    polygons: Polygons
    xyz: np.ndarray
    block: tuple[int, int]
    templates: list
    template_xyz: np.ndarray


def read_templates(doc: dict | None) -> tuple[list, np.ndarray] | None:
    """The document's ``(templates, template vertices)``; None when it has none."""
    if doc is None or "geometry-templates" not in doc:
        return None
    gt = doc["geometry-templates"]
    templates = gt.get("templates") if isinstance(gt, dict) else None
    if not isinstance(templates, list) or not all(isinstance(t, dict) for t in templates):
        raise Invalid("geometry-templates need a 'templates' array of geometries")
    return templates, finite_array(gt.get("vertices-templates", []), (3,), "vertices-templates")


def add_geometry(geom: dict, owner: int, block: tuple[int, int], ctx: Context) -> None:
    kind = geom["type"]
    if kind == "GeometryInstance":
        template = ctx.templates[geom["template"]]
        if template.get("type") not in SURFACE_LEVELS:
            if template.get("type") in POINT_LEVELS:
                return
            raise Invalid(f"a geometry template of type {template.get('type')!r} cannot be instanced")
        ref = geom.get("boundaries")
        if not (isinstance(ref, list) and len(ref) == 1 and type(ref[0]) is int and 0 <= ref[0] < block[1]):
            raise Invalid("GeometryInstance boundaries must be one vertex index in range")
        m = finite_array([geom.get("transformationMatrix")], (16,), "transformationMatrix")[0].reshape(4, 4)
        with np.errstate(over="ignore", invalid="ignore"):
            xyz = ctx.template_xyz @ m[:3, :3].T + m[:3, 3] + ctx.xyz[ref[0]]
        if not np.isfinite(xyz).all():
            raise Invalid("GeometryInstance vertices are not finite")
        add_geometry(template, owner, ctx.polygons.add_block(xyz), ctx)
        return
    if "boundaries" not in geom:
        raise Invalid(f"{kind} without 'boundaries'")
    semantics = geom.get("semantics")
    values = semantics.get("values") if isinstance(semantics, dict) else None
    _walk(geom["boundaries"], values, SURFACE_LEVELS[kind], kind, _semantic_codes(semantics),
          (owner, *block), ctx.polygons)

def _semantic_codes(semantics) -> list[int]:
    if semantics is None:
        return []
    surfaces = semantics.get("surfaces") if isinstance(semantics, dict) else None
    if not isinstance(surfaces, list) or not all(isinstance(s, dict) for s in surfaces):
        raise Invalid("semantics need a 'surfaces' array of objects")
    return [SURFACE_CODE.get(s.get("type"), OTHER_SURFACE) for s in surfaces]


def _walk(node, values, levels: int, kind: str, codes: list[int], slot: tuple, out: Polygons) -> None:
    """Descend ``levels`` list levels to the surfaces, following the semantic values alongside."""
    if not isinstance(node, list) or (values is not None and not isinstance(values, list)):
        raise Invalid(f"{kind} boundaries and semantic values must nest {NESTING[SURFACE_LEVELS[kind]]}")
    for k, child in enumerate(node):
        value = values[k] if values is not None and k < len(values) else None
        if levels:
            _walk(child, value, levels - 1, kind, codes, slot, out)
        else:
            _add_surface(child, value, kind, codes, slot, out)


def _add_surface(surface, value, kind: str, codes: list[int], slot: tuple, out: Polygons) -> None:
    if not isinstance(surface, list) or not all(
            isinstance(r, list) and not (r and isinstance(r[0], list)) for r in surface):
        raise Invalid(f"{kind} boundaries must nest {NESTING[SURFACE_LEVELS[kind]]}")
    if value is not None and (type(value) is not int or not 0 <= value < len(codes)):
        raise Invalid(f"{kind} semantic value {value!r} is not a semantic surface index")
    if not surface:
        return
    out.rings.extend(surface)
    out.n_rings.append(len(surface))
    out.owner.append(slot[0])
    out.start.append(slot[1])
    out.limit.append(slot[2])
    out.surface.append(0 if value is None else codes[value])


def check_points(geom: dict, n_vertices: int) -> None:
    """Index checks for MultiPoint/MultiLineString, which add no triangles."""
    node = geom.get("boundaries")
    for _ in range(POINT_LEVELS[geom["type"]]):
        if not isinstance(node, list) or not all(isinstance(x, list) for x in node):
            raise Invalid(f"{geom['type']} boundaries nest wrongly")
        node = list(chain.from_iterable(node))
    if not isinstance(node, list):
        raise Invalid(f"{geom['type']} boundaries nest wrongly")
    _check_indices(node, np.full(len(node), n_vertices), geom["type"])


def _check_indices(indices: list, limit: np.ndarray, kind: str) -> np.ndarray:
    """Vertex indices as int64, each non-negative and below its ``limit``."""
    if not indices:
        return np.zeros(0, dtype=np.int64)
    try:
        idx = np.array(indices)
    except (ValueError, TypeError, OverflowError):
        idx = None
    if idx is None or idx.ndim != 1 or idx.dtype.kind not in "iu":
        raise Invalid(f"{kind} boundaries nest wrongly or hold vertex indices that are not integers")
    bad = (idx < 0) | (idx >= limit)
    if bad.any():
        raise Invalid(f"vertex index {idx[bad][0]} out of range in {kind} boundaries")
    return idx.astype(np.int64)


# ---------------------------------------------------------------- triangulation

def triangulate(polygons: Polygons, vertices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Check every ring's indices; triangulate the polygons that have an owner.

    Returns ``(triangles, polygon index per triangle)``.  Single-ring triangles and
    quads are done in bulk; the rest (holes, longer rings) by earcut one by one.
    """
    ring_len = np.fromiter(map(len, polygons.rings), dtype=np.int64, count=len(polygons.rings))
    n_rings = np.asarray(polygons.n_rings, dtype=np.int64)
    ring_poly = np.repeat(np.arange(len(n_rings)), n_rings)
    limit = np.repeat(np.asarray(polygons.limit, dtype=np.int64)[ring_poly], ring_len)
    local = _check_indices(list(chain.from_iterable(polygons.rings)), limit, "geometry")
    flat = local + np.repeat(np.asarray(polygons.start, dtype=np.int64)[ring_poly], ring_len)
    ring_start = np.cumsum(ring_len) - ring_len
    first = np.cumsum(n_rings) - n_rings
    start, outer = ring_start[first], ring_len[first]
    chosen = (np.asarray(polygons.owner) >= 0) & (outer >= 3)
    simple = chosen & (n_rings == 1)
    p3, p4 = np.flatnonzero(simple & (outer == 3)), np.flatnonzero(simple & (outer == 4))
    tris = [flat[start[p3, None] + np.arange(3)], *_split_quads(vertices, flat[start[p4, None] + np.arange(4)])]
    owners = [p3, p4, p4]
    for p in np.flatnonzero(chosen & ~((n_rings == 1) & ((outer == 3) | (outer == 4)))):
        rings = [flat[s:s + n] for s, n in zip(ring_start[first[p]:first[p] + n_rings[p]],
                                                ring_len[first[p]:first[p] + n_rings[p]])]
        tri = triangulate_polygon(vertices, rings)
        tris.append(tri)
        owners.append(np.full(len(tri), p))
    tri, poly = np.concatenate(tris).astype(np.int64), np.concatenate(owners).astype(np.int64)
    a, b, c = (vertices[tri[:, k]] for k in range(3))
    keep = np.any(np.cross(b - a, c - a) != 0, axis=1)
    return tri[keep], poly[keep]


def _split_quads(vertices: np.ndarray, quads: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two triangles per quad along the diagonal that lies inside it (orientation kept)."""
    a, b, c, d = (vertices[quads[:, k]] for k in range(4))
    inside_02 = np.einsum("ij,ij->i", np.cross(b - a, c - a), np.cross(c - a, d - a)) >= 0
    first = np.where(inside_02[:, None], quads[:, [0, 1, 2]], quads[:, [1, 2, 3]])
    second = np.where(inside_02[:, None], quads[:, [0, 2, 3]], quads[:, [1, 3, 0]])
    return first, second


def compact_mesh(vertices: np.ndarray, tri: np.ndarray, feature: np.ndarray, surface: np.ndarray) -> Mesh:
    """A mesh holding only the vertices its triangles use."""
    if not len(tri):
        return Mesh()
    used, inverse = np.unique(tri, return_inverse=True)
    return Mesh(vertices[used], inverse.reshape(-1, 3), feature, surface)
