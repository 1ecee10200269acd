"""A small declarative schema for TOML specs: every error names the key and the reason."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


class SpecError(ValueError):
    """A spec problem at ``key`` (a dotted path like ``hazards.rain[0].intensity_mm_h``)."""

    def __init__(self, key: str, reason: str):
        self.key, self.reason = key, reason
        super().__init__(f"{key}: {reason}")


Check = Callable[[object, str], object]


def number(lo: float = -math.inf, hi: float = math.inf, *, open_lo: bool = False, unit: str = "") -> Check:
    """A finite number in [lo, hi] (or (lo, hi] with ``open_lo``); ints are accepted."""

    def check(value, key):
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise SpecError(key, f"expected a number{f' in {unit}' if unit else ''}, got {value!r}")
        if value < lo or value > hi or (open_lo and value == lo):
            low = f"> {lo}" if open_lo else f">= {lo}"
            raise SpecError(key, f"{value} is out of range (must be {low} and <= {hi}{' ' + unit if unit else ''})")
        return float(value)

    return check


def integer(lo: int = 0, hi: int = 2**31) -> Check:
    def check(value, key):
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise SpecError(key, f"expected an integer in [{lo}, {hi}], got {value!r}")
        return value

    return check


def text(*choices: str) -> Check:
    def check(value, key):
        if not isinstance(value, str):
            raise SpecError(key, f"expected a string, got {value!r}")
        if choices and value not in choices:
            raise SpecError(key, f"{value!r} is not one of {', '.join(choices)}")
        return value

    return check


def boolean(value, key):
    if not isinstance(value, bool):
        raise SpecError(key, f"expected true or false, got {value!r}")
    return value


def datetime(value, key):
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            raise SpecError(key, f"expected an ISO 8601 date-time, got {value!r}") from None
    if not isinstance(value, dt.datetime):
        raise SpecError(key, f"expected a date-time, got {value!r}")
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def file_path(base: Path) -> Check:
    """A path relative to the spec file's folder, which must exist."""

    def check(value, key):
        if not isinstance(value, str) or not value:
            raise SpecError(key, f"expected a file path, got {value!r}")
        path = (base / value).resolve()
        if not path.is_file():
            raise SpecError(key, f"file not found: {path}")
        return path

    return check


def point(value, key):
    if not isinstance(value, list) or len(value) != 2:
        raise SpecError(key, f"expected a point [x, y], got {value!r}")
    return tuple(number()(v, f"{key}[{i}]") for i, v in enumerate(value))


def polyline(min_points: int = 2) -> Check:
    def check(value, key):
        if not isinstance(value, list) or len(value) < min_points:
            raise SpecError(key, f"expected a list of at least {min_points} points [[x, y], ...]")
        return [point(p, f"{key}[{i}]") for i, p in enumerate(value)]

    return check


def series(lo: float = -math.inf, hi: float = math.inf, unit: str = "") -> Check:
    """A constant, or a time series ``[[t_s, value], ...]`` with increasing times from 0."""
    value_check = number(lo, hi, unit=unit)

    def check(value, key):
        if not isinstance(value, list):
            return ((0.0,), (value_check(value, key),))
        if not value:
            raise SpecError(key, "a time series needs at least one [t_s, value] pair")
        times, values = [], []
        for i, pair in enumerate(value):
            if not isinstance(pair, list) or len(pair) != 2:
                raise SpecError(f"{key}[{i}]", f"expected [t_s, value], got {pair!r}")
            times.append(number(0.0, unit="s")(pair[0], f"{key}[{i}][0]"))
            values.append(value_check(pair[1], f"{key}[{i}][1]"))
        if any(b <= a for a, b in zip(times, times[1:])):
            raise SpecError(key, "times must increase strictly")
        return (tuple(times), tuple(values))

    return check


def one_of(*checks: Check, what: str) -> Check:
    def check(value, key):
        for c in checks:
            try:
                return c(value, key)
            except SpecError:
                continue
        raise SpecError(key, f"expected {what}, got {value!r}")

    return check


@dataclass(frozen=True)
class Table:
    """A TOML table with known keys; ``required`` keys must be present."""

    fields: dict[str, Check | Table | ArrayOf]
    required: tuple[str, ...] = ()
    open_keys: Check | None = None  # validates keys not in ``fields`` (e.g. departments)

    def __call__(self, value, key):
        if not isinstance(value, dict):
            raise SpecError(key or "(top level)", f"expected a table, got {value!r}")
        out = {}
        for name, item in value.items():
            sub = f"{key}.{name}" if key else name
            if name in self.fields:
                out[name] = self.fields[name](item, sub)
            elif self.open_keys is not None:
                out[name] = self.open_keys(item, sub)
            else:
                known = ", ".join(sorted(self.fields))
                raise SpecError(sub, f"unknown key (known here: {known})")
        for name in self.required:
            if name not in value:
                raise SpecError(f"{key}.{name}" if key else name, "is required")
        return out


@dataclass(frozen=True)
class ArrayOf:
    item: Check | Table

    def __call__(self, value, key):
        if not isinstance(value, list):
            raise SpecError(key, "expected an array of tables ([[...]])")
        return [self.item(v, f"{key}[{i}]") for i, v in enumerate(value)]
