"""Per-frame overlays built once and updated in place: the water surface and building colours.

A timeline tick never creates actors or geometry: :meth:`WaterSurface.update` and
:meth:`BuildingColours.apply` write into the VTK arrays that already exist and mark them
modified, so the next render picks the new frame up.
"""

from __future__ import annotations

import numpy as np

from twin3d.model import Grid

DRY_DEPTH_M = 0.02  # shallower than this is drawn as dry ground
DEPTH_CMAP = "Blues"  # sequential, single hue: readable for colour-blind viewers
DEPTH_RANGE_M = (0.0, 3.0)
DEPTH_TITLE = "Water depth (m)"
DEPTH_ALPHA = (0.55, 0.92)  # shallow water is more see-through than deep water
DIFFERENCE_CMAP = "PuOr"  # diverging, colour-blind safe; symmetric range around 0
DIFFERENCE_TITLE = "Depth difference A − B"
DAMAGE_CMAP = "YlOrRd"  # sequential: 0 (pale) to total loss (dark red)
HIDDEN_POINT = 2  # vtkDataSetAttributes.HIDDENPOINT: blanks every cell touching the point
# Building status bits (docs/results-format.md) and their colours (Okabe-Ito), RGB 0-255.
STATUS_COLOURS = {
    "flooded": (0, 114, 178), "without_power": (230, 159, 0), "without_water": (86, 180, 233),
    "down": (213, 94, 0),
}
STATUS_OK_COLOUR = (200, 200, 195)
BUILDING_MODES = ("use", "depth", "damage", "status")


