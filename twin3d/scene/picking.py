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
NETWORK_EDGE_ARRAY = "edge"  # cell arrays of a network actor: the edge or node each cell draws (-1: neither)
NETWORK_NODE_ARRAY = "node"
MOVING_ACTORS = ("water", "heat", "plume", "allocation")  # rewritten per frame: picked without a locator


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


def drawn_dataset(actor):
    """The dataset an actor's mapper draws, brought up to date (pyvista may put a pass-through
    algorithm in front of the mapper, whose output is empty until the pipeline runs)."""
    mapper = actor.GetMapper()
    upstream = mapper.GetInputAlgorithm() if mapper.GetNumberOfInputConnections(0) else None
    if upstream is not None:
        upstream.Update()
    return mapper.GetInput()


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
        if name in MOVING_ACTORS or not actor.GetPickable():
            continue
        data = drawn_dataset(actor)
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
    if cell >= 0 and name is not None:
        # the buildings' triangles carry "feature"; facility glyphs carry the "building" they mark
        array = {"buildings": "feature", "facilities": "building"}.get(name)
        values = drawn_dataset(actor).GetCellData().GetArray(array) if array else None
        if values is not None and cell < values.GetNumberOfTuples():
            building = int(values.GetValue(cell))
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
    """The network an actor draws: ``network_<kind>`` (CityScene), or the kind itself."""
    for kind in city.networks:
        if actor_name in (kind, f"network_{kind}"):
            return kind
    return None


def _layer_name(city, actor_name: str) -> str | None:
    """The context layer an actor draws: its own name, or ``context_<name>`` where the name is taken."""
    for name in (actor_name, actor_name.removeprefix("context_")):
        if name in city.layers:
            return name
    return None


def cell_attributes(scene, pick: Pick) -> dict:
    """What an engineer sees of a picked cell of any actor: its dataset's cell arrays at
    that cell, plus the feature it belongs to where the scene knows it.

    Context layers (cell array ``feature``) add the feature's id, kind and source
    attributes; network actors (``network_<kind>``, cell arrays ``edge`` and ``node``, -1
    where the cell draws the other kind) add the edge's or node's id, kind and attributes.

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
    cells = drawn_dataset(actor).GetCellData()
    for i in range(cells.GetNumberOfArrays()):
        array = cells.GetAbstractArray(i)
        if array is not None and array.GetName() and pick.cell < array.GetNumberOfTuples():
            out["cell_data"][array.GetName()] = _value(array, pick.cell)
    city, data = scene.city, out["cell_data"]
    layer = _layer_name(city, pick.actor)
    feature = data.get("feature")
    if layer is not None and isinstance(feature, int) and 0 <= feature < city.layers[layer].n_features:
        lay = city.layers[layer]
        out["feature"] = {"layer": layer, "id": str(lay.feature_id[feature]), "kind": str(lay.feature_kind[feature]),
                          "attributes": dict(lay.attributes[feature])}
    kind = _network_kind(city, pick.actor)
    if kind is not None:
        edge, node = data.get(NETWORK_EDGE_ARRAY, -1), data.get(NETWORK_NODE_ARRAY, -1)
        if isinstance(edge, int) and edge >= 0:
            out["feature"] = network_edge(city.networks[kind], edge)
        elif isinstance(node, int) and node >= 0:
            out["feature"] = network_node(city.networks[kind], node)
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


def network_node(network, k: int) -> dict | None:
    """Node ``k`` of a network as a plain dict (id, kind, capacity, attributes)."""
    if not 0 <= k < len(network.node_id):
        return None
    capacity = float(network.node_capacity[k])
    return {"network": network.kind, "id": str(network.node_id[k]), "kind": str(network.node_kind[k]),
            "capacity": capacity if np.isfinite(capacity) else None, "attributes": dict(network.node_attributes[k])}


def display_position(scene, point) -> tuple[float, float]:
    """The display pixel (origin lower-left) where a point in the city CRS is drawn now."""
    renderer = scene.plotter.renderer
    local = np.asarray(point, dtype=np.float64).reshape(3) - scene.city.origin
    renderer.SetWorldPoint(*local, 1.0)
    renderer.WorldToDisplay()
    x, y, _ = renderer.GetDisplayPoint()
    return float(x), float(y)
