"""Runs are cached by a hash of every input and the code version."""

from __future__ import annotations

import hashlib
from pathlib import Path

from twin3d.config import cache_dir, code_fingerprint


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def content_hash(scenario_text: str, city_path: Path | None, inputs: list[Path]) -> str:
    """The cache key: resolved scenario, the city's content, every file read, code and assets.

    Assets (damage curves, fragility thresholds, inventories, estimation tables) are in
    the code fingerprint, which also changes with any local edit of the package.
    """
    digest = hashlib.sha256()
    for part in (scenario_text, code_fingerprint(),
                 file_digest(city_path) if city_path is not None else "no city",
                 *(f"{p.name}:{file_digest(p)}" for p in sorted(set(inputs)))):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def cached_results_path(key: str) -> Path:
    folder = cache_dir() / "results"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{key[:32]}.h5"


def is_complete_run(path: Path, key: str) -> bool:
    """Whether ``path`` holds a finished run with this content hash."""
    import h5py

    if not Path(path).is_file():
        return False
    try:
        with h5py.File(path, "r", libver="latest", swmr=True) as f:
            return bool(f.attrs.get("complete", False)) and f.attrs.get("content_hash") == key
    except OSError:
        return False
