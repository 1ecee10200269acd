"""Layout of the synthetic city: a street grid with arterials, districts, blocks and lots.

Streets run north-south and east-west; every fourth one is an arterial.  The
blocks between them are ranked by a noisy distance from the centre, and the
city takes blocks in that order until it holds the requested number of
buildings, so it grows in area with ``n``.  Each block is split into lots
by a per-district template; a lot holds at most one building, so buildings
never overlap each other or the streets, and lots near the river channel
are left empty.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twin3d.model.generate_terrain import River

SPACING_M = (140.0, 100.0)          # street centreline spacing east-west and north-south
STREET_WIDTH_M, ARTERIAL_WIDTH_M = 12.0, 24.0
ARTERIAL_EVERY = 4
SETBACK_M = 3.0                     # from the street edge to the first lot
LOT_GAP_M = 1.5                     # each lot is shrunk by this on every side
RIVER_CLEARANCE_M = 25.0            # beyond the channel's half-width
RIVERSIDE_PARK_M = 60.0             # blocks whose centre is this close to the river are parks
PARK_SHARE = 0.05

PARK, CENTRE, INNER, OUTER, INDUSTRIAL, CAMPUS = range(6)
DISTRICTS = ("park", "centre", "inner_residential", "outer_residential", "industrial", "campus")
LOTS_PER_BLOCK = {CENTRE: (4, 2), INNER: (4, 2), OUTER: (8, 2), INDUSTRIAL: (2, 1), CAMPUS: (1, 1)}
MEAN_LOTS_PER_BLOCK = 11.0


@dataclass
class StreetGrid:
    """Street centrelines: ``2 * half[0] + 1`` north-south lines and ``2 * half[1] + 1`` east-west lines."""

    centre: tuple[float, float]
    half: tuple[int, int]

    def lines(self, axis: int) -> tuple[np.ndarray, np.ndarray]:
        """Positions and arterial flags of the lines across ``axis`` (0: x of N-S streets, 1: y)."""
        k = np.arange(-self.half[axis], self.half[axis] + 1)
        return self.centre[axis] + SPACING_M[axis] * k, k % ARTERIAL_EVERY == 0

    def widths(self, axis: int) -> np.ndarray:
        return np.where(self.lines(axis)[1], ARTERIAL_WIDTH_M, STREET_WIDTH_M)


@dataclass
class Layout:
    """The planned city: blocks (all of the grid) and the chosen lots, one per building."""

    streets: StreetGrid
    radius_m: float
    block_interior: np.ndarray   # (n_blocks, 4) xmin, ymin, xmax, ymax
    block_district: np.ndarray   # (n_blocks,) district code
    block_in_city: np.ndarray    # (n_blocks,) bool
    lot_rect: np.ndarray         # (n, 4) the lots of the buildings
    lot_block: np.ndarray        # (n,) block of each lot
    lot_row: np.ndarray          # (n,) 0: south row of its block, 1: north row
    block_campus: np.ndarray     # (n_blocks,) "hospital" / "school" for campus blocks, else ""

    @property
    def lot_district(self) -> np.ndarray:
        return self.block_district[self.lot_block]


def city_radius_estimate(n_buildings: int) -> float:
    """Radius of a disc of blocks holding about ``n_buildings`` lots."""
    blocks = n_buildings / (MEAN_LOTS_PER_BLOCK * 0.85)
    return float(np.sqrt(blocks * SPACING_M[0] * SPACING_M[1] / np.pi)) + 0.5 * SPACING_M[0]


def _block_geometry(streets: StreetGrid) -> tuple[np.ndarray, np.ndarray]:
    """Interior rectangles of all blocks and their centres, block ``j * nbx + i``."""
    (x, _), (y, _) = streets.lines(0), streets.lines(1)
    wx, wy = streets.widths(0), streets.widths(1)
    x0 = x[:-1] + wx[:-1] / 2 + SETBACK_M
    x1 = x[1:] - wx[1:] / 2 - SETBACK_M
    y0 = y[:-1] + wy[:-1] / 2 + SETBACK_M
    y1 = y[1:] - wy[1:] / 2 - SETBACK_M
    jj, ii = np.meshgrid(np.arange(len(y0)), np.arange(len(x0)), indexing="ij")
    interior = np.stack([x0[ii], y0[jj], x1[ii], y1[jj]], axis=-1).reshape(-1, 4)
    centre = np.column_stack([(interior[:, 0] + interior[:, 2]) / 2, (interior[:, 1] + interior[:, 3]) / 2])
    return interior, centre


def _shape_distance(centre: np.ndarray, city_centre, phases: np.ndarray) -> np.ndarray:
    """Distance from the centre, scaled by a smooth angular wobble so the edge is not a circle."""
    d = centre - np.asarray(city_centre)
    theta = np.arctan2(d[:, 1], d[:, 0])
    wobble = 1.0 + 0.12 * np.sin(3 * theta + phases[0]) + 0.08 * np.sin(5 * theta + phases[1])
    return np.hypot(d[:, 0], d[:, 1]) / wobble


def _districts(centre: np.ndarray, dist: np.ndarray, radius: float, river: River,
               city_centre, park_draw: np.ndarray, clear: np.ndarray) -> np.ndarray:
    """District code of every block for a city of ``radius``; ``clear``: block clear of the river."""
    offset = river.offset(centre[:, 0], centre[:, 1])
    riverside = np.abs(offset) < RIVERSIDE_PARK_M
    code = np.full(len(centre), OUTER)
    code[dist < 0.55 * radius] = INNER
    east = centre[:, 0] - city_centre[0]
    code[(east > 0.25 * radius) & (np.abs(offset) < 500.0) & (dist < 1.05 * radius)] = INDUSTRIAL
    code[dist < 0.22 * radius] = CENTRE
    code[np.argmin(np.where(clear, dist, np.inf))] = CENTRE  # even a small town has a centre
    park = (park_draw < PARK_SHARE) | riverside
    if not (park & clear & (dist < radius)).any():  # and at least one park
        residential = clear & (dist < 0.8 * radius) & np.isin(code, (INNER, OUTER))
        park[np.argmin(np.where(residential, park_draw, np.inf))] = True
    code[park] = PARK
    return code


def _lots(interior: np.ndarray, district: np.ndarray) -> dict[str, np.ndarray]:
    """Lots of every block from its district's template, ordered by block then lot."""
    parts = []
    for code, (nx, ny) in LOTS_PER_BLOCK.items():
        blocks = np.flatnonzero(district == code)
        k = np.arange(nx * ny)
        col, row = k % nx, k // nx
        b = interior[blocks]
        w = (b[:, 2] - b[:, 0])[:, None] / nx
        h = (b[:, 3] - b[:, 1])[:, None] / ny
        x0 = b[:, :1] + w * col + LOT_GAP_M
        y0 = b[:, 1:2] + h * row + LOT_GAP_M
        rect = np.stack([x0, y0, x0 + w - 2 * LOT_GAP_M, y0 + h - 2 * LOT_GAP_M], axis=-1)
        parts.append((np.repeat(blocks, len(k)), np.tile(k, len(blocks)), np.tile(row, len(blocks)),
                      rect.reshape(-1, 4)))
    block, index, row, rect = (np.concatenate(p) for p in zip(*parts))
    order = np.lexsort((index, block))
    return {"block": block[order], "row": row[order], "rect": rect[order]}


