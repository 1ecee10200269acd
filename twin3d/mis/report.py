"""KPI reports of a results file: tables over time, peaks, and two scenarios side by side.

Three pure functions do the analysis: :func:`kpi_series` reads every ``/kpi/<name>``
series of a results file, :func:`peaks` finds the peak of each KPI (and column), and
:func:`compare` takes A - B at the times both runs share.  :func:`build_report` puts
them together, and the renderers turn a report into Markdown, CSV, JSON or a
self-contained HTML page with inline SVG charts (:mod:`twin3d.mis.report_html`).
``twin3d report`` (:func:`report_command`) is the CLI body; docs/reports.md describes
the outputs.

Examples
--------
>>> import numpy as np
>>> series = {"time_s": np.array([0.0, 600.0, 1200.0]), "kpis": {"flooded_buildings": {
...     "units": "buildings", "label": "Flooded buildings", "columns": None,
...     "values": np.array([0.0, 12.0, 12.0])}}}
>>> peaks(series)["flooded_buildings"]
[{'column': None, 'value': 12.0, 'time_s': 600.0, 'frame': 1}]
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sys
from pathlib import Path

import numpy as np

from twin3d.errors import InputError
from twin3d.scenario.results import FORMAT

FORMATS = ("md", "csv", "json", "html")
REPORT_FORMAT = "twin3d-kpi-report"
REPORT_FORMAT_VERSION = 1
LABELS = ("A", "B")
DIFFERENCE = "A - B"


# --- reading ------------------------------------------------------------------------------------

def kpi_series(results_path: str | Path) -> dict:
    """Every KPI series of a results file.

    Parameters
    ----------
    results_path
        A results file written by ``twin3d run`` (docs/results-format.md); a run still
        being written or killed midway is read up to its last whole frame.

    Returns
    -------
    dict
        ``path``, ``name``, ``start`` (ISO 8601 or None), ``complete``, ``content_hash``,
        ``time_s`` (T,) and ``kpis``: name -> ``{"units", "label", "columns", "values"}``
        where ``columns`` is None and ``values`` is (T,) for a scalar KPI, or a list of k
        names and (T, k) for a broken-down one.

    Raises
    ------
    InputError
        The file is not a readable results file, or has no /time or /kpi.
    """
    import h5py

    path = Path(results_path)
    try:
        f = h5py.File(path, "r", libver="latest", swmr=True)
    except (OSError, ValueError) as exc:
        raise InputError(path, f"not a readable HDF5 results file ({exc})") from None
    with f:
        try:
            return _read_series(f, path)
        except (KeyError, OSError, ValueError, TypeError) as exc:
            raise InputError(path, f"unreadable results file ({type(exc).__name__}: {exc})") from None


def _text(value, default: str = "") -> str:
    if value is None:
        return default
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _read_series(f, path: Path) -> dict:
    import h5py

    if _text(f.attrs.get("format")) != FORMAT:
        raise InputError(path, f"not a twin3d results file (no format attribute '{FORMAT}')")
    if not isinstance(f.get("time"), h5py.Dataset):
        raise InputError(path, "no /time dataset")
    if not isinstance(f.get("kpi"), h5py.Group):
        raise InputError(path, "no /kpi group (a run without the MIS stages has no KPIs)")
    time_s = _read_time(f["time"], path)
    kpis = {name: _read_kpi(ds, name, path) for name, ds in f["kpi"].items()}
    if not kpis:
        raise InputError(path, "/kpi holds no KPIs (a run without buildings)")
    complete = bool(f.attrs.get("complete", False))
    n = min(len(time_s), *(len(k["values"]) for k in kpis.values()))
    if complete and any(len(k["values"]) != len(time_s) for k in kpis.values()):
        raise InputError(path, "a complete run whose /kpi series and /time differ in length")
    for kpi in kpis.values():
        kpi["values"] = kpi["values"][:n]
    start = f.attrs.get("start")
    return {"path": str(path), "name": _text(f.attrs.get("name"), path.stem),
            "start": None if start is None else _text(start), "complete": complete,
            "content_hash": _text(f.attrs.get("content_hash")), "time_s": time_s[:n], "kpis": kpis}


def _read_time(ds, path: Path) -> np.ndarray:
    if ds.ndim != 1 or ds.dtype.kind not in "fiu":
        raise InputError(path, f"/time: expected a 1-D numeric dataset, got shape {ds.shape} {ds.dtype}")
    time_s = np.asarray(ds[()], dtype=np.float64)
    if not np.isfinite(time_s).all() or (np.diff(time_s) <= 0).any():
        raise InputError(path, "/time: times must be finite and increasing")
    return time_s


def _read_kpi(ds, name: str, path: Path) -> dict:
    import h5py

    if not isinstance(ds, h5py.Dataset) or ds.ndim not in (1, 2) or ds.dtype.kind not in "fiub":
        raise InputError(path, f"/kpi/{name}: expected a numeric (T,) or (T, k) dataset")
    values = np.asarray(ds[()], dtype=np.float64)
    columns = None
    if ds.ndim == 2:
        raw = ds.attrs.get("columns")
        columns = [_text(c) for c in np.atleast_1d(raw)] if raw is not None else []
        if len(columns) != values.shape[1]:
            raise InputError(path, f"/kpi/{name}: {values.shape[1]} columns but {len(columns)} column names")
    return {"units": _text(ds.attrs.get("units")), "label": _text(ds.attrs.get("label"), name),
            "columns": columns, "values": values}


# --- analysis -----------------------------------------------------------------------------------

def _as_table(values: np.ndarray) -> np.ndarray:
    """A KPI's values as (T, k): a scalar series becomes one column."""
    values = np.asarray(values, dtype=np.float64)
    return values[:, None] if values.ndim == 1 else values


