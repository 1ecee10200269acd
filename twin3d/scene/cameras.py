"""Camera presets: the whole city, its densest district, and a street-level view."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CAMERA_PRESETS = {"overview": "Overview", "district": "District", "street": "Street level"}
DISTRICT_CELL_M = 300.0  # the grid over which building density is counted
EYE_HEIGHT_M = 2.0


@dataclass(frozen=True)
class CameraView:
    """A camera in the scene's local frame."""

    position: tuple[float, float, float]
    focal_point: tuple[float, float, float]
    view_up: tuple[float, float, float] = (0.0, 0.0, 1.0)
    view_angle: float = 30.0

    def apply(self, camera) -> None:
        camera.SetPosition(*self.position)
        camera.SetFocalPoint(*self.focal_point)
        camera.SetViewUp(*self.view_up)
        camera.SetViewAngle(self.view_angle)


def _direction(azimuth_deg: float, elevation_deg: float) -> np.ndarray:
    """Unit vector from the focal point towards the camera: azimuth clockwise from north."""
    az, el = np.radians(azimuth_deg), np.radians(elevation_deg)
    return np.array([np.sin(az) * np.cos(el), np.cos(az) * np.cos(el), np.sin(el)])


def orbit(focal: np.ndarray, radius: float, azimuth_deg: float, elevation_deg: float,
          view_angle: float = 30.0) -> CameraView:
    """A camera looking at ``focal`` that fits a sphere of ``radius`` (m)."""
    distance = 1.1 * radius / np.sin(np.radians(view_angle) / 2)
    position = np.asarray(focal, dtype=np.float64) + distance * _direction(azimuth_deg, elevation_deg)
    return CameraView(tuple(map(float, position)), tuple(map(float, focal)), view_angle=view_angle)


def building_centres(buildings, origin: np.ndarray) -> np.ndarray:
    """Local (x, y, ground z) of each building: the mean of its mesh vertices, its lowest z."""
    mesh = buildings.mesh
    n = len(buildings)
    if not mesh.n_triangles:
        return np.zeros((0, 3))
    local = np.asarray(mesh.vertices, dtype=np.float64) - origin
    tri = np.asarray(mesh.triangles)
    feature = np.repeat(np.asarray(mesh.triangle_feature), 3)
    v = local[tri.ravel()]
    count = np.maximum(np.bincount(feature, minlength=n), 1)
    centre = np.column_stack([np.bincount(feature, v[:, 0], minlength=n) / count,
                              np.bincount(feature, v[:, 1], minlength=n) / count, np.zeros(n)])
    zmin = np.full(n, np.inf)
    np.minimum.at(zmin, feature, v[:, 2])
    centre[:, 2] = np.where(np.isfinite(zmin), zmin, 0.0)
    return centre[np.bincount(feature, minlength=n) > 0]


def densest_district(centres: np.ndarray, cell: float = DISTRICT_CELL_M) -> np.ndarray:
    """Local centre (x, y, z) of the buildings in the ``cell``-sized square holding the most of them."""
    if not len(centres):
        return np.zeros(3)
    ij = np.floor(centres[:, :2] / cell).astype(np.int64)
    keys, inverse, counts = np.unique(ij, axis=0, return_inverse=True, return_counts=True)
    members = centres[np.ravel(inverse) == int(np.argmax(counts))]
    return members.mean(axis=0)


def street_view(scene, target: np.ndarray) -> CameraView:
    """Eye height on the street node nearest ``target``, looking along one of its streets
    (towards ``target`` when the city has no road network)."""
    city, origin, ground = scene.city, scene.city.origin, scene.ground
    road = city.networks.get("road")
    target = np.asarray(target, dtype=np.float64)
    eye = look = None
    if road is not None and road.n_edges:
        nodes = np.asarray(road.node_xyz, dtype=np.float64)[:, :2] - origin[:2]
        placed = np.isfinite(nodes).all(axis=1)
        if placed.any():
            dist = np.where(placed, np.hypot(*(nodes - target[:2]).T), np.inf)
            node = int(np.argmin(dist))
            edges = np.asarray(road.edges)
            touching = np.flatnonzero((edges == node).any(axis=1))
            others = [int(e[1] if e[0] == node else e[0]) for e in edges[touching] if placed[e].all()]
            eye = nodes[node]
            if others:  # the longest street leaving this corner
                far = max(others, key=lambda o: np.hypot(*(nodes[o] - eye)))
                look = nodes[far]
    if eye is None:
        eye = target[:2] + np.array([-60.0, -60.0])
    if look is None or np.hypot(*(look - eye)) < 1.0:
        look = target[:2]
    heading = (look - eye) / max(np.hypot(*(look - eye)), 1e-9)
    z = float(ground.z(np.array([eye[0]]), np.array([eye[1]]))[0]) + EYE_HEIGHT_M
    focal = eye + 100.0 * heading
    return CameraView((float(eye[0]), float(eye[1]), z), (float(focal[0]), float(focal[1]), z), view_angle=60.0)


def camera_views(scene) -> dict[str, CameraView]:
    """The three presets of a scene (computed once, from its city)."""
    b = scene.plotter.renderer.ComputeVisiblePropBounds()
    focus = scene.actors.get("buildings")
    if focus is not None:
        b = focus.GetBounds()
    lo, hi = np.array(b[0::2]), np.array(b[1::2])
    if not np.isfinite(lo).all() or (hi < lo).any():
        lo, hi = np.zeros(3), np.ones(3)
    centres = building_centres(scene.city.buildings, scene.city.origin)
    district = densest_district(centres) if len(centres) else (lo + hi) / 2
    overview = orbit((lo + hi) / 2, 0.5 * float(np.linalg.norm(hi - lo)), 225.0, 45.0)
    district_view = orbit(district, 0.75 * DISTRICT_CELL_M, 200.0, 30.0)
    return {"overview": overview, "district": district_view, "street": street_view(scene, district)}