class WaterSurface:
    """The water surface over the results grid: one StructuredGrid, one actor, updated in place.

    Points sit at cell centres at bed elevation + depth, shifted to the city origin.
    Dry cells (depth < ``DRY_DEPTH_M`` or not finite) are blanked through the ghost array.

    Parameters
    ----------
    grid : Grid
        The results grid (origin lower-left, rows north).
    elevation : ndarray, shape (ny, nx)
        The simulated bed elevation (m).
    origin : ndarray, shape (3,)
        The city's local origin that meshes are shifted by.
    """

    def __init__(self, grid: Grid, elevation: np.ndarray, origin: np.ndarray):
        import pyvista as pv

        self.grid = grid
        bed = np.asarray(elevation, dtype=np.float64)
        if bed.shape != tuple(grid.shape):
            raise ValueError(f"elevation shape {bed.shape} does not match the grid {tuple(grid.shape)}")
        self._bed_local = (np.nan_to_num(bed, nan=float(np.nanmin(bed)) if np.isfinite(bed).any() else 0.0)
                           - float(origin[2])).ravel()
        x = (grid.x_centers() - float(origin[0])).astype(np.float32)
        y = (grid.y_centers() - float(origin[1])).astype(np.float32)
        xx, yy = np.meshgrid(x, y)  # (ny, nx): row-major ravel matches the grid's flat index
        zz = self._bed_local.reshape(bed.shape).astype(np.float32)
        self.surface = pv.StructuredGrid(xx, yy, zz)
        # pyvista orders points Fortran-style over (ny, nx) arrays; keep the permutation.
        self._order = np.arange(bed.size).reshape(bed.shape).ravel(order="F")
        self.surface.point_data["depth"] = np.zeros(bed.size, dtype=np.float32)
        self.surface.point_data["difference"] = np.zeros(bed.size, dtype=np.float32)
        self.surface.point_data["vtkGhostType"] = np.full(bed.size, HIDDEN_POINT, dtype=np.uint8)
        self.depth = self.surface.point_data["depth"]
        self.difference = self.surface.point_data["difference"]
        self.ghosts = self.surface.point_data["vtkGhostType"]
        self.actor = None
        self.showing = "depth"  # or "difference"
        self.difference_range = 1.0
        self._luts = {}

    def update(self, depth: np.ndarray) -> None:
        """Write a frame's depth (ny, nx) into the existing arrays and mark them modified."""
        d = np.asarray(depth, dtype=np.float32).reshape(-1)[self._order]
        wet = np.isfinite(d) & (d >= DRY_DEPTH_M)
        d = np.where(wet, d, 0.0)
        self._write(d, wet, ("depth",))
        self.depth[:] = d

    def update_difference(self, depth_a: np.ndarray, depth_b: np.ndarray) -> None:
        """Write ``depth_a - depth_b`` (both (ny, nx) on this grid) into the ``difference`` array.

        Cells wet in either run are drawn, at the higher of the two water levels; a dry side
        counts as 0 m deep (NaN too).
        """
        a = np.nan_to_num(np.asarray(depth_a, dtype=np.float32).reshape(-1)[self._order], nan=0.0)
        b = np.nan_to_num(np.asarray(depth_b, dtype=np.float32).reshape(-1)[self._order], nan=0.0)
        a = np.where(a >= DRY_DEPTH_M, a, 0.0)
        b = np.where(b >= DRY_DEPTH_M, b, 0.0)
        wet = (a > 0) | (b > 0)
        self._write(np.maximum(a, b), wet, ("difference",))
        self.difference[:] = a - b

    def _write(self, height: np.ndarray, wet: np.ndarray, arrays: tuple[str, ...]) -> None:
        points = self.surface.points  # same VTK-backed buffer every call
        points[:, 2] = self._bed_local[self._order] + height
        self.ghosts[:] = np.where(wet, 0, HIDDEN_POINT)
        self.surface.GetPoints().Modified()
        for name in (*arrays, "vtkGhostType"):
            self.surface.GetPointData().GetArray(name).Modified()
        self.surface.Modified()

    def add_to(self, plotter):
        """Add the one actor to a plotter (no scalar bar: the app's legend explains it); returns the actor.

        Water uses ``palettes.WATER_CMAP`` (the darker part of the depth map, so shallow water is
        light blue rather than white); its alpha rises with depth (``DEPTH_ALPHA``)."""
        import pyvista as pv

        from twin3d.scene.palettes import WATER_CMAP, ensure_colourmaps

        ensure_colourmaps()
        self.actor = plotter.add_mesh(self.surface, scalars="depth", cmap=WATER_CMAP, clim=DEPTH_RANGE_M,
                                      name="water", smooth_shading=False, show_scalar_bar=False)
        depth_lut = pv.LookupTable(cmap=WATER_CMAP, scalar_range=DEPTH_RANGE_M)
        depth_lut.apply_opacity(list(np.linspace(*DEPTH_ALPHA, 8)), kind="linear")
        self._luts = {"depth": depth_lut, "difference": pv.LookupTable(cmap=DIFFERENCE_CMAP)}
        self.actor.mapper.lookup_table = depth_lut
        self.actor.mapper.SetScalarRange(*DEPTH_RANGE_M)
        return self.actor

    def show(self, what: str, difference_range: float | None = None) -> None:
        """Colour by ``"depth"`` or ``"difference"`` (symmetric ``±difference_range`` m).

        Switches the mapper's array and lookup table; no geometry changes."""
        if what not in ("depth", "difference"):
            raise ValueError(f"the water surface shows depth or difference, not {what!r}")
        if difference_range is not None:
            self.difference_range = float(difference_range)
        self.showing = what
        if self.actor is None:
            return
        mapper = self.actor.mapper
        mapper.SetScalarModeToUsePointFieldData()
        mapper.SelectColorArray(what)
        mapper.lookup_table = self._luts[what]
        lo, hi = DEPTH_RANGE_M if what == "depth" else (-self.difference_range, self.difference_range)
        self._luts[what].SetTableRange(lo, hi)
        mapper.SetScalarRange(lo, hi)

    def visible_cells(self) -> int:
        """How many cells a renderer draws (dry cells are blanked)."""
        from vtkmodules.vtkFiltersGeometry import vtkGeometryFilter

        surface = vtkGeometryFilter()  # what a dataset mapper draws: blanked cells dropped
        surface.SetInputData(self.surface)
        surface.Update()
        return int(surface.GetOutput().GetNumberOfCells())


def status_names(flags_attr) -> dict[int, str]:
    """Bit value -> flag name from a ``buildings/status`` ``flags`` attribute ("1=flooded", ...)."""
    out = {}
    for item in flags_attr:
        text = item.decode() if isinstance(item, bytes) else str(item)
        bit, _, name = text.partition("=")
        out[int(bit)] = name
    return out


