"""City recipes: one TOML file that assembles a city from several sources.

A recipe names building sources (any format :func:`twin3d.io.read` reads),
a terrain raster, infrastructure networks and attribute tables joined by
building id, or asks for the generated city.  The format is documented in
``assets/cities/README.md``; ``assets/cities/default.toml`` is the default city.
"""

from __future__ import annotations

import csv
import importlib
import inspect
import warnings
from pathlib import Path

import numpy as np

from twin3d.config import read_toml
from twin3d.errors import InputError
from twin3d.model import NETWORK_KINDS, Buildings, City, ContextLayer, Mesh, complete_table
from twin3d.model.buildings import COLUMNS, USES

# key -> (expected type(s), required); "*" means: other keys are reader options
TOP_KEYS = {"name": (str, False), "crs": (str, False), "buildings": (list, False), "terrain": (dict, False),
            "networks": (list, False), "attributes": ((dict, list), False), "generate": (dict, False)}
SOURCE_KEYS = {"path": (str, True), "*": None}
NETWORK_KEYS = {"kind": (str, True), "path": (str, True), "format": (str, False), "*": None}
ATTRIBUTE_KEYS = {"path": (str, True), "id": (str, True), "columns": (dict, True), "delimiter": (str, False)}
GENERATE_KEYS = {"buildings": (int, False), "seed": (int, False)}
# network file format -> (reader, the reader's CRS when the recipe gives none)
NETWORK_READERS = {"epanet": ("twin3d.io.epanet:read_epanet", None),
                   "geojson": ("twin3d.io.network_geojson:read_network_geojson", None),
                   "pandapower": ("twin3d.io.pandapower:read_pandapower", "EPSG:4326")}
NETWORK_FORMAT_OF = {".inp": "epanet", ".geojson": "geojson", ".json": "pandapower"}


def build_city(path: Path) -> City:
    """Assemble the city a recipe describes.

    Parameters
    ----------
    path
        The recipe (TOML); source paths in it are relative to its folder.

    Returns
    -------
    City
        Buildings of all sources (concatenated, table completed), terrain,
        networks and context layers, in the recipe's CRS.

    Raises
    ------
    InputError
        ``<recipe>: <key>: <reason>`` for unknown keys, wrong types, missing
        files and disagreeing CRSs; readers' own errors name their file.

    Examples
    --------
    >>> from twin3d.config import asset
    >>> city = build_city(asset("cities", "default.toml"))  # doctest: +SKIP
    """
    path = Path(path)
    recipe = _load(path)
    _check_keys(path, recipe, TOP_KEYS, "")
    if "generate" in recipe:
        city = _generated(path, recipe)
    else:
        city = _assembled(path, recipe)
    for k, table in enumerate(_attribute_tables(path, recipe)):
        key = "attributes" if isinstance(recipe["attributes"], dict) else f"attributes[{k}]"
        _check_keys(path, table, ATTRIBUTE_KEYS, key)
        csv_path = _source_path(path, table["path"], f"{key}.path")
        city.buildings = join_attributes(city.buildings, csv_path, table["id"], table["columns"],
                                         table.get("delimiter", ","), path, key)
    city.buildings = complete_table(city.buildings)
    return city


def _load(path: Path) -> dict:
    from twin3d.io.registry import check_readable

    check_readable(path)
    return read_toml(path, "city recipe")


def _type_name(types) -> str:
    types = types if isinstance(types, tuple) else (types,)
    names = {str: "a string", int: "an integer", list: "an array", dict: "a table"}
    return " or ".join(names.get(t, t.__name__) for t in types)


def _check_keys(path: Path, table, schema: dict, where: str) -> None:
    """Unknown keys, missing required keys and wrong types -> InputError naming the key."""
    prefix = f"{where}." if where else ""
    if not isinstance(table, dict):
        raise InputError(path, f"{where}: must be a table")
    for key, value in table.items():
        if key not in schema:
            if "*" in schema:
                continue
            known = ", ".join(k for k in schema if k != "*")
            raise InputError(path, f"{prefix}{key}: unknown key (known: {known})")
        types, _ = schema[key]
        if not isinstance(value, types) or (int in (types if isinstance(types, tuple) else (types,))
                                            and isinstance(value, bool)):
            raise InputError(path, f"{prefix}{key}: must be {_type_name(types)}, got {type(value).__name__}")
    for key, spec in schema.items():
        if spec is not None and spec[1] and key not in table:
            raise InputError(path, f"{prefix}{key}: missing (required)")


