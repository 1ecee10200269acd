"""The ``twin3d`` command: the one composition root of the library.

Exit codes: 0 success, 1 internal error, 2 bad input or usage, 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from pathlib import Path

from twin3d import __version__
from twin3d.errors import InputError

EXIT_OK, EXIT_INTERNAL, EXIT_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # usage errors: one line, exit 2
        self.exit(EXIT_INPUT, f"error: {self.prog}: {message}\n")


@contextlib.contextmanager
def _stdout_to_stderr():
    """Send everything written to fd 1 (libraries' chatter included) to stderr meanwhile."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _print_json(obj) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def _print_summary(summary: dict) -> None:
    width = max(len(k) for k in summary)
    for key, value in summary.items():
        print(f"{key:<{width}}  {value}")


def cmd_import(args) -> int:
    from twin3d.io import read, write

    options = {"lod": args.lod} if args.lod else {}
    with _stdout_to_stderr():
        t0 = time.perf_counter()
        city = read(args.path, **options)
        summary = city.summary()
        summary["read_s"] = round(time.perf_counter() - t0, 4)
        if args.output:
            write(city, args.output)
            summary["output"] = str(args.output)
    if args.json:
        _print_json(summary)
    else:
        _print_summary(summary)
    return EXIT_OK


def _results_summary(path: Path) -> dict | None:
    """A results file's summary, or None when ``path`` is not one."""
    from twin3d.scenario.results import ResultsFile, is_results_file

    if not is_results_file(path):
        return None
    with ResultsFile(path) as r:
        times = r.times()
        return {"results": str(path), "name": str(r.file.attrs.get("name", "")), "complete": r.complete,
                "frames": r.n_frames, "end_s": float(times[-1]) if len(times) else 0.0,
                "start": str(r.file.attrs.get("start", "")), "grid": r.grid.to_dict(),
                "fields": sorted(r.file["fields"]), "kpis": sorted(r.file["kpi"]),
                "content_hash": str(r.file.attrs.get("content_hash", ""))}


def cmd_info(args) -> int:
    from twin3d.io import read
    from twin3d.io.registry import check_readable

    check_readable(args.path)
    results = _results_summary(args.path)
    if results is not None:
        _print_json(results) if args.json else _print_summary(results)
        return EXIT_OK
    with _stdout_to_stderr():
        city = read(args.path)
    summary = city.summary()
    t = city.buildings.table
    if len(city.buildings):
        uses, counts = _counts(t["use"])
        summary["uses"] = dict(zip(uses, counts))
        summary["population"] = round(float(t["population"].sum()))
        summary["population_estimated"] = int(t["population_estimated"].sum())
        summary["replacement_value_eur"] = round(float(t["replacement_value"].sum()))
    summary["origin"] = [float(v) for v in city.origin]
    if args.json:
        _print_json(summary)
    else:
        _print_summary(summary)
    return EXIT_OK


def _counts(values):
    import numpy as np

    uses, counts = np.unique(values.astype(str), return_counts=True)
    return [str(u) for u in uses], [int(c) for c in counts]


def cmd_export(args) -> int:
    from twin3d.io import read, write

    with _stdout_to_stderr():
        write(read(args.path), args.output)
    print(f"wrote {args.output}")
    return EXIT_OK


def cmd_city_build(args) -> int:
    from twin3d.io import write
    from twin3d.io.recipe import build_city

    with _stdout_to_stderr():
        city = build_city(Path(args.recipe))
        write(city, args.output)
    print(f"wrote {args.output}: {len(city.buildings)} buildings")
    return EXIT_OK


def cmd_city_generate(args) -> int:
    from twin3d.io import write
    from twin3d.model.generate import MIN_BUILDINGS, generate_city

    if args.buildings < MIN_BUILDINGS:
        raise InputError(None, f"--buildings must be at least {MIN_BUILDINGS}, got {args.buildings}")
    t0 = time.perf_counter()
    city = generate_city(n_buildings=args.buildings, seed=args.seed)
    elapsed = time.perf_counter() - t0
    write(city, args.output)
    print(f"wrote {args.output}: {len(city.buildings)} buildings, generated in {elapsed:.2f} s")
    return EXIT_OK


def cmd_serve(args) -> int:
    if args.multi_user:
        from twin3d.config import load_settings
        from twin3d_server.launcher.serve import serve_multi_user

        return serve_multi_user(load_settings(), args.host, args.port, args.targets, max_sessions=args.max_sessions,
                                idle_timeout_s=args.idle_timeout, memory_mb=args.session_memory_mb,
                                client_render=args.client_render or None, allow_local=args.allow_local)
    from twin3d_server.app import serve  # the only place the library reaches the app

    return serve(args.targets, host=args.host, port=args.port, open_browser=not args.no_browser,
                 kiosk=args.kiosk, client_render=args.client_render)


def cmd_users(args) -> int:
    from twin3d_server.web.cli import users_command

    return users_command(args)


def cmd_bench(args) -> int:
    if args.what == "serve":
        from twin3d_server.launcher.loadtest import main as loadtest

        if args.sessions < 1 or args.requests < 1:
            raise InputError(None, "--sessions and --requests must be at least 1")
        return loadtest(args.paths + ["--sessions", str(args.sessions), "--requests", str(args.requests)])
    if args.what == "app":
        from twin3d_server.bench import bench_app_command

        return bench_app_command(args)
    if args.what == "physics":
        from twin3d.physics.bench import bench_command

        return bench_command(args)
    from twin3d.bench import bench_city_command

    return bench_city_command(args)


def cmd_run(args) -> int:
    from twin3d.mis.stages import STAGES
    from twin3d.scenario.runner import run_scenario

    with _stdout_to_stderr():
        path = run_scenario(args.scenario, args.output, arch=args.arch, resume=args.resume,
                            quick=args.quick, progress=not args.no_progress, stages=STAGES)
    print(path)
    return EXIT_OK


def cmd_ensemble(args) -> int:
    from twin3d.mis.stages import STAGES
    from twin3d.scenario.ensemble import run_ensemble

    output = args.output or args.scenario.with_suffix(".ensemble.h5")
    with _stdout_to_stderr():
        run_ensemble(args.scenario, args.members, args.vary, output, scheduler=args.scheduler,
                     quick=args.quick, seed=args.seed, stages=STAGES)
    print(output)
    return EXIT_OK


def cmd_allocate(args) -> int:
    from twin3d.mis.allocation import allocate_command

    return allocate_command(args)


def cmd_decisions(args) -> int:
    from twin3d.mis.decisions import decisions_command

    return decisions_command(args)


def cmd_report(args) -> int:
    from twin3d.mis.report import report_command

    return report_command(args)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="twin3d", description="An open urban digital twin.")
    p.add_argument("--version", action="version", version=f"twin3d {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    s = sub.add_parser("import", help="read a city file and print a summary")
    s.add_argument("path", type=Path)
    s.add_argument("-o", "--output", type=Path, help="write the city (.h5 store or .glb)")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.add_argument("--lod", help="CityJSON level of detail (default: highest)")
    s.set_defaults(func=cmd_import)

    s = sub.add_parser("info", help="describe a city file")
    s.add_argument("path", type=Path)
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_info)

    s = sub.add_parser("export", help="export a city (e.g. to .glb)")
    s.add_argument("path", type=Path)
    s.add_argument("-o", "--output", type=Path, required=True)
    s.set_defaults(func=cmd_export)

    city = sub.add_parser("city", help="build or generate a city").add_subparsers(
        dest="city_command", required=True, parser_class=_Parser)
    s = city.add_parser("build", help="assemble a city from a recipe (TOML)")
    s.add_argument("recipe", type=Path)
    s.add_argument("-o", "--output", type=Path, required=True)
    s.set_defaults(func=cmd_city_build)
    s = city.add_parser("generate", help="generate the synthetic default city")
    s.add_argument("--buildings", type=int, default=3000)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("-o", "--output", type=Path, required=True)
    s.set_defaults(func=cmd_city_generate)

    s = sub.add_parser("serve", help="serve the web app")
    s.add_argument("targets", nargs="*", metavar="CITY_OR_RESULTS",
                   help="a city file or recipe, results files, scenario files (default: the default city"
                        " and its default scenarios)")
    s.add_argument("--kiosk", action="store_true", help="read-only consultation mode for a large screen")
    s.add_argument("--client-render", action="store_true",
                   help="render in the browser with vtk.js (small cities, weak servers; no water shader)")
    s.add_argument("--multi-user", action="store_true",
                   help="one app process per browser session through the wslink launcher (docs/serving.md)")
    s.add_argument("--max-sessions", type=int, help="--multi-user: at most this many session processes")
    s.add_argument("--idle-timeout", type=int, help="--multi-user: a session ends after this many idle seconds")
    s.add_argument("--session-memory-mb", type=int, help="--multi-user: address-space cap per session process")
    s.add_argument("--allow-local", action="store_true",
                   help="--multi-user without sign-in, everyone the local planner (loopback addresses only)")
    s.add_argument("--host", default=None)
    s.add_argument("--port", type=int, default=None)
    s.add_argument("--no-browser", action="store_true")
    s.set_defaults(func=cmd_serve)

    s = sub.add_parser("run", help="run a scenario and write its results file")
    s.add_argument("scenario", type=Path)
    s.add_argument("-o", "--output", type=Path, help="results file (default: the cache; its path is printed)")
    s.add_argument("--arch", default="auto", choices=["auto", "cpu", "cuda"])
    s.add_argument("--resume", action="store_true", help="continue a killed run from its last checkpoint")
    s.add_argument("--quick", action="store_true", help="coarser and shorter profile of the same scenario")
    s.add_argument("--no-progress", action="store_true")
    s.set_defaults(func=cmd_run)

    s = sub.add_parser("ensemble", help="run varied members of a scenario on Dask")
    s.add_argument("scenario", type=Path)
    s.add_argument("--members", type=int, required=True)
    s.add_argument("--vary", action="append", default=[], help="KEY=±P%%, e.g. rain.intensity=±30%%")
    s.add_argument("--scheduler", help="address of an existing Dask scheduler (default: a local cluster)")
    s.add_argument("-o", "--output", type=Path, help="ensemble file (default: SCENARIO.ensemble.h5)")
    s.add_argument("--quick", action="store_true")
    s.add_argument("--seed", type=int, default=0)
    s.set_defaults(func=cmd_ensemble)

    s = sub.add_parser("allocate", help="allocate resources to demands (MILP, JSON in and out)")
    s.add_argument("--problem", type=Path, required=True, help="problem JSON (docs/allocation-format.md)")
    s.add_argument("-o", "--output", type=Path, help="solution JSON (default: stdout)")
    s.set_defaults(func=cmd_allocate)

    dec = sub.add_parser("decisions", help="the decision log: add, verify, export").add_subparsers(
        dest="decisions_action", required=True, parser_class=_Parser)
    for action in ("add", "verify", "export"):
        s = dec.add_parser(action)
        s.add_argument("--log", type=Path, default=None, help="log database (default: in the data directory)")
        s.set_defaults(func=cmd_decisions, csv=None, scenario_hash=None, frame=None, time_s=None, who=None,
                       what=None, why=None, allocation=None, kpis=None)
        if action == "export":
            s.add_argument("--csv", type=Path, required=True)
        if action == "add":
            s.add_argument("--scenario-hash", required=True)
            s.add_argument("--frame", type=int, required=True)
            s.add_argument("--time-s", type=float, help="frame time, s since the scenario start")
            s.add_argument("--who", required=True)
            s.add_argument("--what", required=True)
            s.add_argument("--why", required=True)
            s.add_argument("--allocation", help="allocation as JSON")
            s.add_argument("--kpis", help="KPI snapshot as JSON")

    s = sub.add_parser("report", help="KPI report of a results file, optionally against another")
    s.add_argument("results", type=Path)
    s.add_argument("--format", default="md", choices=["md", "csv", "json", "html"])
    s.add_argument("--compare", type=Path, help="a second results file: side by side, with A - B")
    s.add_argument("-o", "--output", type=Path, help="output file (default: stdout)")
    s.set_defaults(func=cmd_report)

    from twin3d_server.web.cli import add_users_arguments  # light: no server libraries

    s = sub.add_parser("users", help="manage the web server's users and machine tokens (docs/security.md)")
    add_users_arguments(s)
    s.set_defaults(func=cmd_users)

    s = sub.add_parser("bench", help="measure the figures that matter")
    s.add_argument("what", choices=["physics", "city", "app", "serve"])
    s.add_argument("paths", nargs="*", help="files to import (bench city); what each session serves (bench serve)")
    s.add_argument("--sessions", type=int, default=20, help="bench serve: concurrent sessions")
    s.add_argument("--requests", type=int, default=50, help="bench serve: frame changes per session")
    s.add_argument("--json", action="store_true", help="print one JSON list")
    s.add_argument("--sizes", default=None, help="grid sizes, e.g. 512,1024,2048")
    s.add_argument("--arch", default="auto", choices=["auto", "cpu", "cuda"])
    s.add_argument("--numpy-max", type=int, default=2048, help="largest grid side for the numpy reference")
    s.set_defaults(func=cmd_bench)
    return p


def _terminate(signum, frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    import signal

    args = build_parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)  # a kill ends like Ctrl-C: cleanup, exit 130
    try:
        return args.func(args)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # internal error: one line, the traceback on request
        if os.environ.get("TWIN3D_DEBUG"):
            raise
        print(f"internal error: {type(exc).__name__}: {exc} (set TWIN3D_DEBUG=1 for a traceback)",
              file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
