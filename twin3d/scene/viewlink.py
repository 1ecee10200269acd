"""A shareable view as a URL query: scenario, time, camera (city CRS), building colours, layers.

``ViewLink.from_query(link.to_query()) == link`` for every link ``to_query`` writes; parsing
is lenient (a damaged or partial query keeps the parts it can read).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

# position and focal point to 0.1 m, view up to 0.001, view angle to 0.1 degree
CAMERA_DECIMALS = (1, 1, 1, 1, 1, 1, 3, 3, 3, 1)


@dataclass(frozen=True)
class ViewLink:
    """What the link restores; ``None`` / "" leaves that part of the view as it is."""

    scenario: str = ""
    time_index: int | None = None
    camera: tuple[float, ...] | None = None  # position, focal point (city CRS, m), view up, view angle (deg)
    colour: str = ""  # building colour mode
    layers: tuple[str, ...] | None = None  # the visible layers, sorted

    def to_query(self) -> str:
        """``scenario=s1&t=4&cam=x,y,z,fx,fy,fz,ux,uy,uz,angle&colour=depth&layers=buildings,terrain``."""
        parts = []
        if self.scenario:
            parts.append(("scenario", self.scenario))
        if self.time_index is not None:
            parts.append(("t", str(int(self.time_index))))
        if self.camera is not None:
            parts.append(("cam", ",".join(f"{v:.{d}f}" for v, d in zip(self.camera, CAMERA_DECIMALS, strict=False))))
        if self.colour:
            parts.append(("colour", self.colour))
        if self.layers is not None:
            parts.append(("layers", ",".join(self.layers)))
        return urlencode(parts, safe=",:")

    @classmethod
    def from_query(cls, query: str) -> ViewLink:
        """Parse ``to_query``'s output (with or without the leading "?")."""
        values = dict(parse_qsl(str(query or "").lstrip("?"), keep_blank_values=True))
        time_index = values.get("t", "")
        camera = _camera(values.get("cam", ""))
        layers = values.get("layers")
        return cls(scenario=values.get("scenario", ""),
                   time_index=int(time_index) if time_index.isdigit() else None,
                   camera=camera,
                   colour=values.get("colour", ""),
                   layers=None if layers is None else tuple(sorted(n for n in layers.split(",") if n)))

    @classmethod
    def of_view(cls, scenario: str, time_index: int | None, camera, origin, colour: str,
                layers) -> ViewLink:
        """The link of a view: ``camera`` a vtkCamera in coordinates shifted by ``origin``."""
        return cls(scenario=scenario or "", time_index=time_index, camera=camera_in_crs(camera, origin),
                   colour=colour or "", layers=tuple(sorted(layers)))


def _camera(text: str) -> tuple[float, ...] | None:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        return None
    if len(values) not in (9, 10) or not all(math.isfinite(v) for v in values):
        return None
    return values


def camera_in_crs(camera, origin) -> tuple[float, ...]:
    """Position, focal point (city CRS), view up and view angle of ``camera``, rounded as links
    write them."""
    ox, oy, oz = (float(v) for v in origin)
    shift = (ox, oy, oz)
    pos = [p + o for p, o in zip(camera.GetPosition(), shift, strict=True)]
    focal = [p + o for p, o in zip(camera.GetFocalPoint(), shift, strict=True)]
    values = (*pos, *focal, *camera.GetViewUp(), camera.GetViewAngle())
    return tuple(round(float(v), d) for v, d in zip(values, CAMERA_DECIMALS, strict=True))


def apply_camera(camera, values, origin) -> None:
    """Set ``camera`` (coordinates shifted by ``origin``) from :func:`camera_in_crs` values
    (9 values: the view angle stays as it is)."""
    ox, oy, oz = (float(v) for v in origin)
    px, py, pz, fx, fy, fz, ux, uy, uz = (float(v) for v in values[:9])
    if len(values) > 9:
        camera.SetViewAngle(float(values[9]))
    camera.SetPosition(px - ox, py - oy, pz - oz)
    camera.SetFocalPoint(fx - ox, fy - oy, fz - oz)
    camera.SetViewUp(ux, uy, uz)
