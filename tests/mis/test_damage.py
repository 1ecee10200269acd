"""Depth-damage curves: the packaged JRC table, interpolation, euros, user files, bad files."""

from __future__ import annotations

import re

import numpy as np
import pytest

from twin3d.errors import InputError
from twin3d.mis.damage import DamageCurves, compute_damage, damage_fraction, default_curves, running_max

JRC_DEPTHS = [0, 0.5, 1, 1.5, 2, 3, 4, 5, 6]
JRC_EUROPE = {  # Huizinga et al. (2017), Europe, as given in the issue
    "residential": [0, 0.25, 0.40, 0.50, 0.60, 0.75, 0.85, 0.95, 1.0],
    "commercial": [0, 0.15, 0.30, 0.45, 0.55, 0.75, 0.90, 1.0, 1.0],
    "industrial": [0, 0.15, 0.27, 0.40, 0.52, 0.70, 0.85, 1.0, 1.0],
}


def test_packaged_curves_are_the_jrc_europe_table():
    curves = DamageCurves.load()
    assert curves.source["doi"] == "10.2760/16510"
    assert set(curves.depth_m) == set(JRC_EUROPE)
    for name, fractions in JRC_EUROPE.items():
        np.testing.assert_array_equal(curves.depth_m[name], JRC_DEPTHS)
        np.testing.assert_allclose(curves.fraction[name], fractions, atol=1e-12)
    assert curves.uses["hospital"] == curves.uses["public"] == "commercial"


@pytest.mark.parametrize(("use", "depth", "expected"), [
    ("residential", 0.75, 0.325),   # halfway between 0.25 at 0.5 m and 0.40 at 1 m
    ("residential", 0.2, 0.10),     # 0.4 of the way from 0 to 0.25
    ("commercial", 2.5, 0.65),      # (0.55 + 0.75) / 2
    ("industrial", 4.5, 0.925),     # (0.85 + 1.0) / 2
    ("industrial", 1.25, 0.335),    # (0.27 + 0.40) / 2
    ("school", 1.25, 0.375),        # critical uses follow the commercial curve: (0.30 + 0.45) / 2
    ("warehouse", 0.75, 0.325),     # an unknown use takes the default (residential) curve
    ("residential", 6.0, 1.0),
    ("residential", 9.0, 1.0),      # beyond 6 m the damage stays total
    ("commercial", 12.0, 1.0),
    ("residential", 0.0, 0.0),
    ("commercial", -0.5, 0.0),
    ("industrial", np.nan, 0.0),    # outside the hazard grid: no water, no damage
])
def test_fraction_interpolates_between_curve_points(use, depth, expected):
    got = damage_fraction(default_curves(), np.array([use], dtype=object), np.array([depth]))
    assert got[0] == pytest.approx(expected, abs=1e-12)
    assert damage_fraction(default_curves(), use, depth) == pytest.approx(expected, abs=1e-12)  # scalars


def test_damage_is_fraction_times_replacement_value():
    table = {"use": np.array(["residential", "commercial", "industrial", "public"], dtype=object),
             "replacement_value": np.array([2.0e5, 1.0e6, 5.0e5, np.nan])}
    damage = compute_damage(table, np.array([1.25, 0.25, 7.0, 2.0]))
    # 0.45 x 200 000; 0.075 x 1 000 000; 1.0 x 500 000; unknown value counts 0
    np.testing.assert_allclose(damage, [90_000.0, 75_000.0, 500_000.0, 0.0], rtol=1e-12)


