"""Small hand-built cities for the network tests."""

from __future__ import annotations

import numpy as np

from twin3d.model import Buildings, City, Dependencies, Network
from twin3d.model.extrude import extrude_convex


def boxes(uses, centres_xy) -> Buildings:
    """One 4 m x 4 m, 6 m high building per use, centred on each point."""
    c = np.asarray(centres_xy, dtype=np.float64).reshape(-1, 2)
    corners = np.array([[-2.0, -2.0], [2.0, -2.0], [2.0, 2.0], [-2.0, 2.0]])
    mesh = extrude_convex(c[:, None, :] + corners[None], np.zeros(len(c)), np.full(len(c), 6.0))
    ids = [f"b{i}" for i in range(len(c))]
    return Buildings(mesh, {"id": ids, "use": list(uses)})


def network(kind: str, xy, node_kind, edges, edge_kind, edge_length=None, edge_attributes=None) -> Network:
    """A network with nodes at ``xy`` (z = 0)."""
    xy = np.asarray(xy, dtype=np.float64)
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    return Network(kind, [f"{kind}{i}" for i in range(len(xy))], np.column_stack([xy, np.zeros(len(xy))]),
                   list(node_kind), edges, [f"{kind}-e{k}" for k in range(len(edges))], list(edge_kind),
                   edge_length=edge_length, edge_attributes=edge_attributes or [])


def dependencies(rows) -> Dependencies:
    """Dependencies from ``(consumer_layer, consumer_index, provider_layer, provider_index)`` rows."""
    cl, ci, pl, pi = zip(*rows, strict=True) if rows else ((), (), (), ())
    return Dependencies(np.array(cl, dtype=object), np.array(ci), np.array(pl, dtype=object), np.array(pi))


def city(uses, centres_xy, networks: dict, rows=()) -> City:
    return City(buildings=boxes(uses, centres_xy), networks=networks, dependencies=dependencies(list(rows)))
