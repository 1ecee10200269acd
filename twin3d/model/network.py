"""Infrastructure networks (power, water, roads) as graphs with geometry, and their dependencies."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

NETWORK_KINDS = ("power", "water", "road")


@dataclass
class Network:
    """A graph of nodes and edges with coordinates in the city CRS.

    Edge ``k`` joins nodes ``edges[k, 0]`` and ``edges[k, 1]``; its polyline is
    ``edge_vertices[edge_offsets[k]:edge_offsets[k + 1]]`` (at least its two
    end points).  ``capacity`` is in the network's own unit: MVA for power,
    m3/s (or the pump's design flow) for water, vehicles/h for roads.
    """

    kind: str
    node_id: np.ndarray
    node_xyz: np.ndarray
    node_kind: np.ndarray
    edges: np.ndarray
    edge_id: np.ndarray
    edge_kind: np.ndarray
    node_capacity: np.ndarray | None = None
    edge_capacity: np.ndarray | None = None
    edge_length: np.ndarray | None = None
    edge_vertices: np.ndarray | None = None
    edge_offsets: np.ndarray | None = None
    node_attributes: list[dict] = field(default_factory=list)
    edge_attributes: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        n, m = len(self.node_id), len(self.edge_id)
        self.node_id = np.asarray(self.node_id, dtype=object)
        self.node_kind = np.asarray(self.node_kind, dtype=object)
        self.edge_id = np.asarray(self.edge_id, dtype=object)
        self.edge_kind = np.asarray(self.edge_kind, dtype=object)
        self.node_xyz = np.asarray(self.node_xyz, dtype=np.float64).reshape(n, 3)
        self.edges = np.asarray(self.edges, dtype=np.int64).reshape(m, 2)
        if m and (self.edges.min() < 0 or self.edges.max() >= n):
            raise ValueError(f"{self.kind} network: edge refers to a missing node")
        if self.edge_vertices is None:
            self.edge_vertices = self.node_xyz[self.edges.reshape(-1)]
            self.edge_offsets = np.arange(0, 2 * m + 1, 2)
        self.edge_vertices = np.asarray(self.edge_vertices, dtype=np.float64).reshape(-1, 3)
        self.edge_offsets = np.asarray(self.edge_offsets, dtype=np.int64)
        if self.edge_length is None:
            seg = np.linalg.norm(np.diff(self.edge_vertices[:, :2], axis=0), axis=1)
            cum = np.concatenate([[0.0], np.cumsum(seg)])
            self.edge_length = cum[self.edge_offsets[1:] - 1] - cum[self.edge_offsets[:-1]]
        self.edge_length = np.asarray(self.edge_length, dtype=np.float64)
        self.node_capacity = _column(self.node_capacity, n)
        self.edge_capacity = _column(self.edge_capacity, m)
        self.node_attributes = self.node_attributes or [{} for _ in range(n)]
        self.edge_attributes = self.edge_attributes or [{} for _ in range(m)]

    @property
    def n_nodes(self) -> int:
        return len(self.node_id)

    @property
    def n_edges(self) -> int:
        return len(self.edge_id)

    def adjacency(self):
        """The undirected graph as a ``scipy.sparse.csr_matrix`` weighted by edge length."""
        from scipy.sparse import coo_matrix

        i, j = self.edges[:, 0], self.edges[:, 1]
        w = np.maximum(self.edge_length, 1e-9)
        n = self.n_nodes
        return coo_matrix((np.r_[w, w], (np.r_[i, j], np.r_[j, i])), shape=(n, n)).tocsr()

    def equals(self, other: Network) -> bool:
        names = ("node_id", "node_xyz", "node_kind", "edges", "edge_id", "edge_kind",
                 "node_capacity", "edge_capacity", "edge_length", "edge_vertices", "edge_offsets")
        return (
            self.kind == other.kind
            and all(np.array_equal(getattr(self, k), getattr(other, k), equal_nan=k.endswith(
                ("capacity", "length", "xyz", "vertices"))) for k in names)
            and self.node_attributes == other.node_attributes
            and self.edge_attributes == other.edge_attributes
        )


def _column(values, n: int) -> np.ndarray:
    if values is None:
        return np.full(n, np.nan)
    return np.asarray(values, dtype=np.float64).reshape(n)


@dataclass
class Dependencies:
    """Who needs whom: row ``k`` says consumer needs provider.

    Layers are network kinds (``power``, ``water``, ``road``) or ``buildings``;
    indices are node (or building) indices in that layer.  A water pump needs a
    power node; a hospital needs power, water and road access.
    """

    consumer_layer: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=object))
    consumer_index: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    provider_layer: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=object))
    provider_index: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __post_init__(self) -> None:
        self.consumer_layer = np.asarray(self.consumer_layer, dtype=object)
        self.provider_layer = np.asarray(self.provider_layer, dtype=object)
        self.consumer_index = np.asarray(self.consumer_index, dtype=np.int64)
        self.provider_index = np.asarray(self.provider_index, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.consumer_index)

    def of(self, consumer_layer: str, provider_layer: str) -> tuple[np.ndarray, np.ndarray]:
        """``(consumer_index, provider_index)`` rows between two layers."""
        sel = (self.consumer_layer == consumer_layer) & (self.provider_layer == provider_layer)
        return self.consumer_index[sel], self.provider_index[sel]

    def equals(self, other: Dependencies) -> bool:
        return all(np.array_equal(getattr(self, k), getattr(other, k)) for k in
                   ("consumer_layer", "consumer_index", "provider_layer", "provider_index"))