def test_damage_so_far_follows_the_running_maximum_depth():
    depth = np.array([[0.0, 1.0], [0.5, 0.2], [0.3, np.nan], [1.0, 0.1]])
    so_far = running_max(depth)
    np.testing.assert_array_equal(so_far, [[0.0, 1.0], [0.5, 1.0], [0.5, 1.0], [1.0, 1.0]])
    table = {"use": np.array(["residential", "industrial"], dtype=object),
             "replacement_value": np.array([1.0e5, 2.0e5])}
    damage = compute_damage(table, so_far)
    np.testing.assert_allclose(damage, [[0, 54_000], [25_000, 54_000], [25_000, 54_000], [40_000, 54_000]])
    assert np.all(np.diff(damage.sum(axis=1)) >= 0)


def test_user_curve_file_replaces_the_defaults(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('name = "flat"\ndefault_curve = "flat"\n'
                    '[curves.flat]\ndepth_m = [0, 1]\nfraction = [0, 0.5]\n'
                    '[curves.steep]\ndepth_m = [0, 0.2]\nfraction = [0, 1]\n'
                    '[uses]\nindustrial = "steep"\n')
    curves = DamageCurves.load(path)
    assert curves.name == "flat" and curves.path == path
    table = {"use": np.array(["residential", "hospital", "industrial"], dtype=object),
             "replacement_value": np.array([1.0e5, 1.0e6, 3.0e5])}
    damage = compute_damage(table, np.array([0.5, 2.0, 0.1]), curves)
    np.testing.assert_allclose(damage, [25_000.0, 500_000.0, 150_000.0], rtol=1e-12)


GOOD_CURVE = "[curves.a]\ndepth_m = [0, 1, 2]\nfraction = [0, 0.5, 1]\n"


@pytest.mark.parametrize(("text", "reason"), [
    ("[curves.a]\ndepth_m = [0, 2, 1]\nfraction = [0, 0.5, 1]\n", "strictly increasing"),
    ("[curves.a]\ndepth_m = [0, 1, 1]\nfraction = [0, 0.5, 1]\n", "strictly increasing"),
    ("[curves.a]\ndepth_m = [0, 1, 2]\nfraction = [0, 0.5, 1.2]\n", "in [0, 1]"),
    ("[curves.a]\ndepth_m = [0, 1, 2]\nfraction = [-0.1, 0.5, 1]\n", "in [0, 1]"),
    ("[curves.a]\ndepth_m = [0, 1, 2]\nfraction = [0, 0.6, 0.5]\n", "must not decrease"),
    ("[curves.a]\ndepth_m = [0, 1, 2]\nfraction = [0, 1]\n", "same length"),
    ("[curves.a]\ndepth_m = [0.5, 1, 2]\nfraction = [0, 0.5, 1]\n", "start at 0"),
    ("[curves.a]\ndepth_m = [0, 1, 2]\nfraction = [0, 'half', 1]\n", "lists of numbers"),
    ("[curves.a]\ndepth_m = [0, 1, 2]\n", "needs depth_m and fraction"),
    ("[curves.a]\ndepth_m = [0, 1, nan]\nfraction = [0, 0.5, 1]\n", "finite"),
    ("name = 'none'\n", "no [curves"),
    (GOOD_CURVE + "[uses]\nresidential = 'b'\n", "no curve named 'b'"),
    ("default_curve = 'b'\n" + GOOD_CURVE, "no curve named 'b'"),
    (GOOD_CURVE + "[uses]\nresidential = 3\n", "map building uses"),
    ("[curves.a\n", "not valid TOML"),
])
def test_bad_curve_file_raises_input_error(tmp_path, text, reason):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(InputError, match=re.escape(reason)) as err:
        DamageCurves.load(path)
    assert err.value.path == str(path)


def test_missing_or_binary_curve_file_raises_input_error(tmp_path):
    with pytest.raises(InputError, match="cannot read"):
        DamageCurves.load(tmp_path / "absent.toml")
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(InputError, match="not valid TOML"):
        DamageCurves.load(binary)


def test_mismatched_uses_and_depths_raise_input_error():
    with pytest.raises(InputError, match="2 uses for 3 depths"):
        damage_fraction(default_curves(), np.array(["residential"] * 2), np.zeros(3))
