"""The MIS stages of the runner's frame pipeline: network cascade, response times, KPIs and allocation.

``STAGES`` is what the composition root (the CLI) hands to
:func:`twin3d.scenario.runner.run_scenario`; each frame then gets its building status
flags, network states and KPI row before it is written.
"""

from __future__ import annotations

import numpy as np

from twin3d.mis.allocation_stage import AllocationStage
from twin3d.mis.damage import default_curves
from twin3d.mis.kpis import FrameInputs, compute_kpis, kpi_layout, largest_component_share
from twin3d.networks.cascade import STATUS_FLAGS, Cascade
from twin3d.networks.routing import RoadRouter, response_times_min


class ManagementStage:
    """Per frame: failures and their cascade over power, water and roads, emergency
    response times over the open roads, and every KPI of :mod:`twin3d.mis.kpis`."""

    def __init__(self, scenario, setup, city):
        self.city, self.grid = city, setup.grid
        self.active = city is not None and len(city.buildings) > 0
        if not self.active:
            return
        self.cascade = Cascade(city)
        road = city.networks.get("road")
        self.router = RoadRouter(road) if road is not None and road.n_nodes else None
        self.curves = default_curves()
        self.depth_so_far = None
        self.closures = road_closures(scenario.spec, setup.grid, road)

    def extend_layout(self, layout) -> None:
        if not self.active:
            return
        layout.networks = {kind: (net.n_nodes, net.n_edges) for kind, net in self.city.networks.items()}
        layout.status_flags = STATUS_FLAGS
        layout.kpis = kpi_layout(self.city.buildings.table)

    def __call__(self, frame, hazards) -> None:
        if not self.active:
            return
        depth = frame.fields.get("depth")
        building_depth = frame.buildings.get("max_depth")
        state = self.cascade.frame(depth if depth is not None else self.grid.zeros(np.float32), self.grid,
                                   building_depth)
        frame.status = state.status_flags()
        frame.networks = state.networks()
        if building_depth is not None:
            d = np.nan_to_num(building_depth)
            self.depth_so_far = d if self.depth_so_far is None else np.maximum(self.depth_so_far, d)
        closed = state.road_closed_edges()
        if closed is not None and self.closures is not None:
            closed = closed | self.closures
        frame.road_closed = closed
        road = self.city.networks.get("road")
        frame.kpis = compute_kpis(FrameInputs(
            table=self.city.buildings.table, max_depth=building_depth, max_depth_so_far=self.depth_so_far,
            temperature=frame.buildings.get("temperature"), concentration=frame.buildings.get("concentration"),
            building_power=state.building_power, building_water=state.building_water,
            facility_down=state.facility_down,
            response_time_min=None if self.router is None else response_times_min(self.city, self.router, closed),
            road_connectivity=None if road is None else largest_component_share(
                road.n_nodes, road.edges, ~closed if closed is not None else np.ones(road.n_edges, bool)),
            curves=self.curves))


def road_closures(spec: dict, grid, road) -> np.ndarray | None:
    """Road edges the strategy closes: named by id, or crossed by a closure line."""
    from twin3d.networks.fragility import edge_hazard
    from twin3d.scenario.rasterise import polyline_mask

    items = spec.get("strategy", {}).get("road_closures", [])
    if road is None or not items:
        return None
    closed = np.zeros(road.n_edges, dtype=bool)
    for item in items:
        closed |= np.isin(road.edge_id.astype(str), item.get("edges", []))
        if "line" in item:
            crossed = edge_hazard(grid, polyline_mask(grid, item["line"]).astype(np.float32), road)
            closed |= np.nan_to_num(crossed) > 0
    return closed


STAGES = (ManagementStage, AllocationStage)  # allocation reads the status and roads the first one writes
