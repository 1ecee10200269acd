"""Cascades and routing over infrastructure graphs (power, water, roads), with sparse graphs."""

from __future__ import annotations

from twin3d.networks.cascade import STATUS_FLAGS, Cascade, CascadeState
from twin3d.networks.fragility import FragilityTable, edge_hazard, failure_probability, node_hazard
from twin3d.networks.routing import (
    DEFAULT_SPEEDS_KM_H,
    RoadRouter,
    building_nodes,
    building_road_nodes,
    response_times_min,
)

__all__ = ["DEFAULT_SPEEDS_KM_H", "STATUS_FLAGS", "Cascade", "CascadeState", "FragilityTable", "RoadRouter",
           "building_nodes", "building_road_nodes", "edge_hazard", "failure_probability", "node_hazard",
           "response_times_min"]
