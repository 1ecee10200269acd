"""Readers of the LISFLOOD-FP inputs and outputs of UK EA benchmark Test 4 (test fixtures).

Formats (LISFLOOD-FP 8 manual): ``.par`` is ``keyword value`` lines; ``.bci`` lines are
``side start end kind name``; ``.bdy`` is a title line, then per series its name, a
``count units`` line and ``value time`` rows; the input ``.stage`` is a count then
``x y`` rows; an output ``.stage`` has a header, then ``time depth1 ... depthN`` rows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def read_par(path: Path) -> dict[str, str]:
    """Keyword -> value (flags without a value map to ``""``)."""
    out = {}
    for line in Path(path).read_text().splitlines():
        parts = line.split()
        if parts:
            out[parts[0]] = " ".join(parts[1:])
    return out


def read_bci(path: Path) -> list[tuple[str, float, float, str, str]]:
    """Boundary lines ``(side, start_m, end_m, kind, series name or value)``."""
    rows = []
    for line in Path(path).read_text().splitlines():
        parts = line.split()
        if len(parts) >= 4:
            rows.append((parts[0], float(parts[1]), float(parts[2]), parts[3], parts[4] if len(parts) > 4 else ""))
    return rows


def read_bdy(path: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Series name -> ``(times_s, values)``."""
    lines = [ln.split() for ln in Path(path).read_text().splitlines()[1:] if ln.strip()]
    series, k = {}, 0
    while k < len(lines):
        name, (count, units) = lines[k][0], lines[k + 1][:2]
        if units != "seconds":
            raise ValueError(f"{path}: only time in seconds is supported, got {units}")
        rows = np.array(lines[k + 2:k + 2 + int(count)], dtype=np.float64)
        series[name] = (rows[:, 1], rows[:, 0])
        k += 2 + int(count)
    return series


def read_stage_points(path: Path) -> np.ndarray:
    """Output points ``(n, 2)`` of x, y (m)."""
    lines = Path(path).read_text().split()
    n = int(lines[0])
    return np.array(lines[1:1 + 2 * n], dtype=np.float64).reshape(n, 2)


def read_stage_series(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Times ``(T,)`` and depths ``(T, n)`` of a LISFLOOD-FP stage output."""
    rows = []
    for line in Path(path).read_text().splitlines():
        parts = line.split()
        try:
            values = [float(p) for p in parts]
        except ValueError:
            continue
        if len(values) > 4:  # time + one depth per point (the header has 4 numbers per line)
            rows.append(values)
    data = np.array(rows)
    return data[:, 0], data[:, 1:]


def arrival_time(times: np.ndarray, depth: np.ndarray, threshold: float = 0.02) -> float:
    """First time the depth exceeds ``threshold``, interpolated linearly between samples."""
    k = int(np.argmax(depth > threshold))
    if depth[k] <= threshold:
        return np.inf
    if k == 0:
        return float(times[0])
    frac = (threshold - depth[k - 1]) / (depth[k] - depth[k - 1])
    return float(times[k - 1] + frac * (times[k] - times[k - 1]))
