"""Plain mesh files as buildings: OBJ (one building per object or group), PLY and STL.

OBJ is parsed here rather than by open3d: open3d's reader drops the object and
group structure and passes vertices through float32, which moves national-grid
coordinates (x ~ 85,000, y ~ 447,000 m) by up to 1.6 cm (measured on the 3dfier
Delft file; float32 spacing there is 3 cm).  This parser keeps the text's
float64 values, at ~190,000 faces/s on one core.  PLY and STL have no groups; they are read with open3d
and split into connected components, one building each.

Mesh files carry no CRS; pass ``crs=`` when it is known.  Axes are taken as
they are (x east, y north, z up), which is what GIS exports such as 3dfier
write; a y-up file from a modelling tool must be rotated by the user.

3dfier writes one object per terrain feature, with its class as the material
(``Building``, ``BuildingWall``, ``Road``, ``Terrain``, ``Water``, ...).  Objects
whose materials are all non-building 3dfier classes go to context layers; every
other object is a building.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from twin3d.errors import InputError
from twin3d.model import Buildings, City, ContextLayer, Mesh, complete_table, empty_table
from twin3d.model.mesh import SURFACE_CODE
from twin3d.model.triangulate import triangulate_polygon

# 3dfier classes that are not buildings -> twin3d context layer
CONTEXT_CLASSES = {"road": "roads", "water": "water", "terrain": "landuse", "forest": "vegetation",
                   "separation": "landuse", "bridge": "bridges"}

# statements of the OBJ format that carry nothing a city needs
_IGNORED = {"vt", "vn", "vp", "s", "mtllib", "l", "p", "mg", "usemap", "maplib", "lod", "shadow_obj",
            "trace_obj", "ctech", "stech", "bevel", "c_interp", "d_interp", "cstype", "deg", "bmat",
            "step", "curv", "curv2", "surf", "parm", "trim", "hole", "scrv", "sp", "end", "con", "call",
            "csh"}


def read_mesh(path: Path, crs: str | None = None) -> City:
    """Read an OBJ, PLY or STL file as a :class:`~twin3d.model.City` of buildings.

    Parameters
    ----------
    path : Path
        ``.obj``: one building per object (``o``), else per group (``g``), else
        per connected component.  ``.ply`` / ``.stl``: one building per connected
        component.
    crs : str, optional
        The coordinates' CRS (mesh files do not say); None leaves it unknown.

    Returns
    -------
    City
        Buildings with float64 vertices, ids from the object/group names, and
        the table completed from the geometry.

    Raises
    ------
    InputError
        For an empty, binary-garbage, truncated or inconsistent file.

    Examples
    --------
    >>> city = read_mesh(Path("testarea.obj"), crs="EPSG:7415")  # doctest: +SKIP
    >>> len(city.buildings), sorted(city.layers)  # doctest: +SKIP
    (160, ['bridges', 'landuse', 'roads', 'vegetation', 'water'])
    """
    from twin3d.io.crs import normalise_crs

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".obj", ".ply", ".stl"):
        raise InputError(path, "mesh files must be .obj, .ply or .stl")
    if not path.is_file() or path.stat().st_size == 0:
        raise InputError(path, "no such file" if not path.exists() else "file is empty or not a file")
    crs = normalise_crs(crs, path)
    if suffix == ".obj":
        mesh, names, classes = _read_obj(path)
    else:
        mesh, names = _read_open3d(path)
        classes = [""] * len(names)
    _check_finite(path, mesh)
    buildings, layers = _split_context(mesh, names, classes)
    city = City(name=path.stem, crs=crs, buildings=complete_table(buildings), layers=layers,
                metadata={"source": os.fspath(path)})
    return city


def _check_finite(path: Path, mesh: Mesh) -> None:
    if not mesh.n_triangles:
        raise InputError(path, "no faces")
    used = mesh.vertices[np.unique(mesh.triangles)]
    if not np.isfinite(used).all():
        raise InputError(path, "vertex coordinates hold NaN or infinity")


# --------------------------------------------------------------------- OBJ


def _obj_lines(path: Path) -> list[str]:
    raw = path.read_bytes()
    if b"\x00" in raw[:65536]:
        raise InputError(path, "binary data, not a text OBJ file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return text.replace("\\\r\n", " ").replace("\\\n", " ").splitlines()


class _ObjScan:
    """One pass over the lines: vertex rows, face references and who each face belongs to."""

    def __init__(self, path: Path):
        self.path = path
        self.vertex_rows: list[list[str]] = []
        self.faces: list[list[str]] = []
        self.face_info: list[tuple[int, int, int, int]] = []  # object, group, material, vertices so far
        self.objects: dict[str, int] = {}
        self.groups: dict[str, int] = {}
        self.materials: dict[str, int] = {}

    def run(self, lines: list[str]) -> _ObjScan:
        obj = grp = mat = -1
        for no, line in enumerate(lines, start=1):
            t = line.split("#", 1)[0].split()
            if not t:
                continue
            key = t[0]
            if key == "v":
                if len(t) < 4:
                    raise InputError(self.path, f"line {no}: a vertex needs x, y and z")
                self.vertex_rows.append(t[1:4])
            elif key == "f" or key == "fo":
                if len(t) < 4:
                    raise InputError(self.path, f"line {no}: a face needs at least 3 vertices")
                self.faces.append(t[1:])
                self.face_info.append((obj, grp, mat, len(self.vertex_rows)))
            elif key == "o":
                obj = self.objects.setdefault(" ".join(t[1:]), len(self.objects))
            elif key == "g":
                grp = self.groups.setdefault(" ".join(t[1:]) or "default", len(self.groups))
            elif key == "usemtl":
                mat = self.materials.setdefault(" ".join(t[1:]), len(self.materials))
            elif key not in _IGNORED:
                raise InputError(self.path, f"line {no}: not an OBJ statement: {line.strip()[:40]!r}")
        return self


def _vertices(scan: _ObjScan) -> np.ndarray:
    try:
        return np.array(scan.vertex_rows, dtype=np.float64).reshape(-1, 3)
    except ValueError:
        bad = next(r for r in scan.vertex_rows if not _all_floats(r))
        raise InputError(scan.path, f"vertex coordinates are not numbers: {' '.join(bad)[:40]!r}") from None


def _all_floats(row: list[str]) -> bool:
    try:
        [float(x) for x in row]
    except ValueError:
        return False
    return True


def _face_indices(scan: _ObjScan, n_vertices: int) -> tuple[np.ndarray, np.ndarray]:
    """Flat 0-based vertex indices of all faces, and the vertex count of each face."""
    counts = np.fromiter(map(len, scan.faces), dtype=np.int64, count=len(scan.faces))
    refs = np.array([r for face in scan.faces for r in face])
    try:
        index = np.char.partition(refs, "/")[:, 0].astype(np.int64)
    except ValueError:
        raise InputError(scan.path, "face vertex references are not integers") from None
    seen = np.repeat(np.array([i[3] for i in scan.face_info], dtype=np.int64), counts)
    index = np.where(index < 0, seen + index, index - 1)  # negative: relative to vertices so far
    bad = (index < 0) | (index >= n_vertices)
    if bad.any():
        raise InputError(scan.path, f"{int(bad.sum())} face vertex references are 0 or out of range "
                                    f"(the file has {n_vertices} vertices)")
    return index, counts


def _triangulate_faces(vertices: np.ndarray, index: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray,
                                                                                              np.ndarray]:
    """Triangles of polygon faces and the face each came from, in face order.

    Triangles pass through; quads split on the diagonal that keeps both halves
    facing the same way (right for concave quads too); larger polygons go
    through earcut.
    """
    start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    tri_faces = np.flatnonzero(counts == 3)
    parts = [(tri_faces, index[start[tri_faces, None] + np.arange(3)])]
    quad_faces = np.flatnonzero(counts == 4)
    if len(quad_faces):
        q = index[start[quad_faces, None] + np.arange(4)]
        p = vertices[q] - vertices[q[:, :1]]
        n_a = np.cross(p[:, 1], p[:, 2])
        n_b = np.cross(p[:, 2], p[:, 3])
        use_02 = np.einsum("ij,ij->i", n_a, n_b) >= 0
        first = np.where(use_02[:, None], q[:, [0, 1, 2]], q[:, [0, 1, 3]])
        second = np.where(use_02[:, None], q[:, [0, 2, 3]], q[:, [1, 2, 3]])
        parts += [(quad_faces, first), (quad_faces, second)]
    for f in np.flatnonzero(counts > 4):
        ring = index[start[f]:start[f] + counts[f]]
        tri = triangulate_polygon(vertices, [ring])
        parts.append((np.full(len(tri), f), tri))
    face_of = np.concatenate([p[0] for p in parts])
    order = np.argsort(face_of, kind="stable")
    return np.concatenate([p[1] for p in parts]).reshape(-1, 3)[order], face_of[order]


def _surface_codes(materials: dict[str, int]) -> np.ndarray:
    """Semantic code per material: CityJSON/twin3d surface names, and ``*Wall`` as wall."""
    lower = {k.lower(): v for k, v in SURFACE_CODE.items()}
    codes = [lower.get(m.lower(), SURFACE_CODE["wall"] if m.lower().endswith("wall") else 0)
             for m in materials]
    return np.array(codes + [0], dtype=np.int8)  # last entry: no material (index -1)


def _read_obj(path: Path) -> tuple[Mesh, list[str], list[str]]:
    scan = _ObjScan(path).run(_obj_lines(path))
    vertices = _vertices(scan)
    if not scan.faces:
        raise InputError(path, "no faces")
    index, counts = _face_indices(scan, len(vertices))
    triangles, face_of = _triangulate_faces(vertices, index, counts)
    info = np.array(scan.face_info, dtype=np.int64).reshape(-1, 4)
    material = info[face_of, 2]
    surface = _surface_codes(scan.materials)[material]
    if scan.objects or scan.groups:
        column, table = (0, scan.objects) if scan.objects else (1, scan.groups)
        owner = info[face_of, column]  # -1: faces before the first o/g statement
        names = np.array(["default", *table], dtype=object)
        used, feature = np.unique(owner + 1, return_inverse=True)
        mesh = Mesh(vertices, triangles, feature, surface)
        names = list(names[used])
    else:
        mesh, names = _components(Mesh(vertices, triangles, np.zeros(len(triangles)), surface))
    mat_names = np.array([*scan.materials, ""], dtype=object)
    classes = _feature_classes(mesh.triangle_feature, mat_names[material], len(names))
    return mesh, names, classes


def _feature_classes(feature: np.ndarray, material: np.ndarray, n: int) -> list[str]:
    """The 3dfier context class of each feature whose materials all name one; else ''."""
    base = np.array([m.lower().removesuffix("wall") for m in material], dtype=object)
    is_context = np.isin(base, list(CONTEXT_CLASSES))
    n_tri = np.bincount(feature, minlength=n)
    n_context = np.bincount(feature, weights=is_context, minlength=n)
    classes = np.full(n, "", dtype=object)
    all_context = (n_tri > 0) & (n_context == n_tri)
    first = np.full(n, -1)
    first[feature[::-1]] = np.arange(len(feature))[::-1]
    classes[all_context] = base[first[all_context]]
    return list(classes)


# ----------------------------------------------------------------- PLY, STL


def _check_ply_stl_header(path: Path) -> None:
    with path.open("rb") as fh:
        head = fh.read(84)
    if path.suffix.lower() == ".ply":
        if not head.startswith(b"ply"):
            raise InputError(path, "not a PLY file (no 'ply' header)")
        return
    if head.lstrip().lower().startswith(b"solid") and b"\x00" not in head:
        return  # ASCII STL; open3d checks the rest
    if len(head) < 84:
        raise InputError(path, "not an STL file (too short for a binary header)")
    n = int.from_bytes(head[80:84], "little")
    if path.stat().st_size != 84 + 50 * n:
        raise InputError(path, f"binary STL says {n} triangles but its size does not match")


def _read_open3d(path: Path) -> tuple[Mesh, list[str]]:
    import open3d as o3d

    _check_ply_stl_header(path)
    with o3d.utility.VerbosityContextManager(o3d.utility.VerbosityLevel.Error):
        tm = o3d.io.read_triangle_mesh(str(path), enable_post_processing=False, print_progress=False)
    vertices = np.asarray(tm.vertices, dtype=np.float64)
    triangles = np.asarray(tm.triangles, dtype=np.int64)
    if not len(triangles):
        raise InputError(path, "no faces could be read")
    if triangles.min() < 0 or triangles.max() >= len(vertices):
        raise InputError(path, "face vertex references are out of range")
    return _components(Mesh(vertices, triangles, np.zeros(len(triangles))))


def _components(mesh: Mesh) -> tuple[Mesh, list[str]]:
    """One feature per edge-connected component (coincident vertices merged first)."""
    import open3d as o3d

    _, first, inverse = np.unique(mesh.vertices, axis=0, return_index=True, return_inverse=True)
    triangles = inverse.reshape(-1)[mesh.triangles]
    local = mesh.vertices[first] - mesh.vertices[first].min(axis=0)
    tm = o3d.geometry.TriangleMesh(o3d.utility.Vector3dVector(local),
                                   o3d.utility.Vector3iVector(triangles.astype(np.int32)))
    with o3d.utility.VerbosityContextManager(o3d.utility.VerbosityLevel.Error):
        cluster = np.asarray(tm.cluster_connected_triangles()[0], dtype=np.int64)
    # number components in order of their first triangle, so ids follow the file
    _, first_tri, feature = np.unique(cluster, return_index=True, return_inverse=True)
    rank = np.argsort(np.argsort(first_tri))
    feature = rank[feature]
    names = [f"component-{k}" for k in range(len(first_tri))]
    return Mesh(mesh.vertices[first], triangles, feature, mesh.triangle_surface), names


# ---------------------------------------------------------- buildings, layers


def _subset(mesh: Mesh, features: np.ndarray) -> Mesh:
    """The triangles of the given features, renumbered 0..len(features)-1, unused vertices dropped."""
    remap = np.full(mesh.triangle_feature.max() + 1 if mesh.n_triangles else 0, -1)
    remap[features] = np.arange(len(features))
    keep = remap[mesh.triangle_feature] >= 0
    used, tri = np.unique(mesh.triangles[keep], return_inverse=True)
    return Mesh(mesh.vertices[used], tri.reshape(-1, 3), remap[mesh.triangle_feature[keep]],
                mesh.triangle_surface[keep])


def _split_context(mesh: Mesh, names: list[str], classes: list[str]) -> tuple[Buildings, dict]:
    cls = np.array(classes, dtype=object)
    ids = np.array(names, dtype=object)
    is_building = cls == ""
    b_feat = np.flatnonzero(is_building)
    table = empty_table(len(b_feat))
    table["id"] = ids[b_feat]
    buildings = Buildings(_subset(mesh, b_feat), table)
    layers = {}
    for layer in sorted(set(CONTEXT_CLASSES[c] for c in cls[~is_building])):
        feat = np.flatnonzero(np.isin(cls, [k for k, v in CONTEXT_CLASSES.items() if v == layer]))
        layers[layer] = ContextLayer(layer, _subset(mesh, feat), ids[feat], cls[feat])
    return buildings, layers
