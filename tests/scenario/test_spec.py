"""Scenario specs are validated before anything runs, naming the key and the reason."""

from __future__ import annotations

import textwrap

import pytest

from twin3d.errors import InputError
from twin3d.scenario.schema import SpecError
from twin3d.scenario.spec import check_points_inside, load_scenario

BASE = """
name = "river flood"
start = 2026-06-01T00:00:00Z
city = "default"
[grid]
cell_size_m = 10.0
manning = 0.035
[time]
duration_s = 3600
output_interval_s = 600
[boundaries]
west = "closed"
east = "open"
south = { stage_m = [[0, 1.0], [3600, 2.5]] }
[[hazards.rain]]
intensity_mm_h = [[0, 0], [600, 40], [1800, 0]]
[[hazards.inflow]]
point = [500.0, 500.0]
discharge_m3s = [[0, 10], [1800, 250], [3600, 50]]
[response.departments.fire]
pumps = 4
crews = 12
"""


def write(tmp_path, name, body):
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return path


def test_valid_spec_resolves(tmp_path):
    s = load_scenario(write(tmp_path, "base.toml", BASE))
    assert s.name == "river flood"
    assert s.output_times() == [0, 600, 1200, 1800, 2400, 3000, 3600]
    assert s.spec["hazards"]["rain"][0]["intensity_mm_h"] == ((0, 600, 1800), (0, 40, 0))
    assert s.spec["boundaries"]["south"]["stage_m"] == ((0, 3600), (1.0, 2.5))
    assert s.spec["response"]["departments"]["fire"] == {"pumps": 4, "crews": 12}
    assert s.spec["start"].isoformat() == "2026-06-01T00:00:00+00:00"


def test_extends_differs_by_one_block(tmp_path):
    write(tmp_path, "base.toml", BASE)
    s = load_scenario(write(tmp_path, "barrier.toml", """
        extends = "base.toml"
        name = "with barrier"
        [[strategy.barriers]]
        line = [[100.0, 100.0], [400.0, 100.0]]
        height_m = 1.5
        """))
    assert s.name == "with barrier"
    assert s.spec["grid"]["cell_size_m"] == 10.0
    assert len(s.spec["strategy"]["barriers"]) == 1
    assert "extends" not in s.text and "barriers" in s.text


@pytest.mark.parametrize("patch, key, reason", [
    ("[grid]\ncell_size_m = -5", "grid.cell_size_m", "out of range"),
    ("[time]\nduration_s = 3600\nduraton = 5", "time.duraton", "unknown key"),
    ("[time]\nduration_min = 60", "time.duration_min", "unknown key"),
    ("[[hazards.rain]]\nintensity_mm_h = [[0, 10], [0, 20]]", "hazards.rain[0].intensity_mm_h",
     "increase"),
    ("[[hazards.rain]]\nintensity_mm_h = -3", "hazards.rain[0].intensity_mm_h", "out of range"),
    ("[boundaries]\nnorth = \"leaky\"", "boundaries.north", "expected"),
    ("[grid]\ncell_size_m = 5\ninitial_depth = \"missing.asc\"", "grid.initial_depth", "file not found"),
    ("[[strategy.barriers]]\nline = [[0.0, 0.0], [1.0, 1.0]]", "strategy.barriers[0]", "crest_m or height_m"),
])
def test_invalid_specs_name_key_and_reason(tmp_path, patch, key, reason):
    path = write(tmp_path, "bad.toml", f'extends = "base.toml"\n{patch}\n')
    write(tmp_path, "base.toml", BASE)
    with pytest.raises(InputError) as err:
        load_scenario(path)
    message = str(err.value)
    assert message.startswith(f"{path}: {key}: "), message
    assert reason in message


def test_invalid_toml_and_cycles(tmp_path):
    with pytest.raises(InputError, match="not valid TOML"):
        load_scenario(write(tmp_path, "broken.toml", "name = \n"))
    write(tmp_path, "a.toml", 'extends = "b.toml"\n')
    with pytest.raises(InputError, match="circular"):
        load_scenario(write(tmp_path, "b.toml", 'extends = "a.toml"\n'))


def test_points_outside_grid_are_refused(tmp_path):
    s = load_scenario(write(tmp_path, "base.toml", BASE))
    check_points_inside(s.spec, (0, 0, 1000, 1000))
    with pytest.raises(SpecError, match=r"hazards.inflow\[0\].point\[0\].*outside the grid"):
        check_points_inside(s.spec, (0, 0, 400, 400))
