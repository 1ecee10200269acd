"""CityJSON 1.0/1.1/2.0 (.json, .city.json) and CityJSONSeq (.jsonl) into a :class:`City`.

How the source maps onto the model
----------------------------------
Buildings
    One row per top-level object of the Building family: a ``Building`` (or any
    ``Building*`` object) whose parents are not ``Building*`` objects; parents of
    other types (``CityObjectGroup``, extension types) do not count.  Its
    descendants of the family (``BuildingPart``, ``BuildingInstallation``,
    ``BuildingConstructiveElement``, ...) are merged into the row.  Interior
    objects (``BuildingRoom``, ``BuildingStorey``, ``BuildingUnit``,
    ``BuildingFurniture``) add no triangles, and a Building whose BuildingParts
    carry geometry adds none of its own (3DBAG-style LoD0 footprints would
    duplicate the parts).  ``parts`` counts the merged BuildingParts, at least 1.
    ``attributes[i]`` is the source ``attributes`` of the building as they are;
    merged descendants, if any, are added under ``"parts"`` as
    ``{id: {"type": ..., "attributes": {...}}}`` (under ``"twin3d:parts"`` when
    the source already uses the key ``"parts"``).  ``measuredHeight``,
    ``storeysAboveGround``, the 3DBAG ground level ``h_maaiveld`` and a use
    recognised in ``function``/``usage``/``use``/``gebruiksdoel`` fill the table;
    :func:`~twin3d.model.buildings.complete_table` estimates the rest.
Context layers
    Every other object with surface geometry becomes one feature of a layer:
    ``roads`` (Road, Railway, TransportSquare, Waterway), ``water`` (WaterBody),
    ``landuse`` (LandUse), ``vegetation`` (PlantCover, SolitaryVegetationObject),
    ``terrain_tin`` (TINRelief) and ``other`` for the rest (Bridge*, Tunnel*,
    CityFurniture, GenericCityObject, OtherConstruction, groups, extensions).
Levels of detail
    Per object, only surface geometries (MultiSurface, CompositeSurface, Solid,
    MultiSolid, CompositeSolid, and GeometryInstances of them) are considered.
    By default the object's highest LoD is used.  ``lod="2"`` asks for the
    highest LoD of the 2.x family, ``lod="2.2"`` for exactly 2.2; an object
    without it uses its highest LoD below the asked one, or failing that its
    lowest LoD, so that no object is dropped.
Validation
    Every geometry is checked (all LoDs), not only the one used: nesting depth,
    integer vertex indices in range, semantic indices, templates.  Any problem
    raises one :class:`~twin3d.errors.InputError`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path

import numpy as np

from twin3d.errors import InputError
from twin3d.io.triangulate import triangulate_polygon
from twin3d.model.buildings import Buildings, complete_table, empty_table
from twin3d.model.city import City
from twin3d.model.mesh import SURFACE_CODE, ContextLayer, Mesh

# geometry type -> list levels above the surfaces (MultiSurface: surfaces directly)
SURFACE_LEVELS = {"MultiSurface": 0, "CompositeSurface": 0, "Solid": 1, "MultiSolid": 2, "CompositeSolid": 2}
NESTING = {0: "surfaces > rings > vertex indices", 1: "shells > surfaces > rings > vertex indices",
           2: "solids > shells > surfaces > rings > vertex indices"}
POINT_LEVELS = {"MultiPoint": 0, "MultiLineString": 1}
BUILDING_INTERIOR = {"BuildingRoom", "BuildingStorey", "BuildingUnit", "BuildingFurniture"}
LAYER_OF_TYPE = {"Road": "roads", "Railway": "roads", "TransportSquare": "roads", "Waterway": "roads",
                 "WaterBody": "water", "LandUse": "landuse", "PlantCover": "vegetation",
                 "SolitaryVegetationObject": "vegetation", "TINRelief": "terrain_tin"}
OTHER_LAYER = "other"
OTHER_SURFACE = SURFACE_CODE["other"]
USE_KEYS = ("function", "usage", "use", "gebruiksdoel")
USE_WORDS = (  # first match wins: critical uses before generic ones
    ("hospital", ("hospital", "clinic", "ziekenhuis", "gezondheidszorg", "krankenhaus")),
    ("fire_station", ("fire station", "fire_station", "firestation", "brandweer", "feuerwehr")),
    ("ambulance_post", ("ambulance",)),
    ("police", ("police", "politie", "polizei")),
    ("school", ("school", "education", "university", "college", "kindergarten", "onderwijs", "schule")),
    ("shelter", ("shelter",)),
    ("industrial", ("industr", "factory", "warehouse", "fabriek")),
    ("commercial", ("commerc", "office", "retail", "shop", "hotel", "kantoor", "winkel", "logies")),
    ("public", ("public", "government", "church", "library", "museum", "bijeenkomst", "leisure", "sport")),
    ("residential", ("residential", "residence", "dwelling", "housing", "apartment", "habitation", "wohn", "woon")),
)
GROUND_KEYS = ("h_maaiveld", "b3_h_maaiveld")
_EPSG = re.compile(r"EPSG/[\d.]+/(\d+)|EPSG:[\d.]*:(\d+)|EPSG:(\d+)", re.IGNORECASE)
_SPACE = re.compile(r"\s*")


class _Invalid(Exception):
    """A reason why the file is not valid CityJSON; turned into InputError with the path."""


def read_cityjson(path: Path, lod: str | None = None) -> City:
    """Read a CityJSON file (1.0, 1.1, 2.0; also a lone CityJSONFeature).

    Parameters
    ----------
    path : Path
        The ``.json`` / ``.city.json`` file.
    lod : str, optional
        Level of detail to use (``"2"`` for the highest 2.x, ``"1.2"`` exactly);
        the highest per object by default.  See the module notes for fallbacks.

    Returns
    -------
    City
        Buildings (one row per top-level Building) and context layers.

    Raises
    ------
    InputError
        For anything that is not valid CityJSON.
    """
    return _read(Path(path), lod, sequence=False)


def read_cityjsonseq(path: Path, lod: str | None = None) -> City:
    """Read a CityJSONSeq file: a CityJSON header, then one CityJSONFeature per line.

    Features may also be pretty-printed over several lines; a stream without a
    header is read with an identity transform.  Parameters, result and errors
    are those of :func:`read_cityjson`.
    """
    return _read(Path(path), lod, sequence=True)


def _read(path: Path, lod, sequence: bool) -> City:
    try:
        text = _read_text(path)
        docs = _parse(text, sequence)
        header, features = _split_documents(docs, sequence)
        return _build_city(path, header, features, _LodRequest.parse(lod))
    except _Invalid as err:
        raise InputError(path, str(err)) from None
    except (ValueError, TypeError, KeyError, IndexError, OverflowError, AttributeError, RecursionError) as err:
        raise InputError(path, f"malformed CityJSON ({type(err).__name__}: {err})") from None


# ---------------------------------------------------------------- JSON documents

def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as err:
        raise _Invalid(f"cannot read the file ({err.strerror or err})") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _Invalid("not UTF-8 text") from None


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        dup = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise _Invalid(f"duplicate JSON key {dup!r}")
    return obj


def _reject_constant(name: str):
    raise _Invalid(f"{name} is not a valid JSON number")


_DECODER = json.JSONDecoder(object_pairs_hook=_unique_keys, parse_constant=_reject_constant)


def _parse(text: str, sequence: bool) -> list:
    """The JSON documents of the text: exactly one, or a stream of them for CityJSONSeq."""
    docs, pos = [], _SPACE.match(text).end()
    try:
        while pos < len(text):
            doc, pos = _DECODER.raw_decode(text, pos)
            docs.append(doc)
            pos = _SPACE.match(text, pos).end()
            if not sequence and pos < len(text):
                raise _Invalid(f"extra data after the JSON document at character {pos}")
    except json.JSONDecodeError as err:
        raise _Invalid(f"invalid JSON at line {err.lineno} column {err.colno}: {err.msg}") from None
    except RecursionError:
        raise _Invalid("JSON nested too deeply") from None
    if not docs:
        raise _Invalid("no JSON document in the file")
    return docs


def _split_documents(docs: list, sequence: bool) -> tuple[dict | None, list[dict]]:
    """The CityJSON header (None without one) and the documents carrying CityObjects."""
    for k, doc in enumerate(docs):
        kind = doc.get("type") if isinstance(doc, dict) else None
        if kind not in ("CityJSON", "CityJSONFeature"):
            where = f"document {k + 1}" if sequence else "the file"
            raise _Invalid(f"{where} is not CityJSON: 'type' is {kind!r}, not 'CityJSON'")
        if kind == "CityJSON" and k > 0:
            raise _Invalid(f"document {k + 1}: a CityJSON header may only come first")
        _check_members(doc, k + 1)
    header = docs[0] if docs[0]["type"] == "CityJSON" else None
    if header is not None:
        version = header.get("version")
        if not isinstance(version, str) or version.split(".")[0] not in ("1", "2"):
            raise _Invalid(f"unsupported or missing CityJSON version {version!r} (1.0, 1.1, 2.0 are read)")
    return header, docs


def _check_members(doc: dict, number: int) -> None:
    if not isinstance(doc.get("CityObjects"), dict):
        raise _Invalid(f"document {number}: 'CityObjects' is missing or not an object")
    if not isinstance(doc.get("vertices"), list):
        raise _Invalid(f"document {number}: 'vertices' is missing or not an array")
    if doc["type"] == "CityJSONFeature":
        if not isinstance(doc.get("id"), str):
            raise _Invalid(f"document {number}: CityJSONFeature without a string 'id'")
        if doc["id"] not in doc["CityObjects"]:
            raise _Invalid(f"CityJSONFeature id {doc['id']!r} is not one of its CityObjects")


# ---------------------------------------------------------------- numbers

def _finite_array(values, shape_tail: tuple[int, ...], what: str) -> np.ndarray:
    """A float64 array of JSON numbers (no bools, strings, nulls or integers beyond 64 bits)."""
    try:
        arr = np.array(values)
    except (ValueError, OverflowError, TypeError):
        arr = None
    if arr is not None and arr.size == 0:
        return np.zeros((0, *shape_tail))
    if arr is None or arr.dtype.kind not in "iuf" or arr.shape[1:] != shape_tail or arr.ndim != 2:
        raise _Invalid(f"{what} must be arrays of {shape_tail[0]} numbers (integers within 64 bits)")
    if arr.dtype.kind == "u" and arr.max() > np.iinfo(np.int64).max:
        raise _Invalid(f"{what} hold integers beyond the 64-bit range")
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise _Invalid(f"{what} hold non-finite numbers")
    return arr


def _transform(doc: dict | None) -> tuple[np.ndarray, np.ndarray] | None:
    if doc is None or "transform" not in doc:
        return None
    tr = doc["transform"]
    if not isinstance(tr, dict):
        raise _Invalid("bad transform: not an object")
    try:
        scale, translate = _finite_array([tr.get("scale"), tr.get("translate")], (3,), "transform")
    except _Invalid:
        raise _Invalid("bad transform: 'scale' and 'translate' must be 3 finite numbers each") from None
    if np.any(scale == 0):
        raise _Invalid("bad transform: a scale is zero")
    return scale, translate


def _vertices(doc: dict, transform) -> np.ndarray:
    """The document's vertices in float64 world coordinates."""
    xyz = _finite_array(doc["vertices"], (3,), "vertices")
    if transform is not None:
        with np.errstate(over="ignore", invalid="ignore"):
            xyz = xyz * transform[0] + transform[1]
        if not np.isfinite(xyz).all():
            raise _Invalid("transformed vertices are not finite")
    return xyz


