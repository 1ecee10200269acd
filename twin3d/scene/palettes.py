"""Colours of the scene and its legend: colour-blind-safe palettes (Okabe-Ito) and colour maps.

Every colour here is RGB 0-255.  Continuous quantities use perceptually uniform maps that
stay readable for colour-blind viewers (``Blues``, ``inferno``, ``cividis``, ``PuOr``).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

# Calm, colour-blind-safe palette (Okabe-Ito based) per building use; industrial is darker than
# Okabe-Ito's grey and fire stations are Tol's wine, so that neither merges with shelters or
# hospitals under deuteranopia (simulated, Machado 2009).
USE_COLOURS = {
    "residential": (221, 204, 170), "commercial": (86, 180, 233), "industrial": (110, 110, 110),
    "public": (0, 158, 115), "hospital": (213, 94, 0), "school": (240, 228, 66),
    "fire_station": (136, 34, 85), "ambulance_post": (230, 159, 0), "police": (0, 114, 178),
    "shelter": (204, 121, 167),
}
USE_TITLES = {"residential": "Residential", "commercial": "Commercial", "industrial": "Industrial",
              "public": "Public", "hospital": "Hospital", "school": "School", "fire_station": "Fire station",
              "ambulance_post": "Ambulance post", "police": "Police", "shelter": "Shelter"}
# Okabe-Ito: distinguishable under the common colour-vision deficiencies.
OKABE_ITO = {
    "orange": (230, 159, 0), "sky_blue": (86, 180, 233), "bluish_green": (0, 158, 115),
    "yellow": (240, 228, 66), "blue": (0, 114, 178), "vermillion": (213, 94, 0),
    "reddish_purple": (204, 121, 167), "black": (0, 0, 0), "grey": (153, 153, 153),
}
OUT_OF_SERVICE_COLOUR = OKABE_ITO["vermillion"]  # networks: an edge or node out of service
DOWN_COLOUR = (40, 40, 40)  # facilities whose status has the down bit: near-black, unlike every kind colour
NETWORK_COLOURS = {"power": OKABE_ITO["blue"], "water": OKABE_ITO["sky_blue"], "road": (85, 85, 85)}
NETWORK_TITLES = {"power": "Power network", "water": "Water network", "road": "Road network"}
# Allocation arrows: one colour per resource kind, in the order of the results' ``kinds``.
ARROW_COLOURS = (OKABE_ITO["reddish_purple"], OKABE_ITO["orange"], OKABE_ITO["bluish_green"],
                 OKABE_ITO["blue"], OKABE_ITO["yellow"], OKABE_ITO["sky_blue"], OKABE_ITO["vermillion"],
                 OKABE_ITO["grey"])


# Water: the upper 70 % of "Blues", so that shallow water is a clear light blue, not white.
WATER_CMAP = "twin3d_water"
# Land: the green-to-tan part of "gist_earth" (no blues, which would read as flood water).
LAND_CMAP = "twin3d_land"
_DERIVED = {WATER_CMAP: ("Blues", 0.3, 1.0), LAND_CMAP: ("gist_earth", 0.32, 0.72)}


def ensure_colourmaps() -> None:
    """Register the scene's derived colour maps with matplotlib (pyvista finds them by name)."""
    import matplotlib
    from matplotlib.colors import ListedColormap

    for name, (base, lo, hi) in _DERIVED.items():
        if name not in matplotlib.colormaps:
            colours = matplotlib.colormaps[base](np.linspace(lo, hi, 256))
            matplotlib.colormaps.register(ListedColormap(colours, name=name))


def hex_colour(rgb) -> str:
    """``"#rrggbb"`` of an RGB triple (0-255)."""
    r, g, b = (int(round(float(c))) for c in rgb[:3])
    return f"#{r:02x}{g:02x}{b:02x}"


def cmap_rgb(cmap: str, t: np.ndarray) -> np.ndarray:
    """RGB (uint8, shape (n, 3)) of positions ``t`` in [0, 1] along the matplotlib map ``cmap``."""
    import matplotlib

    ensure_colourmaps()
    t = np.clip(np.nan_to_num(np.asarray(t, dtype=np.float64), nan=0.0), 0.0, 1.0)
    return (matplotlib.colormaps[cmap](t)[..., :3] * 255).round().astype(np.uint8)


@lru_cache(maxsize=32)
def cmap_lut(cmap: str, n: int = 256) -> np.ndarray:
    """A lookup table of ``n`` RGB (uint8) colours along ``cmap`` (made once per map), for per-frame indexing."""
    lut = cmap_rgb(cmap, np.linspace(0.0, 1.0, n))
    lut.flags.writeable = False
    return lut


def lut_rgb(cmap: str, t: np.ndarray, n: int = 256) -> np.ndarray:
    """RGB (uint8) of positions ``t`` in [0, 1] through the cached ``n``-colour table of ``cmap``:
    a per-frame colouring without calling matplotlib."""
    t = np.clip(np.nan_to_num(np.asarray(t, dtype=np.float64), nan=0.0), 0.0, 1.0)
    return cmap_lut(cmap, n)[np.rint(t * (n - 1)).astype(np.intp)]


def value_label(value: float) -> str:
    """A short tick label: ``0.5``, ``12``, ``1.5e-04``."""
    v = float(value)
    if v == 0.0:
        return "0"
    if abs(v) >= 1e4 or abs(v) < 1e-2:
        return f"{v:.1e}"
    return f"{v:.3g}"


def continuous_entry(title: str, units: str, cmap: str, lo: float, hi: float, n: int = 5,
                     labels: list[str] | None = None) -> dict:
    """A continuous legend entry: ``n`` stops evenly spaced over ``[lo, hi]`` of ``cmap``."""
    values = np.linspace(lo, hi, n)
    colours = lut_rgb(cmap, np.linspace(0.0, 1.0, n))
    labels = labels or [value_label(v) for v in values]
    return {"title": title, "units": units, "kind": "continuous",
            "stops": [{"colour": hex_colour(c), "label": lab} for c, lab in zip(colours, labels, strict=True)]}


def categorical_entry(title: str, items: list[tuple[tuple[int, int, int], str]], units: str = "") -> dict:
    """A categorical legend entry: one swatch per ``(rgb, label)``."""
    return {"title": title, "units": units, "kind": "categorical",
            "stops": [{"colour": hex_colour(rgb), "label": label} for rgb, label in items]}
