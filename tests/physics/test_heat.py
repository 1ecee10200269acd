"""Urban heat: parameters, land-use fields, and analytic steady states of the transport solver."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import k0

from twin3d.errors import InputError
from twin3d.model.grid import Grid
from twin3d.physics.heat import (
    diurnal_source_scale,
    heat_fields,
    heatwave_background,
    load_heat_parameters,
)


@pytest.fixture(scope="module")
def solver_cls(taichi_cpu):
    from twin3d.physics.transport import TransportSolver

    return TransportSolver


@pytest.fixture(scope="module")
def params():
    return load_heat_parameters()


def test_packaged_parameters_are_documented_and_consistent(params):
    assert params.density_kg_m3 * params.heat_capacity_J_kg_K == pytest.approx(1206.0)
    codes = {c.name: c.code for c in params.classes.values()}
    assert codes == {"rural": 0, "dense_commercial": 1, "residential": 2, "industrial": 3, "road": 4,
                     "vegetation": 5, "water": 6, "building": 7}
    assert params.diurnal_profile.mean() == pytest.approx(1.0)
    # 100 W/m2 into a 100 m layer: 100 / (1.2 * 1005 * 100) K/s
    assert params.heating_rate(100.0) == pytest.approx(8.292e-4, rel=1e-3)
    from twin3d.config import asset

    text = asset("physics", "heat.toml").read_text()
    for source in ("Sailor", "Oke", "Bowler"):
        assert source in text


@pytest.mark.parametrize("name, steady_K", [("dense_commercial", 3.134), ("residential", 1.343),
                                            ("vegetation", -0.940), ("water", -1.522), ("rural", 0.0)])
def test_uniform_land_use_settles_at_background_plus_source_over_relaxation(solver_cls, params, name, steady_K):
    """T = T_bg + S / r for a uniform patch, to 1e-9 relative."""
    grid = Grid((0.0, 0.0), 20.0, (16, 16))
    fields = heat_fields(np.full(grid.shape, params.classes[name].code), params)
    sim = solver_cls(grid, walls=fields.walls, diffusivity=5.0, relaxation=fields.relaxation_per_s,
                     background=30.0, dtype="float64", boundaries="closed")
    sim.set_source(fields.source_K_per_s)
    sim.set_concentration(30.0)
    sim.advance(25 * params.relaxation_time_s)
    assert np.allclose(sim.concentration(), 30.0 + steady_K, rtol=1e-9, atol=1e-3)
    expected = params.heating_rate(params.classes[name].sensible_flux_W_m2) * params.relaxation_time_s
    assert expected == pytest.approx(steady_K, abs=1e-3)


def test_line_source_decays_exponentially_over_sqrt_k_over_r(solver_cls):
    """1-D steady profile of a line source: the discrete solution A (rho^|j| + rho^(201-|j|)) (the
    second term the image in the closed edge 100.5 cells away) to 1e-6; the decay
    length sqrt(K/r) to 0.1 % and the amplitude q / (2 sqrt(K r)) to 1 %."""
    dx, r, length = 10.0, 1.0 / 3600.0, 100.0
    k = r * length**2
    grid = Grid((0.0, 0.0), dx, (1, 201))
    sim = solver_cls(grid, diffusivity=k, relaxation=r, dtype="float64", boundaries="closed")
    rate = np.zeros(grid.shape)
    rate[0, 100] = s = 1e-3  # K/s in one cell: a line source of q = s dx K m/s
    sim.set_source(rate)
    sim.advance(25 / r)
    c = sim.concentration()[0]
    rho = 1 + r * dx**2 / (2 * k) - np.sqrt((1 + r * dx**2 / (2 * k)) ** 2 - 1)
    amp = s / (r + 2 * k / dx**2 * (1 - rho))
    j = np.abs(np.arange(201) - 100)
    assert np.allclose(c, amp * (rho**j + rho ** (201 - j)), rtol=1e-6)
    decay_length = -dx / np.log(c[110] / c[109])
    assert decay_length == pytest.approx(np.sqrt(k / r), rel=1e-3)
    assert c[100] == pytest.approx(s * dx / (2 * np.sqrt(k * r)), rel=1e-2)


def test_point_source_matches_the_2d_greens_function(solver_cls):
    """Steady point source with relaxation: q / (2 pi K) K0(d / L), L = sqrt(K/r), within 2 %
    from 2 to 6 decay lengths (3 % at 3 cells)."""
    dx, r, length = 10.0, 1.0 / 3600.0, 60.0
    k = r * length**2
    n = 121
    grid = Grid((0.0, 0.0), dx, (n, n))
    sim = solver_cls(grid, diffusivity=k, relaxation=r, dtype="float64", boundaries="closed")
    rate = np.zeros(grid.shape)
    rate[60, 60] = s = 1e-2
    sim.set_source(rate)
    sim.advance(25 / r)
    c = sim.concentration()
    q = s * dx**2
    cells = np.arange(3, 37)
    for profile, dist in ((c[60, 60 + cells], cells * dx), (c[60 + cells, 60 + cells], cells * dx * np.sqrt(2))):
        exact = q / (2 * np.pi * k) * k0(dist / length)
        err = np.abs(profile / exact - 1)
        assert err[0] < 0.03
        assert err[dist >= 2 * length].max() < 0.02


def test_heat_fields_map_codes_and_walls(params):
    raster = np.array([[0, 1, 2, 3], [4, 5, 6, 7]], dtype=np.int16)
    fields = heat_fields(raster, params)
    flux = np.array([[0.0, 35.0, 15.0, 35.0], [25.0, -10.5, -17.0, 0.0]])
    assert np.allclose(fields.source_K_per_s, params.heating_rate(flux))
    assert fields.walls.tolist() == [[False] * 4, [False, False, False, True]]
    assert np.allclose(fields.relaxation_per_s, np.where(fields.walls, 0.0, 1 / 10800.0))


def test_heat_fields_reject_unknown_codes_and_non_integer_rasters(params):
    with pytest.raises(InputError, match=r"codes with no class: \[9\]"):
        heat_fields(np.array([[1, 9]]), params)
    with pytest.raises(InputError, match="integer"):
        heat_fields(np.array([[1.0, 2.0]]), params)


def test_bad_parameter_files_raise_input_error(tmp_path):
    cases = {
        "missing.toml": None,
        "broken.toml": "[air\n",
        "noclasses.toml": "[air]\ndensity_kg_m3 = 1.2\n",
        "negative.toml": ("[air]\ndensity_kg_m3 = -1.2\nheat_capacity_J_kg_K = 1005.0\nmixing_height_m = 100.0\n"
                          "relaxation_time_s = 3600.0\n[classes.a]\ncode = 1\n"),
        "dupcode.toml": ("[air]\ndensity_kg_m3 = 1.2\nheat_capacity_J_kg_K = 1005.0\nmixing_height_m = 100.0\n"
                         "relaxation_time_s = 3600.0\n[classes.a]\ncode = 1\n[classes.b]\ncode = 1\n"),
    }
    for name, text in cases.items():
        path = tmp_path / name
        if text is not None:
            path.write_text(text)
        with pytest.raises(InputError) as info:
            load_heat_parameters(path)
        assert name in str(info.value)


def test_diurnal_scale_and_heatwave_background(params):
    hours = np.arange(0, 48, 0.25) * 3600.0
    scale = diurnal_source_scale(hours, params)
    assert scale[:96].mean() == pytest.approx(1.0, rel=1e-12)  # one day of samples, linear interpolation
    assert np.allclose(scale[:96], scale[96:])  # periodic
    assert diurnal_source_scale(13.5 * 3600.0, params) == pytest.approx(params.diurnal_profile[13:15].mean())
    t = np.array([15.0, 3.0, 24 + 15.0]) * 3600.0
    assert np.allclose(heatwave_background(t, 28.0, 6.0, peak_hour=15.0, warming_K_per_day=0.5),
                       [34.0 + 0.5 * 15 / 24, 22.0 + 0.5 * 3 / 24, 34.0 + 0.5 * 39 / 24])
