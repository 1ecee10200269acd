"""The physics benchmark: cell-updates per second of each solver, Taichi against its numpy reference.

``twin3d bench physics [--json] [--sizes 512,1024] [--arch cpu|cuda|auto]`` calls
:func:`bench_command`, which initialises Taichi (the bench is a composition root, like the
CLI) and runs :func:`run_physics_bench`.  Each solver runs on square grids of the given
sizes, Taichi and numpy in the same process; the numpy reference skips grids larger than
``numpy_max``.  The Taichi/numpy ratio is taken at the largest grid both ran.

Records (one per run, and the JSON output is a list of them)::

    {"solver": "flood" | "transport", "impl": "taichi" | "numpy", "arch": "cpu" | "cuda",
     "scheme": str, "order": int, "dtype": "float32" | "float64", "cells": int, "steps": int,
     "compile_s": float, "cell_updates_per_s": float}

``compile_s`` is the warm-up (JIT compilation for Taichi) timed apart from the ``steps``.
The flood figures come from the flood solver's default (HLL-type) scheme.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import sys
from collections.abc import Callable, Sequence

from twin3d.errors import InputError

DEFAULT_SIZES = (512, 1024, 2048)
TAICHI_WORK = 4e8  # cell-updates per Taichi run: about a second or two on a 2-core CPU
NUMPY_WORK = 2e7  # cell-updates per numpy run


def _flood_bench() -> Callable | None:
    """The flood helper's ``bench_flood``, wherever it lives; None when there is none."""
    for module in ("twin3d.physics.flood", "twin3d.physics.flood_bench"):
        try:
            return importlib.import_module(module).bench_flood
        except (ImportError, AttributeError):
            continue
    return None


def _steps(cells: int, work: float, low: int, high: int) -> int:
    return int(min(max(work // cells, low), high))


def run_physics_bench(sizes: Sequence[int] = DEFAULT_SIZES, json_out: bool = False, numpy_max: int = 2048,
                      dtype: str = "float32") -> list[dict]:
    """Run every solver at every size for Taichi and numpy; print a table, or JSON with ``json_out``.

    Taichi must be initialised (see :func:`bench_command`).  With ``json_out`` stdout
    gets one JSON list and nothing else; notes go to stderr.

    Returns
    -------
    list of dict
        One record per run (see the module docstring).
    """
    from twin3d.physics.transport import bench_transport

    sizes = _check_sizes(sizes)
    notes: list[str] = []
    benches = {"transport": bench_transport}
    flood = _flood_bench()
    if flood is None:
        notes.append("flood: skipped (twin3d.physics.flood has no bench_flood yet)")
    else:
        benches = {"flood": flood, **benches}
    records = []
    with contextlib.redirect_stdout(sys.stderr) if json_out else contextlib.nullcontext():
        for bench in benches.values():
            for n in sizes:
                records.append(bench("taichi", n, _steps(n * n, TAICHI_WORK, 10, 2000), dtype))
                if n <= numpy_max:
                    records.append(bench("numpy", n, _steps(n * n, NUMPY_WORK, 3, 500), dtype))
    notes += [_ratio_note(records, solver) for solver in benches]
    if json_out:
        print(json.dumps(records))
        for note in notes:
            print(note, file=sys.stderr)
    else:
        _print_table(records, notes)
    return records


def taichi_numpy_ratio(records: list[dict], solver: str) -> tuple[int, float] | None:
    """``(cells, ratio)`` of Taichi over numpy cell-updates/s at the largest grid both ran."""
    speed = {(r["impl"], r["cells"]): r["cell_updates_per_s"] for r in records if r["solver"] == solver}
    shared = [cells for impl, cells in speed if impl == "numpy" and ("taichi", cells) in speed]
    if not shared:
        return None
    cells = max(shared)
    return cells, speed["taichi", cells] / speed["numpy", cells]


def _ratio_note(records: list[dict], solver: str) -> str:
    ratio = taichi_numpy_ratio(records, solver)
    if ratio is None:
        return f"{solver}: no grid ran with both Taichi and numpy"
    cells, value = ratio
    return f"{solver}: Taichi / numpy = {value:.1f}x at {cells:,} cells"


def _print_table(records: list[dict], notes: list[str]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="twin3d physics benchmark (cell-updates per second)")
    for column in ("solver", "impl", "arch", "scheme", "order", "dtype", "grid", "steps", "compile s", "Mcell-upd/s"):
        table.add_column(column, justify="right" if column in ("steps", "compile s", "Mcell-upd/s") else "left")
    for r in records:
        side = int(round(r["cells"] ** 0.5))
        table.add_row(r["solver"], r["impl"], r["arch"], r["scheme"], str(r["order"]), r["dtype"],
                      f"{side}x{side}", str(r["steps"]), f"{r['compile_s']:.2f}",
                      f"{r['cell_updates_per_s'] / 1e6:,.1f}")
    console = Console()
    if not console.is_terminal:
        console.width = max(console.width, 120)
    console.print(table)
    for note in notes:
        console.print(note)


def _check_sizes(sizes) -> tuple[int, ...]:
    try:
        if isinstance(sizes, str):
            sizes = [s for s in sizes.split(",") if s.strip()]
        out = tuple(int(s) for s in sizes)
    except (TypeError, ValueError):
        raise InputError(None, f"--sizes must be a comma-separated list of integers, got {sizes!r}") from None
    if not out or any(n < 8 or n > 32768 for n in out):
        raise InputError(None, f"--sizes must be grid sides between 8 and 32768, got {sizes!r}")
    return out


def bench_command(ns: argparse.Namespace) -> int:
    """Entry point of ``twin3d bench physics``: initialise Taichi, run the bench; returns the exit code.

    ``ns`` holds the CLI's ``json``, ``sizes`` (``"512,1024"`` or None for the default), ``arch``
    and ``numpy_max``.
    """
    from twin3d.physics.arch import init_taichi

    sizes = _check_sizes(ns.sizes or DEFAULT_SIZES)
    json_out = bool(getattr(ns, "json", False))
    # Taichi prints its banner on stdout; keep stdout for the JSON alone.
    with contextlib.redirect_stdout(sys.stderr) if json_out else contextlib.nullcontext():
        init_taichi(getattr(ns, "arch", "auto") or "auto")
    run_physics_bench(sizes, json_out=json_out, numpy_max=ns.numpy_max)
    return 0
