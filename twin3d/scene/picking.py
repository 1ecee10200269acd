"""Server-side picking: what is under a pixel of the rendered view.

Display coordinates are VTK's: pixels of the render window, origin at the lower-left
corner.  A vtk.js ``LeftButtonPress`` event of trame's remote view gives exactly these
(``event["position"]``: CSS pixels of the view's canvas from its lower-left corner; the
server's render window has the canvas's CSS size, whatever the devicePixelRatio), so
its position goes to :func:`pick_at` unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PICK_TOLERANCE = 0.0005  # fraction of the window diagonal, for lines and points
NETWORK_EDGE_ARRAY = "edge"  # cell array of a network actor: the edge index of each cell


@dataclass
class Pick:
    """What a pixel shows: the actor's name, the building index (buildings only), the
    picked point in the city CRS (``None`` when the pixel shows background) and the
    picked cell of the actor's dataset (``None``: background)."""

    actor: str | None
    building: int | None
    point: np.ndarray | None  # (3,) float64, city CRS
    cell: int | None = None

    def as_dict(self) -> dict:
        return {"actor": self.actor, "building": self.building, "cell": self.cell,
                "point": None if self.point is None else [float(v) for v in self.point]}


def _picker(scene):
    """The scene's cell picker, made once, with a cell locator per static dataset
    (buildings, terrain, context layers): a pick then costs milliseconds, not a scan."""
    from vtkmodules.vtkCommonDataModel import vtkStaticCellLocator
    from vtkmodules.vtkRenderingCore import vtkCellPicker

    cache = scene.__dict__.setdefault("_pick_cache", {})
    picker = cache.get("picker")
    if picker is None:
        picker = cache["picker"] = vtkCellPicker()
        picker.SetTolerance(PICK_TOLERANCE)
        cache["located"] = {}
    located = cache["located"]
    for name, actor in scene.actors.items():
        if name == "water" or not actor.GetPickable():  # water points move every frame: no locator
            continue
        data = actor.GetMapper().GetInput()
        if data is None or located.get(name, (None,))[0] is data:
            continue
        if name in located:
            picker.RemoveLocator(located[name][1])
        locator = vtkStaticCellLocator()
        locator.SetDataSet(data)
        locator.BuildLocator()
        picker.AddLocator(locator)
        located[name] = (data, locator)
    return picker


def pick_at(scene, x: float, y: float) -> Pick:
    """Pick at display pixel (``x``, ``y``), origin lower-left as VTK counts, on the scene's
    first renderer: the nearest cell of any pickable actor (helper actors such as the
    highlight, normals and measurement marks are not pickable).

    Parameters
    ----------
    scene : CityScene
        The scene whose plotter was rendered at its current window size.
    x, y : float
        Display coordinates in pixels from the lower-left corner.

    Returns
    -------
    Pick
        ``Pick(None, None, None)`` for background.
    """
    picker = _picker(scene)
    renderer = scene.plotter.renderer
    if not picker.Pick(float(x), float(y), 0.0, renderer):
        return Pick(None, None, None)
    actor = picker.GetActor()
    name = next((n for n, a in scene.actors.items() if a is actor), None)
    point = np.array(picker.GetPickPosition(), dtype=np.float64) + scene.city.origin
    cell = int(picker.GetCellId())
    building = None
    if name == "buildings" and cell >= 0:
        feature = actor.GetMapper().GetInput().GetCellData().GetArray("feature")
        building = int(feature.GetValue(cell)) if feature is not None else None
    return Pick(name, building, point, cell if cell >= 0 else None)


def _value(array, cell: int):
    """One cell's value of a VTK array as plain Python (a list for vectors)."""
    n = array.GetNumberOfComponents()
    if array.IsA("vtkStringArray"):
        return array.GetValue(cell)
    values = [array.GetComponent(cell, c) for c in range(n)]
    values = [int(v) if array.GetDataType() not in (10, 11) else float(v) for v in values]  # VTK_FLOAT/DOUBLE
    return values[0] if n == 1 else values


def _network_kind(city, actor_name: str) -> str | None:
    """The network an actor draws: its name is the kind, or ends with it (``network_power``)."""
    for kind in city.networks:
        if actor_name == kind or actor_name.endswith(("_" + kind, ":" + kind, "/" + kind)):
            return kind
    return None


def cell_attributes(scene, pick: Pick) -> dict:
    """What an engineer sees of a picked cell of any actor: its dataset's cell arrays at
    that cell, plus the feature it belongs to where the scene knows it.

    Context layers (cell array ``feature``) add the feature's id, kind and source
    attributes; network actors (named after the network kind, with a cell array
    ``edge``) add the edge's id, kind, end nodes, length, capacity and attributes.

    Returns
    -------
    dict
        ``{"actor", "cell", "cell_data": {name: value}, "feature": {...} or None}``;
        empty ``cell_data`` for a background pick.
    """
    out = {"actor": pick.actor, "cell": pick.cell, "cell_data": {}, "feature": None}
    actor = scene.actors.get(pick.actor) if pick.actor else None
    if actor is None or pick.cell is None:
        return out
    data = actor.GetMapper().GetInput()
    cells = data.GetCellData()
    for i in range(cells.GetNumberOfArrays()):
        array = cells.GetAbstractArray(i)
        if array is not None and array.GetName() and pick.cell < array.GetNumberOfTuples():
            out["cell_data"][array.GetName()] = _value(array, pick.cell)
    city = scene.city
    feature = out["cell_data"].get("feature")
    if pick.actor in city.layers and isinstance(feature, int):
        layer = city.layers[pick.actor]
        if 0 <= feature < layer.n_features:
            out["feature"] = {"id": str(layer.feature_id[feature]), "kind": str(layer.feature_kind[feature]),
                              "attributes": dict(layer.attributes[feature])}
    kind = _network_kind(city, pick.actor)
    edge = out["cell_data"].get(NETWORK_EDGE_ARRAY)
    if kind is not None and isinstance(edge, int):
        out["feature"] = network_edge(city.networks[kind], edge)
    return out


def network_edge(network, k: int) -> dict | None:
    """Edge ``k`` of a network as a plain dict (id, kind, end node ids, length m, capacity)."""
    if not 0 <= k < len(network.edge_id):
        return None
    a, b = (int(v) for v in network.edges[k])
    capacity = float(network.edge_capacity[k])
    return {"network": network.kind, "id": str(network.edge_id[k]), "kind": str(network.edge_kind[k]),
            "from": str(network.node_id[a]), "to": str(network.node_id[b]),
            "length_m": float(network.edge_length[k]), "capacity": capacity if np.isfinite(capacity) else None,
            "attributes": dict(network.edge_attributes[k])}
