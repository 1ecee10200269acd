"""``twin3d allocate``: JSON in, one JSON object out (or a file), exit 2 on bad or infeasible input."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest

from tests.conftest import REPO
from twin3d.errors import InputError
from twin3d.mis.allocation import allocate_command


def problem_doc(critical_pumps: int = 2) -> dict:
    return {
        "format": "twin3d.allocation/1", "loss_unit": "EUR",
        "departments": [{"id": "fire", "name": "Fire and Rescue", "budget_eur": 5000},
                        {"id": "social", "name": "Social Services", "budget_eur": None}],
        "depots": [{"id": "fire-north", "name": "Fire depot North", "department": "fire",
                    "location": [499200.0, 5701800.0], "resources": {"pumps": {"count": 3, "cost_eur": 450}}},
                   {"id": "hall", "name": "Sports hall West", "department": "social", "node": 17,
                    "resources": {"shelter_beds": {"count": 300, "cost_eur": 35}}}],
        "demands": [{"id": "h1", "name": "Hospital St Mary", "kind": "pumps", "quantity": critical_pumps,
                     "avoided_loss": 1.2e6, "deadline_min": 15, "critical": True, "min_service": 1.0},
                    {"id": "d7", "name": "District 7", "kind": "shelter_beds", "quantity": 250,
                     "avoided_loss": 40000, "deadline_min": None}],
        "travel_time_min": [[6, None], [None, 9.5]],
    }


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "twin3d.cli", "allocate", *args], capture_output=True,
                          text=True, cwd=REPO, timeout=120)


def write(tmp_path, doc, name="problem.json"):
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def test_cli_prints_one_json_object(tmp_path):
    proc = run_cli("--problem", str(write(tmp_path, problem_doc())))
    assert proc.returncode == 0, proc.stderr
    solution = json.loads(proc.stdout)  # exactly one JSON document on stdout
    assert solution["status"] == "optimal"
    assert solution["objective"] == pytest.approx(1.2e6 - 900 + 40000 - 250 * 35)
    units = {(a["depot"], a["demand"]): a["units"] for a in solution["assignments"]}
    assert units == {("fire-north", "h1"): 2, ("hall", "d7"): 250}
    assert solution["assignments"][0]["reason"] == (
        "2 pumps from Fire depot North to Hospital St Mary: avoids €1.2M loss for €900, 6 min away, "
        "the only depot that can reach it in time")
    assert [d["units_unmet"] for d in solution["demands"]] == [0, 0]
    assert [d["cost_eur"] for d in solution["departments"]] == [900.0, 8750.0]


def test_cli_writes_the_output_file(tmp_path):
    out = tmp_path / "out" / "solution.json"
    proc = run_cli("--problem", str(write(tmp_path, problem_doc())), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text())["status"] == "optimal"
    assert f"wrote {out}" in proc.stdout
    assert [p.name for p in out.parent.iterdir()] == ["solution.json"]  # no temporary left behind


@pytest.mark.parametrize("doc, message", [
    (problem_doc(critical_pumps=4),
     "minimum service cannot be met for Hospital St Mary (h1) needs 4 pumps within 15 min"),
    ({**problem_doc(), "demands": "none"}, "demands: expected a list"),
])
def test_cli_exit_2_on_infeasible_or_bad_problem(tmp_path, doc, message):
    path = write(tmp_path, doc)
    out = tmp_path / "solution.json"
    proc = run_cli("--problem", str(path), "-o", str(out))
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"error: {path}: ") and message in proc.stderr
    assert proc.stdout == "" and not out.exists()


def test_cli_exit_2_on_invalid_json(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"demands": [')
    proc = run_cli("--problem", str(path))
    assert proc.returncode == 2 and "invalid JSON" in proc.stderr and proc.stdout == ""


def test_allocate_command_directly(tmp_path, capsys):
    path = write(tmp_path, problem_doc())
    assert allocate_command(argparse.Namespace(problem=path, output=None)) == 0
    solution = json.loads(capsys.readouterr().out)
    assert solution["model"]["variables"] == 2 and solution["gap"] == pytest.approx(0.0, abs=1e-9)
    out = tmp_path / "solution.json"
    assert allocate_command(argparse.Namespace(problem=path, output=out)) == 0
    assert json.loads(out.read_text())["objective"] == pytest.approx(solution["objective"])
    with pytest.raises(InputError) as info:
        allocate_command(argparse.Namespace(problem=write(tmp_path, problem_doc(4), "bad.json"), output=None))
    assert info.value.path.endswith("bad.json") and "Hospital St Mary" in info.value.reason
    with pytest.raises(InputError, match="no such file"):
        allocate_command(argparse.Namespace(problem=tmp_path / "missing.json", output=None))
