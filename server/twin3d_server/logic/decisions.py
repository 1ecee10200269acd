"""Decision form: a planner records a decision in the hash-chained decision log, with the
scenario, frame, time, KPI snapshot and stored allocation attached (no layout here).

The log is the one ``twin3d decisions`` uses by default
(:func:`twin3d.mis.decisions.default_log_path`: ``<data_dir>/decisions.sqlite``), so the CLI
and the app share it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from trame_server.utils.typed_state import TypedState

RECENT = 8  # decisions listed


@dataclass
class DecisionState:
    title: str = ""
    option: str = ""
    reason: str = ""
    recent: list[dict] = field(default_factory=list)  # {seq, when, who, what, why, frame}
    message: str = ""
    error: str = ""
    log_path: str = ""


def _text(value, default: str = "") -> str:
    if value is None:
        return default
    return value.decode() if isinstance(value, bytes) else str(value)


def _finite(value) -> float | None:
    """A JSON-safe number: the log refuses NaN and infinity, which become null."""
    v = float(value)
    return v if np.isfinite(v) else None


class DecisionLogic:
    """Records decisions on the active results and lists the recent ones.

    Controllers: ``decision_record`` (planner only).
    """

    def __init__(self, ctx, log_path: str | Path | None = None):
        from twin3d.mis.decisions import default_log_path

        self.ctx = ctx
        self.typed = TypedState(ctx.state, DecisionState)
        self.data = self.typed.data
        self.path = Path(log_path) if log_path is not None else default_log_path()
        self.data.log_path = str(self.path)
        ctx.ctrl.decision_record = self.record
        ctx.on_results(lambda _results: self.refresh())
        self.refresh()

    def log(self):
        from twin3d.mis.decisions import DecisionLog

        return DecisionLog(self.path)

    def refresh(self) -> None:
        """Read the most recent decisions of the log (other sessions and the CLI append too)."""
        from twin3d.errors import InputError

        try:
            entries = self.log().entries()[-RECENT:]
        except InputError as exc:
            self.data.error, self.data.recent = str(exc), []
            return
        self.data.recent = [{"seq": d.seq, "when": d.timestamp_utc[:16].replace("T", " ") + " UTC", "who": d.who,
                             "what": d.what, "why": d.why, "frame": d.frame_index} for d in reversed(entries)]

    def entry(self) -> dict:
        """The decision the form describes, with the scenario, frame and snapshots attached: ``kpis``
        is ``{"scenario": name, "values": {kpi: value or [column values]}}`` at the frame (unknown
        and infinite values as null), ``allocation`` the frame's stored ``/allocation`` row by column."""
        results, k = self.ctx.results, int(self.ctx.frame or 0)
        f = results.file
        title, option = self.data.title.strip(), self.data.option.strip()
        what = f"{title}: {option}" if title and option else title or option
        times = results.times()
        values = {}
        for name, ds in f.get("kpi", {}).items():
            if k < ds.shape[0]:
                row = np.asarray(ds[k], dtype=np.float64)
                values[name] = _finite(row) if row.ndim == 0 else [_finite(v) for v in row]
        kpis = {"scenario": _text(f.attrs.get("name"), results.path.stem), "values": values}
        allocation = None
        if "allocation" in f and k < f["allocation"].shape[0]:
            columns = [_text(c) for c in f["allocation"].attrs.get("columns", [])]
            allocation = {c: _finite(v) for c, v in zip(columns, f["allocation"][k], strict=False)}
        return {"who": self.ctx.options.user, "what": what, "why": self.data.reason.strip(),
                "scenario_hash": _text(f.attrs.get("content_hash")), "frame_index": k,
                "frame_time_s": float(times[k]) if k < len(times) else None, "kpis": kpis, "allocation": allocation}

    def record(self) -> None:
        """Append the form's decision to the log (planner only); clears the form on success."""
        from twin3d.errors import InputError

        self.ctx.require("planner", "recording a decision")
        self.data.message = ""
        if self.ctx.results is None:
            self.data.error = "no scenario results to decide on"
            return
        if not (self.data.title.strip() or self.data.option.strip()) or not self.data.reason.strip():
            self.data.error = "give the decision (title or option chosen) and the reason"
            return
        try:
            d = self.log().append(self.entry())
        except InputError as exc:
            self.data.error = str(exc)
            return
        self.data.error = ""
        self.data.title, self.data.option, self.data.reason = "", "", ""
        stamp = dt.datetime.fromisoformat(d.timestamp_utc.replace("Z", "+00:00")).strftime("%H:%M:%S")
        self.data.message = f"recorded as entry {d.seq} at {stamp} UTC"
        self.refresh()