def _column_peaks(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per column of (T, k) ``values``: peak value, its first frame, and whether one exists."""
    finite_or_inf = ~np.isnan(values)
    if not len(values):
        k = values.shape[1]
        return np.full(k, np.nan), np.zeros(k, dtype=np.int64), np.zeros(k, dtype=bool)
    ranked = np.where(finite_or_inf, values, -np.inf)
    is_peak = (ranked == ranked.max(axis=0)) & finite_or_inf
    frame = np.argmax(is_peak, axis=0)  # the first frame at the peak
    has_peak = is_peak.any(axis=0)
    value = np.where(has_peak, values[frame, np.arange(values.shape[1])], np.nan)
    return value, frame, has_peak


def peaks(series: dict) -> dict[str, list[dict]]:
    """The peak (maximum) of every KPI and column, and the first time it occurs.

    NaN (unknown) never counts; ``inf`` does (an unreachable response time is the worst
    value).  A column that is NaN throughout has value NaN and ``time_s``/``frame`` None.

    Parameters
    ----------
    series
        :func:`kpi_series` output (``time_s`` and ``kpis`` are used).

    Returns
    -------
    dict
        KPI name -> one ``{"column", "value", "time_s", "frame"}`` per column (``column``
        None for a scalar KPI).
    """
    time_s = np.asarray(series["time_s"], dtype=np.float64)
    return {name: _peak_list(kpi["values"], kpi["columns"], time_s) for name, kpi in series["kpis"].items()}


def _peak_list(values: np.ndarray, columns: list[str] | None, time_s: np.ndarray) -> list[dict]:
    value, frame, has_peak = _column_peaks(_as_table(values))
    return [{"column": c, "value": float(v), "time_s": float(time_s[i]) if ok else None,
             "frame": int(i) if ok else None}
            for c, v, i, ok in zip(columns or [None], value, frame, has_peak)]


def compare(a: dict, b: dict) -> dict:
    """Scenario A against B: A - B for every KPI they share, at every time they share.

    Runs are compared at the times (seconds from each one's start) present in both, matched
    exactly; nothing is interpolated, because KPIs are states of a frame (counts, ``inf``
    response times) that do not vary linearly in between.  A KPI broken down into columns is
    compared on the columns both have (A's order).  ``inf - inf`` is NaN.

    Parameters
    ----------
    a, b
        :func:`kpi_series` outputs.

    Returns
    -------
    dict
        ``time_s`` (the common times), ``frames_a``/``frames_b`` (their frame indices),
        ``kpis``: name -> ``{"units", "label", "columns", "a", "b", "difference"}`` with
        arrays shaped like the KPI's own, and ``only_in_a``/``only_in_b``: KPI names not
        compared.

    Raises
    ------
    InputError
        The runs share no time, or a shared KPI has different units.
    """
    time_s, ia, ib = np.intersect1d(a["time_s"], b["time_s"], assume_unique=True, return_indices=True)
    if not len(time_s):
        raise InputError(b.get("path"), f"no output time in common with {a.get('path')}; cannot compare")
    kpis, only_a, only_b = {}, [], [n for n in b["kpis"] if n not in a["kpis"]]
    for name, ka in a["kpis"].items():
        kb = b["kpis"].get(name)
        pair = None if kb is None else _compare_kpi(name, ka, kb, ia, ib, b.get("path"))
        if pair is None:
            only_a.append(name)
        else:
            kpis[name] = pair
    return {"time_s": time_s, "frames_a": ia, "frames_b": ib, "kpis": kpis,
            "only_in_a": only_a, "only_in_b": only_b}


def _compare_kpi(name: str, ka: dict, kb: dict, ia: np.ndarray, ib: np.ndarray, path) -> dict | None:
    """One KPI of A and B on common frames and columns; None when no column is shared."""
    if ka["units"] != kb["units"]:
        raise InputError(path, f"KPI {name} is in {kb['units']!r}, but in {ka['units']!r} in the first file")
    va, vb = np.asarray(ka["values"])[ia], np.asarray(kb["values"])[ib]
    columns = ka["columns"]
    if (columns is None) != (kb["columns"] is None):
        return None
    if columns is not None:
        columns = [c for c in columns if c in kb["columns"]]
        if not columns:
            return None
        va = va[:, [ka["columns"].index(c) for c in columns]]
        vb = vb[:, [kb["columns"].index(c) for c in columns]]
    with np.errstate(invalid="ignore"):
        difference = va - vb
    return {"units": ka["units"], "label": ka["label"], "columns": columns, "a": va, "b": vb,
            "difference": difference}


def build_report(a: dict, b: dict | None = None) -> dict:
    """Everything a renderer needs: one scenario, or A and B with their difference.

    Returns a dict with ``scenarios`` (metadata of each, labelled ``A``/``B``), ``time_s``,
    ``elapsed`` (h:mm), ``datetime`` (ISO 8601 from A's start, or None), ``kpis``: name ->
    ``{"units", "label", "columns", "values": [(T, k) per scenario], "difference": (T, k)
    or None, "peaks": [peaks per scenario]}``, and ``only_in_a``/``only_in_b``.
    """
    if b is None:
        time_s, only_a, only_b = np.asarray(a["time_s"], dtype=np.float64), [], []
        kpis = {n: {**k, "values": [_as_table(k["values"])], "difference": None}
                for n, k in a["kpis"].items()}
    else:
        cmp = compare(a, b)
        time_s, only_a, only_b = cmp["time_s"], cmp["only_in_a"], cmp["only_in_b"]
        kpis = {n: {"units": k["units"], "label": k["label"], "columns": k["columns"],
                    "values": [_as_table(k["a"]), _as_table(k["b"])], "difference": _as_table(k["difference"])}
                for n, k in cmp["kpis"].items()}
    for kpi in kpis.values():
        kpi["peaks"] = [_peak_list(v, kpi["columns"], time_s) for v in kpi["values"]]
    scenarios = [{"label": label, **{key: s[key] for key in ("name", "path", "start", "complete", "content_hash")}}
                 for label, s in zip(LABELS, [a] if b is None else [a, b])]
    return {"scenarios": scenarios, "time_s": time_s, "elapsed": [elapsed_hhmm(t) for t in time_s],
            "datetime": date_times(a.get("start"), time_s), "kpis": kpis,
            "only_in_a": only_a, "only_in_b": only_b}


# --- shared formatting --------------------------------------------------------------------------

def elapsed_hhmm(time_s: float) -> str:
    """Seconds from the start as ``h:mm`` (hours are not wrapped at 24)."""
    minutes = int(round(abs(float(time_s)) / 60.0))
    return f"{'-' if time_s < 0 else ''}{minutes // 60:02d}:{minutes % 60:02d}"


def date_times(start: str | None, time_s: np.ndarray) -> list[str] | None:
    """ISO 8601 date-times ``start + time_s`` (seconds), or None without a readable start."""
    if not start:
        return None
    try:
        origin = dt.datetime.fromisoformat(start)
        return [(origin + dt.timedelta(seconds=float(t))).isoformat(timespec="seconds") for t in time_s]
    except (ValueError, OverflowError):
        return None


def format_value(value: float) -> str:
    """A KPI value for a table: thousands separated, 4 significant digits below 1000."""
    if np.isnan(value):
        return "n/a"
    if np.isinf(value):
        return "∞" if value > 0 else "-∞"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def kpi_title(kpi: dict) -> str:
    """``label (units)``, the heading of a KPI's table and chart."""
    return f"{kpi['label']} ({kpi['units']})" if kpi["units"] else kpi["label"]


def kpi_table(report: dict, name: str) -> tuple[list[str], list[list[str]]]:
    """Header and rows of one KPI over time: value per column (and scenario, and A - B)."""
    kpi = report["kpis"][name]
    columns = kpi["columns"] or ["value"]
    blocks = list(kpi["values"]) + ([kpi["difference"]] if kpi["difference"] is not None else [])
    suffixes = [""] if len(blocks) == 1 else [*LABELS, DIFFERENCE]
    header = ["time", "date-time"] + [f"{c} {s}".strip() for c in columns for s in suffixes]
    cells = np.stack(blocks, axis=2).reshape(len(report["time_s"]), -1)  # column-major: c, then scenario
    when = report["datetime"] or [""] * len(report["time_s"])
    rows = [[e, d.replace("T", " ")[:16], *map(format_value, row)]
            for e, d, row in zip(report["elapsed"], when, cells)]
    return header, rows


def peak_table(report: dict) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the peaks: per KPI and column, the peak of each scenario and when."""
    labels = [s["label"] for s in report["scenarios"]]
    two = len(labels) == 2
    header = ["KPI", "column", "units"]
    for label in labels:
        header += [f"peak {label}" if two else "peak", "at", "date-time"]
    header += ["peak A - peak B"] if two else []
    rows = []
    for kpi in report["kpis"].values():
        for i, column in enumerate(kpi["columns"] or [""]):
            row = [kpi["label"], column, kpi["units"]]
            for p in (scenario_peaks[i] for scenario_peaks in kpi["peaks"]):
                row += [format_value(p["value"]), _peak_time(report, p, elapsed=True), _peak_time(report, p)]
            if two:
                with np.errstate(invalid="ignore"):
                    row.append(format_value(kpi["peaks"][0][i]["value"] - kpi["peaks"][1][i]["value"]))
            rows.append(row)
    return header, rows


def _peak_time(report: dict, peak: dict, elapsed: bool = False) -> str:
    if peak["frame"] is None:
        return ""
    if elapsed:
        return report["elapsed"][peak["frame"]]
    return (report["datetime"] or [""] * len(report["time_s"]))[peak["frame"]].replace("T", " ")[:16]


# --- renderers ----------------------------------------------------------------------------------

def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(map(_md_cell, header)) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(map(_md_cell, row)) + " |" for row in rows]


def scenario_rows(report: dict) -> tuple[list[str], list[list[str]]]:
    """Header and rows describing the scenario(s): name, file, start, status, hash, frames."""
    header = ["", *(s["label"] for s in report["scenarios"])]
    fields = [("scenario", "name"), ("file", "path"), ("start", "start"), ("content hash", "content_hash")]
    rows = [[title, *(_text(s[key], "unknown") for s in report["scenarios"])] for title, key in fields]
    rows.append(["status", *("complete" if s["complete"] else "INCOMPLETE" for s in report["scenarios"])])
    return header, rows


def warnings(report: dict) -> list[str]:
    """One line per thing a reader must know: incomplete runs, KPIs not compared."""
    lines = [f"Scenario {s['label']} ({s['name']}) is an incomplete run: its KPIs stop at the last frame "
             "written." for s in report["scenarios"] if not s["complete"]]
    for which, names in (("A", report["only_in_a"]), ("B", report["only_in_b"])):
        if names:
            lines.append(f"Only in {which}, not compared: {', '.join(names)}.")
    return lines


def render_markdown(report: dict) -> str:
    """The report as Markdown: scenario table, peaks, then one table per KPI over time."""
    title = " vs ".join(s["name"] for s in report["scenarios"])
    lines = [f"# KPI report: {title}", "", *_md_table(*scenario_rows(report)), ""]
    lines += [f"> **Warning:** {w}" for w in warnings(report)] + [""] * bool(warnings(report))
    if len(report["scenarios"]) == 2:
        lines += ["Compared at the times both runs share; A - B is scenario A minus scenario B.", ""]
    lines += ["## Peaks", "", *_md_table(*peak_table(report)), "", "## KPIs over time", ""]
    for name, kpi in report["kpis"].items():
        lines += [f"### {_md_cell(kpi_title(kpi))}", "", f"`{name}`", "",
                  *_md_table(*kpi_table(report, name)), ""]
    return "\n".join(lines)


def render_csv(report: dict) -> str:
    """Long format, one row per KPI, column, time (and scenario when comparing):
    ``time_s, datetime, kpi, column, value, units[, scenario]``; NaN is ``nan``, inf ``inf``."""
    two = len(report["scenarios"]) == 2
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["time_s", "datetime", "kpi", "column", "value", "units"] + ["scenario"] * two)
    time_s = report["time_s"]
    when = np.asarray(report["datetime"] or [""] * len(time_s), dtype=object)
    for name, kpi in report["kpis"].items():
        blocks = list(kpi["values"]) + ([kpi["difference"]] if two else [])
        for label, values in zip([*LABELS, DIFFERENCE] if two else [None], blocks):
            k = values.shape[1]
            columns = np.tile(np.asarray(kpi["columns"] or [""], dtype=object), len(time_s))
            rows = zip(np.repeat(time_s, k), np.repeat(when, k), [name] * values.size, columns,
                       values.ravel(), [kpi["units"]] * values.size, *([[label] * values.size] if two else []))
            writer.writerows(rows)
    return buffer.getvalue()


def _json_array(values: np.ndarray) -> list:
    """Numbers as JSON: NaN -> null, inf -> "inf", -inf -> "-inf"."""
    values = np.asarray(values, dtype=np.float64)
    out = values.astype(object)
    out[np.isnan(values)] = None
    out[np.isposinf(values)] = "inf"
    out[np.isneginf(values)] = "-inf"
    return out.tolist()


def _json_peaks(report: dict, peak_list: list[dict]) -> list[dict]:
    return [{**p, "value": _json_array(np.array([p["value"]]))[0], "datetime": _peak_time(report, p) or None}
            for p in peak_list]


def render_json(report: dict) -> str:
    """The report as one JSON object (docs/reports.md); NaN is null, infinities are strings."""
    labels = [s["label"] for s in report["scenarios"]]
    kpis = {}
    for name, kpi in report["kpis"].items():
        shape = (lambda v: v[:, 0]) if kpi["columns"] is None else (lambda v: v)
        entry = {"label": kpi["label"], "units": kpi["units"], "columns": kpi["columns"],
                 "series": {lab: _json_array(shape(v)) for lab, v in zip(labels, kpi["values"])},
                 "peaks": {lab: _json_peaks(report, p) for lab, p in zip(labels, kpi["peaks"])}}
        if kpi["difference"] is not None:
            entry["difference"] = _json_array(shape(kpi["difference"]))
        kpis[name] = entry
    doc = {"format": REPORT_FORMAT, "format_version": REPORT_FORMAT_VERSION, "scenarios": report["scenarios"],
           "time_s": report["time_s"].tolist(), "datetime": report["datetime"], "kpis": kpis,
           "only_in_a": report["only_in_a"], "only_in_b": report["only_in_b"]}
    return json.dumps(doc, allow_nan=False, ensure_ascii=False) + "\n"


def render_report(results: str | Path, fmt: str = "md", compare_with: str | Path | None = None) -> str:
    """Read a results file (and optionally a second one to compare) and render a report.

    Parameters
    ----------
    results
        The results file (scenario A).
    fmt
        ``md``, ``csv``, ``json`` or ``html``.
    compare_with
        A second results file (scenario B): side by side, with A - B.
    """
    if fmt not in FORMATS:
        raise InputError(None, f"unknown report format {fmt!r}; choose one of {', '.join(FORMATS)}")
    a = kpi_series(results)
    report = build_report(a, None if compare_with is None else kpi_series(compare_with))
    if fmt == "html":
        from twin3d.mis.report_html import render_html

        return render_html(report)
    return {"md": render_markdown, "csv": render_csv, "json": render_json}[fmt](report)


def report_command(args) -> int:
    """CLI body of ``twin3d report results.h5 [--format md|csv|json|html] [--compare other.h5] [-o OUT]``.

    Writes to ``args.output`` atomically, or to stdout.  Bad input raises InputError (exit 2).
    """
    from twin3d.io.atomic import atomic_path

    fmt = getattr(args, "format", None) or "md"
    compare_with = getattr(args, "compare", None)
    output = getattr(args, "output", None)
    inputs = [Path(p) for p in (args.results, compare_with) if p is not None]
    if output is not None and any(Path(output).resolve() == p.resolve() for p in inputs):
        raise InputError(output, "the report would overwrite an input results file")
    text = render_report(args.results, fmt, compare_with)
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return 0
    try:
        with atomic_path(output) as tmp:
            Path(tmp).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(output, f"cannot write the report ({exc.strerror or exc})") from None
    print(f"wrote {output} ({fmt})")
    return 0
