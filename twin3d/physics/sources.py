"""Time series and boundary specifications that drive the flood solver.

A :class:`TimeSeries` is a forcing in time: a rainfall intensity, an inflow
hydrograph, a storm-surge or river stage.  It is either piecewise linear
(hydrographs, stages; the LISFLOOD-FP and HiPIMS convention) or a step function
(hyetographs: each intensity holds until the next time).  Its exact integral over
a time step is what the solvers add, so mass balances close to round-off.

Boundaries are given per side of the grid::

    {"west": "closed", "east": "open", "south": ("stage", times_s, levels_m)}

``"closed"`` is a reflective wall, ``"open"`` a free (zero-gradient, transmissive)
outflow, ``("stage", times, levels)`` a fixed water level in time.  Sides that are
not named are closed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twin3d.errors import InputError

SIDES = ("west", "east", "south", "north")
BOUNDARY_KINDS = {"closed": 0, "open": 1, "stage": 2}


@dataclass(frozen=True)
class TimeSeries:
    """A scalar forcing in time, piecewise ``"linear"`` or ``"step"``.

    A ``"step"`` value holds from its time until the next one.  Before the first
    time the series takes its first value and after the last time its last value
    (end a rainfall series with a zero to stop the rain).

    Examples
    --------
    >>> ts = TimeSeries.from_arrays([0, 3600], [0.0, 10.0])
    >>> float(ts.value(1800.0))
    5.0
    >>> float(ts.integral(0.0, 3600.0))
    18000.0
    """

    times: np.ndarray
    values: np.ndarray
    kind: str = "linear"

    @classmethod
    def from_arrays(cls, times, values, kind: str = "linear", what: str = "time series") -> TimeSeries:
        """Validated series from array-likes; raises :class:`InputError` when malformed."""
        if kind not in ("linear", "step"):
            raise InputError(None, f"{what}: interpolation must be 'linear' or 'step', got {kind!r}")
        try:
            t = np.atleast_1d(np.asarray(times, dtype=np.float64))
            v = np.atleast_1d(np.asarray(values, dtype=np.float64))
        except (TypeError, ValueError) as exc:
            raise InputError(None, f"{what}: times and values must be numbers ({exc})") from None
        if t.ndim != 1 or t.shape != v.shape or t.size == 0:
            raise InputError(None, f"{what}: need equal-length 1-D times and values, got {t.shape} and {v.shape}")
        if not (np.all(np.isfinite(t)) and np.all(np.isfinite(v))):
            raise InputError(None, f"{what}: times and values must be finite")
        if np.any(np.diff(t) <= 0):
            raise InputError(None, f"{what}: times must increase strictly")
        return cls(t, v, kind)

    @classmethod
    def constant(cls, value: float, what: str = "time series") -> TimeSeries:
        return cls.from_arrays([0.0], [value], what=what)

    def __call__(self, t: float) -> float:
        return float(self.value(t))

    def value(self, t):
        """The value at time(s) ``t`` (s)."""
        t = np.asarray(t, dtype=np.float64)
        if self.kind == "linear":
            return np.interp(t, self.times, self.values)
        k = np.clip(np.searchsorted(self.times, t, side="right") - 1, 0, None)
        return self.values[k]

    def cumulative(self, t):
        """Integral of the series from ``times[0]`` to ``t`` (negative before ``times[0]``)."""
        t = np.asarray(t, dtype=np.float64)
        tk, vk = self.times, self.values
        if self.kind == "linear":
            seg = np.diff(tk) * 0.5 * (vk[1:] + vk[:-1])
        else:
            seg = np.diff(tk) * vk[:-1]
        nodes = np.concatenate([[0.0], np.cumsum(seg)])
        k = np.clip(np.searchsorted(tk, t, side="right") - 1, 0, tk.size - 1)
        tau = t - tk[k]
        if self.kind == "linear":
            slope = np.diff(vk, append=vk[-1]) / np.diff(tk, append=tk[-1] + 1.0)
            within = nodes[k] + tau * (vk[k] + 0.5 * slope[k] * tau)
        else:
            within = nodes[k] + tau * vk[k]
        return np.where(t < tk[0], (t - tk[0]) * vk[0], within)

    def integral(self, t0: float, t1: float) -> float:
        """Exact integral of the series over ``[t0, t1]``."""
        c = self.cumulative(np.array([t0, t1]))
        return float(c[1] - c[0])


def parse_boundaries(boundaries: dict | None) -> dict[str, tuple[str, TimeSeries | None]]:
    """Normalise a boundary spec to ``{side: (kind, stage series or None)}`` for all four sides."""
    spec = {} if boundaries is None else boundaries
    if not isinstance(spec, dict):
        raise InputError(None, f"boundaries must be a dict of side -> kind, got {type(spec).__name__}")
    unknown = set(spec) - set(SIDES)
    if unknown:
        raise InputError(None, f"unknown boundary side(s) {sorted(unknown)}; sides are {', '.join(SIDES)}")
    out: dict[str, tuple[str, TimeSeries | None]] = {}
    for side in SIDES:
        value = spec.get(side, "closed")
        if isinstance(value, str) and value in ("closed", "open"):
            out[side] = (value, None)
        elif isinstance(value, tuple | list) and len(value) == 3 and value[0] == "stage":
            series = TimeSeries.from_arrays(value[1], value[2], "linear", what=f"{side} stage")
            out[side] = ("stage", series)
        else:
            raise InputError(None, f"boundary {side}: expected 'closed', 'open' or ('stage', times, levels), "
                                   f"got {value!r}")
    return out


@dataclass(frozen=True)
class Inflow:
    """A discharge hydrograph (m3/s) shared equally by a set of cells."""

    rows: np.ndarray
    cols: np.ndarray
    hydrograph: TimeSeries

    def volume(self, t0: float, t1: float) -> float:
        """Volume (m3) this source delivers over ``[t0, t1]``."""
        return self.hydrograph.integral(t0, t1)


def line_cells(grid, start_xy, end_xy) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of the distinct cells a straight segment passes through.

    The segment is sampled at the midpoints of pieces a quarter of a cell long, so
    a segment along a cell edge (an inflow on the west edge, say) takes the cells
    whose edges it covers and not the cell beyond its end point.
    """
    p0 = np.asarray(start_xy, dtype=np.float64).reshape(2)
    p1 = np.asarray(end_xy, dtype=np.float64).reshape(2)
    if not (np.all(np.isfinite(p0)) and np.all(np.isfinite(p1))):
        raise InputError(None, "inflow line: end points must be finite")
    n = max(1, int(np.ceil(4.0 * np.hypot(*(p1 - p0)) / grid.cell_size)))
    s = ((np.arange(n) + 0.5) / n)[:, None]
    pts = p0 + s * (p1 - p0)
    rows, cols = grid.cell_of(pts[:, 0], pts[:, 1])
    if np.any(rows < 0):
        raise InputError(None, f"inflow line {p0.tolist()} -> {p1.tolist()} leaves the grid {grid.bounds}")
    cells = np.unique(np.stack([rows, cols], axis=1), axis=0)
    return cells[:, 0], cells[:, 1]
