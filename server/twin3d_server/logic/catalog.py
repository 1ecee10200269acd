"""The scenario catalogue: what the scenario picker offers, which results are active, and
the background runs of scenario files (:mod:`twin3d_server.logic.runs`).

An entry is a results file (offered as it is) or a scenario file (run in the background,
or reused from the cache).  A run's results are opened as soon as the file has a frame,
so the timeline follows it live; when the run ends the file is opened afresh (a reader
opened during the run does not see the "complete" mark).  The first entry with a frame
becomes active unless the user has chosen one.
"""

from __future__ import annotations

import asyncio
import os
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from trame_server.utils.typed_state import TypedState

from twin3d.errors import InputError
from twin3d_server.logic.runs import RunQueue, run_path

POLL_INTERVAL_S = 0.5
DEFAULT_SCENARIOS = "scenarios"  # assets/scenarios/*.toml


@dataclass
class CatalogState:
    scenarios: list[dict] = field(default_factory=list)  # {value, title, status}
    scenario_id: str = ""
    status: str = ""  # the chosen entry's status ("failed: <reason>", "running 40%", ...)


def default_scenarios() -> list[Path]:
    """The default city's scenario files (``assets/scenarios/*.toml``), in name order."""
    from twin3d.config import assets_dir

    return sorted((assets_dir() / DEFAULT_SCENARIOS).glob("*.toml"))


def split_targets(targets) -> tuple[str | None, list]:
    """Split ``twin3d serve`` arguments into the city spec and the catalogue's entries
    (results files and scenario files).  A results file alone names its own city; with
    neither a city nor an entry, the entries are the default scenarios."""
    from twin3d.scenario.results import is_results_file

    city, entries = None, []
    for target in targets or ():
        path = Path(target)
        if is_results_file(path) or (path.suffix == ".toml" and _is_scenario(path)):
            entries.append(path)
        elif city is None:
            city = str(target)
        else:
            raise InputError(path, f"a second city (already serving {city}); give one city")
    if city is None and entries and is_results_file(entries[0]):
        city = _results_city(entries[0])
    if city is None and not entries:
        entries = default_scenarios()
    return city, entries


def _is_scenario(path: Path) -> bool:
    from twin3d.scenario.spec import load_raw

    try:
        raw = load_raw(path)
    except InputError:
        return False
    return "hazards" in raw or "kind" in raw


def _results_city(path: Path) -> str | None:
    import h5py

    with h5py.File(path, "r", libver="latest", swmr=True) as f:
        value = f.attrs.get("city_path", "")
    value = value.decode() if isinstance(value, bytes) else str(value)
    return value or None


def frames_written(results) -> int:
    """Frames of a live results file that are written whole: the writer appends ``time`` first
    and the other series after it, then checkpoints, so the checkpoint's frame count (or one
    less than ``time``'s length) is what a reader may show."""
    n = results.refresh()
    if "checkpoint/frames" in results.file:
        ds = results.file["checkpoint/frames"]
        ds.refresh()
        return min(n, int(ds[0]))
    return max(n - 1, 0)


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


@dataclass
class Entry:
    """One picker entry: a results file, or a scenario file and its background run."""

    key: str
    title: str
    results: object | None = None  # an open ResultsFile
    scenario: Path | None = None  # the source scenario file, when known
    run: object | None = None  # a runs.Run
    n_expected: int = 0  # frames the run will write
    error: str = ""
    cached: bool = False  # a complete results file from an earlier serve was there
    checking: Path | None = None  # the cached file shown while its run checks it is current
    listeners: list[Callable] = field(default_factory=list)  # callback(results) when complete

    @property
    def status(self) -> str:
        if self.error:
            return f"failed: {self.error}"
        run = self.run
        if run is None:
            return "complete" if self.results is None or self.results.complete else self._percent("running")
        if run.status == "queued":
            return "cached" if self.cached else "queued"
        if run.status == "running" and self.checking is not None:
            return "cached"
        if run.status == "running":
            if self.results is None:  # an earlier serve's file is being checked, or nothing written yet
                return "cached" if self.cached and not run.wrote_since_start() else "running"
            return self._percent("running")
        if run.status == "failed":
            return f"failed: {run.error}"
        return "cached" if self.cached or run.reused else "complete"

    def _percent(self, word: str) -> str:
        if self.results is None or not self.n_expected:
            return word
        return f"{word} {min(99, int(100 * self.results.n_frames / self.n_expected))}%"