def _number(value) -> float | None:
    """A finite float from a JSON number or numeric string, else None."""
    if isinstance(value, bool):
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if np.isfinite(x) else None


# ---------------------------------------------------------------- levels of detail

@dataclass(frozen=True)
class _LodRequest:
    value: float | None = None  # None: highest
    family: bool = False        # "2": any 2.x

    @staticmethod
    def parse(lod) -> _LodRequest:
        if lod is None:
            return _LodRequest()
        value = _lod_value(lod)
        return _LodRequest(value, family=isinstance(lod, int) or "." not in str(lod))

    def choose(self, available: set[float]) -> float:
        """The LoD to use among an object's available ones (see the module notes)."""
        levels = sorted(available)
        if self.value is None:
            return levels[-1]
        if self.family:
            same = [x for x in levels if self.value <= x < self.value + 1]
            if same:
                return same[-1]
        elif self.value in available:
            return self.value
        below = [x for x in levels if x < self.value]
        return below[-1] if below else levels[0]


def _lod_value(lod) -> float:
    if isinstance(lod, bool) or not isinstance(lod, str | int | float):
        raise _Invalid(f"bad LoD {lod!r}")
    try:
        value = float(lod)
    except ValueError:
        raise _Invalid(f"bad LoD {lod!r}") from None
    if not 0 <= value < 10:
        raise _Invalid(f"bad LoD {lod!r}")
    return value


