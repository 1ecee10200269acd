"""The physics benchmark at tiny sizes: the JSON records and the table."""

from __future__ import annotations

import argparse
import json

import pytest

from twin3d.errors import InputError
from twin3d.physics.bench import bench_command, run_physics_bench, taichi_numpy_ratio

FIELDS = {"solver": str, "impl": str, "arch": str, "scheme": str, "order": int, "dtype": str, "cells": int,
          "steps": int, "compile_s": float, "cell_updates_per_s": float}


def test_json_output_is_one_list_of_valid_records(taichi_cpu, capsys):
    records = run_physics_bench(sizes=(64, 128), json_out=True, numpy_max=64)
    out = capsys.readouterr().out
    assert json.loads(out) == records  # stdout holds the JSON list and nothing else
    assert {r["solver"] for r in records} >= {"transport"}
    for r in records:
        assert set(r) == set(FIELDS)
        for key, kind in FIELDS.items():
            assert isinstance(r[key], kind), (key, r[key])
        assert r["impl"] in ("taichi", "numpy") and r["arch"] in ("cpu", "cuda")
        assert r["dtype"] == "float32" and r["cells"] in (64 * 64, 128 * 128)
        assert r["cell_updates_per_s"] > 0 and r["compile_s"] >= 0 and r["steps"] >= 1
        if r["solver"] == "flood":
            assert r["scheme"] != "local-inertial"
    transport = [(r["impl"], r["cells"]) for r in records if r["solver"] == "transport"]
    assert transport == [("taichi", 4096), ("numpy", 4096), ("taichi", 16384)]  # numpy skips > numpy_max
    cells, ratio = taichi_numpy_ratio(records, "transport")
    assert cells == 4096 and ratio > 0


def test_table_output_names_the_ratio(taichi_cpu, capsys):
    run_physics_bench(sizes=(32,), json_out=False)
    out = capsys.readouterr().out
    assert "transport" in out and "Taichi / numpy" in out


def test_bench_command_rejects_bad_sizes():
    with pytest.raises(InputError, match="sizes"):
        bench_command(argparse.Namespace(sizes="64,abc", arch="cpu", json=False, numpy_max=64))
    with pytest.raises(InputError, match="sizes"):
        bench_command(argparse.Namespace(sizes="4", arch="cpu", json=False, numpy_max=64))
