"""A small ensemble on a local Dask cluster of 2 workers."""

from __future__ import annotations

import subprocess
import sys

import h5py
import numpy as np
import pytest

from tests.scenario.test_runner import GRID, dam_break_files
from twin3d.errors import InputError
from twin3d.scenario.ensemble import Variation, member_factors
from twin3d.scenario.spec import load_raw


def test_member_factors_are_stratified():
    f = member_factors(10, 2, seed=3)
    for j in range(2):
        assert sorted(np.floor((f[:, j] + 1) / 2 * 10).astype(int)) == list(range(10))


def test_variation_scales_series_and_resolves_short_keys(tmp_path):
    raw = load_raw(dam_break_files(tmp_path, extra="[[hazards.rain]]\nintensity_mm_h = [[0, 10], [20, 30]]\n"))
    var = Variation.parse("rain.intensity=±30%", raw)
    assert var.path == ("hazards", "rain", "intensity_mm_h") and var.spread == pytest.approx(0.3)
    scaled = var.apply(raw, 1.3)
    assert scaled["hazards"]["rain"][0]["intensity_mm_h"] == [[0, 13.0], [20, 39.0]]
    assert raw["hazards"]["rain"][0]["intensity_mm_h"] == [[0, 10], [20, 30]]
    with pytest.raises(InputError, match="no such entry"):
        Variation.parse("snow.depth=±10%", raw)
    with pytest.raises(InputError, match="expected KEY"):
        Variation.parse("rain.intensity=lots", raw)


def test_ensemble_on_two_local_workers(tmp_path, monkeypatch):
    monkeypatch.setenv("TWIN3D_CACHE_DIR", str(tmp_path / "cache"))
    spec = dam_break_files(tmp_path, extra="[[hazards.rain]]\nintensity_mm_h = 600.0\n")
    out = tmp_path / "ens.h5"
    result = subprocess.run([sys.executable, "-m", "twin3d.cli", "ensemble", str(spec), "--members", "4",
                             "--vary", "rain.intensity=±50%", "-o", str(out)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    with h5py.File(out) as f:
        assert f.attrs["members"] == 4 and len(set(f.attrs["member_files"])) == 4
        factors = 1 + 0.5 * f["factors"][:, 0]
        p = {thr: f[f"exceedance/depth_gt_{thr}m"][()] for thr in ("0.1", "0.3", "1")}
        assert p["0.1"].shape == GRID.shape
        assert np.all((p["1"] <= p["0.3"]) & (p["0.3"] <= p["0.1"]))  # probabilities nest
        assert np.all((p["0.1"] >= 0) & (p["0.1"] <= 1))
        # the dry east half floods in every member above some rain, in none below: check against members
        peaks = []
        for path in f.attrs["member_files"]:
            with h5py.File(path) as m:
                peaks.append(m["fields/depth"][()].max(axis=0))
        np.testing.assert_allclose(p["0.3"], (np.stack(peaks) > 0.3).mean(axis=0))
        assert len(set(np.round(factors, 6))) == 4
