"""The runner: steps the solvers of a scenario and writes every output frame live.

``run_scenario`` resolves the city, rasterises everything onto the grid
(:mod:`twin3d.scenario.setup`), builds the solvers (:mod:`twin3d.scenario.hazards`),
then for each output time advances them, runs the frame pipeline
(:mod:`twin3d.scenario.pipeline`) and appends the frame to the results file.  Runs are
cached by a content hash; a killed run leaves a readable file that ``resume`` finishes.
"""

from __future__ import annotations

import shutil
import time as wallclock
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from twin3d.errors import InputError
from twin3d.scenario import cache, pipeline
from twin3d.scenario.hazards import Hazards
from twin3d.scenario.results import ResultsLayout, ResultsWriter, finish
from twin3d.scenario.schema import SpecError
from twin3d.scenario.setup import prepare
from twin3d.scenario.spec import Scenario, load_scenario


def _city(scenario: Scenario):
    from twin3d.io.default_city import load_city

    spec = scenario.spec.get("city", "default")
    if spec == "none":
        return None, None
    if spec != "default":
        spec = (scenario.path.resolve().parent / spec).resolve()
        if not spec.is_file():
            raise InputError(scenario.path, f"city: file not found: {spec}")
    return load_city(spec)


def _layout(setup, city, hazards: Hazards, stages) -> ResultsLayout:
    n = len(city.buildings) if city is not None else 0
    layout = ResultsLayout(
        grid=setup.grid, elevation=setup.display_elevation(city), fields=hazards.field_names,
        n_buildings=n, building_quantities=hazards.building_quantities,
        mass_balance_columns=hazards.mass_balance_columns,
        checkpoint_shape=hazards.checkpoint_shape())
    for stage in stages:
        stage.extend_layout(layout)
    return layout


def _attrs(scenario: Scenario, city_path, city, key: str) -> dict:
    start = scenario.spec.get("start")
    return {"scenario": scenario.text, "content_hash": key, "name": scenario.name,
            "city_path": str(city_path or ""), "city_hash": cache.file_digest(city_path) if city_path else "",
            "crs": (city.crs or "") if city is not None else "",
            "start": start.isoformat() if start is not None else ""}


def run_scenario(path: str | Path, output: str | Path | None = None, *, arch: str = "auto",
                 resume: bool = False, quick: bool = False, progress: bool = True,
                 overrides: dict | None = None, stages: Sequence[Callable] = ()) -> Path:
    """Run a scenario file; returns the path of its complete results file.

    ``overrides`` replaces spec values before validation (ensemble members use it);
    ``stages`` are factories of the frame stages run after hazard sampling (the MIS's).
    """
    from twin3d.physics.arch import init_taichi

    scenario = load_scenario(path, overrides=overrides, quick=quick)
    city, city_path = _city(scenario)
    try:
        setup = prepare(scenario, city)
    except SpecError as exc:
        raise InputError(scenario.path, str(exc)) from None
    key = cache.content_hash(scenario.text + repr([f"{f.__module__}.{f.__qualname__}" for f in stages]),
                             city_path, setup.inputs)
    target = Path(output) if output is not None else cache.cached_results_path(key)
    if cache.is_complete_run(target, key):
        return target
    cached = cache.cached_results_path(key)
    if output is not None and cache.is_complete_run(cached, key):
        shutil.copyfile(cached, target)
        return target
    used_arch = init_taichi(arch)
    try:
        hazards = Hazards(scenario, setup, city)
    except SpecError as exc:
        raise InputError(scenario.path, str(exc)) from None
    stages = pipeline.make_stages(scenario, setup, city, stages)
    times = scenario.output_times()
    layout = _layout(setup, city, hazards, stages)
    if resume and target.is_file():
        _resume(scenario, target, key, hazards, layout, stages, times, progress)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        attrs = {**_attrs(scenario, city_path, city, key), "arch": used_arch}
        with ResultsWriter(target, layout, attrs) as writer:
            _record_events(writer, scenario, setup)
            _loop(writer, hazards, stages, times, 0, progress)
        finish(target)
    if output is not None and target != cached:
        shutil.copyfile(target, cached)
    return target


