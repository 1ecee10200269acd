"""Exports of what the scene shows: a PNG of the view, a GLB of the current frame, the KPIs as CSV.

The GLB holds one node per drawn surface — the buildings (as drawn now, with the colours
shown as ``COLOR_0`` and each vertex's building in ``_BUILDING``), the terrain, the context
layers and the wet cells of the water surface — with positions shifted to the city origin
as float32, y up, under a root node translated to the origin; the origin is also kept
exactly in ``asset.extras.twin3d_origin``, as :mod:`twin3d.io.gltf_write` does.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import struct

import numpy as np


def screenshot_png(plotter) -> bytes:
    """The plotter's render window, rendered now at its current size, as PNG bytes."""
    from vtkmodules.vtkIOImage import vtkPNGWriter
    from vtkmodules.vtkRenderingCore import vtkWindowToImageFilter

    window = plotter.render_window
    window.Render()
    grab = vtkWindowToImageFilter()
    grab.SetInput(window)
    grab.SetInputBufferTypeToRGB()
    grab.ReadFrontBufferOff()
    grab.Update()
    writer = vtkPNGWriter()
    writer.SetInputConnection(grab.GetOutputPort())
    writer.WriteToMemoryOn()
    writer.Write()
    return bytes(memoryview(writer.GetResult()))


def _triangles_of(dataset) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(points, triangles, cell_of_triangle)`` of what a dataset mapper draws: blanked
    cells dropped, polygons triangulated."""
    import pyvista as pv
    from vtkmodules.vtkFiltersCore import vtkTriangleFilter
    from vtkmodules.vtkFiltersGeometry import vtkGeometryFilter

    surface = vtkGeometryFilter()
    surface.SetInputData(dataset)
    surface.Update()
    poly = pv.wrap(surface.GetOutput())
    poly.cell_data["_cell"] = np.arange(poly.n_cells)
    tri = vtkTriangleFilter()
    tri.SetInputData(poly)
    tri.PassLinesOff()
    tri.PassVertsOff()
    tri.Update()
    out = pv.wrap(tri.GetOutput())
    if not out.n_cells:
        return np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int64), np.zeros(0, dtype=np.int64)
    faces = np.asarray(out.faces).reshape(-1, 4)[:, 1:]
    return np.asarray(out.points, dtype=np.float64), faces, np.asarray(out.cell_data["_cell"])


def _vertex_colours(dataset, n_points: int, triangles: np.ndarray, cell: np.ndarray) -> np.ndarray | None:
    """RGB (0-1) per point from a dataset's per-cell ``colour`` array, None without one."""
    if "colour" not in dataset.cell_data:
        return None
    rgb = np.asarray(dataset.cell_data["colour"], dtype=np.float32)[cell] / 255.0
    out = np.ones((n_points, 3), dtype=np.float32)
    out[triangles.reshape(-1)] = np.repeat(rgb, 3, axis=0)
    return out


def frame_surfaces(scene) -> dict[str, dict]:
    """The city's surfaces as drawn now, in local coordinates (z up, shifted to the origin):
    terrain, context layers, buildings and the water surface, those visible.

    Returns
    -------
    dict
        ``{name: {"points" (n, 3), "triangles" (m, 3), "colour" (n, 3) or None,
        "building" (n,) or None}}`` for the buildings, the terrain, the context layers and
        the water surface (wet cells only); empty surfaces are left out.
    """
    from twin3d.scene.picking import drawn_dataset

    layers = [n for n in scene.actors if n in scene.city.layers or n.removeprefix("context_") in scene.city.layers]
    out = {}
    for name in ("terrain", *layers, "buildings", "water"):
        actor = scene.actors.get(name)
        if actor is None or not actor.GetVisibility():
            continue
        data = drawn_dataset(actor)
        if data is None:
            continue
        import pyvista as pv

        data = pv.wrap(data)
        points, triangles, cell = _triangles_of(data)
        if not len(triangles):
            continue
        surface = {"points": points, "triangles": triangles, "colour": _vertex_colours(data, len(points),
                                                                                      triangles, cell),
                   "building": None}
        if name == "buildings":
            building = np.zeros(len(points), dtype=np.float32)
            building[triangles.reshape(-1)] = np.repeat(np.asarray(data.cell_data["feature"])[cell], 3)
            surface["building"] = building
        out[name] = surface
    return out


def _y_up(points: np.ndarray) -> np.ndarray:
    return np.stack([points[:, 0], points[:, 2], -points[:, 1]], axis=1).astype(np.float32)


