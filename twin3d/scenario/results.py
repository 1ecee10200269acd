"""The results file: one HDF5 file per run, written live (SWMR) and readable while it grows.

Every dataset is created before live writing starts, because HDF5's single-writer /
multiple-reader mode lets a writer extend datasets but not create objects.  Attributes
that finish a run (``complete``, field min/max) are written after the live writer has
closed.  The layout is documented in docs/results-format.md.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from twin3d import __version__
from twin3d.errors import InputError
from twin3d.model import Grid

FORMAT = "twin3d-results"
FORMAT_VERSION = 1
FIELD_UNITS = {"depth": "m", "speed": "m/s", "temperature": "degC", "concentration": "kg/m3"}
BUILDING_UNITS = {"max_depth": "m", "max_speed": "m/s", "temperature": "degC", "concentration": "kg/m3"}
EVENT_DTYPE = np.dtype([("time", "f8"), ("kind", "S32"), ("label", "S128")])
ASSIGNMENT_COLUMNS = ("depot_x", "depot_y", "site_x", "site_y", "units", "kind")
REASON_BYTES = 160


@dataclass
class FrameAllocation:
    """A frame's allocation: the ``/allocation`` row, and (when the layout has
    ``allocation_rows``) its assignments (``(rows, 6)``, NaN-padded) and their reasons."""

    vector: np.ndarray
    assignments: np.ndarray | None = None
    reasons: np.ndarray | None = None  # (rows,) bytes, at most REASON_BYTES each


@dataclass
class ResultsLayout:
    """What a run will write: fixed before the first frame."""

    grid: Grid
    elevation: np.ndarray
    fields: tuple[str, ...]
    n_buildings: int
    building_quantities: tuple[str, ...]
    mass_balance_columns: tuple[str, ...]
    networks: dict[str, tuple[int, int]] = field(default_factory=dict)  # kind -> (nodes, edges)
    status_flags: tuple[str, ...] = ()
    allocation_columns: tuple[str, ...] = ()
    allocation_rows: int = 0  # > 0: /allocation_assignments and /allocation_reasons, this many rows a frame
    allocation_kinds: tuple[str, ...] = ()  # resource kinds indexed by the assignments' kind column
    checkpoint_shape: tuple[int, ...] = ()  # solver state, e.g. (3, ny, nx)
    kpis: dict[str, tuple[str, str, tuple[str, ...] | None]] = field(default_factory=dict)  # units, label, columns


def _extendable(f, name: str, shape: tuple[int, ...], dtype, compress: bool = False):
    kwargs = {"compression": "gzip", "compression_opts": 3, "shuffle": True} if compress else {}
    maxshape = (None, *[s if s else None for s in shape])  # a zero-width axis still needs a chunk
    return f.create_dataset(name, shape=(0, *shape), maxshape=maxshape, dtype=dtype,
                            chunks=(1, *[max(1, s) for s in shape]), **kwargs)


class _Open:
    """An open results file (``self.file``), closed once, usable as a context manager."""

    def close(self) -> None:
        if self.file.id.valid:
            self.file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def is_results_file(path) -> bool:
    """Whether ``path`` is a twin3d results file (HDF5 with ``format == "twin3d-results"``)."""
    import h5py

    if path in (None, "default") or not Path(path).is_file() or not h5py.is_hdf5(path):
        return False
    try:
        with h5py.File(path, "r", libver="latest", swmr=True) as f:
            return f.attrs.get("format") == FORMAT
    except OSError:
        return False


class ResultsWriter(_Open):
    """Creates the file with every dataset, switches to SWMR, then appends frames.

    Use as a context manager; :meth:`finish` marks the run complete after the live
    writer has closed.
    """

    def __init__(self, path: Path, layout: ResultsLayout, attrs: dict):
        import h5py

        self.path = Path(path)
        self.layout = layout
        self.file = h5py.File(self.path, "w", libver="latest")
        self._create(attrs)
        self.file.swmr_mode = True

    def _create(self, attrs: dict) -> None:
        f, lay = self.file, self.layout
        f.attrs.update(format=FORMAT, format_version=FORMAT_VERSION, twin3d_version=__version__,
                       complete=False, **attrs)
        _extendable(f, "time", (), "f8")
        g = f.create_group("grid")
        g.attrs.update(origin=lay.grid.origin, cell_size=lay.grid.cell_size, shape=lay.grid.shape,
                       rows="north", columns="east")
        g.create_dataset("elevation", data=np.asarray(lay.elevation, dtype=np.float32))
        fields = f.create_group("fields")
        for name in lay.fields:
            _extendable(fields, name, lay.grid.shape, "f4", compress=True).attrs["units"] = FIELD_UNITS[name]
        b = f.create_group("buildings")
        for name in lay.building_quantities:
            _extendable(b, name, (lay.n_buildings,), "f4", compress=True).attrs["units"] = BUILDING_UNITS[name]
        if lay.status_flags:
            ds = _extendable(b, "status", (lay.n_buildings,), "u1", compress=True)
            ds.attrs["flags"] = [f"{1 << i}={name}" for i, name in enumerate(lay.status_flags)]
        nets = f.create_group("networks")
        for kind, (n_nodes, n_edges) in lay.networks.items():
            _extendable(nets, f"{kind}/node_ok", (n_nodes,), "?")
            _extendable(nets, f"{kind}/edge_ok", (n_edges,), "?")
        _extendable(f, "allocation", (len(lay.allocation_columns),), "f8").attrs["columns"] = list(
            lay.allocation_columns)
        if lay.allocation_rows:
            ds = _extendable(f, "allocation_assignments", (lay.allocation_rows, len(ASSIGNMENT_COLUMNS)), "f8")
            ds.attrs.update(columns=list(ASSIGNMENT_COLUMNS), kinds=list(lay.allocation_kinds))
            _extendable(f, "allocation_reasons", (lay.allocation_rows,), f"S{REASON_BYTES}", compress=True)
        kpi = f.create_group("kpi")
        for name, (units, label, columns) in lay.kpis.items():
            ds = _extendable(kpi, name, (len(columns),) if columns else (), "f8")
            ds.attrs.update(units=units, label=label)
            if columns:
                ds.attrs["columns"] = list(columns)
        f.create_dataset("events", shape=(0,), maxshape=(None,), dtype=EVENT_DTYPE, chunks=(64,))
        _extendable(f, "mass_balance", (len(lay.mass_balance_columns),), "f8").attrs["columns"] = list(
            lay.mass_balance_columns)
        if lay.checkpoint_shape:
            c = f.create_group("checkpoint")
            c.create_dataset("state", shape=lay.checkpoint_shape, dtype="f8")
            c.create_dataset("time", shape=(1,), dtype="f8")
            c.create_dataset("frames", shape=(1,), dtype="i8")
            c.create_dataset("extra", shape=(64,), dtype="f8")  # solver counters (mass balance)

    def copy_frames(self, source, frames: int) -> None:
        """Copy the first ``frames`` frames and all events of another results file (for resume)."""
        for ds in _series_datasets(self.file):
            ds.resize((frames, *ds.shape[1:]))
            if frames:
                ds[:frames] = source[ds.name][:frames]
        events = source["events"][()]
        self.file["events"].resize(events.shape)
        self.file["events"][:] = events
        self.file.flush()

    @property
    def n_frames(self) -> int:
        return self.file["time"].shape[0]

    def append_frame(self, time_s: float, fields: dict, buildings: dict, mass_balance: np.ndarray,
                     networks: dict | None = None, status: np.ndarray | None = None,
                     allocation: np.ndarray | FrameAllocation | None = None, kpis: dict | None = None) -> None:
        """Write one output frame and flush it so live readers see it.  ``/time`` is appended
        last and read first (``ResultsFile.refresh``), so a frame a reader counts is whole."""
        f, k = self.file, self.n_frames
        for name in self.layout.fields:
            _append(f["fields"][name], k, fields[name])
        for name in self.layout.building_quantities:
            _append(f["buildings"][name], k, buildings[name])
        if self.layout.status_flags:
            _append(f["buildings/status"], k, status)
        for kind, (node_ok, edge_ok) in (networks or {}).items():
            _append(f[f"networks/{kind}/node_ok"], k, node_ok)
            _append(f[f"networks/{kind}/edge_ok"], k, edge_ok)
        self._append_allocation(k, allocation)
        _append(f["mass_balance"], k, mass_balance)
        for name in self.layout.kpis:
            _append(f["kpi"][name], k, kpis[name])
        _append(f["time"], k, time_s)
        f.flush()

    def _append_allocation(self, k: int, allocation: np.ndarray | FrameAllocation | None) -> None:
        f, lay = self.file, self.layout
        if not isinstance(allocation, FrameAllocation):
            allocation = FrameAllocation(np.zeros(len(lay.allocation_columns)) if allocation is None else allocation)
        _append(f["allocation"], k, allocation.vector)
        if lay.allocation_rows:
            empty = allocation.assignments is None
            rows = np.full((lay.allocation_rows, len(ASSIGNMENT_COLUMNS)), np.nan) if empty else allocation.assignments
            _append(f["allocation_assignments"], k, rows)
            _append(f["allocation_reasons"], k, np.zeros(lay.allocation_rows, f"S{REASON_BYTES}")
                    if allocation.reasons is None else allocation.reasons)

    def set_elevation(self, elevation: np.ndarray) -> None:
        """Replace /grid/elevation (a breach changed the simulated bed)."""
        self.file["grid/elevation"][...] = np.asarray(elevation, dtype=np.float32)
        self.file["grid/elevation"].flush()

    def add_event(self, time_s: float, kind: str, label: str) -> None:
        ds = self.file["events"]
        n = ds.shape[0]
        ds.resize((n + 1,))
        ds[n] = (time_s, kind.encode()[:32], label.encode()[:128])
        ds.flush()

    def checkpoint(self, state: np.ndarray, time_s: float, extra: np.ndarray) -> None:
        """Overwrite the solver checkpoint (resume continues from here)."""
        c = self.file["checkpoint"]
        c["state"][...] = state
        c["extra"][: len(extra)] = extra
        c["time"][0] = time_s
        c["frames"][0] = self.n_frames
        self.file.flush()



def _series_datasets(f):
    """Every dataset indexed by frame."""
    yield from (f["time"], f["mass_balance"], f["allocation"])
    yield from (f[name] for name in ("allocation_assignments", "allocation_reasons") if name in f)
    for group in ("fields", "buildings", "kpi"):
        yield from f[group].values()
    for net in f["networks"].values():
        yield from net.values()


def _append(ds, k: int, value) -> None:
    ds.resize((k + 1, *ds.shape[1:]))
    ds[k] = value
    ds.flush()


def finish(path: Path) -> None:
    """After the live writer closed: store field min/max and mark the run complete."""
    import h5py

    # no file lock: readers following the run live (the app) may still have it open
    with h5py.File(path, "r+", locking=False) as f:
        for group in ("fields", "buildings"):
            for ds in f[group].values():
                data = ds[()]
                finite = data[np.isfinite(data)] if data.dtype.kind == "f" else data
                ds.attrs["min"] = float(finite.min()) if finite.size else np.nan
                ds.attrs["max"] = float(finite.max()) if finite.size else np.nan
        f.attrs["completed_at"] = dt.datetime.now(dt.UTC).isoformat()
        f.attrs["complete"] = True


class ResultsFile(_Open):
    """Read a results file, also while a run is still writing it (SWMR)."""

    def __init__(self, path: str | Path):
        import h5py

        self.path = Path(path)
        try:
            self.file = h5py.File(self.path, "r", libver="latest", swmr=True)
        except OSError as exc:
            raise InputError(self.path, f"not a readable HDF5 results file ({exc})") from None
        try:
            if self.file.attrs.get("format") != FORMAT:
                raise InputError(self.path, "not a twin3d results file")
            g = self.file["grid"].attrs
            self.grid = Grid(tuple(g["origin"]), float(g["cell_size"]), tuple(g["shape"]))
        except (KeyError, ValueError, TypeError) as exc:
            self.file.close()
            raise InputError(self.path, f"damaged results file: {exc}") from None
        except InputError:
            self.file.close()
            raise

    def refresh(self) -> int:
        """See frames appended since opening; returns the number of frames."""
        for ds in self._datasets():
            ds.refresh()
        return self.n_frames

    def _datasets(self):
        yield self.file["events"]
        yield from _series_datasets(self.file)

    @property
    def n_frames(self) -> int:
        return self.file["time"].shape[0]

    @property
    def complete(self) -> bool:
        return bool(self.file.attrs.get("complete", False))

    def times(self) -> np.ndarray:
        return self.file["time"][()]

    def field(self, name: str, frame: int) -> np.ndarray:
        return self.file["fields"][name][frame]

    def buildings(self, name: str) -> np.ndarray:
        return self.file["buildings"][name][()]

