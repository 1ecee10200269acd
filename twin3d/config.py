"""Settings and where the packaged data lives.

Settings resolve in order: built-in defaults, then ``twin3d.toml`` in the working
directory (or the file named by ``TWIN3D_CONFIG``), then ``TWIN3D_*`` environment
variables.  ``assets/`` and ``shaders/`` ship inside the package (wheel) and are
found here, whether twin3d runs from a checkout or from an installed wheel.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def _data_dir(name: str) -> Path:
    """Packaged data folder: ``twin3d/_data/<name>`` in a wheel, ``<repo>/<name>`` in a checkout."""
    installed = _PACKAGE_DIR / "_data" / name
    if installed.is_dir():
        return installed
    return _PACKAGE_DIR.parent / name


def assets_dir() -> Path:
    """The folder of default city recipe, scenarios, damage curves and tables."""
    return _data_dir("assets")


def shaders_dir() -> Path:
    """The folder of GLSL shader replacements used by the scene."""
    return _data_dir("shaders")


def asset(*parts: str) -> Path:
    """Path of one packaged asset, e.g. ``asset("cities", "default.toml")``."""
    return assets_dir().joinpath(*parts)


@dataclass(frozen=True)
class Settings:
    """User settings; every field may be overridden by ``TWIN3D_<FIELD>``."""

    cache_dir: str = str(Path.home() / ".cache" / "twin3d")
    data_dir: str = str(Path.home() / ".local" / "share" / "twin3d")  # the decision log: not a cache
    arch: str = "auto"
    host: str = "127.0.0.1"
    port: int = 8080


def given_settings(names, environ: dict[str, str] | None = None, table: str | None = None,
                   prefix: str = "TWIN3D_") -> dict[str, object]:
    """The values given for the settings ``names``, unconverted: the config file
    (``TWIN3D_CONFIG``, default ./twin3d.toml; its ``[table]`` when given), then the
    ``<prefix><NAME>`` environment variables, which win.  Other keys of the file are kept, so
    the caller can refuse or ignore them."""
    env = os.environ if environ is None else environ
    values: dict[str, object] = {}
    config_file = Path(env.get("TWIN3D_CONFIG", "twin3d.toml"))
    if config_file.is_file():
        data = read_toml(config_file)
        values.update(data.get(table, {}) if table else data)
    for name in names:
        if prefix + name.upper() in env:
            values[name] = env[prefix + name.upper()]
    return values


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Resolve settings from defaults, ``twin3d.toml`` and the environment."""
    known = {f.name: f for f in fields(Settings)}
    kwargs = {}
    for name, value in given_settings(known, environ).items():
        if name in known:
            kwargs[name] = int(value) if known[name].type == "int" else value
    return Settings(**kwargs)


def read_toml(path: str | os.PathLike, what: str = "settings") -> dict:
    """A TOML file as a dict; a missing, unreadable or invalid file is one InputError."""
    from twin3d.errors import InputError

    path = Path(path)
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise InputError(path, f"cannot read {what} ({exc.strerror or exc})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(path, f"not valid TOML: {exc}") from None


def _hash_tree(root: Path, pattern: str) -> str:
    import hashlib

    digest = hashlib.sha256()
    for path in sorted(root.rglob(pattern)):
        if "__pycache__" in path.parts or not path.is_file():
            continue
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def code_fingerprint() -> str:
    """Hash of the package's source and assets: changes with the version and with local edits."""
    from twin3d import __version__

    return f"{__version__}:{_hash_tree(_PACKAGE_DIR, '*.py')[:16]}:{_hash_tree(assets_dir(), '*')[:16]}"


def cache_dir() -> Path:
    """The folder of cached cities and results (``TWIN3D_CACHE_DIR`` overrides it)."""
    path = Path(load_settings().cache_dir)
    path.mkdir(parents=True, exist_ok=True)
    return path
