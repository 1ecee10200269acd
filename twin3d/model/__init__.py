"""The city as data: City, Buildings, Terrain, Network, Grid (numpy at heart)."""

from __future__ import annotations

from twin3d.model.buildings import CRITICAL_USES, USES, Buildings, complete_table, empty_table
from twin3d.model.city import City
from twin3d.model.grid import Grid
from twin3d.model.mesh import ContextLayer, Mesh
from twin3d.model.network import NETWORK_KINDS, Dependencies, Network
from twin3d.model.terrain import Terrain

__all__ = ["CRITICAL_USES", "USES", "NETWORK_KINDS", "Buildings", "City", "ContextLayer",
           "Dependencies", "Grid", "Mesh", "Network", "Terrain", "complete_table", "empty_table"]
