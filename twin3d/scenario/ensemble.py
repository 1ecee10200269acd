"""Ensembles: many members of one scenario with varied inputs, run on Dask.

``--vary rain.intensity=±30%`` scales every value of the matching spec entry by a factor
drawn per member from ``[0.7, 1.3]`` (stratified, so few members still span the range).
Members run on a Dask cluster (a local one by default, or an existing scheduler), each
writing its own cached results file; the ensemble file holds per-cell exceedance
probabilities of the peak depth and percentiles of each per-building peak quantity.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from twin3d.errors import InputError
from twin3d.scenario.spec import load_raw, load_scenario

DEPTH_THRESHOLDS_M = (0.1, 0.3, 1.0)
PERCENTILES = (5.0, 50.0, 95.0)
_VARY = re.compile(r"^([A-Za-z_][\w.]*)=(?:±|\+-|\+/-)?(\d+(?:\.\d+)?)%$")


@dataclass(frozen=True)
class Variation:
    """Scale the spec entry at ``path`` (e.g. ``hazards.rain.intensity_mm_h``) by 1 ± ``spread``."""

    path: tuple[str, ...]
    spread: float

    @classmethod
    def parse(cls, text: str, raw: dict) -> Variation:
        m = _VARY.match(text.replace(" ", ""))
        if not m:
            raise InputError(None, f"--vary {text!r}: expected KEY=±P% (e.g. rain.intensity=±30%)")
        spread = float(m.group(2)) / 100
        if not 0 < spread < 1:
            raise InputError(None, f"--vary {text!r}: the spread must be between 0% and 100%")
        return cls(_resolve_path(m.group(1).split("."), raw, text), spread)

    def apply(self, raw: dict, factor: float) -> dict:
        """A copy of ``raw`` with the entry scaled (every table of an array of tables)."""
        import copy

        out = copy.deepcopy(raw)
        _scale(out, self.path, factor)
        return out


def _resolve_path(parts: list[str], raw: dict, text: str) -> tuple[str, ...]:
    """Complete a short key: an optional ``hazards.`` prefix, and a unit suffix on the last part."""
    for prefix in ([], ["hazards"], ["strategy"]):
        node, path = raw, []
        for i, part in enumerate(prefix + parts):
            node = node[0] if isinstance(node, list) and node else node
            if not isinstance(node, dict):
                break
            last = i == len(prefix + parts) - 1
            match = part if part in node else next((k for k in node if last and k.startswith(part + "_")), None)
            if match is None:
                break
            path.append(match)
            node = node[match]
        else:
            return tuple(path)
    raise InputError(None, f"--vary {text!r}: no such entry in the scenario")


def _scale(node, path: tuple[str, ...], factor: float) -> None:
    if isinstance(node, list):
        for item in node:
            _scale(item, path, factor)
        return
    if len(path) > 1:
        _scale(node[path[0]], path[1:], factor)
        return
    value = node[path[0]]
    if isinstance(value, list):  # a series [[t, v], ...]
        node[path[0]] = [[t, v * factor] for t, v in value]
    else:
        node[path[0]] = value * factor


def member_factors(n_members: int, n_vary: int, seed: int = 0) -> np.ndarray:
    """``(n_members, n_vary)`` factors in [-1, 1], stratified per variable (Latin hypercube)."""
    rng = np.random.default_rng(seed)
    strata = (np.arange(n_members)[:, None] + rng.random((n_members, n_vary))) / n_members
    for j in range(n_vary):
        strata[:, j] = rng.permutation(strata[:, j])
    return 2 * strata - 1


def run_member(path: str, overrides: dict, quick: bool, stages=()) -> dict:
    """One member (runs on a Dask worker): its peak depth field and per-building peaks."""
    from twin3d.scenario.results import ResultsFile
    from twin3d.scenario.runner import run_scenario

    result = run_scenario(path, overrides=overrides, quick=quick, progress=False, arch="cpu", stages=stages)
    with ResultsFile(result) as r:
        depth = r.file["fields"].get("depth")
        peak_depth = depth[()].max(axis=0) if depth is not None else None
        peaks = {k: np.nanmax(v[()], axis=0) if v.shape[0] else v[()] for k, v in r.file["buildings"].items()
                 if k != "status"}
        grid = r.grid
    return {"path": str(result), "peak_depth": peak_depth, "buildings": peaks, "grid": grid}


def run_ensemble(path: str | Path, members: int, vary: list[str], output: Path, *,
                 scheduler: str | None = None, quick: bool = False, seed: int = 0,
                 n_workers: int = 2, stages=()) -> Path:
    """Run ``members`` varied members on Dask and write the ensemble file to ``output``."""
    from dask.distributed import Client, LocalCluster

    if members < 1:
        raise InputError(None, f"--members must be at least 1, got {members}")
    raw = load_raw(path)
    variations = [Variation.parse(v, raw) for v in vary]
    factors = member_factors(members, len(variations), seed)
    overrides = []
    for row in factors:
        member = raw
        for var, f in zip(variations, row):
            member = var.apply(member, 1 + var.spread * f)
        overrides.append(member)
    for member in overrides:  # refuse a bad variation here, before any worker starts
        load_scenario(path, overrides=member, quick=quick)
    cluster = None if scheduler else LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                                  dashboard_address=None)
    with Client(scheduler or cluster) as client:
        futures = client.map(run_member, [str(Path(path).resolve())] * members, overrides,
                             [quick] * members, [tuple(stages)] * members, pure=False)
        results = client.gather(futures)
    if cluster is not None:
        cluster.close()
    _write(output, results, variations, factors)
    return output


def _write(output: Path, results: list[dict], variations, factors) -> None:
    import h5py

    from twin3d.io.atomic import atomic_path

    grid = results[0]["grid"]
    with atomic_path(output) as tmp, h5py.File(tmp, "w") as f:
        f.attrs.update(format="twin3d-ensemble", format_version=1, members=len(results),
                       vary=[f"{'.'.join(v.path)}=±{v.spread:.0%}" for v in variations],
                       member_files=[r["path"] for r in results])
        f.create_dataset("factors", data=factors)
        g = f.create_group("grid")
        g.attrs.update(origin=grid.origin, cell_size=grid.cell_size, shape=grid.shape)
        if results[0]["peak_depth"] is not None:
            peaks = np.stack([r["peak_depth"] for r in results])
            for thr in DEPTH_THRESHOLDS_M:
                ds = f.create_dataset(f"exceedance/depth_gt_{thr:g}m", data=(peaks > thr).mean(axis=0)
                                      .astype(np.float32), compression="gzip")
                ds.attrs.update(threshold_m=thr, units="probability")
        for name in results[0]["buildings"]:
            stack = np.stack([r["buildings"][name] for r in results])
            ds = f.create_dataset(f"buildings/{name}", data=np.nanpercentile(stack, PERCENTILES, axis=0)
                                  .astype(np.float32), compression="gzip")
            ds.attrs["percentiles"] = list(PERCENTILES)
