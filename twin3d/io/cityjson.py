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
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from twin3d.errors import InputError
from twin3d.io.cityjson_geometry import (
    POINT_LEVELS,
    SURFACE_LEVELS,
    Context,
    Invalid,
    Polygons,
    add_geometry,
    check_points,
    compact_mesh,
    read_templates,
    read_transform,
    triangulate,
    world_vertices,
)
from twin3d.model.buildings import Buildings, complete_table, empty_table
from twin3d.model.city import City
from twin3d.model.mesh import ContextLayer

BUILDING_INTERIOR = {"BuildingRoom", "BuildingStorey", "BuildingUnit", "BuildingFurniture"}
LAYER_OF_TYPE = {"Road": "roads", "Railway": "roads", "TransportSquare": "roads", "Waterway": "roads",
                 "WaterBody": "water", "LandUse": "landuse", "PlantCover": "vegetation",
                 "SolitaryVegetationObject": "vegetation", "TINRelief": "terrain_tin"}
OTHER_LAYER = "other"
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
    except Invalid as err:
        raise InputError(path, str(err)) from None
    except (ValueError, TypeError, KeyError, IndexError, OverflowError, AttributeError, RecursionError) as err:
        raise InputError(path, f"malformed CityJSON ({type(err).__name__}: {err})") from None


# ---------------------------------------------------------------- JSON documents

def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as err:
        raise Invalid(f"cannot read the file ({err.strerror or err})") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Invalid("not UTF-8 text") from None


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        dup = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise Invalid(f"duplicate JSON key {dup!r}")
    return obj


def _reject_constant(name: str):
    raise Invalid(f"{name} is not a valid JSON number")


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
                raise Invalid(f"extra data after the JSON document at character {pos}")
    except json.JSONDecodeError as err:
        raise Invalid(f"invalid JSON at line {err.lineno} column {err.colno}: {err.msg}") from None
    except RecursionError:
        raise Invalid("JSON nested too deeply") from None
    if not docs:
        raise Invalid("no JSON document in the file")
    return docs


def _split_documents(docs: list, sequence: bool) -> tuple[dict | None, list[dict]]:
    """The CityJSON header (None without one) and the documents carrying CityObjects."""
    for k, doc in enumerate(docs):
        kind = doc.get("type") if isinstance(doc, dict) else None
        if kind not in ("CityJSON", "CityJSONFeature"):
            where = f"document {k + 1}" if sequence else "the file"
            raise Invalid(f"{where} is not CityJSON: 'type' is {kind!r}, not 'CityJSON'")
        if kind == "CityJSON" and k > 0:
            raise Invalid(f"document {k + 1}: a CityJSON header may only come first")
        _check_members(doc, k + 1)
    header = docs[0] if docs[0]["type"] == "CityJSON" else None
    if header is not None:
        version = header.get("version")
        if not isinstance(version, str) or version.split(".")[0] not in ("1", "2"):
            raise Invalid(f"unsupported or missing CityJSON version {version!r} (1.0, 1.1, 2.0 are read)")
    return header, docs


def _check_members(doc: dict, number: int) -> None:
    if not isinstance(doc.get("CityObjects"), dict):
        raise Invalid(f"document {number}: 'CityObjects' is missing or not an object")
    if not isinstance(doc.get("vertices"), list):
        raise Invalid(f"document {number}: 'vertices' is missing or not an array")
    if doc["type"] == "CityJSONFeature":
        if not isinstance(doc.get("id"), str):
            raise Invalid(f"document {number}: CityJSONFeature without a string 'id'")
        if doc["id"] not in doc["CityObjects"]:
            raise Invalid(f"CityJSONFeature id {doc['id']!r} is not one of its CityObjects")


# ---------------------------------------------------------------- numbers

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
        raise Invalid(f"bad LoD {lod!r}")
    try:
        value = float(lod)
    except ValueError:
        raise Invalid(f"bad LoD {lod!r}") from None
    if not 0 <= value < 10:
        raise Invalid(f"bad LoD {lod!r}")
    return value


# ---------------------------------------------------------------- geometries of an object

