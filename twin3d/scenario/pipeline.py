"""The frame pipeline: what happens to every output frame before it is written.

A stage is a callable ``stage(frame, hazards)`` that reads the frame's fields and adds
to it; ``stage.extend_layout(layout)`` declares, before the run, the datasets it will
write.  Hazard sampling is always first; the layers above (the MIS network cascade and
KPIs) are handed in by the composition root as stage factories
``factory(scenario, setup, city) -> stage``, since this layer may not import them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from twin3d.scenario.rasterise import sample_max, sample_mean
from twin3d.scenario.results import FrameAllocation


@dataclass
class Frame:
    index: int
    time_s: float
    fields: dict[str, np.ndarray]
    buildings: dict[str, np.ndarray] = field(default_factory=dict)
    networks: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    status: np.ndarray | None = None
    allocation: np.ndarray | FrameAllocation | None = None
    road_closed: np.ndarray | None = None  # road edges vehicles cannot use this frame
    kpis: dict[str, np.ndarray | float] = field(default_factory=dict)


class HazardSampling:
    """Per-building hazard: maximum depth and speed in the ring around each footprint,
    mean temperature and concentration over the footprint and ring."""

    def __init__(self, setup, city):
        self.cells, self.owners = setup.sample_cells, setup.sample_owners
        self.n = len(city.buildings) if city is not None else 0

    def extend_layout(self, layout) -> None:
        pass  # the building quantities are declared from the hazards present

    def __call__(self, frame: Frame, hazards) -> None:
        reduce = {"max_depth": ("depth", sample_max), "max_speed": ("speed", sample_max),
                  "temperature": ("temperature", sample_mean), "concentration": ("concentration", sample_mean)}
        for quantity in hazards.building_quantities:
            name, func = reduce[quantity]
            frame.buildings[quantity] = func(frame.fields[name], self.cells, self.owners, self.n).astype(np.float32)


def make_stages(scenario, setup, city, factories: Sequence[Callable] = ()) -> list:
    """The stages of one run: hazard sampling, then those the factories make, in order."""
    return [HazardSampling(setup, city)] + [factory(scenario, setup, city) for factory in factories]
