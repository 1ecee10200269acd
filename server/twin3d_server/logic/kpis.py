"""KPI cards: each ``/kpi/<name>`` series of the active results, its value at the shown frame,
its chart with a marker at the current time, and the HTML report for download (no layout here).

A frame costs little: the series are read once per results file (again only when a live run
has appended frames), and a tick sends the cards' value texts and one number, the marker's
time, which the client places as a thin vertical bar over the charts it already has (the
charts themselves are not redrawn).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
from trame_server.utils.typed_state import TypedState

# Okabe-Ito, distinguishable with the common colour-vision deficiencies (as the HTML report)
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
CHART_HEIGHT_PX = 120
REPORT_TRIGGER = "report_download"


@dataclass
class KpiState:
    cards: list[dict] = field(default_factory=list)  # {name, label, units, columns, figure}; per results
    values: dict = field(default_factory=dict)  # {name: {"text": str, "columns": [{"name", "text"}]}}; per frame
    marker_h: float = 0.0  # the shown frame's time, hours since the start
    note: str = "no results"  # shown instead of the cards when there are none
    report_error: str = ""
    report_name: str = "report.html"  # the downloaded file's name


def _text(value, default: str = "") -> str:
    if value is None:
        return default
    return value.decode() if isinstance(value, bytes) else str(value)


def format_kpi(value: float, units: str) -> str:
    """A KPI value for a card: the report's number format (``∞``, ``n/a``) with its units."""
    from twin3d.mis.report import format_value

    text = format_value(float(value))
    if not np.isfinite(value) or not units:
        return text
    return f"{text}{units}" if units == "%" else f"{text} {units}"


def kpi_figure(time_h: np.ndarray, values: np.ndarray, columns: list[str] | None, units: str) -> dict:
    """The plotly figure (``{"data", "layout"}``, plain JSON) of one KPI series; infinite and
    unknown values leave gaps."""
    table = values.reshape(len(values), -1)
    names = columns or [""]
    data = []
    for j, name in enumerate(names[: table.shape[1]]):
        y = [float(v) if np.isfinite(v) else None for v in table[:, j]]
        data.append({"type": "scatter", "mode": "lines+markers", "x": [float(t) for t in time_h], "y": y,
                     "name": name or units, "line": {"color": PALETTE[j % len(PALETTE)], "width": 2},
                     "marker": {"size": 4}, "hovertemplate": f"%{{y:.4~g}} {units}<extra>{name}</extra>"})
    t0, t1 = (float(time_h[0]), float(time_h[-1])) if len(time_h) else (0.0, 0.0)
    pad = 0.02 * (t1 - t0) if t1 > t0 else 0.5  # keep the marker off the frame
    legend_rows = -(-len(columns) // 3) if columns else 0
    layout = {"height": CHART_HEIGHT_PX + 18 * legend_rows,
              "margin": {"l": 44, "r": 8, "t": 4, "b": 22 + 18 * legend_rows},
              "showlegend": bool(columns),
              "legend": {"orientation": "h", "x": 0, "y": 0, "yref": "container", "yanchor": "bottom",
                         "font": {"size": 10}},
              "xaxis": {"ticksuffix": " h", "tickfont": {"size": 10}, "fixedrange": True,
                        "range": [t0 - pad, t1 + pad]},  # fixed: the client places the marker on it
              "yaxis": {"title": {"text": units, "font": {"size": 10}}, "tickfont": {"size": 10},
                        "rangemode": "tozero", "fixedrange": True},
              "paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)"}
    return {"data": data, "layout": layout}


def report_filename(results) -> str:
    """``<scenario name>-report.html`` with the name reduced to letters, digits and dashes."""
    if results is None:
        return "report.html"
    name = _text(results.file.attrs.get("name"), results.path.stem)
    slug = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower() or "scenario"
    return f"{slug}-report.html"


class KpiLogic:
    """The KPI cards of the active results at the shown frame.

    Controllers: none; the report is a trigger, ``report_download``, returning the HTML text
    (the client saves it with ``utils.download``).
    """

    def __init__(self, ctx):
        self.ctx = ctx
        self.typed = TypedState(ctx.state, KpiState)
        self.data = self.typed.data
        self.series: dict[str, dict] = {}  # name -> {label, units, columns, values (T,) or (T, k)}
        self.time_s = np.zeros(0)
        ctx.server.trigger(REPORT_TRIGGER)(self.report_html)
        ctx.on_results(self.on_results)
        ctx.on_frame(self.on_frame)

    # --- series -------------------------------------------------------------------------
    def on_results(self, results) -> None:
        """Read the KPI series of the new results and lay out their cards."""
        self._read(results)
        self.data.values = {}
        self.data.marker_h = 0.0
        self.data.report_name = report_filename(results)
        if self.ctx.frame is not None:  # the timeline may have shown the first frame before this ran
            self.on_frame(self.ctx.frame)

    def _read(self, results) -> None:
        self.series, self.time_s = {}, np.zeros(0)
        if results is None:
            self.data.cards, self.data.note = [], "no results"
            return
        group = results.file.get("kpi")
        n = results.n_frames
        self.time_s = results.times()[:n]
        for name in sorted(group) if group is not None else ():
            ds = group[name]
            columns = ds.attrs.get("columns")
            self.series[name] = {"label": _text(ds.attrs.get("label"), name), "units": _text(ds.attrs.get("units")),
                                 "columns": [_text(c).replace("_", " ") for c in columns] if columns is not None else None,
                                 "values": np.asarray(ds[:n], dtype=np.float64)}
        self.data.note = "" if self.series else "these results have no KPIs (run with the MIS stages)"
        time_h = self.time_s / 3600.0
        self.data.cards = [{"name": name, "label": s["label"], "units": s["units"], "columns": s["columns"],
                            "figure": kpi_figure(time_h, s["values"], s["columns"], s["units"])}
                           for name, s in self.series.items()]

    # --- per frame ----------------------------------------------------------------------
    def frame_values(self, k: int) -> dict:
        """``{name: {"text", "columns": [{"name", "text"}]}}``: the cards' texts at frame ``k``."""
        out = {}
        for name, s in self.series.items():
            row, units = s["values"][k], s["units"]
            if s["columns"] is None:
                out[name] = {"text": format_kpi(row, units), "columns": []}
                continue
            cols = [{"name": c, "text": format_kpi(v, units)} for c, v in zip(s["columns"], row, strict=False)]
            out[name] = {"text": " · ".join(f"{c['name']}: {c['text']}" for c in cols), "columns": cols}
        return out

    def on_frame(self, k: int) -> None:
        """The scene shows frame ``k``: new value texts and the marker moved (the charts stay)."""
        if self.ctx.results is None:
            return
        if k >= len(self.time_s):  # a live run appended frames since the series were read
            self._read(self.ctx.results)
        if k >= len(self.time_s):
            return
        self.data.values = self.frame_values(k)
        self.data.marker_h = float(self.time_s[k] / 3600.0)

    # --- report -------------------------------------------------------------------------
    def report_html(self) -> str:
        """The HTML KPI report of the active results (docs/reports.md); '' when there is none."""
        from twin3d.errors import InputError
        from twin3d.mis.report import render_report

        results = self.ctx.results
        if results is None:
            self.data.report_error = "no results to report on"
            return ""
        try:
            html = render_report(results.path, "html")
        except InputError as exc:
            self.data.report_error = str(exc)
            return ""
        self.data.report_error = ""
        return html
