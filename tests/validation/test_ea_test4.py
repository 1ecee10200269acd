"""UK Environment Agency 2-D benchmark Test 4: flood propagation over a flat floodplain.

Set-up from the LISFLOOD-FP 8.0 inputs (ea4.par, .bci, .bdy, .stage), compared with the
LISFLOOD-FP DG2 5 m reference series (Shaw et al. 2021): at each of the 6 output points
the peak depth within 10 % and the front arrival (depth > 0.02 m) within 10 % of its time.
The whole 5-hour event runs at 5 m cells (200 x 400) in float32.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from tests.conftest import data_path
from tests.validation.ea_inputs import (
    arrival_time,
    read_bci,
    read_bdy,
    read_par,
    read_stage_points,
    read_stage_series,
)
from twin3d.model.grid import Grid
from twin3d.physics.flood import FloodSolver

CELL_M, WIDTH_M, HEIGHT_M = 5.0, 1000.0, 2000.0  # flat bed z = 0 (the DEM is not shipped)
SIDES = {"N": "north", "S": "south", "E": "east", "W": "west"}


def build_ea4(folder) -> tuple[FloodSolver, float]:
    par = read_par(folder / "ea4.par")
    grid = Grid((0.0, 0.0), CELL_M, (int(HEIGHT_M / CELL_M), int(WIDTH_M / CELL_M)))
    boundaries, inflows = {}, []
    for side, start, end, kind, name in read_bci(folder / par["bcifile"]):
        if kind == "FREE":
            boundaries[SIDES[side]] = "open"
        elif kind == "QVAR" and side == "W":  # discharge per unit width along the west edge
            inflows.append(((0.0, start), (0.0, end), name))
        else:
            raise AssertionError(f"boundary {kind} on {side} is not part of Test 4")
    sim = FloodSolver(grid, np.zeros(grid.shape), manning=float(par["fpfric"]), boundaries=boundaries)
    series = read_bdy(folder / par["bdyfile"])
    for p0, p1, name in inflows:
        times, q_per_m = series[name]
        sim.add_inflow(times, q_per_m * (p1[1] - p0[1]), line=(p0, p1))
    return sim, float(par["sim_time"])


@pytest.mark.slow
def test_ea_test4_peaks_and_arrival_times_match_dg2_reference(taichi_cpu):
    folder = data_path("flood", "ea_test4")
    sim, duration = build_ea4(folder)
    points = read_stage_points(folder / "ea4.stage")
    rows, cols = sim.grid.cell_of(points[:, 0], points[:, 1])
    times, depths = [0.0], [np.zeros(len(points))]
    start = time.perf_counter()
    while sim.time < duration - 1e-6:
        sim.advance(min(60.0, duration - sim.time))
        times.append(sim.time)
        depths.append(sim.depth()[rows, cols])
    wall_s = time.perf_counter() - start
    times, depths = np.array(times), np.array(depths)
    ref_t, ref_h = read_stage_series(folder / "reference" / "ea4-5m-dg2.stage")
    peak_err = depths.max(axis=0) / ref_h.max(axis=0) - 1
    arrival = np.array([arrival_time(times, depths[:, k]) for k in range(len(points))])
    ref_arrival = np.array([arrival_time(ref_t, ref_h[:, k]) for k in range(len(points))])
    arrival_err = arrival / ref_arrival - 1
    print(f"\nEA4: {wall_s:.1f} s wall; peak errors {np.round(peak_err, 4)}; arrival errors {np.round(arrival_err, 4)}")
    assert np.abs(peak_err).max() < 0.10
    assert np.abs(arrival_err).max() < 0.10
    balance = sim.mass_balance()
    assert balance["inflow"] == pytest.approx(20.0 * (0.5 * 3300 + 10800 + 0.5 * 3600), rel=1e-9)
    assert balance["relative_error"] < 1e-4  # float32 depths, float64 accounting
