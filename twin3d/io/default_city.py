"""The default city: built from its recipe in assets/, cached as a city store."""

from __future__ import annotations

import hashlib
from pathlib import Path

from twin3d.config import asset, cache_dir, code_fingerprint
from twin3d.model import City

DEFAULT_RECIPE = ("cities", "default.toml")


def default_city_path() -> Path:
    """The cached city store of the default city, built on first use."""
    from twin3d.io import write
    from twin3d.io.recipe import build_city

    key = hashlib.sha256(code_fingerprint().encode()).hexdigest()[:16]
    path = cache_dir() / f"default-city-{key}.h5"
    if not path.is_file():
        write(build_city(asset(*DEFAULT_RECIPE)), path)
    return path


def load_city(spec: str | Path | None) -> tuple[City, Path]:
    """A city and the file it came from: ``None`` or ``"default"`` is the default city."""
    from twin3d.io import read

    path = default_city_path() if spec in (None, "default") else Path(spec)
    return read(path), path