# ---------------------------------------------------------------- geometry collection

@dataclass
class _Polygons:
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
class _Context:
    """One document's vertices and geometry templates."""

    polygons: _Polygons
    xyz: np.ndarray
    block: tuple[int, int]
    templates: list
    template_xyz: np.ndarray


def _templates(doc: dict | None) -> tuple[list, np.ndarray] | None:
    if doc is None or "geometry-templates" not in doc:
        return None
    gt = doc["geometry-templates"]
    templates = gt.get("templates") if isinstance(gt, dict) else None
    if not isinstance(templates, list) or not all(isinstance(t, dict) for t in templates):
        raise _Invalid("geometry-templates need a 'templates' array of geometries")
    return templates, _finite_array(gt.get("vertices-templates", []), (3,), "vertices-templates")


def _lod_of(geom: dict, templates: list) -> float:
    if geom.get("type") == "GeometryInstance":
        t = geom.get("template")
        if type(t) is not int or not 0 <= t < len(templates):
            raise _Invalid(f"GeometryInstance refers to a missing template {t!r}")
        geom = templates[t]
    return _lod_value(geom.get("lod", 0))


def _geometries(obj: dict) -> list:
    geoms = obj.get("geometry", [])
    return geoms if isinstance(geoms, list) else [None]


def _has_surface(obj: dict) -> bool:
    return any(isinstance(g, dict) and (g.get("type") in SURFACE_LEVELS or g.get("type") == "GeometryInstance")
               for g in _geometries(obj))