class BuildingColours:
    """Rewrites the buildings' per-triangle ``colour`` array in place for a colour mode.

    Parameters
    ----------
    poly : pyvista.PolyData
        The buildings mesh with cell arrays ``feature`` (building index) and ``colour`` (RGB).
    """

    def __init__(self, poly):
        self.poly = poly
        self.feature = np.asarray(poly.cell_data["feature"])
        self.colour = poly.cell_data["colour"]
        self.use_colour = np.array(self.colour, copy=True)
        self.mode = "use"

    def apply(self, mode: str, values: np.ndarray | None = None, flags: dict[int, str] | None = None) -> None:
        """Colour by ``mode``: "use" (palette), "depth" (values = max_depth per building, m),
        "damage" (values = damage fraction 0-1 per building) or "status" (values = status bits
        per building; ``flags`` maps bit -> name)."""
        if mode == "use":
            rgb = self.use_colour
        elif mode == "depth":
            rgb = depth_rgb(np.asarray(values, dtype=np.float64))[self.feature]
        elif mode == "damage":
            rgb = damage_rgb(np.asarray(values, dtype=np.float64))[self.feature]
        elif mode == "status":
            rgb = status_rgb(np.asarray(values), flags or {})[self.feature]
        else:
            raise ValueError(f"unknown building colour mode {mode!r}; expected one of {BUILDING_MODES}")
        self.colour[:] = rgb
        self.poly.GetCellData().GetArray("colour").Modified()
        self.poly.Modified()
        self.mode = mode


def depth_rgb(depth_m: np.ndarray) -> np.ndarray:
    """RGB (0-255, uint8) of depths through the depth colour map over the fixed 0-3 m range."""
    from twin3d.scene.palettes import lut_rgb

    lo, hi = DEPTH_RANGE_M
    return lut_rgb(DEPTH_CMAP, (np.nan_to_num(depth_m, nan=0.0) - lo) / (hi - lo))


def damage_rgb(fraction: np.ndarray) -> np.ndarray:
    """RGB (0-255, uint8) of damage fractions (0-1) through the damage colour map."""
    from twin3d.scene.palettes import lut_rgb

    return lut_rgb(DAMAGE_CMAP, np.nan_to_num(fraction, nan=0.0))


class BuildingDamage:
    """Damage fraction per building and frame, from the depth so far and the MIS's depth-damage curves.

    The whole ``(T, n)`` table is computed at once (one read of ``buildings/max_depth``, a running
    maximum, one curve interpolation) and kept; :meth:`at` is then an index.  A live run's new
    frames are picked up by recomputing when ``k`` is past the cached frames.

    Parameters
    ----------
    max_depth : h5py.Dataset or ndarray, shape (T, n)
        Per-frame maximum depth around each building (m).
    use : ndarray, shape (n,)
        Building use per building (chooses the curve).
    curves : twin3d.mis.damage.DamageCurves, optional
        The curve set; the packaged default when omitted.
    """

    def __init__(self, max_depth, use: np.ndarray, curves=None):
        self.max_depth = max_depth
        self.use = np.asarray(use, dtype=object)
        self.curves = curves
        self.fraction = np.zeros((0, len(self.use)))

    def at(self, k: int) -> np.ndarray:
        """Damage fraction (0-1) of every building at frame ``k`` (deepest water up to ``k``)."""
        if k >= len(self.fraction):
            from twin3d.mis.damage import damage_fraction, default_curves, running_max

            if k >= self.max_depth.shape[0] and hasattr(self.max_depth, "refresh"):
                self.max_depth.refresh()  # a live (SWMR) run appended frames since this handle looked
            depth = np.asarray(self.max_depth[()], dtype=np.float64)
            self.fraction = damage_fraction(self.curves or default_curves(), self.use, running_max(depth))
        return self.fraction[k]


def status_rgb(status: np.ndarray, flags: dict[int, str]) -> np.ndarray:
    """RGB per building from status bits: the most severe set flag wins (down > flooded > ...)."""
    rgb = np.tile(np.array(STATUS_OK_COLOUR, dtype=np.uint8), (status.size, 1))
    severity = ("without_water", "without_power", "flooded", "down")  # later overrides earlier
    bits = {name: bit for bit, name in flags.items()}
    for name in severity:  # four flags, not a loop over buildings
        if name in bits:
            rgb[(status.astype(np.int64) & bits[name]) != 0] = STATUS_COLOURS[name]
    return rgb
