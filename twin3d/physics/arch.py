"""Taichi initialisation for the CLI and server, with the arch actually used checked."""

from __future__ import annotations

from twin3d.errors import InputError

ARCHES = ("auto", "cpu", "cuda")
_active: dict[str, str] = {}  # the arch of the runtime this process initialised


def init_taichi(arch: str = "auto", **options) -> str:
    """Initialise Taichi and return the arch actually in use: ``"cpu"`` or ``"cuda"``.

    Taichi falls back to the CPU silently when CUDA is missing; this checks what it
    chose.  ``arch="cuda"`` without a usable GPU raises :class:`InputError`.
    Extra options (``fast_math``, ``offline_cache``, ...) go to ``ti.init``.  Without
    options, a runtime this process already started on a matching arch is kept (``ti.init``
    would discard every field and the settings it was started with).
    """
    import taichi as ti

    if arch not in ARCHES:
        raise InputError(None, f"--arch must be one of {', '.join(ARCHES)}, got {arch!r}")
    if _active and not options and arch in ("auto", _active["arch"]):
        return _active["arch"]
    options.setdefault("offline_cache", True)
    options.setdefault("log_level", ti.WARN)
    requested = {"auto": ti.gpu if _cuda_present() else ti.cpu, "cpu": ti.cpu, "cuda": ti.cuda}[arch]
    ti.init(arch=requested, **options)
    used = active_arch()
    _active["arch"] = used
    if arch == "cuda" and used != "cuda":
        raise InputError(None, "--arch cuda: no CUDA GPU is usable here (Taichi fell back to the CPU)")
    return used


def active_arch() -> str:
    """``"cuda"`` or ``"cpu"`` for the running Taichi runtime (x64 and arm64 are ``"cpu"``)."""
    import taichi as ti

    arch = ti.lang.impl.current_cfg().arch
    return "cuda" if arch == ti.cuda else "cpu"


def _cuda_present() -> bool:
    import ctypes.util

    return ctypes.util.find_library("cuda") is not None