class CatalogLogic:
    """Offers results files and scenario files, runs the scenarios in the background, and
    makes the chosen entry's results the active results.

    Methods other panels use: :meth:`add_scenario`, :meth:`scenario_of`, :meth:`key_of`,
    :meth:`results_of`, :meth:`when_complete`.  Controller: ``catalog_shutdown``.
    """

    def __init__(self, ctx, targets=()):
        from twin3d.scenario.results import ResultsFile

        self.ctx = ctx
        self.typed = TypedState(ctx.state, CatalogState)
        self.data = self.typed.data
        self.queue = RunQueue()
        self.entries: dict[str, Entry] = {}
        self.open = {}  # key -> ResultsFile, the entries with results
        self.chosen = False  # the user picked an entry: do not switch by ourselves
        self._auto_id = None  # the last entry chosen by the catalogue itself
        self._task = None
        for target in targets:
            if isinstance(target, ResultsFile) or Path(target).suffix != ".toml":
                self._add_results(target)
            else:
                self.add_scenario(target, select=False)
        self.typed.bind_changes({self.typed.name.scenario_id: self.on_pick})
        ctx.ctrl.catalog_shutdown = self.shutdown
        ctx.ctrl.on_server_ready.add(self._start_polling)
        ctx.ctrl.on_server_exited.add(self._on_exit)
        self.poll()
        if not self.data.scenario_id and self.entries:
            self._auto_pick(next(iter(self.entries)))

    # --- entries -------------------------------------------------------------------------
    def _new_key(self) -> str:
        return f"s{len(self.entries)}"

    def _add_results(self, target) -> str:
        from twin3d.scenario.results import ResultsFile

        results = target if isinstance(target, ResultsFile) else ResultsFile(target)
        key = self._new_key()
        title = _text(results.file.attrs.get("name", results.path.stem))
        self.entries[key] = Entry(key, title, results=results)
        self.open[key] = results
        self._publish()
        return key

    def add_scenario(self, path, select: bool = False, on_complete: Callable | None = None) -> str:
        """Add a scenario file and queue its run; returns its key.  ``select``: make it the
        active entry as soon as it has a frame; ``on_complete(results)`` when its run ends."""
        from twin3d.scenario.results import is_results_file
        from twin3d.scenario.spec import load_scenario

        path = Path(path).resolve()
        key = self._new_key()
        entry = Entry(key, path.stem, scenario=path)
        if on_complete is not None:
            entry.listeners.append(on_complete)
        self.entries[key] = entry
        try:
            scenario = load_scenario(path, quick=self.queue.quick)
            entry.title, entry.n_expected = scenario.name, len(scenario.output_times())
        except InputError as exc:
            entry.error = str(exc)
        if not entry.error:
            stable = run_path(path, self.queue.quick)
            if self._show_cached(entry, stable):  # shown now; the run checks it into a side file
                entry.run = self.queue.submit(path, output=stable.with_name(f".{stable.name}.check"))
            else:
                entry.run = self.queue.submit(path)
                entry.cached = is_results_file(entry.run.output) and not entry.run.wrote_since_start()
        if select:
            self.chosen = True
            self.data.scenario_id = key
        self._publish()
        return key

    def scenario_of(self, results) -> Path | None:
        """The scenario file behind ``results`` (``None`` for a results file given as is)."""
        entry = next((e for e in self.entries.values() if e.results is results and results is not None), None)
        return entry.scenario if entry is not None else None

    def key_of(self, results) -> str | None:
        return next((k for k, e in self.entries.items() if e.results is results and results is not None), None)

    def results_of(self, key: str):
        entry = self.entries.get(key)
        return entry.results if entry is not None else None

    def when_complete(self, key: str, callback: Callable) -> None:
        """``callback(results)`` once the entry's run is complete (at once if it is)."""
        entry = self.entries[key]
        if entry.results is not None and entry.results.complete:
            callback(entry.results)
        else:
            entry.listeners.append(callback)

    # --- polling -------------------------------------------------------------------------
    def poll(self) -> None:
        """Advance the runs, open results that have a frame, refresh the statuses, and keep
        an entry active (kiosk: play through them)."""
        self.queue.poll()
        for entry in self.entries.values():
            if entry.run is not None:
                self._follow(entry)
        if self.ctx.results is None or self.chosen:
            self._activate_first()
        if self.ctx.options.kiosk:
            self._kiosk_step()
        self._publish()

    def _show_cached(self, entry: Entry, stable: Path) -> bool:
        """Open a complete results file an earlier serve left at ``stable``; it is shown while
        its scenario runs into a side file (the runner copies its cache there when nothing
        changed), so the shown file is never rewritten under its reader."""
        from twin3d.scenario.results import ResultsFile, is_results_file

        if not is_results_file(stable):
            return False
        try:
            results = ResultsFile(stable)
        except InputError:
            return False
        if not results.complete:
            results.close()
            return False
        entry.results, entry.cached, entry.checking = results, True, stable
        self.open[entry.key] = results
        return True

    def _check_cached(self, entry: Entry) -> None:
        """The run of a shown cached file ended: the same content hash keeps it; another
        replaces it (the fresh file takes the stable path and is shown in its place)."""
        from twin3d.scenario.results import ResultsFile

        run, stable = entry.run, entry.checking
        if run.status == "failed":
            run.output.unlink(missing_ok=True)
            entry.checking = None
            return
        if run.status != "complete":
            return
        with ResultsFile(run.output) as fresh:
            same = fresh.file.attrs.get("content_hash") == entry.results.file.attrs.get("content_hash")
        entry.checking, entry.cached = None, same
        if same:
            run.output.unlink(missing_ok=True)
        else:
            active = entry.results is self.ctx.results
            self._close(entry)
            os.replace(run.output, stable)
            entry.results = self.open[entry.key] = ResultsFile(stable)
            if active:
                self._reactivate(entry.results)
        listeners, entry.listeners = entry.listeners, []
        for callback in listeners:
            callback(entry.results)

    def _follow(self, entry: Entry) -> None:
        run = entry.run
        if entry.checking is not None:
            self._check_cached(entry)
        elif run.status == "running" and entry.results is None and run.wrote_since_start():
            self._open(entry)
        elif run.status == "complete" and (entry.results is None or not entry.results.complete):
            self._open(entry, fresh=True)
            if entry.results is not None and entry.results.complete:
                listeners, entry.listeners = entry.listeners, []
                for callback in listeners:
                    callback(entry.results)
        elif run.status == "failed" and entry.results is not None and not entry.results.complete:
            self._close(entry)

    def _open(self, entry: Entry, fresh: bool = False) -> None:
        """Open the run's results file (``fresh``: close the live reader first, so the finished
        file's attributes are read again)."""
        from twin3d.scenario.results import ResultsFile

        active = entry.results is not None and entry.results is self.ctx.results
        if fresh and entry.results is not None:
            self._close(entry)
        try:
            results = ResultsFile(entry.run.output)
            if not (results.complete or frames_written(results)):
                results.close()
                return
        except (InputError, OSError, KeyError, RuntimeError, ValueError):
            return  # not written far enough yet: look again at the next poll
        entry.results = results
        self.open[entry.key] = results
        if active:
            self._reactivate(results)

    def _close(self, entry: Entry) -> None:
        results, entry.results = entry.results, None
        self.open.pop(entry.key, None)
        if results is not None:
            results.close()

    def _reactivate(self, results) -> None:
        """Swap the active results for a fresh reader of the same file, keeping the frame."""
        timeline = self.ctx.panels.get("timeline")
        k = int(timeline.data.time_index) if timeline is not None else 0
        playing = bool(timeline.data.playing) if timeline is not None else False
        self.ctx.set_results(results)
        if timeline is not None and k:
            timeline.data.time_index = min(k, results.n_frames - 1)
            timeline.on_time_index(timeline.data.time_index)
        if playing:
            self.ctx.ctrl.timeline_play()

    def _activate_first(self) -> None:
        wanted = self.entries.get(self.data.scenario_id) if self.chosen else None
        candidates = [wanted] if wanted is not None else list(self.entries.values())
        for entry in candidates:
            if entry.results is not None:
                if entry.results is not self.ctx.results:
                    self._auto_pick(entry.key)
                    self.ctx.set_results(entry.results)
                return

    def _kiosk_step(self) -> None:
        """Kiosk: play the active scenario; at its end, go on to the next one that has results."""
        timeline = self.ctx.panels.get("timeline")
        results = self.ctx.results
        if timeline is None or results is None or timeline.data.playing or not results.n_frames:
            return
        try:
            asyncio.get_running_loop()  # playing is a task on the server loop
        except RuntimeError:
            return
        at_end = int(timeline.data.time_index) >= results.n_frames - 1 and results.complete
        if at_end:
            keys = [k for k, e in self.entries.items() if e.results is not None]
            current = self.key_of(results)
            if len(keys) > 1 and current in keys:
                nxt = keys[(keys.index(current) + 1) % len(keys)]
                self._auto_pick(nxt)
                self.ctx.set_results(self.entries[nxt].results)
            elif keys:
                timeline.data.time_index = 0
        if self.ctx.ctrl.timeline_play.exists():
            self.ctx.ctrl.timeline_play()

    def _publish(self) -> None:
        items = [{"value": k, "title": e.title, "status": e.status} for k, e in self.entries.items()]
        if items != self.data.scenarios:
            self.data.scenarios = items
        chosen = self.entries.get(self.data.scenario_id)
        status = chosen.status if chosen is not None else ""
        if status != self.data.status:
            self.data.status = status

    def _start_polling(self, **_) -> None:
        if self._task is None or self._task.done():
            from trame.app import asynchronous

            self._task = asynchronous.create_task(self._poll_loop())

    async def _poll_loop(self) -> None:
        while not self.queue._closed:
            try:
                with self.ctx.state:
                    self.poll()
            except Exception:  # a listener's bug must not stop the runs being followed
                traceback.print_exc()
            await asyncio.sleep(POLL_INTERVAL_S)

    # --- choice ----------------------------------------------------------------------------
    def _auto_pick(self, key: str) -> None:
        self._auto_id = key
        self.data.scenario_id = key

    def on_pick(self, scenario_id, **_) -> None:
        """The user picked an entry in the picker."""
        entry = self.entries.get(scenario_id)
        if entry is None or scenario_id == self._auto_id:
            self._auto_id = None
            self._publish()
            return
        if entry.results is not None and entry.results is not self.ctx.results:
            self.chosen = True
            self.ctx.set_results(entry.results)
        elif entry.results is None:
            self.chosen = True  # shown as soon as it has a frame
        self._publish()

    def select(self, scenario_id) -> None:
        """Make an entry the active one (as if picked)."""
        self.data.scenario_id = scenario_id
        self.on_pick(scenario_id)

    def shutdown(self) -> None:
        """Stop every run (the server is stopping)."""
        self.queue.shutdown()
        if self._task is not None:
            self._task.cancel()

    def _on_exit(self, **_) -> None:
        self.shutdown()