def glb_bytes(surfaces: dict[str, dict], origin, extras: dict | None = None) -> bytes:
    """A GLB of named triangle surfaces (local z-up coordinates), one node each, under a root
    node translated to ``origin`` (city CRS, written y-up like :mod:`twin3d.io.gltf_write`)."""
    import pygltflib as gl

    arrays, views, accessors, meshes, nodes = [], [], [], [], []
    offset = 0

    def add(array: np.ndarray, target, kind, component, with_bounds=False) -> int:
        nonlocal offset
        data = np.ascontiguousarray(array)
        views.append(gl.BufferView(buffer=0, byteOffset=offset, byteLength=data.nbytes, target=target))
        arrays.append(data.tobytes() + b"\0" * (-data.nbytes % 4))
        offset += data.nbytes + (-data.nbytes % 4)
        count = len(data) if kind != gl.SCALAR or data.ndim == 1 else data.size
        lo_hi = ({"min": data.min(axis=0).tolist(), "max": data.max(axis=0).tolist()} if with_bounds else {})
        accessors.append(gl.Accessor(bufferView=len(views) - 1, componentType=component, count=int(count),
                                     type=kind, **lo_hi))
        return len(accessors) - 1

    for name, s in surfaces.items():
        attributes = {"POSITION": add(_y_up(s["points"]), gl.ARRAY_BUFFER, gl.VEC3, gl.FLOAT, True)}
        if s.get("colour") is not None:
            attributes["COLOR_0"] = add(np.asarray(s["colour"], np.float32), gl.ARRAY_BUFFER, gl.VEC3, gl.FLOAT)
        if s.get("building") is not None:
            attributes["_BUILDING"] = add(np.asarray(s["building"], np.float32), gl.ARRAY_BUFFER, gl.SCALAR,
                                          gl.FLOAT)
        indices = add(np.asarray(s["triangles"], np.uint32).reshape(-1), gl.ELEMENT_ARRAY_BUFFER, gl.SCALAR,
                      gl.UNSIGNED_INT)
        meshes.append(gl.Mesh(name=name, primitives=[gl.Primitive(attributes=gl.Attributes(**attributes),
                                                                  indices=indices)]))
        nodes.append(gl.Node(name=name, mesh=len(meshes) - 1))
    o = [float(v) for v in origin]
    root = gl.Node(name="city", translation=[o[0], o[2], -o[1]], children=list(range(1, len(nodes) + 1)))
    data = b"".join(arrays)
    gltf = gl.GLTF2(asset=gl.Asset(generator="twin3d"), scene=0, scenes=[gl.Scene(nodes=[0])],
                    nodes=[root] + nodes, meshes=meshes, accessors=accessors, bufferViews=views,
                    buffers=[gl.Buffer(byteLength=len(data))] if data else [])
    doc = gl.delete_empty_keys(gl.gltf_asdict(gltf))
    doc["asset"]["extras"] = {"twin3d_origin": o, **(extras or {})}
    text = json.dumps(doc, allow_nan=False, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 4)
    chunks = struct.pack("<I4s", len(text), b"JSON") + text
    if data:
        chunks += struct.pack("<I4s", len(data), b"BIN\0") + data
    return struct.pack("<4sII", b"glTF", 2, 12 + len(chunks)) + chunks


def frame_glb(scene) -> bytes:
    """A GLB of the scene's current frame: the city as drawn and the water surface's wet cells.

    ``asset.extras`` holds the origin, the CRS, the city's name, and the frame and its time
    (seconds from the scenario start) when results are attached.
    """
    extras = {"crs": scene.city.crs, "name": scene.city.name, "frame": scene.frame}
    if scene.results is not None and scene.frame is not None:
        extras["time_s"] = float(scene.results.times()[scene.frame])
    return glb_bytes(frame_surfaces(scene), scene.city.origin, extras)


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def clock_iso(start: str, seconds: float) -> str:
    """The ISO date-time ``seconds`` after ``start``; empty when ``start`` is not a date-time."""
    try:
        return (dt.datetime.fromisoformat(start) + dt.timedelta(seconds=float(seconds))).isoformat()
    except (TypeError, ValueError):
        return ""


def kpi_columns(results) -> list[tuple[str, str, int | None]]:
    """``(header, kpi name, column index or None)`` of every ``/kpi/<name>`` series; a header
    is ``"<name> [<units>]"`` or ``"<name>: <column> [<units>]"``."""
    out = []
    group = results.file.get("kpi")
    for name in (sorted(group) if group is not None else []):
        ds = group[name]
        units = _text(ds.attrs.get("units", ""))
        suffix = f" [{units}]" if units else ""
        if ds.ndim == 1:
            out.append((f"{name}{suffix}", name, None))
        else:
            columns = [_text(c) for c in ds.attrs.get("columns", [])] or [str(i) for i in range(ds.shape[1])]
            out += [(f"{name}: {c}{suffix}", name, i) for i, c in enumerate(columns)]
    return out


def _number(value: float) -> str:
    return "" if math.isnan(value) else repr(float(value))


def kpi_csv(results) -> str:
    """Every KPI series of a results file as CSV: ``time_s``, ``clock`` (ISO date-time), then
    one column per KPI or per KPI column with its units in the header; one row per frame.
    NaN (unknown) is an empty cell; values keep full float precision."""
    n = results.n_frames
    times = results.times()[:n]
    start = _text(results.file.attrs.get("start", ""))
    columns = kpi_columns(results)
    series = {name: results.file["kpi"][name][:n] for name in {c[1] for c in columns}}
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["time_s", "clock", *[c[0] for c in columns]])
    for k in range(n):
        values = [series[name][k] if i is None else series[name][k, i] for _, name, i in columns]
        writer.writerow([_number(times[k]), clock_iso(start, times[k]), *[_number(v) for v in values]])
    return buffer.getvalue()