def clear_of_river(rect: np.ndarray, river: River) -> np.ndarray:
    """Whether rectangles keep the clearance from the channel (checked at both ends and the middle)."""
    xs = np.stack([rect[:, 0], (rect[:, 0] + rect[:, 2]) / 2, rect[:, 2]], axis=1)
    yc = river.centre_y(xs)
    gap = river.half_width + RIVER_CLEARANCE_M
    return (rect[:, 1] > yc.max(axis=1) + gap) | (rect[:, 3] < yc.min(axis=1) - gap)


def kmeans(points: np.ndarray, k: int, rng: np.random.Generator, iterations: int = 10) -> np.ndarray:
    """``k`` cluster centres of ``points`` (Lloyd's algorithm from a random start)."""
    from scipy.spatial import cKDTree

    centres = points[rng.choice(len(points), size=k, replace=False)]
    for _ in range(iterations):
        label = cKDTree(centres).query(points)[1]
        count = np.bincount(label, minlength=k)
        sums = np.stack([np.bincount(label, weights=points[:, a], minlength=k) for a in range(2)], axis=1)
        filled = count > 0
        centres[filled] = sums[filled] / count[filled, None]
    return centres


def spread(points: np.ndarray, k: int, rng: np.random.Generator, first: int | None = None) -> np.ndarray:
    """Indices of ``k`` distinct points spread over the set (nearest to k-means centres).

    ``first`` (an index into ``points``) is taken first, e.g. a site in the floodplain.
    """
    k = min(k, len(points))
    if k == 0:
        return np.zeros(0, dtype=np.int64)
    centres = kmeans(points, k, rng)
    taken = np.zeros(len(points), dtype=bool)
    chosen = []
    if first is not None:
        # the centre nearest to ``first`` gives its place to it
        centres = np.delete(centres, np.argmin(np.hypot(*(centres - points[first]).T)), axis=0)
        taken[first] = True
        chosen.append(first)
    for c in centres:  # k sites, not one iteration per building
        d = np.hypot(*(points - c).T)
        d[taken] = np.inf
        j = int(np.argmin(d))
        taken[j] = True
        chosen.append(j)
    return np.array(chosen, dtype=np.int64)