def _source_path(recipe: Path, text: str, key: str) -> Path:
    p = Path(text).expanduser()
    p = p if p.is_absolute() else recipe.parent / p
    if not p.is_file():
        raise InputError(recipe, f"{key}: no such file {str(p)!r}")
    return p


def _normalise(crs: str | None, recipe: Path, key: str) -> str | None:
    from twin3d.io.crs import normalise_crs

    try:
        return normalise_crs(crs)
    except InputError as exc:
        raise InputError(recipe, f"{key}: {exc.reason}") from None


def _agree(recipe: Path, target: str | None, crs: str | None, key: str) -> str | None:
    """The common CRS so far; InputError when ``crs`` differs from it (no reprojection)."""
    crs = _normalise(crs, recipe, key)
    if crs is None or target is None or crs == target:
        return target or crs
    raise InputError(recipe, f"{key}: CRS {crs} differs from {target}; reprojection is not supported, "
                             "convert the source first")


def _generated(path: Path, recipe: dict) -> City:
    from twin3d.model.generate import CRS, generate_city

    _check_keys(path, recipe["generate"], GENERATE_KEYS, "generate")
    mixed = [k for k in ("buildings", "terrain", "networks") if k in recipe]
    if mixed:
        raise InputError(path, f"generate: cannot be combined with {', '.join(mixed)}")
    _agree(path, _normalise(recipe.get("crs"), path, "crs"), CRS, "generate")
    options = {"n_buildings": recipe["generate"].get("buildings", 3000),
               "seed": recipe["generate"].get("seed", 0)}
    if "name" in recipe:
        options["name"] = recipe["name"]
    try:
        return generate_city(**options)
    except InputError as exc:
        raise InputError(path, f"generate: {exc.reason}") from None


def _reader_call(recipe: Path, reader, source: Path, options: dict, key: str):
    """Call a reader with the recipe's options, after checking that it takes them."""
    params = inspect.signature(reader).parameters
    takes_any = any(p.kind == p.VAR_KEYWORD for p in params.values())
    accepted = [name for name in list(params)[1:] if params[name].kind != params[name].VAR_KEYWORD]
    for name in options:
        if not takes_any and name not in accepted:
            raise InputError(recipe, f"{key}.{name}: not an option of {reader.__name__} "
                                     f"(options: {', '.join(accepted) or 'none'})")
    return reader(source, **options)


def _assembled(path: Path, recipe: dict) -> City:
    from twin3d.io.registry import reader_for

    crs = _normalise(recipe.get("crs"), path, "crs")
    parts: list[Buildings] = []
    layers: dict[str, ContextLayer] = {}
    terrain = None
    for k, source in enumerate(recipe.get("buildings", [])):
        key = f"buildings[{k}]"
        _check_keys(path, source, SOURCE_KEYS, key)
        file = _source_path(path, source["path"], f"{key}.path")
        options = {o: v for o, v in source.items() if o != "path"}
        city = _reader_call(path, reader_for(file), file, options, key)
        crs = _agree(path, crs, city.crs, key)
        parts.append(city.buildings)
        for name, layer in city.layers.items():
            layers[name] = _concat_layers(layers[name], layer) if name in layers else layer
        terrain = terrain or city.terrain
    if "terrain" in recipe:
        terrain, crs = _terrain(path, recipe["terrain"], crs)
    networks = {}
    for k, entry in enumerate(recipe.get("networks", [])):
        kind, net, crs = _network(path, entry, crs, f"networks[{k}]")
        if kind in networks:
            raise InputError(path, f"networks[{k}].kind: a second {kind} network (one per kind)")
        networks[kind] = net
    buildings = Buildings.concat(parts) if parts else Buildings()
    name = recipe.get("name", path.stem)
    return City(name=name, crs=crs, buildings=buildings, terrain=terrain, networks=networks, layers=layers)