def _add_object(oid: str, obj: dict, owner: int, ctx: _Context, request: _LodRequest) -> None:
    """Collect an object's polygons: all are checked, those at its chosen LoD get ``owner``."""
    surface_geoms, lods = [], []
    for g in _geometries(obj):
        kind = g.get("type") if isinstance(g, dict) else None
        if kind in POINT_LEVELS:
            _check_points(g, ctx.block[1])
        elif kind in SURFACE_LEVELS or kind == "GeometryInstance":
            surface_geoms.append(g)
            lods.append(_lod_of(g, ctx.templates))
        else:
            raise _Invalid(f"CityObject {oid!r}: unknown geometry type {kind!r}")
    chosen = request.choose(set(lods)) if lods and owner >= 0 else None
    for g, level in zip(surface_geoms, lods):
        _add_geometry(g, owner if level == chosen else -1, ctx.block, ctx)


def _add_geometry(geom: dict, owner: int, block: tuple[int, int], ctx: _Context) -> None:
    kind = geom["type"]
    if kind == "GeometryInstance":
        template = ctx.templates[geom["template"]]
        if template.get("type") not in SURFACE_LEVELS:
            if template.get("type") in POINT_LEVELS:
                return
            raise _Invalid(f"a geometry template of type {template.get('type')!r} cannot be instanced")
        ref = geom.get("boundaries")
        if not (isinstance(ref, list) and len(ref) == 1 and type(ref[0]) is int and 0 <= ref[0] < block[1]):
            raise _Invalid("GeometryInstance boundaries must be one vertex index in range")
        m = _finite_array([geom.get("transformationMatrix")], (16,), "transformationMatrix")[0].reshape(4, 4)
        with np.errstate(over="ignore", invalid="ignore"):
            xyz = ctx.template_xyz @ m[:3, :3].T + m[:3, 3] + ctx.xyz[ref[0]]
        if not np.isfinite(xyz).all():
            raise _Invalid("GeometryInstance vertices are not finite")
        _add_geometry(template, owner, ctx.polygons.add_block(xyz), ctx)
        return
    if "boundaries" not in geom:
        raise _Invalid(f"{kind} without 'boundaries'")
    semantics = geom.get("semantics")
    values = semantics.get("values") if isinstance(semantics, dict) else None
    _walk(geom["boundaries"], values, SURFACE_LEVELS[kind], kind, _semantic_codes(semantics),
          (owner, *block), ctx.polygons)