def _resume(scenario, target: Path, key: str, hazards: Hazards, layout: ResultsLayout, stages, times,
            progress: bool) -> None:
    """Continue a killed run from its last checkpoint: the frames so far are copied into a new
    file, the run goes on there, and the finished file is renamed into place."""
    from twin3d.scenario.results import ResultsFile

    work = target.with_name(f".{target.name}.resume")
    with ResultsFile(target) as old:
        f = old.file
        if f.attrs.get("content_hash") != key:
            raise InputError(target, "cannot resume: the file was written for other inputs")
        frames = int(f["checkpoint/frames"][0])
        state, extra = f["checkpoint/state"][()], f["checkpoint/extra"][()]
        attrs = {k: v for k, v in f.attrs.items() if k not in ("format", "format_version", "complete", "twin3d_version")}
        with ResultsWriter(work, layout, attrs) as writer:
            writer.copy_frames(f, frames)
            if frames:
                hazards.restore(state, extra)
            old.close()
            _loop(writer, hazards, stages, times, frames, progress)
    finish(work)
    work.replace(target)


def _record_events(writer: ResultsWriter, scenario: Scenario, setup) -> None:
    for t, kind, label in sorted(_events(scenario, setup)):
        writer.add_event(t, kind, label)


def _events(scenario: Scenario, setup):
    hazards = scenario.spec.get("hazards", {})
    for i, rain in enumerate(hazards.get("rain", [])):
        times, values = rain["intensity_mm_h"]
        wet = [t for t, v in zip(times, values) if v > 0]
        if wet:
            yield wet[0], "rain", rain.get("label", f"rain {i + 1} starts")
    for b in setup.breaches:
        yield b.time_s, "breach", b.label
    for i, rel in enumerate(hazards.get("release", [])):
        times, values = rel["rate_kg_s"]
        start = next((t for t, v in zip(times, values) if v > 0), None)
        if start is not None:
            yield start, "release", rel.get("label", f"release {i + 1} starts")


def _loop(writer: ResultsWriter, hazards: Hazards, stages, times, first: int, progress: bool) -> None:
    bar = _Progress(times[-1], progress)
    try:
        for k in range(first, len(times)):
            breached = hazards.breaches_done
            hazards.advance_to(times[k])
            if hazards.breaches_done != breached:  # /grid/elevation is the bed actually simulated
                writer.set_elevation(hazards.setup.display_elevation(hazards.city))
            frame = pipeline.Frame(index=k, time_s=times[k], fields=hazards.fields())
            for stage in stages:
                stage(frame, hazards)
            writer.append_frame(times[k], frame.fields, frame.buildings, hazards.mass_balance_row(),
                                 networks=frame.networks, status=frame.status, allocation=frame.allocation,
                                 kpis=frame.kpis)
            state, extra = hazards.snapshot()
            writer.checkpoint(state, times[k], extra)
            bar.update(times[k], hazards.mass_balance_error())
    finally:
        bar.close()


class _Progress:
    """A rich progress bar: simulated time, wall time, speed versus real time, mass-balance error."""

    def __init__(self, end_s: float, enabled: bool):
        self.start = wallclock.perf_counter()
        self.bar = None
        if not enabled:
            return
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(TextColumn("[bold]run"), BarColumn(), TextColumn("{task.fields[sim]}"),
                            TimeElapsedColumn(), TextColumn("{task.fields[speed]}"),
                            TextColumn("{task.fields[mass]}"), console=Console(stderr=True), transient=False)
        self.task = self.bar.add_task("run", total=max(end_s, 1e-9), sim="", speed="", mass="")
        self.bar.start()

    def update(self, t: float, mass_error: float) -> None:
        if self.bar is None:
            return
        wall = max(wallclock.perf_counter() - self.start, 1e-9)
        self.bar.update(self.task, completed=t, sim=f"t={_hms(t)}", speed=f"{t / wall:,.0f}x real time",
                        mass="" if np.isnan(mass_error) else f"mass err {mass_error:.1e}")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def _hms(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600:d}:{s // 60 % 60:02d}:{s % 60:02d}"
