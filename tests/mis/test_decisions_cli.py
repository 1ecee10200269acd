"""``twin3d decisions verify|export|add``: exit 0 intact, 1 tampered, 2 bad input.

Runs through ``twin3d.cli`` when the sub-command is wired there; until then through
:func:`decisions_command` behind a parser built by :func:`add_decisions_arguments`,
with the CLI's own exit-code handling.
"""

from __future__ import annotations

import argparse
import csv
import json
import sqlite3
import subprocess
import sys

import pytest

from tests.conftest import REPO
from twin3d import cli
from twin3d.errors import InputError
from twin3d.mis.decisions import DecisionLog, add_decisions_arguments, decisions_command

SCENARIO = "c0ffee00" * 8


def cli_wired() -> bool:
    try:
        cli.build_parser().parse_args(["decisions", "verify"])
    except SystemExit:
        return False
    return True


def run(*argv: str) -> int:
    """Exit code of ``twin3d decisions ARGV`` (in process; argparse usage errors exit 2)."""
    try:
        if cli_wired():
            return cli.main(["decisions", *argv])
        parser = cli._Parser(prog="twin3d decisions")
        add_decisions_arguments(parser)
        return decisions_command(parser.parse_args(list(argv)))
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return cli.EXIT_INPUT
    except SystemExit as exc:
        return exc.code


def add(log, k: int, *extra: str) -> int:
    return run("add", "--log", str(log), "--scenario-hash", SCENARIO, "--frame", str(k), "--who", "Mayor",
               "--what", f"open shelter {k}", "--why", "district 7 evacuated", *extra)


@pytest.fixture
def log_path(tmp_path):
    path = tmp_path / "decisions.sqlite"
    assert add(path, 1, "--allocation", '{"beds": 250}', "--kpis", '{"displaced": 812.0}') == 0
    assert add(path, 2) == 0
    return path


def test_add_then_verify_exits_0(log_path, capsys):
    capsys.readouterr()
    assert run("verify", "--log", str(log_path)) == 0
    entries = DecisionLog(log_path).entries()
    assert capsys.readouterr().out == f"ok: 2 entries, head {entries[-1].hash}\n"
    assert (entries[0].allocation, entries[0].kpis, entries[0].frame_index) == ({"beds": 250}, {"displaced": 812.0}, 1)
    assert (entries[1].allocation, entries[1].kpis) == (None, None)


def test_add_reads_json_from_a_file(log_path, tmp_path):
    kpis = tmp_path / "kpis.json"
    kpis.write_text(json.dumps({"flooded_buildings": 41, "people_without_power": 1250}))
    assert add(log_path, 3, "--kpis", f"@{kpis}") == 0
    last = DecisionLog(log_path).entries()[-1]
    assert (last.seq, last.kpis, last.frame_time_s) == (3, {"flooded_buildings": 41, "people_without_power": 1250},
                                                        None)


def test_decisions_command_records_the_frame_time(log_path):
    """``time_s`` (``--time-s`` where the parser has it) is the frame's time in seconds."""
    args = argparse.Namespace(decisions_action="add", log=log_path, scenario_hash=SCENARIO, frame=3,
                              time_s=1800.0, who="Mayor", what="close bridge", why="flow 2.1 m/s",
                              allocation=None, kpis='{"closed_roads": 4}')
    assert decisions_command(args) == 0
    last = DecisionLog(log_path).entries()[-1]
    assert (last.seq, last.frame_index, last.frame_time_s, last.kpis) == (3, 3, 1800.0, {"closed_roads": 4})


def test_verify_exits_1_and_names_the_first_bad_entry(log_path, capsys):
    with sqlite3.connect(log_path) as conn:
        conn.execute("DROP TRIGGER decisions_no_update")
        conn.execute("UPDATE decisions SET who = 'Deputy' WHERE seq = 1")
    capsys.readouterr()
    assert run("verify", "--log", str(log_path)) == 1
    assert capsys.readouterr().out.startswith("TAMPERED: entry 1: hash does not match")


def test_export_writes_csv(log_path, tmp_path, capsys):
    out = tmp_path / "out" / "decisions.csv"
    assert run("export", "--csv", str(out), "--log", str(log_path)) == 0
    assert f"wrote {out}: 2 entries" in capsys.readouterr().out
    with out.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["what"] for r in rows] == ["open shelter 1", "open shelter 2"]
    assert rows[0]["allocation"] == '{"beds":250}'


@pytest.mark.parametrize("argv, message", [
    (["verify", "--log", "{missing}"], "no decision log here"),
    (["add", "--log", "{log}", "--scenario-hash", SCENARIO, "--frame", "1", "--who", "x", "--what", "y",
      "--why", "z", "--kpis", "{{not json"], "--kpis is not valid JSON"),
    (["add", "--log", "{log}", "--scenario-hash", SCENARIO, "--frame", "-3", "--who", "x", "--what", "y",
      "--why", "z"], "'frame_index' must be finite and not negative"),
    (["add", "--log", "{log}", "--scenario-hash", SCENARIO, "--frame", "1", "--what", "y", "--why", "z"],
     "required: --who"),
])
def test_bad_input_exits_2(log_path, tmp_path, capsys, argv, message):
    argv = [a.format(missing=tmp_path / "nope.sqlite", log=log_path) for a in argv]
    assert run(*argv) == 2
    assert message in capsys.readouterr().err
    assert len(DecisionLog(log_path)) == 2


def test_installed_command(log_path):
    if not cli_wired():
        pytest.skip("`twin3d decisions` is not wired into twin3d/cli.py yet")
    proc = subprocess.run([sys.executable, "-m", "twin3d.cli", "decisions", "verify", "--log", str(log_path)],
                          capture_output=True, text=True, cwd=REPO, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("ok: 2 entries, head ")
