"""Timeline logic: play a results file's frames in the scene (no UI layout here)."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

import numpy as np

SPEEDS = (1, 2, 5, 10)  # frames per second
RENDER_INTERVAL_S = 1 / 30  # at most one render per 1/30 s


def clock_text(start: str, seconds: float) -> str:
    """The simulated clock ("2026-02-09 08:00") at ``seconds`` after the ISO ``start``."""
    try:
        t0 = dt.datetime.fromisoformat(start)
    except (TypeError, ValueError):
        return f"t = {seconds / 3600:.2f} h"
    return (t0 + dt.timedelta(seconds=float(seconds))).strftime("%Y-%m-%d %H:%M")


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class TimelineLogic:
    """Binds the timeline state and controllers of ``server`` to a scene showing ``results``.

    State: ``time_index``, ``n_frames``, ``playing``, ``speed``, ``clock``, ``events``.
    Controllers: ``timeline_play``, ``timeline_pause``, ``timeline_step``, ``timeline_scrub``.
    """

    def __init__(self, server, scene, results):
        self.server, self.scene, self.results = server, scene, results
        self.state, self.ctrl = server.state, server.controller
        self.start = _text(results.file.attrs.get("start", ""))
        self._times = results.times()
        self._task = None
        self._last_render = 0.0
        self._render_pending = False
        scene.attach_results(results)
        n = results.n_frames
        self.state.update({"time_index": 0, "n_frames": n, "playing": False, "speed": SPEEDS[0],
                           "speeds": list(SPEEDS), "clock": self._clock(0), "events": self._events()})
        if n:
            scene.apply_frame(0)
        self.state.change("time_index")(self.on_time_index)
        self.ctrl.timeline_play = self.play
        self.ctrl.timeline_pause = self.pause
        self.ctrl.timeline_step = self.step
        self.ctrl.timeline_scrub = self.scrub

    def _clock(self, k: int) -> str:
        return clock_text(self.start, self._times[k]) if len(self._times) else "no frames yet"

    def _events(self) -> list[dict]:
        """Event markers: the frame each event falls in, and its label."""
        events = self.results.file["events"][()]
        if not len(events) or not len(self._times):
            return []
        frames = np.clip(np.searchsorted(self._times, events["time"], side="right") - 1, 0, None)
        return [{"index": int(k), "kind": _text(e["kind"]), "label": _text(e["label"])}
                for k, e in zip(frames, events, strict=True)]

    def on_time_index(self, time_index, **_):
        """State change on the index: one frame into the scene, one (coalesced) render."""
        k = int(np.clip(int(time_index or 0), 0, max(self.results.n_frames - 1, 0)))
        if not self.results.n_frames or k == self.scene.frame:
            return
        self.scene.apply_frame(k)
        self.state.clock = self._clock(k)
        self.request_render()

    def request_render(self) -> None:
        """Render now, or once at the end of the current 1/30 s window."""
        wait = self._last_render + RENDER_INTERVAL_S - time.monotonic()
        if wait <= 0:
            self._render()
        elif not self._render_pending:
            self._render_pending = True
            try:
                asyncio.get_running_loop().call_later(wait, self._render)
            except RuntimeError:  # no loop (tests without a server): render now
                self._render()

    def _render(self) -> None:
        self._render_pending = False
        self._last_render = time.monotonic()
        self.ctrl.view_update()

    def refresh(self) -> None:
        """See frames a live run appended since the last look."""
        if self.results.complete:
            return
        n = self.results.refresh()
        if n != self.state.n_frames:
            self._times = self.results.times()
            self.state.n_frames = n
            self.state.events = self._events()

    def step(self, frames: int = 1) -> None:
        """Advance ``frames`` frames (stays on the last one)."""
        self.refresh()
        last = max(self.results.n_frames - 1, 0)
        self.state.time_index = int(min(int(self.state.time_index) + frames, last))

    def scrub(self, time_index: int) -> None:
        """Jump to a frame."""
        self.state.time_index = int(time_index)

    def play(self) -> None:
        """Advance at ``speed`` frames per second on the server loop until paused or at the end."""
        if self._task is not None and not self._task.done():
            return
        self.state.playing = True
        from trame.app import asynchronous

        self._task = asynchronous.create_task(self._play_loop())

    def pause(self) -> None:
        """Stop playing; the current frame stays."""
        self.state.playing = False
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _play_loop(self) -> None:
        while self.state.playing:
            await asyncio.sleep(1.0 / max(float(self.state.speed or 1), 0.1))
            with self.state:
                if not self.state.playing:
                    return
                before = int(self.state.time_index)
                self.step()
                at_end = int(self.state.time_index) == before and self.results.complete
                if at_end:
                    self.state.playing = False