def plan_layout(n_buildings: int, city_centre: tuple[float, float], river: River,
                rng: np.random.Generator, campus_counts: dict[str, int]) -> Layout:
    """Lay out streets, districts and ``n_buildings`` lots around ``city_centre``.

    ``campus_counts`` gives the number of whole-block sites per use (hospitals,
    schools), spread over the residential districts, the first of each in the
    floodplain where there is one.
    """
    phases = rng.uniform(0, 2 * np.pi, 2)
    radius = city_radius_estimate(n_buildings)
    scale = 1.5
    while True:  # grows the street grid only when the city does not fit (rare)
        half = tuple(int(np.ceil(scale * radius / s)) + 2 for s in SPACING_M)
        streets = StreetGrid(city_centre, half)
        interior, centre = _block_geometry(streets)
        dist = _shape_distance(centre, city_centre, phases)
        park_draw = rng.random(len(centre))
        layout = _fill(n_buildings, streets, interior, centre, dist, river, park_draw, rng, campus_counts)
        if layout is not None:
            return layout
        scale *= 1.5


def _radius_for(n: int, interior, district, dist, order, river) -> float | None:
    """Shape distance of the block at which the lots reach ``n`` (None: not within the grid)."""
    lots = _lots(interior, district)
    usable = np.bincount(lots["block"][clear_of_river(lots["rect"], river)], minlength=len(dist))
    reached = np.flatnonzero(np.cumsum(usable[order]) >= n)
    return float(dist[order[reached[0]]]) if len(reached) else None


def _fill(n, streets, interior, centre, dist, river, park_draw, rng, campus_counts) -> Layout | None:
    order = np.argsort(dist, kind="stable")
    radius = city_radius_estimate(n)
    clear = clear_of_river(interior, river)
    for _ in range(2):  # districts depend on the radius, the radius on the districts' lot counts
        district = _districts(centre, dist, radius, river, streets.centre, park_draw, clear)
        radius = _radius_for(n, interior, district, dist, order, river)
        if radius is None:
            return None
    district = _districts(centre, dist, radius, river, streets.centre, park_draw, clear)
    campus = _place_campuses(district, centre, (dist <= radius) & clear, river, rng, campus_counts)
    district[campus != ""] = CAMPUS
    lots = _lots(interior, district)
    rank = np.empty(len(dist), dtype=np.int64)
    rank[order] = np.arange(len(dist))
    keep = np.flatnonzero(clear_of_river(lots["rect"], river))
    keep = keep[np.argsort(rank[lots["block"][keep]], kind="stable")][:n]
    if len(keep) < n:
        return None
    in_city = dist <= dist[lots["block"][keep]].max()
    nbx = 2 * streets.half[0]
    i, j = np.arange(len(dist)) % nbx, np.arange(len(dist)) // nbx
    border = (i == 0) | (j == 0) | (i == nbx - 1) | (j == 2 * streets.half[1] - 1)
    if np.any(in_city & border):
        return None
    return Layout(streets, float(dist[in_city].max()), interior, district, in_city, lots["rect"][keep],
                  lots["block"][keep], lots["row"][keep], campus)


def _place_campuses(district, centre, inside, river, rng, counts) -> np.ndarray:
    """Whole-block sites per use among the residential blocks ``inside`` the city."""
    campus = np.full(len(district), "", dtype=object)
    candidate = inside & np.isin(district, (INNER, OUTER))
    for use, k in counts.items():
        cand = np.flatnonzero(candidate & (campus == ""))
        offset = np.abs(river.offset(centre[cand, 0], centre[cand, 1]))
        floodplain = np.flatnonzero(offset < river.floodplain_half_width)
        first = int(rng.choice(floodplain)) if len(floodplain) else None
        campus[cand[spread(centre[cand], k, rng, first)]] = use
    return campus
