"""``twin3d bench app``: the server's cost of a timeline tick and the time to first frame.

A tick is what the server does when the time index moves: read one frame per visible
field, write it into the existing VTK arrays, update every panel (KPIs, allocation, ...),
render at 1280x720 and encode the image the way the remote view does (JPEG).  Its baseline,
in the same process, is a render + encode of the unchanged scene: the floor of any frame.
Time to first frame: opening the city and the results, building the app, the first image.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

WINDOW = (1280, 720)
TICKS = 12


def _encode(render_window) -> int:
    """Render, read the pixels back and JPEG-encode them (what the remote view publishes)."""
    from vtkmodules.vtkIOImage import vtkJPEGWriter
    from vtkmodules.vtkRenderingCore import vtkWindowToImageFilter

    render_window.Render()
    grab = vtkWindowToImageFilter()
    grab.SetInput(render_window)
    grab.ShouldRerenderOff()  # read back the frame just rendered, as vtkWebApplication does
    grab.ReadFrontBufferOff()
    grab.Update()
    writer = vtkJPEGWriter()
    writer.SetInputConnection(grab.GetOutputPort())
    writer.WriteToMemoryOn()
    writer.SetQuality(80)
    writer.Write()
    return writer.GetResult().GetNumberOfTuples()


def bench_case(label: str, city_path: Path, results_path: Path) -> dict:
    """Time to first frame and the per-tick cost for one city and results file."""
    from trame.app import get_server

    from twin3d.io.default_city import load_city
    from twin3d.scenario.results import ResultsFile
    from twin3d_server.app import build_app

    t0 = time.perf_counter()
    city = load_city(str(city_path))[0]
    results = ResultsFile(results_path)
    server, ctx = build_app(city, get_server(f"bench-{label}", client_type="vue3"), [results])
    window = ctx.scene.plotter.render_window
    window.SetSize(*WINDOW)
    renders = []
    ctx.ctrl.view_update = lambda: renders.append(1)  # no browser: the bench renders and encodes itself
    server.state.ready()
    _encode(window)
    first_frame_s = time.perf_counter() - t0
    timeline = ctx.panels["timeline"].data
    n = results.n_frames
    update, render, baseline = [], [], []
    for i in range(TICKS):
        t = time.perf_counter()
        _encode(window)
        baseline.append(time.perf_counter() - t)
        t = time.perf_counter()
        timeline.time_index = 1 + i % max(n - 1, 1)
        server.state.flush()
        update.append(time.perf_counter() - t)
        t = time.perf_counter()
        _encode(window)
        render.append(time.perf_counter() - t)
    results.close()
    if len(renders) < TICKS:
        raise RuntimeError(f"the timeline asked for {len(renders)} renders in {TICKS} ticks")
    tick = [u + r for u, r in zip(update, render, strict=True)]
    return {"bench": "app", "case": label, "buildings": len(city.buildings),
            "triangles": city.buildings.mesh.n_triangles, "frames": n, "window": list(WINDOW),
            "first_frame_s": first_frame_s, "tick_s": statistics.median(tick),
            "tick_update_s": statistics.median(update), "tick_render_s": statistics.median(render),
            "baseline": "render+encode of the unchanged scene", "baseline_s": statistics.median(baseline),
            "ratio": statistics.median(tick) / max(statistics.median(baseline), 1e-9)}


def _prepare(n_buildings: int | None) -> tuple[str, Path, Path]:
    """The city file and a results file for one case (cached: a second bench reuses them)."""
    import twin3d.mis.stages
    from twin3d.config import asset, cache_dir
    from twin3d.io import write
    from twin3d.io.default_city import default_city_path
    from twin3d.scenario.runner import run_scenario

    scenario = asset("scenarios", "river_flood_100y.toml")
    if n_buildings is None:
        path = default_city_path()
        results = run_scenario(scenario, arch="auto", progress=False, stages=twin3d.mis.stages.STAGES)
        return "default city", path, results
    from twin3d.model.generate import generate_city

    path = cache_dir() / f"bench-city-{n_buildings}.h5"
    if not path.exists():
        write(generate_city(n_buildings=n_buildings, seed=0), path)
    results = run_scenario(scenario, quick=True, arch="auto", progress=False, overrides={"city": str(path)},
                           stages=twin3d.mis.stages.STAGES)
    return f"{n_buildings} buildings (--quick run)", path, results


def bench_app_command(args) -> int:
    """Entry point of ``twin3d bench app [--json]``."""
    stdout = sys.stdout
    sys.stdout = sys.stderr  # libraries' chatter must not reach the JSON on stdout
    try:
        records = [bench_case(*_prepare(n)) for n in (None, 100_000)]
    finally:
        sys.stdout = stdout
    if args.json:
        print(json.dumps(records))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"twin3d bench app ({WINDOW[0]}x{WINDOW[1]}, medians of {TICKS} ticks)")
    for col in ("case", "first frame s", "tick ms", "update ms", "render ms", "baseline ms", "ratio"):
        table.add_column(col)
    for r in records:
        table.add_row(r["case"], f"{r['first_frame_s']:.2f}", f"{1e3 * r['tick_s']:.1f}",
                      f"{1e3 * r['tick_update_s']:.1f}", f"{1e3 * r['tick_render_s']:.1f}",
                      f"{1e3 * r['baseline_s']:.1f}", f"{r['ratio']:.2f}")
    Console().print(table)
    return 0
