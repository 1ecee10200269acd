"""The HTML KPI report: one self-contained page, a line chart per KPI drawn as inline SVG.

No script, stylesheet, font or image is fetched: the page works offline and from a
mail attachment.  Colours are the Okabe-Ito palette (distinguishable with every common
colour-vision deficiency); scenario B is dashed, so the two scenarios differ by more than
colour.  Values that cannot be drawn (``inf``, e.g. an unreachable response time) are
marked with a triangle at the top edge of the chart; unknown values (NaN) leave a gap.
"""

from __future__ import annotations

import html

import numpy as np

from twin3d.mis.report import elapsed_hhmm, kpi_table, kpi_title, peak_table, scenario_rows, warnings

PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
DASHES = ("", "7 4")  # scenario A solid, B dashed
WIDTH, PLOT_HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 78, 16, 34, 44
LEGEND_ROW, LEGEND_ITEM = 18, 232
TIME_STEPS_S = np.array([60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800])
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 75em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; white-space: normal; }
table.meta td { text-align: left; white-space: normal; overflow-wrap: anywhere; }
.scroll { overflow-x: auto; }
.warning { background: #fff3cd; border-left: 4px solid #E69F00; padding: 0.5em 1em; }
svg { display: block; margin: 0.5em 0; }
code { font-size: 0.9em; }
"""


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def nice_ticks(lo: float, hi: float, count: int = 5) -> np.ndarray:
    """Round tick values covering [lo, hi]: steps of 1, 2 or 5 x 10^n, about ``count`` of them."""
    if not hi > lo:
        hi = lo + 1.0
    raw = (hi - lo) / count
    magnitude = 10.0 ** np.floor(np.log10(raw))
    step = magnitude * np.array([1.0, 2.0, 5.0, 10.0])[np.searchsorted([1.0, 2.0, 5.0], raw / magnitude)]
    return np.arange(np.floor(lo / step), np.ceil(hi / step) + 0.5) * step


def time_ticks(t0: float, t1: float, count: int = 6) -> np.ndarray:
    """Tick times (s) on whole minutes/hours/days, about ``count`` of them."""
    step = TIME_STEPS_S[min(np.searchsorted(TIME_STEPS_S, (t1 - t0) / count), len(TIME_STEPS_S) - 1)]
    return np.arange(np.ceil(t0 / step), np.floor(t1 / step) + 0.5) * step


def _path_d(px: np.ndarray, py: np.ndarray, drawn: np.ndarray) -> str:
    """SVG path data through the drawn points; a gap wherever a point is not drawn."""
    starts = drawn & ~np.concatenate([[False], drawn[:-1]])
    cmd = np.where(starts, "M", "L")
    parts = np.char.add(np.char.add(np.char.add(cmd, np.char.mod("%.1f", px)), ","), np.char.mod("%.1f", py))
    return " ".join(parts[drawn].tolist())


def _axes(x_of, y_of, t_ticks: np.ndarray, y_ticks: np.ndarray, units: str) -> list[str]:
    bottom, right = TOP + PLOT_HEIGHT, WIDTH - RIGHT
    out = [f'<rect x="{LEFT}" y="{TOP}" width="{right - LEFT}" height="{PLOT_HEIGHT}" fill="none" '
           'stroke="#999"/>']
    for y, v in zip(y_of(y_ticks), y_ticks):
        label = f"{v:,.0f}" if abs(v) >= 1000 or v == int(v) else f"{v:.3g}"
        out.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="#e4e4e4"/>'
                   f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{_e(label)}</text>')
    for x, t in zip(x_of(t_ticks), t_ticks):
        out.append(f'<line x1="{x:.1f}" y1="{bottom}" x2="{x:.1f}" y2="{bottom + 5}" stroke="#999"/>'
                   f'<text x="{x:.1f}" y="{bottom + 18}" text-anchor="middle">{elapsed_hhmm(t)}</text>')
    out.append(f'<text x="{(LEFT + right) / 2:.1f}" y="{bottom + 36}" text-anchor="middle">'
               'time since start (h:mm)</text>')
    out.append(f'<text transform="translate(14 {TOP + PLOT_HEIGHT / 2:.1f}) rotate(-90)" '
               f'text-anchor="middle">{_e(units)}</text>')
    return out


def _scales(time_s: np.ndarray, blocks: list[np.ndarray]):
    """Data -> pixel functions and tick values; the value axis always includes 0."""
    t0, t1 = (float(time_s[0]), float(time_s[-1])) if len(time_s) else (0.0, 1.0)
    t1 = t1 if t1 > t0 else t0 + 60.0
    finite = np.concatenate([b[np.isfinite(b)] for b in blocks] + [np.zeros(1)])
    y_ticks = nice_ticks(float(finite.min()), float(finite.max()))
    lo, hi = float(y_ticks[0]), float(y_ticks[-1])

    def x_of(t):
        return LEFT + (np.asarray(t, dtype=np.float64) - t0) / (t1 - t0) * (WIDTH - LEFT - RIGHT)

    def y_of(v):
        return TOP + PLOT_HEIGHT - (np.asarray(v, dtype=np.float64) - lo) / (hi - lo) * PLOT_HEIGHT

    return x_of, y_of, time_ticks(t0, t1), y_ticks


def _series_marks(px: np.ndarray, py: np.ndarray, values: np.ndarray, colour: str, dash: str) -> list[str]:
    drawn = np.isfinite(values)
    dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
    out = []
    if drawn.any():
        out.append(f'<path d="{_path_d(px, py, drawn)}" fill="none" stroke="{colour}" stroke-width="2"'
                   f'{dash_attr}/>')
        out += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{colour}"/>'
                for x, y in zip(px[drawn], py[drawn])] if drawn.sum() <= 60 else []
    out += [f'<path d="M{x - 5:.1f},{TOP + 9} L{x + 5:.1f},{TOP + 9} L{x:.1f},{TOP + 1} Z" fill="{colour}">'
            '<title>infinite</title></path>' for x in px[np.isposinf(values)]]
    return out


def _legend(entries: list[tuple[str, str, str]], y0: float) -> list[str]:
    per_row = max(1, (WIDTH - LEFT) // LEGEND_ITEM)
    out = []
    for i, (text, colour, dash) in enumerate(entries):
        x, y = LEFT + (i % per_row) * LEGEND_ITEM, y0 + (i // per_row) * LEGEND_ROW
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(f'<line x1="{x}" y1="{y - 4}" x2="{x + 26}" y2="{y - 4}" stroke="{colour}" '
                   f'stroke-width="2"{dash_attr}/><text x="{x + 32}" y="{y}">{_e(text)}</text>')
    return out


def line_chart(report: dict, name: str) -> str:
    """One KPI as an inline SVG line chart: a line per column (colour) and scenario (dash)."""
    kpi = report["kpis"][name]
    time_s, blocks = report["time_s"], kpi["values"]
    labels = [s["label"] for s in report["scenarios"]]
    x_of, y_of, t_ticks, y_ticks = _scales(time_s, blocks)
    body, entries = _axes(x_of, y_of, t_ticks, y_ticks, kpi["units"]), []
    columns = kpi["columns"] or [kpi["label"]]
    for s, (label, values) in enumerate(zip(labels, blocks)):
        for j, column in enumerate(columns):
            colour, dash = PALETTE[j % len(PALETTE)], DASHES[s]
            body += _series_marks(x_of(time_s), y_of(values[:, j]), values[:, j], colour, dash)
            entries.append((f"{column} ({label})" if len(labels) > 1 else column, colour, dash))
    if not any(np.isfinite(b).any() for b in blocks):
        body.append(f'<text x="{(WIDTH + LEFT) / 2:.0f}" y="{TOP + PLOT_HEIGHT / 2:.0f}" '
                    'text-anchor="middle" fill="#666">no finite values</text>')
    legend_top = TOP + PLOT_HEIGHT + BOTTOM + 10
    body += _legend(entries, legend_top)
    rows = -(-len(entries) // max(1, (WIDTH - LEFT) // LEGEND_ITEM))
    height = legend_top + rows * LEGEND_ROW
    title = kpi_title(kpi)
    return (f'<svg width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" role="img" '
            f'font-size="12" font-family="system-ui, sans-serif"><title>{_e(title)}</title>'
            f'<text x="{LEFT}" y="20" font-size="14" font-weight="bold">{_e(title)}</text>'
            + "".join(body) + "</svg>")


def _html_table(header: list[str], rows: list[list[str]], css_class: str = "") -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    attr = f' class="{css_class}"' if css_class else ""
    return f'<div class="scroll"><table{attr}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def render_html(report: dict) -> str:
    """The report as one self-contained HTML page: scenarios, peaks, a chart and a table per KPI."""
    title = " vs ".join(s["name"] for s in report["scenarios"])
    parts = [f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>KPI report: "
             f"{_e(title)}</title><style>{STYLE}</style></head><body>",
             f"<h1>KPI report: {_e(title)}</h1>", _html_table(*scenario_rows(report), css_class="meta")]
    parts += [f'<p class="warning">{_e(w)}</p>' for w in warnings(report)]
    if len(report["scenarios"]) == 2:
        parts.append("<p>Compared at the times both runs share; scenario A is drawn solid, B dashed; "
                     "A - B is scenario A minus scenario B.</p>")
    parts += ["<p>Triangles at the top edge of a chart mark infinite values (unreachable); "
              "gaps are unknown values.</p>", "<h2>Peaks</h2>", _html_table(*peak_table(report)),
              "<h2>KPIs over time</h2>"]
    for name, kpi in report["kpis"].items():
        parts += [f'<section id="{_e(name)}"><h3>{_e(kpi_title(kpi))} <code>{_e(name)}</code></h3>',
                  line_chart(report, name), "<details><summary>table</summary>",
                  _html_table(*kpi_table(report, name)), "</details></section>"]
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