def _terrain(path: Path, entry, crs: str | None):
    from twin3d.io.registry import reader_for

    _check_keys(path, entry, SOURCE_KEYS, "terrain")
    file = _source_path(path, entry["path"], "terrain.path")
    options = {o: v for o, v in entry.items() if o != "path"}
    city = _reader_call(path, reader_for(file), file, options, "terrain")
    if city.terrain is None:
        raise InputError(path, f"terrain.path: {file.name} holds no terrain raster")
    return city.terrain, _agree(path, crs, city.crs, "terrain")


def _network(path: Path, entry, crs: str | None, key: str):
    """(kind, Network, CRS so far) of one [[networks]] entry; the reader transforms to the recipe's CRS."""
    _check_keys(path, entry, NETWORK_KEYS, key)
    kind = entry["kind"]
    if kind not in NETWORK_KINDS:
        raise InputError(path, f"{key}.kind: must be one of {', '.join(NETWORK_KINDS)}, got {kind!r}")
    file = _source_path(path, entry["path"], f"{key}.path")
    fmt = entry.get("format", NETWORK_FORMAT_OF.get(file.suffix.lower()))
    if fmt not in NETWORK_READERS:
        raise InputError(path, f"{key}.format: must be one of {', '.join(NETWORK_READERS)} "
                               f"(not told by the extension {file.suffix!r}), got {fmt!r}")
    spec, default_crs = NETWORK_READERS[fmt]
    options = {o: v for o, v in entry.items() if o not in ("kind", "path", "format")}
    if fmt == "geojson":
        options["kind"] = kind
    source_crs = options.get("crs", default_crs)
    if crs is not None and "to_crs" not in options and (source_crs is not None or fmt == "geojson"):
        options["to_crs"] = crs  # the network readers transform coordinates themselves
    module, func = spec.split(":")
    net = _reader_call(path, getattr(importlib.import_module(module), func), file, options, key)
    if net.kind != kind:
        raise InputError(path, f"{key}.kind: {file.name} holds a {net.kind} network, not {kind}")
    return kind, net, _agree(path, crs, options.get("to_crs", source_crs), key)


def _attribute_tables(path: Path, recipe: dict) -> list:
    tables = recipe.get("attributes", [])
    return [tables] if isinstance(tables, dict) else tables


def _concat_layers(a: ContextLayer, b: ContextLayer) -> ContextLayer:
    return ContextLayer(a.name, Mesh.concat([a.mesh, b.mesh], [0, a.n_features]),
                        np.concatenate([a.feature_id, b.feature_id]),
                        np.concatenate([a.feature_kind, b.feature_kind]), a.attributes + b.attributes)


# estimates that depend on a building's use: recomputed when a table gives a new use
_USE_ESTIMATES = (("population", "population_estimated"), ("replacement_value", "value_estimated"))
_TRUE, _FALSE = {"true", "1", "yes", "y", "t"}, {"false", "0", "no", "n", "f"}


def _convert(text: str, dtype: np.dtype):
    """A CSV cell as the building table column's type; ValueError when it cannot be."""
    if dtype.kind == "f":
        return float(text)
    if dtype.kind in "iu":
        value = float(text)
        if not value.is_integer():
            raise ValueError("not a whole number")
        return int(value)
    if dtype.kind == "b":
        low = text.strip().lower()
        if low not in _TRUE | _FALSE:
            raise ValueError("not true/false")
        return low in _TRUE
    return text


