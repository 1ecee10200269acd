"""The one way the web front opens a file: relative to the data root, no ``..``, no symlinks."""

from __future__ import annotations

import os
from pathlib import Path


class UnsafePath(PermissionError):
    """A path outside the data root, through a symlink, or with ``..``."""


def resolve_under(root: str | os.PathLike, *parts: str, must_exist: bool = True) -> Path:
    """``root / parts`` after checking that it stays inside ``root``.

    Refuses absolute parts, ``..`` components, NUL bytes, backslashes, and any symlink on the
    way (the root itself may be a symlink: it is resolved once, first).

    Parameters
    ----------
    root : path
        The data root (configured, trusted).
    *parts : str
        Untrusted path pieces, e.g. from a URL.
    must_exist : bool
        Raise ``FileNotFoundError`` when the path does not exist.

    Returns
    -------
    Path
        An absolute path inside the resolved root.

    Raises
    ------
    UnsafePath
        When any part escapes the root or crosses a symlink.
    """
    base = Path(root).resolve()
    path = base
    for part in parts:
        if not isinstance(part, str) or not part or "\x00" in part or "\\" in part:
            raise UnsafePath(f"refused path component {part!r}")
        for piece in Path(part).parts:
            if piece in ("..", ".", "/") or os.path.isabs(piece) or piece.startswith("~"):
                raise UnsafePath(f"refused path component {part!r}")
            path = path / piece
            if path.is_symlink():
                raise UnsafePath(f"refused symlink {piece!r}")
    resolved = path.resolve()
    if resolved != path or not resolved.is_relative_to(base):
        raise UnsafePath("refused path outside the data root")
    if must_exist and not resolved.exists():
        raise FileNotFoundError(str(Path(*parts)))
    return resolved