def _semantic_codes(semantics) -> list[int]:
    if semantics is None:
        return []
    surfaces = semantics.get("surfaces") if isinstance(semantics, dict) else None
    if not isinstance(surfaces, list) or not all(isinstance(s, dict) for s in surfaces):
        raise _Invalid("semantics need a 'surfaces' array of objects")
    return [SURFACE_CODE.get(s.get("type"), OTHER_SURFACE) for s in surfaces]


def _walk(node, values, levels: int, kind: str, codes: list[int], slot: tuple, out: _Polygons) -> None:
    """Descend ``levels`` list levels to the surfaces, following the semantic values alongside."""
    if not isinstance(node, list) or (values is not None and not isinstance(values, list)):
        raise _Invalid(f"{kind} boundaries and semantic values must nest {NESTING[SURFACE_LEVELS[kind]]}")
    for k, child in enumerate(node):
        value = values[k] if values is not None and k < len(values) else None
        if levels:
            _walk(child, value, levels - 1, kind, codes, slot, out)
        else:
            _add_surface(child, value, kind, codes, slot, out)


def _add_surface(surface, value, kind: str, codes: list[int], slot: tuple, out: _Polygons) -> None:
    if not isinstance(surface, list) or not all(
            isinstance(r, list) and not (r and isinstance(r[0], list)) for r in surface):
        raise _Invalid(f"{kind} boundaries must nest {NESTING[SURFACE_LEVELS[kind]]}")
    if value is not None and (type(value) is not int or not 0 <= value < len(codes)):
        raise _Invalid(f"{kind} semantic value {value!r} is not a semantic surface index")
    if not surface:
        return
    out.rings.extend(surface)
    out.n_rings.append(len(surface))
    out.owner.append(slot[0])
    out.start.append(slot[1])
    out.limit.append(slot[2])
    out.surface.append(0 if value is None else codes[value])


def _check_points(geom: dict, n_vertices: int) -> None:
    """Index checks for MultiPoint/MultiLineString, which add no triangles."""
    node = geom.get("boundaries")
    for _ in range(POINT_LEVELS[geom["type"]]):
        if not isinstance(node, list) or not all(isinstance(x, list) for x in node):
            raise _Invalid(f"{geom['type']} boundaries nest wrongly")
        node = list(chain.from_iterable(node))
    if not isinstance(node, list):
        raise _Invalid(f"{geom['type']} boundaries nest wrongly")
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
        raise _Invalid(f"{kind} boundaries nest wrongly or hold vertex indices that are not integers")
    bad = (idx < 0) | (idx >= limit)
    if bad.any():
        raise _Invalid(f"vertex index {idx[bad][0]} out of range in {kind} boundaries")
    return idx.astype(np.int64)


# ---------------------------------------------------------------- triangulation