def _read_table(csv_path: Path, id_column: str, columns: dict, delimiter: str, recipe: Path, key: str):
    """Rows of the CSV as ``{id: {table column: value}}``, converted by the table's dtypes."""
    for name, source in columns.items():
        if name not in COLUMNS or name == "id":
            known = ", ".join(c for c in COLUMNS if c != "id")
            raise InputError(recipe, f"{key}.columns.{name}: not a building table column (known: {known})")
        if not isinstance(source, str):
            raise InputError(recipe, f"{key}.columns.{name}: must be a string (the CSV column)")
    if len(delimiter) != 1:
        raise InputError(recipe, f"{key}.delimiter: must be one character, got {delimiter!r}")
    try:
        with csv_path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh, delimiter=delimiter)
            header = reader.fieldnames or []
            for name, source in {"id": id_column, **columns}.items():
                if source not in header:
                    where = f"{key}.id" if name == "id" else f"{key}.columns.{name}"
                    raise InputError(recipe, f"{where}: no column {source!r} in {csv_path.name} "
                                             f"(columns: {', '.join(header)})")
            return _rows(reader, csv_path, id_column, columns)
    except UnicodeDecodeError:
        raise InputError(csv_path, "not UTF-8 text") from None
    except csv.Error as exc:
        raise InputError(csv_path, f"malformed CSV: {exc}") from None


def _rows(reader, csv_path: Path, id_column: str, columns: dict) -> dict[str, dict]:
    rows: dict[str, dict] = {}
    for row in reader:
        line = reader.line_num
        ident = (row.get(id_column) or "").strip()
        if not ident:
            raise InputError(csv_path, f"line {line}: empty id in column {id_column!r}")
        if ident in rows:
            raise InputError(csv_path, f"line {line}: id {ident!r} appears twice")
        values = {}
        for name, source in columns.items():
            text = (row.get(source) or "").strip()
            if not text:
                continue  # missing: keep what the buildings have
            try:
                values[name] = _convert(text, np.dtype(COLUMNS[name][0]))
            except ValueError:
                kind = np.dtype(COLUMNS[name][0]).name
                raise InputError(csv_path, f"line {line}: column {source!r}: cannot read {text!r} "
                                           f"as {kind}") from None
        rows[ident] = values
    return rows


def join_attributes(buildings: Buildings, csv_path: Path, id_column: str, columns: dict,
                    delimiter: str = ",", recipe: Path | None = None, key: str = "attributes") -> Buildings:
    """Join a CSV table onto the buildings by id.

    ``columns`` maps building table columns to CSV columns; values are
    converted to the table column's type, empty cells are left alone.  Ids the
    buildings lack are reported in a warning.  A joined population or value
    clears its estimated flag; a joined use drops the use-dependent estimates
    so that :func:`~twin3d.model.complete_table` makes them again.
    """
    rows = _read_table(csv_path, id_column, columns, delimiter, recipe or csv_path, key)
    index = {ident: i for i, ident in enumerate(buildings.table["id"])}
    unknown = [ident for ident in rows if ident not in index]
    if unknown:
        warnings.warn(f"{csv_path}: {len(unknown)} of {len(rows)} ids are not among the buildings "
                      f"(first: {', '.join(unknown[:5])})", stacklevel=2)
    t = buildings.table
    joined: dict[str, np.ndarray] = {}
    for name in columns:
        hit = [(index[i], v[name]) for i, v in rows.items() if i in index and name in v]
        joined[name] = np.array([h[0] for h in hit], dtype=np.int64)
        if hit:
            t[name][joined[name]] = np.array([h[1] for h in hit], dtype=t[name].dtype)
    if "use" in joined:
        _reset_use_estimates(t, joined)
    for value, flag in _USE_ESTIMATES:
        if value in joined:
            t[flag][joined[value]] = False
    bad_use = [u for u in np.unique(t["use"].astype(str)) if u and u not in USES]
    if "use" in columns and bad_use:
        warnings.warn(f"{csv_path}: unknown uses {', '.join(map(str, bad_use[:5]))} become the default use "
                      f"(uses: {', '.join(USES)})", stacklevel=2)
    return buildings


def _reset_use_estimates(t: dict, joined: dict[str, np.ndarray]) -> None:
    """Drop the estimates made for the old use of re-used buildings, unless the table gave them."""
    changed = joined["use"]
    for value, flag in (*_USE_ESTIMATES, ("capacity", None)):
        redo = np.setdiff1d(changed, joined.get(value, []))
        if flag is None:
            t[value][redo] = 0.0  # no flag says whether beds were estimated: estimate again
        else:
            redo = redo[t[flag][redo]]
            t[value][redo] = np.nan
