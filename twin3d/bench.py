"""``twin3d bench city``: import throughput and default-city generation, with baselines.

Each import is compared with a baseline run in the same process: the parse any reader
must pay, ``json.loads`` for JSON formats and splitting the text into tokens otherwise.
Generation at 100,000 buildings is compared with 5,000 buildings (per-building cost).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path


def _timed(func, *args, **kwargs):
    t0 = time.perf_counter()
    result = func(*args, **kwargs)
    return result, time.perf_counter() - t0


def _baseline_read(path: Path) -> None:
    data = path.read_bytes()
    if path.name.lower().endswith((".json", ".jsonl")):
        for line in data.splitlines() if path.name.lower().endswith("l") else [data]:
            json.loads(line)
    else:
        data.split()


def bench_import(path: Path) -> dict:
    """Time ``twin3d.io.read`` on one file against the raw read/parse baseline."""
    from twin3d.io import read

    _, base_s = _timed(_baseline_read, path)
    city, read_s = _timed(read, path)
    return {"bench": "import", "file": path.name, "buildings": len(city.buildings),
            "triangles": city.buildings.mesh.n_triangles, "seconds": read_s,
            "baseline": "json.loads" if path.suffix.lower() in (".json", ".jsonl") else "tokenise",
            "baseline_s": base_s, "ratio": read_s / max(base_s, 1e-9)}


def bench_generate(sizes=(5_000, 100_000)) -> list[dict]:
    """Time the default-city generator at each size; ratio of per-building cost to the first."""
    from twin3d.model.generate import generate_city

    records = []
    for n in sizes:
        city, seconds = _timed(generate_city, n_buildings=n, seed=0)
        records.append({"bench": "generate", "buildings": len(city.buildings), "seconds": seconds,
                        "buildings_per_s": len(city.buildings) / seconds})
    first = records[0]["buildings_per_s"]
    for r in records:
        r["ratio"] = first / r["buildings_per_s"]
    return records


def default_files() -> list[Path]:
    data = Path(os.environ.get("TWIN3D_TEST_DATA", Path(__file__).resolve().parents[1].parent
                                / "shared" / "data"))
    candidates = [data / "cityjson" / "cjio" / "delft.json"]
    candidates += sorted((data / "mesh" / "delft_3dfier").glob("*.obj"))
    return [p for p in candidates if p.is_file()]


def bench_city_command(args) -> int:
    """Entry point of ``twin3d bench city [--json] [FILES...]``."""
    files = [Path(p) for p in (getattr(args, "paths", None) or [])] or default_files()
    stdout = sys.stdout
    sys.stdout = sys.stderr  # libraries' chatter must not reach the JSON on stdout
    try:
        records = [bench_import(p) for p in files] + bench_generate()
    finally:
        sys.stdout = stdout
    if args.json:
        print(json.dumps(records))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title="twin3d bench city")
    for col in ("bench", "what", "seconds", "baseline", "ratio"):
        table.add_column(col)
    for r in records:
        what = r.get("file", f"{r['buildings']} buildings")
        base = f"{r['baseline']} {r['baseline_s']:.3f} s" if "baseline" in r else "5000 buildings"
        table.add_row(r["bench"], what, f"{r['seconds']:.3f}", base, f"{r['ratio']:.2f}")
    Console().print(table)
    return 0