def _triangulate(polygons: _Polygons, vertices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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


def _mesh(vertices: np.ndarray, tri: np.ndarray, feature: np.ndarray, surface: np.ndarray) -> Mesh:
    """A mesh holding only the vertices its triangles use."""
    if not len(tri):
        return Mesh()
    used, inverse = np.unique(tri, return_inverse=True)
    return Mesh(vertices[used], inverse.reshape(-1, 3), feature, surface)


# ---------------------------------------------------------------- objects and the city

def _collect_objects(docs: list[dict]) -> dict[str, dict]:
    objects: dict[str, dict] = {}
    for doc in docs:
        for oid, obj in doc["CityObjects"].items():
            if not isinstance(obj, dict) or not isinstance(obj.get("type"), str):
                raise _Invalid(f"CityObject {oid!r} has no 'type'")
            if oid in objects:
                raise _Invalid(f"CityObject id {oid!r} appears twice")
            if not isinstance(obj.get("attributes", {}), dict):
                raise _Invalid(f"CityObject {oid!r}: 'attributes' is not an object")
            objects[oid] = obj
    for oid, obj in objects.items():
        for key, one in (("parents", "parent"), ("children", "child")):
            refs = obj.get(key, [])
            if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
                raise _Invalid(f"CityObject {oid!r}: '{key}' must be an array of ids")
            missing = [r for r in refs if r not in objects]
            if missing:
                raise _Invalid(f"CityObject {oid!r} refers to a missing {one} {missing[0]!r}")
    return objects


def _in_building_family(obj: dict) -> bool:
    return obj["type"].startswith("Building")


def _building_roots(objects: dict[str, dict]) -> dict[str, str]:
    """Each Building-family object -> its top-level ancestor in the family (itself if none)."""
    roots = {}
    for oid, obj in objects.items():
        if not _in_building_family(obj):
            continue
        node, seen = oid, {oid}
        while up := [p for p in objects[node].get("parents", []) if _in_building_family(objects[p])]:
            node = up[0]
            if node in seen:
                raise _Invalid(f"CityObject {oid!r}: its parents form a cycle")
            seen.add(node)
        roots[oid] = node
    return roots


@dataclass
class _Slots:
    """Who owns the triangles: building rows first, then one slot per layer feature."""

    rows: list[str]
    roots: dict[str, str]
    owner: dict[str, int]
    layer_of_slot: list[str]
    id_of_slot: list[str]


def _assign_slots(objects: dict[str, dict]) -> _Slots:
    roots = _building_roots(objects)
    rows = [oid for oid, root in roots.items() if root == oid]
    row_of = {oid: i for i, oid in enumerate(rows)}
    parted = {roots[oid] for oid, obj in objects.items()
              if obj["type"] == "BuildingPart" and roots.get(oid, oid) != oid and _has_surface(obj)}
    owner = {oid: row_of[root] for oid, root in roots.items()
             if not (oid != root and objects[oid]["type"] in BUILDING_INTERIOR) and oid not in parted}
    layer_of_slot, id_of_slot = [], []
    for oid, obj in objects.items():
        if oid not in roots and _has_surface(obj):
            owner[oid] = len(rows) + len(layer_of_slot)
            layer_of_slot.append(LAYER_OF_TYPE.get(obj["type"], OTHER_LAYER))
            id_of_slot.append(oid)
    return _Slots(rows, roots, owner, layer_of_slot, id_of_slot)


def _collect_polygons(header, docs, slots: _Slots, request: _LodRequest) -> _Polygons:
    polygons = _Polygons()
    default_transform, default_templates = _transform(header), _templates(header)
    for doc in docs:
        transform = _transform(doc) if "transform" in doc else default_transform
        xyz = _vertices(doc, transform)
        templates, template_xyz = _templates(doc) or default_templates or ([], np.zeros((0, 3)))
        ctx = _Context(polygons, xyz, polygons.add_block(xyz), templates, template_xyz)
        for oid, obj in doc["CityObjects"].items():
            _add_object(oid, obj, slots.owner.get(oid, -1), ctx, request)
    return polygons


def _build_city(path: Path, header: dict | None, docs: list[dict], request: _LodRequest) -> City:
    objects = _collect_objects(docs)
    slots = _assign_slots(objects)
    polygons = _collect_polygons(header, docs, slots, request)
    vertices = np.concatenate(polygons.blocks) if polygons.blocks else np.zeros((0, 3))
    tri, poly = _triangulate(polygons, vertices)
    owner = np.asarray(polygons.owner, dtype=np.int64)[poly]
    surface = np.asarray(polygons.surface, dtype=np.int8)[poly]
    n_rows = len(slots.rows)
    is_building = owner < n_rows
    table, attributes = _building_table(slots, objects)
    buildings = Buildings(_mesh(vertices, tri[is_building], owner[is_building], surface[is_building]),
                          table, attributes)
    layers = _layers(slots, objects, vertices, tri[~is_building], owner[~is_building] - n_rows,
                     surface[~is_building])
    meta = header.get("metadata", {}) if header else {}
    used = [m.vertices for m in [buildings.mesh] if m.n_vertices] or [ly.mesh.vertices for ly in layers.values()]
    used = np.concatenate(used) if used else np.zeros((0, 3))
    return City(name=_city_name(path), crs=_crs(meta), buildings=complete_table(buildings), layers=layers,
                origin=np.floor(used.min(axis=0)) if len(used) else np.zeros(3),
                metadata={"format": "CityJSON", "version": header.get("version") if header else None,
                          "metadata": meta})


def _layers(slots: _Slots, objects, vertices, tri, slot, surface) -> dict[str, ContextLayer]:
    layer_of_slot = np.asarray(slots.layer_of_slot, dtype=object)
    layers = {}
    for name in dict.fromkeys(slots.layer_of_slot):
        members = np.flatnonzero(layer_of_slot == name)
        local = np.full(len(layer_of_slot), -1)
        local[members] = np.arange(len(members))
        mine = layer_of_slot[slot] == name if len(slot) else np.zeros(0, dtype=bool)
        ids = [slots.id_of_slot[k] for k in members]
        layers[name] = ContextLayer(
            name, _mesh(vertices, tri[mine], local[slot[mine]], surface[mine]), np.asarray(ids, dtype=object),
            np.asarray([objects[i]["type"] for i in ids], dtype=object),
            [objects[i].get("attributes", {}) for i in ids])
    return layers


def _building_table(slots: _Slots, objects: dict[str, dict]) -> tuple[dict, list[dict]]:
    members: dict[str, list[str]] = {oid: [] for oid in slots.rows}
    for oid, root in slots.roots.items():
        if oid != root:
            members[root].append(oid)
    table = empty_table(len(slots.rows))
    attributes = []
    for i, oid in enumerate(slots.rows):
        attrs = objects[oid].get("attributes", {})
        table["id"][i] = oid
        table["parts"][i] = max(1, sum(objects[m]["type"] == "BuildingPart" for m in members[oid]))
        _fill_row(table, i, attrs)
        if members[oid]:
            key = "parts" if "parts" not in attrs else "twin3d:parts"
            attrs = {**attrs, key: {m: {"type": objects[m]["type"], "attributes": objects[m].get("attributes", {})}
                                    for m in members[oid]}}
        attributes.append(attrs)
    return table, attributes


def _fill_row(table: dict, i: int, attrs: dict) -> None:
    """Heights, storeys, ground level and use from common attributes, where present."""
    height = _number(attrs.get("measuredHeight"))
    if height is not None and height > 0:
        table["height"][i] = height
    storeys = _number(attrs.get("storeysAboveGround"))
    if storeys is not None and 1 <= storeys < 1000:
        table["storeys"][i] = round(storeys)
    ground = next((g for g in map(_number, (attrs.get(k) for k in GROUND_KEYS)) if g is not None), None)
    if ground is not None:
        table["ground_elevation"][i] = ground
    table["use"][i] = _use_of(attrs)


def _use_of(attrs: dict) -> str:
    """The model use named by a function/usage attribute (words in English, Dutch, German)."""
    texts = []
    for key in USE_KEYS:
        value = attrs.get(key)
        texts += [value] if isinstance(value, str) else [v for v in value if isinstance(v, str)] \
            if isinstance(value, list) else []
    for text in (t.lower() for t in texts):
        for use, words in USE_WORDS:
            if any(w in text for w in words):
                return use
    return ""


def _crs(metadata) -> str | None:
    """``"EPSG:NNNN"`` from a 1.0 URN or a 1.1/2.0 OGC URL; None when absent or ambiguous."""
    ref = metadata.get("referenceSystem") if isinstance(metadata, dict) else None
    codes = {next(c for c in m if c) for m in _EPSG.findall(ref)} if isinstance(ref, str) else set()
    return f"EPSG:{codes.pop()}" if len(codes) == 1 else None


def _city_name(path: Path) -> str:
    name = path.name
    for suffix in (".city.jsonl", ".city.json", ".jsonl", ".json"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)] or name
    return name
