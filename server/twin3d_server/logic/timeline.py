"""Timeline logic: play the active results' frames in the scene (no layout here)."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field

import numpy as np
from trame_server.utils.typed_state import TypedState

SPEEDS = (1, 2, 5, 10)  # frames per second
FOLLOW_INTERVAL_S = 1.0  # how often a run still computing is looked at


@dataclass
class TimelineState:
    time_index: int = 0
    n_frames: int = 0
    playing: bool = False
    speed: int = SPEEDS[0]
    speeds: list[int] = field(default_factory=lambda: list(SPEEDS))
    clock: str = "no results"
    events: list[dict] = field(default_factory=list)
    computing: bool = False  # the active run is still writing frames


def clock_text(start: str, seconds: float) -> str:
    """The simulated clock ("2026-02-09 08:00", with " UTC+01:00" when the start has a zone) at
    ``seconds`` after the ISO ``start``."""
    try:
        t0 = dt.datetime.fromisoformat(start)
    except (TypeError, ValueError):
        return f"t = {seconds / 3600:.2f} h"
    t = t0 + dt.timedelta(seconds=float(seconds))
    zone = ""
    if t.utcoffset() is not None:  # the scenario's own time zone, as "UTC+01:00"
        minutes = int(t.utcoffset().total_seconds() // 60)
        zone = f" UTC{'+' if minutes >= 0 else '-'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    return t.strftime("%Y-%m-%d %H:%M") + zone


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class TimelineLogic:
    """Binds the timeline state and controllers to the scene showing the active results.

    Controllers: ``timeline_play``, ``timeline_pause``, ``timeline_step``, ``timeline_scrub``.
    """

    def __init__(self, ctx):
        self.ctx = ctx
        self.typed = TypedState(ctx.state, TimelineState)
        self.data = self.typed.data
        self.start = ""
        self._times = np.zeros(0)
        self._task = None
        self._follow_task = None
        self.typed.bind_changes({self.typed.name.time_index: self.on_time_index})
        ctx.ctrl.timeline_play = self.play
        ctx.ctrl.timeline_pause = self.pause
        ctx.ctrl.timeline_step = self.step
        ctx.ctrl.timeline_scrub = self.scrub
        ctx.on_results(self.on_results)

    @property
    def results(self):
        return self.ctx.results

    def on_results(self, results) -> None:
        """A new active results file: attach it to the scene and show its first frame."""
        self.pause()
        self.start = _text(results.file.attrs.get("start", "")) if results is not None else ""
        self._times = results.times() if results is not None else np.zeros(0)
        if results is not None:
            self.ctx.scene.attach_results(results)
        n = results.n_frames if results is not None else 0
        self.data.n_frames = n
        self.data.events = self._events()
        self.data.computing = results is not None and not results.complete
        self.data.time_index = 0
        self.data.clock = self._clock(0) if results is not None else "no results"
        if n:
            self._show(0)
        if self.data.computing:
            self._start_following()

    def _clock(self, k: int) -> str:
        return clock_text(self.start, self._times[k]) if len(self._times) else "no frames yet"

    def _events(self) -> list[dict]:
        """Event markers: the frame each event falls in, and its label."""
        if self.results is None:
            return []
        events = self.results.file["events"][()]
        if not len(events) or not len(self._times):
            return []
        frames = np.clip(np.searchsorted(self._times, events["time"], side="right") - 1, 0, None)
        return [{"index": int(k), "kind": _text(e["kind"]), "label": _text(e["label"])}
                for k, e in zip(frames, events, strict=True)]

    def _show(self, k: int) -> None:
        self.ctx.scene.apply_frame(k)
        self.data.clock = self._clock(k)
        self.ctx.frame_changed(k)
        self.ctx.request_render()

    def on_time_index(self, time_index) -> None:
        """State change on the index: one frame into the scene, one (coalesced) render."""
        if self.results is None or not self.results.n_frames:
            return
        k = int(np.clip(int(time_index or 0), 0, self.results.n_frames - 1))
        if k != self.ctx.scene.frame:
            self._show(k)

    def refresh(self) -> None:
        """See frames a live run appended since the last look."""
        r = self.results
        if r is None:
            return
        n = r.refresh() if not r.complete else r.n_frames
        if n != self.data.n_frames:
            self._times = r.times()
            self.data.n_frames = n
            self.data.events = self._events()
            if self.ctx.scene.frame is None and n:
                self._show(0)
        self.data.computing = not r.complete

    def _start_following(self) -> None:
        if self._follow_task is not None and not self._follow_task.done():
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # no server loop (logic tests): refresh() is called by hand
            return
        from trame.app import asynchronous

        self._follow_task = asynchronous.create_task(self._follow_loop())

    async def _follow_loop(self) -> None:
        """While the active run computes, pick up its new frames once a second."""
        results = self.results
        while results is self.results and results is not None and not results.complete:
            await asyncio.sleep(FOLLOW_INTERVAL_S)
            with self.ctx.state:
                self.refresh()
        with self.ctx.state:
            self.refresh()

    def step(self, frames: int = 1) -> None:
        """Advance ``frames`` frames (stays on the last one)."""
        self.refresh()
        last = max(self.data.n_frames - 1, 0)
        self.data.time_index = int(min(int(self.data.time_index) + frames, last))

    def scrub(self, time_index: int) -> None:
        """Jump to a frame."""
        self.data.time_index = int(time_index)

    def play(self) -> None:
        """Advance at ``speed`` frames per second on the server loop until paused or at the end."""
        if self._task is not None and not self._task.done():
            return
        self.data.playing = True
        from trame.app import asynchronous

        self._task = asynchronous.create_task(self._play_loop())

    def pause(self) -> None:
        """Stop playing; the current frame stays."""
        self.data.playing = False
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _play_loop(self) -> None:
        while self.data.playing:
            await asyncio.sleep(1.0 / max(float(self.data.speed or 1), 0.1))
            with self.ctx.state:
                if not self.data.playing:
                    return
                before = int(self.data.time_index)
                self.step()
                if int(self.data.time_index) == before and self.results.complete:
                    self.data.playing = False
