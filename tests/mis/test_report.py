"""KPI reports: peaks, comparisons and every format, on the quick default river-flood runs."""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import shutil
import subprocess
import sys

import h5py
import numpy as np
import pytest

from tests.conftest import REPO
from twin3d.cli import main
from twin3d.config import asset
from twin3d.errors import InputError
from twin3d.mis.report import (
    build_report,
    compare,
    date_times,
    elapsed_hhmm,
    kpi_series,
    peaks,
    render_csv,
    render_json,
    render_markdown,
    render_report,
    report_command,
)
from twin3d.mis.report_html import nice_ticks, render_html


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Results files of the quick 100-year flood, without (A) and with (B) the barrier."""
    from twin3d.mis.stages import STAGES
    from twin3d.scenario.runner import run_scenario

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TWIN3D_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        return [run_scenario(asset("scenarios", name), quick=True, arch="cpu", progress=False, stages=STAGES)
                for name in ("river_flood_100y.toml", "river_flood_100y_barrier.toml")]


@pytest.fixture(scope="module")
def series(runs):
    return [kpi_series(p) for p in runs]


def table(values):
    values = np.asarray(values, dtype=float)
    return values[:, None] if values.ndim == 1 else values


def n_values(s) -> int:
    return sum(table(k["values"]).size for k in s["kpis"].values())


# --- reading and analysis on the real runs ------------------------------------------------------

def test_series_read_every_kpi_with_units(runs, series):
    a, b = series
    with h5py.File(runs[0], "r") as f:
        assert set(a["kpis"]) == set(f["kpi"]) and len(a["kpis"]) >= 13
        np.testing.assert_array_equal(a["kpis"]["damage_eur"]["values"], f["kpi/damage_eur"][()])
    assert a["name"] == "100-year river flood" and a["complete"] and b["complete"]
    assert a["start"] == "2026-02-09T06:00:00+01:00"
    assert a["kpis"]["people_by_depth"]["columns"] == ["0.1-0.3 m", "0.3-1 m", ">1 m"]
    assert a["kpis"]["damage_eur"]["units"] == "EUR" and a["kpis"]["damage_eur"]["columns"] is None
    assert a["time_s"][-1] == 7200.0 and len(a["time_s"]) == 7


def test_each_peak_is_the_maximum_and_first_time_of_it(series):
    for s in series:
        for name, kpi_peaks in peaks(s).items():
            values = table(s["kpis"][name]["values"])
            assert len(kpi_peaks) == values.shape[1]
            for j, p in enumerate(kpi_peaks):
                column = values[:, j]
                assert p["value"] == np.nanmax(column), (name, j)
                first = int(np.flatnonzero(column == np.nanmax(column))[0])
                assert (p["frame"], p["time_s"]) == (first, s["time_s"][first]), (name, j)


def test_peaks_of_the_flood_are_plausible(series):
    a, b = (peaks(s) for s in series)
    assert a["damage_eur"][0]["value"] > b["damage_eur"][0]["value"] > 1e6  # the barrier helps
    assert a["flooded_buildings"][0]["time_s"] == 7200.0  # still rising at the end
    assert a["response_time_p95_min"][0]["value"] == np.inf


def test_comparison_is_a_minus_b_for_every_kpi_and_time(series):
    a, b = series
    cmp = compare(a, b)
    np.testing.assert_array_equal(cmp["time_s"], a["time_s"])
    assert set(cmp["kpis"]) == set(a["kpis"]) and not cmp["only_in_a"] and not cmp["only_in_b"]
    for name, kpi in cmp["kpis"].items():
        va, vb = a["kpis"][name]["values"], b["kpis"][name]["values"]
        with np.errstate(invalid="ignore"):
            np.testing.assert_array_equal(kpi["difference"], va - vb)  # exact; NaN where inf - inf
        np.testing.assert_array_equal(kpi["a"], va)
        np.testing.assert_array_equal(kpi["b"], vb)
    assert cmp["kpis"]["damage_eur"]["difference"][-1] == pytest.approx(
        a["kpis"]["damage_eur"]["values"][-1] - b["kpis"]["damage_eur"]["values"][-1], rel=0)


# --- renderers ----------------------------------------------------------------------------------

@pytest.mark.parametrize("two", [False, True], ids=["one", "compare"])
def test_markdown_has_one_table_per_kpi(series, two):
    report = build_report(series[0], series[1] if two else None)
    text = render_markdown(report)
    over_time = text.split("## KPIs over time")[1]
    assert len(re.findall(r"^\| time \| date-time \|", over_time, flags=re.M)) == len(report["kpis"])
    assert len(re.findall(r"^### ", over_time, flags=re.M)) == len(report["kpis"])
    assert "## Peaks" in text and "| 02:00 | 2026-02-09 08:00 |" in text
    assert ("0.1-0.3 m A - B" in text) == two


@pytest.mark.parametrize("two", [False, True], ids=["one", "compare"])
def test_csv_is_long_format_with_every_value(series, two):
    a = series[0]
    report = build_report(a, series[1] if two else None)
    rows = list(csv.DictReader(io.StringIO(render_csv(report))))
    assert len(rows) == n_values(a) * (3 if two else 1)
    expected = ["time_s", "datetime", "kpi", "column", "value", "units"] + ["scenario"] * two
    assert list(rows[0]) == expected
    damage = [r for r in rows if r["kpi"] == "damage_eur" and r.get("scenario", "A") == "A"]
    np.testing.assert_array_equal([float(r["value"]) for r in damage], a["kpis"]["damage_eur"]["values"])
    assert damage[-1]["datetime"] == "2026-02-09T08:00:00+01:00" and damage[-1]["units"] == "EUR"
    p95 = [r for r in rows if r["kpi"] == "response_time_p95_min" and r.get("scenario", "A") == "A"]
    assert float(p95[-1]["value"]) == a["kpis"]["response_time_p95_min"]["values"][-1]


def decode(values):
    return np.array([[np.nan if v is None else float(v) for v in np.atleast_1d(row)] for row in values])


def test_json_is_one_object_that_round_trips(series):
    a, b = series
    doc = json.loads(render_json(build_report(a, b)))
    assert doc["format"] == "twin3d-kpi-report" and [s["label"] for s in doc["scenarios"]] == ["A", "B"]
    assert doc["time_s"] == a["time_s"].tolist() and len(doc["datetime"]) == len(a["time_s"])
    for name, kpi in doc["kpis"].items():
        np.testing.assert_array_equal(decode(kpi["series"]["A"]), table(a["kpis"][name]["values"]))
        np.testing.assert_array_equal(decode(kpi["series"]["B"]), table(b["kpis"][name]["values"]))
        with np.errstate(invalid="ignore"):
            diff = table(a["kpis"][name]["values"]) - table(b["kpis"][name]["values"])
        np.testing.assert_array_equal(decode(kpi["difference"]), diff)
    assert doc["kpis"]["response_time_p95_min"]["peaks"]["A"][0]["value"] == "inf"


@pytest.mark.parametrize("two", [False, True], ids=["one", "compare"])
def test_html_is_self_contained_with_one_chart_per_kpi(series, two):
    report = build_report(series[0], series[1] if two else None)
    page = render_html(report)
    assert page.count("<svg") == page.count("</svg>") == len(report["kpis"])
    for forbidden in ("http:", "https:", "//", "src=", "href=", "<script", "url(", "@import"):
        assert forbidden not in page.replace("</", "<"), forbidden
    assert "Flood damage so far (EUR)" in page and page.count("<table") == 2 + len(report["kpis"])
    assert ('stroke-dasharray="7 4"' in page) == two  # scenario B dashed
    assert "<title>infinite</title>" in page  # the unreachable p95 response time is marked


# --- edge cases on hand-made series -------------------------------------------------------------

def hand_series(time_s, values, columns=None, units="min", path="a.h5"):
    return {"path": path, "name": path, "start": "2026-02-09T06:00:00+01:00", "complete": True,
            "content_hash": "", "time_s": np.asarray(time_s, dtype=float),
            "kpis": {"k": {"units": units, "label": "K", "columns": columns, "values": np.asarray(values, float)}}}


def test_peaks_ignore_nan_count_inf_and_take_the_first_time():
    s = hand_series([0, 60, 120, 180, 240], [[np.nan, np.nan], [3, np.nan], [np.inf, np.nan], [np.inf, np.nan],
                                            [1, np.nan]], columns=["x", "y"])
    x, y = peaks(s)["k"]
    assert (x["value"], x["time_s"], x["frame"]) == (np.inf, 120.0, 2)
    assert np.isnan(y["value"]) and y["time_s"] is None and y["frame"] is None
    tie = peaks(hand_series([0, 60, 120], [5.0, 7.0, 7.0]))["k"][0]
    assert (tie["value"], tie["time_s"]) == (7.0, 60.0)
    empty = peaks(hand_series([], np.zeros(0)))["k"][0]
    assert np.isnan(empty["value"]) and empty["frame"] is None


def test_compare_uses_common_times_and_columns():
    a = hand_series([0, 600, 1200, 1800], [[1, 2, 3], [4, 5, 6], [7, 8, 9], [10, 11, 12]], columns=["p", "q", "r"])
    b = hand_series([0, 1200], [[1, 1], [2, np.inf]], columns=["r", "p"], path="b.h5")
    cmp = compare(a, b)
    np.testing.assert_array_equal(cmp["time_s"], [0, 1200])
    assert cmp["kpis"]["k"]["columns"] == ["p", "r"]
    np.testing.assert_array_equal(cmp["kpis"]["k"]["difference"], [[1 - 1, 3 - 1], [7 - np.inf, 9 - 2]])
    with pytest.raises(InputError, match="b.h5: no output time in common"):
        compare(a, hand_series([30], [[1, 2, 3]], columns=["p", "q", "r"], path="b.h5"))
    with pytest.raises(InputError, match="KPI k is in 'persons'"):
        compare(a, hand_series([0], [[1, 2, 3]], columns=["p", "q", "r"], units="persons", path="b.h5"))


def test_time_labels():
    assert [elapsed_hhmm(t) for t in (0, 1200, 7200, 90000, 59)] == ["00:00", "00:20", "02:00", "25:00", "00:01"]
    assert date_times("2026-02-09T23:30:00+01:00", np.array([3600.0])) == ["2026-02-10T00:30:00+01:00"]
    assert date_times(None, np.array([0.0])) is None and date_times("not a date", np.array([0.0])) is None
    ticks = nice_ticks(0.0, 684928243.96)
    assert ticks[0] == 0.0 and ticks[-1] >= 684928243.96 and 4 <= len(ticks) <= 7


# --- bad input, incomplete runs and the CLI -----------------------------------------------------

def test_bad_files_raise_input_error_naming_the_file(tmp_path, runs):
    junk = tmp_path / "junk.h5"
    junk.write_text("not hdf5")
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["x"] = 1
    no_kpi = tmp_path / "no_kpi.h5"
    shutil.copy(runs[0], no_kpi)
    with h5py.File(no_kpi, "r+") as f:
        del f["kpi"]
    bad_columns = tmp_path / "bad_columns.h5"
    shutil.copy(runs[0], bad_columns)
    with h5py.File(bad_columns, "r+") as f:
        f["kpi/people_by_depth"].attrs["columns"] = ["one"]
    cases = {tmp_path / "missing.h5": "not a readable", junk: "not a readable", tmp_path / "other.h5":
             "not a twin3d results file", no_kpi: "no /kpi group", bad_columns: "3 columns but 1 column names"}
    for path, reason in cases.items():
        with pytest.raises(InputError, match=reason) as info:
            kpi_series(path)
        assert info.value.path == str(path)


def test_an_incomplete_run_is_reported_and_flagged(tmp_path, runs):
    live = tmp_path / "live.h5"
    shutil.copy(runs[0], live)
    with h5py.File(live, "r+") as f:
        f.attrs["complete"] = False
        f["time"].resize((5,))  # a reader can see /time ahead of /kpi or behind it
    s = kpi_series(live)
    assert not s["complete"] and len(s["time_s"]) == 5 and len(s["kpis"]["damage_eur"]["values"]) == 5
    assert "INCOMPLETE" in render_markdown(build_report(s)) and "incomplete run" in render_html(build_report(s))
    assert json.loads(render_json(build_report(s)))["scenarios"][0]["complete"] is False
    with h5py.File(live, "r+") as f:
        f.attrs["complete"] = True
    with pytest.raises(InputError, match="differ in length"):
        kpi_series(live)


def namespace(results, fmt="md", compare_with=None, output=None):
    return argparse.Namespace(results=results, format=fmt, compare=compare_with, output=output)


@pytest.mark.parametrize("fmt", ["md", "csv", "json", "html"])
def test_report_command_writes_every_format(tmp_path, runs, fmt, capsys):
    out = tmp_path / "sub" / f"report.{fmt}"
    assert report_command(namespace(runs[0], fmt, runs[1], out)) == 0
    assert out.read_text(encoding="utf-8") == render_report(runs[0], fmt, runs[1])
    assert "wrote" in capsys.readouterr().out
    assert not list(out.parent.glob("*.part"))
    assert report_command(namespace(runs[0], fmt)) == 0
    assert capsys.readouterr().out == render_report(runs[0], fmt)


def test_cli_exit_codes(tmp_path, runs, capsys):
    junk = tmp_path / "junk.h5"
    junk.write_text("junk")
    assert main(["report", str(runs[0]), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["kpis"]
    assert main(["report", str(junk)]) == 2
    assert f"error: {junk}: not a readable HDF5 results file" in capsys.readouterr().err
    assert main(["report", str(runs[0]), "--compare", str(junk)]) == 2
    assert main(["report", str(runs[0]), "-o", str(runs[0])]) == 2  # never overwrites an input
    assert kpi_series(runs[0])["complete"]
    with pytest.raises(InputError, match="unknown report format"):
        render_report(runs[0], "pdf")


def test_cli_subprocess(tmp_path, runs):
    def run(*args):
        return subprocess.run([sys.executable, "-m", "twin3d.cli", "report", *map(str, args)],
                              capture_output=True, text=True, cwd=REPO, timeout=120)

    proc = run(runs[0], "--compare", runs[1], "--format", "csv")
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.splitlines()) == 1 + 3 * n_values(kpi_series(runs[0]))
    proc = run(tmp_path / "missing.h5")
    assert proc.returncode == 2 and "missing.h5" in proc.stderr and "Traceback" not in proc.stderr