def _lod_of(geom: dict, templates: list) -> float:
    if geom.get("type") == "GeometryInstance":
        t = geom.get("template")
        if type(t) is not int or not 0 <= t < len(templates):
            raise Invalid(f"GeometryInstance refers to a missing template {t!r}")
        geom = templates[t]
    return _lod_value(geom.get("lod", 0))


def _geometries(obj: dict) -> list:
    geoms = obj.get("geometry", [])
    return geoms if isinstance(geoms, list) else [None]


def _has_surface(obj: dict) -> bool:
    return any(isinstance(g, dict) and (g.get("type") in SURFACE_LEVELS or g.get("type") == "GeometryInstance")
               for g in _geometries(obj))


def _add_object(oid: str, obj: dict, owner: int, ctx: Context, request: _LodRequest) -> None:
    """Collect an object's polygons: all are checked, those at its chosen LoD get ``owner``."""
    surface_geoms, lods = [], []
    for g in _geometries(obj):
        kind = g.get("type") if isinstance(g, dict) else None
        if kind in POINT_LEVELS:
            check_points(g, ctx.block[1])
        elif kind in SURFACE_LEVELS or kind == "GeometryInstance":
            surface_geoms.append(g)
            lods.append(_lod_of(g, ctx.templates))
        else:
            raise Invalid(f"CityObject {oid!r}: unknown geometry type {kind!r}")
    chosen = request.choose(set(lods)) if lods and owner >= 0 else None
    for g, level in zip(surface_geoms, lods):
        add_geometry(g, owner if level == chosen else -1, ctx.block, ctx)


# ---------------------------------------------------------------- objects and the city

def _collect_objects(docs: list[dict]) -> dict[str, dict]:
    objects: dict[str, dict] = {}
    for doc in docs:
        for oid, obj in doc["CityObjects"].items():
            if not isinstance(obj, dict) or not isinstance(obj.get("type"), str):
                raise Invalid(f"CityObject {oid!r} has no 'type'")
            if oid in objects:
                raise Invalid(f"CityObject id {oid!r} appears twice")
            if not isinstance(obj.get("attributes", {}), dict):
                raise Invalid(f"CityObject {oid!r}: 'attributes' is not an object")
            objects[oid] = obj
    for oid, obj in objects.items():
        for key, one in (("parents", "parent"), ("children", "child")):
            refs = obj.get(key, [])
            if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
                raise Invalid(f"CityObject {oid!r}: '{key}' must be an array of ids")
            missing = [r for r in refs if r not in objects]
            if missing:
                raise Invalid(f"CityObject {oid!r} refers to a missing {one} {missing[0]!r}")
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
                raise Invalid(f"CityObject {oid!r}: its parents form a cycle")
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


def _collect_polygons(header, docs, slots: _Slots, request: _LodRequest) -> Polygons:
    polygons = Polygons()
    default_transform, default_templates = read_transform(header), read_templates(header)
    for doc in docs:
        transform = read_transform(doc) if "transform" in doc else default_transform
        xyz = world_vertices(doc, transform)
        templates, template_xyz = read_templates(doc) or default_templates or ([], np.zeros((0, 3)))
        ctx = Context(polygons, xyz, polygons.add_block(xyz), templates, template_xyz)
        for oid, obj in doc["CityObjects"].items():
            _add_object(oid, obj, slots.owner.get(oid, -1), ctx, request)
    return polygons


def _build_city(path: Path, header: dict | None, docs: list[dict], request: _LodRequest) -> City:
    objects = _collect_objects(docs)
    slots = _assign_slots(objects)
    polygons = _collect_polygons(header, docs, slots, request)
    vertices = np.concatenate(polygons.blocks) if polygons.blocks else np.zeros((0, 3))
    tri, poly = triangulate(polygons, vertices)
    owner = np.asarray(polygons.owner, dtype=np.int64)[poly]
    surface = np.asarray(polygons.surface, dtype=np.int8)[poly]
    n_rows = len(slots.rows)
    is_building = owner < n_rows
    table, attributes = _building_table(slots, objects)
    buildings = Buildings(compact_mesh(vertices, tri[is_building], owner[is_building], surface[is_building]),
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
            name, compact_mesh(vertices, tri[mine], local[slot[mine]], surface[mine]), np.asarray(ids, dtype=object),
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
