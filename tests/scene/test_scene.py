"""The scene's layers over a results file: overlays updated in place, colours per mode and state,
arrows, layers, legend, camera presets, and the difference view."""

from __future__ import annotations

import numpy as np
import pytest

from tests.io.test_store import national_grid_city
from twin3d.model import Grid
from twin3d.scenario.results import FrameAllocation, ResultsFile, ResultsLayout, ResultsWriter, finish

GRID = Grid((84990.0, 446990.0), 10.0, (6, 16))
FLAGS = ("flooded", "without_power", "without_water", "down")
MAX_DEPTH = np.array([[0.0, 0.0], [0.5, 2.0], [0.25, 1.0]])  # building 1's depth falls at frame 2
STATUS = np.array([[0, 0], [1, 1 | 2], [0, 1 | 8]], dtype=np.uint8)  # the hospital (1) is down at frame 2
KINDS = ("pumps", "generators")


def depth_a(k: int) -> np.ndarray:
    depth = np.zeros(GRID.shape, dtype=np.float32)
    depth[:, : 4 * (k + 1)] = 0.5 * (k + 1)
    return depth


def assignments(k: int) -> np.ndarray:
    rows = np.full((4, 6), np.nan)
    if k >= 1:  # a depot 80 m west of the school sends pumps; a generator is used where it is stored
        rows[0] = [84_925.0, 447_010.0, 85_005.0, 447_010.0, 3, 0]
        rows[1] = [85_102.5, 447_012.5, 85_102.5, 447_012.5, 1, 1]
    return rows


def write_rich_results(path, times=(0.0, 600.0, 1200.0), depth=depth_a, grid=GRID):
    layout = ResultsLayout(grid=grid, elevation=np.full(grid.shape, 1.5),
                           fields=("depth", "temperature", "concentration"), n_buildings=2,
                           building_quantities=("max_depth",), mass_balance_columns=("volume",),
                           networks={"power": (2, 1)}, status_flags=FLAGS, allocation_rows=4,
                           allocation_kinds=KINDS)
    with ResultsWriter(path, layout, {"start": "2026-02-09T08:00:00", "city_path": ""}) as writer:
        for k, t in enumerate(times):
            temperature = np.full(grid.shape, 20.0 + 5 * k, dtype=np.float32)
            concentration = np.zeros(grid.shape, dtype=np.float32)
            concentration[2:4, 2 + k: 6 + k] = 1e-3 * (k + 1)
            writer.append_frame(t, {"depth": depth(k), "temperature": temperature,
                                    "concentration": concentration},
                                {"max_depth": MAX_DEPTH[k % 3]}, np.zeros(1),
                                networks={"power": (np.array([True, k < 1]), np.array([k < 1]))},
                                status=STATUS[k % 3], allocation=FrameAllocation(np.zeros(0), assignments(k)))
    finish(path)
    return path


@pytest.fixture(scope="module")
def rich(tmp_path_factory):
    from twin3d.scene.city_scene import CityScene

    results = ResultsFile(write_rich_results(tmp_path_factory.mktemp("scene") / "rich.h5"))
    scene = CityScene(national_grid_city(), shader=False)
    scene.plotter.window_size = (320, 240)
    scene.attach_results(results)
    scene.apply_frame(0)
    yield scene
    results.close()


def vtk_arrays(scene) -> dict:
    """The VTK objects a tick must write into (never replace)."""
    out = {"water_points": scene.water.surface.GetPoints().GetData(),
           "water_depth": scene.water.surface.GetPointData().GetArray("depth"),
           "buildings": scene.buildings_poly.GetCellData().GetArray("colour"),
           "network": scene.networks["power"].poly.GetCellData().GetArray("colour"),
           "facilities": scene.facilities.poly.GetCellData().GetArray("colour"),
           "arrows": scene.arrows.poly.GetPoints().GetData()}
    for name, overlay in scene.overlays.items():
        out[name] = overlay.surface.GetPointData().GetArray("value")
    return out


def test_ticks_write_into_the_same_arrays_and_actors(rich):
    scene = rich
    before, actors = vtk_arrays(scene), dict(scene.actors)
    n_props = scene.plotter.renderer.GetActors().GetNumberOfItems()
    for k in (1, 2, 0, 2):
        scene.apply_frame(k)
        after = vtk_arrays(scene)
        assert all(after[name] is before[name] for name in before)
        assert scene.actors == actors
        assert scene.plotter.renderer.GetActors().GetNumberOfItems() == n_props
    assert set(scene.overlays) == {"heat", "plume"}


def test_heat_and_plume_overlays_follow_the_frame(rich):
    scene = rich
    scene.apply_frame(2)
    heat, plume = scene.overlays["heat"], scene.overlays["plume"]
    np.testing.assert_allclose(np.asarray(heat.value), 30.0)
    assert heat.range == (20.0, 30.0)  # the field's min/max attributes
    shown = np.asarray(plume.ghosts).reshape(GRID.shape, order="F") == 0
    expected = np.zeros(GRID.shape, bool)
    expected[2:4, 4:8] = True
    np.testing.assert_array_equal(shown, expected)


def test_damage_mode_uses_the_deepest_water_so_far(rich):
    from twin3d.mis.damage import damage_fraction, default_curves
    from twin3d.scene.frames import damage_rgb

    scene = rich
    scene.set_building_mode("damage")
    try:
        scene.apply_frame(2)
        colour = scene.buildings_poly.cell_data["colour"]
        feature = np.asarray(scene.buildings_poly.cell_data["feature"])
        use = scene.city.buildings.table["use"]
        fraction = damage_fraction(default_curves(), use, np.array([0.5, 2.0]))  # running max, not frame 2's
        assert fraction[1] > fraction[0] > 0
        for b in (0, 1):
            assert (colour[feature == b] == damage_rgb(fraction[b:b + 1])[0]).all()
        assert scene.colour_mode == "damage"
    finally:
        scene.set_building_mode("depth")


def test_networks_facilities_and_arrows_follow_the_frame(rich):
    from twin3d.scene.palettes import ARROW_COLOURS, DOWN_COLOUR, NETWORK_COLOURS, OUT_OF_SERVICE_COLOUR

    scene = rich
    lines, glyphs, arrows = scene.networks["power"], scene.facilities, scene.arrows
    scene.apply_frame(0)
    assert (lines.colour == NETWORK_COLOURS["power"]).all() and lines.out_of_service() == 0
    assert not glyphs.down.any() and arrows.n_arrows == 0
    assert not scene.layers()[[x["name"] for x in scene.layers()].index("allocation")]["available"]
    scene.apply_frame(2)
    # cells: the substation and feeder nodes, then the line; the feeder and the line are out
    assert np.asarray(lines.poly.cell_data["node"]).tolist() == [0, 1, -1]
    assert np.asarray(lines.poly.cell_data["edge"]).tolist() == [-1, -1, 0]
    np.testing.assert_array_equal(lines.colour, [NETWORK_COLOURS["power"], OUT_OF_SERVICE_COLOUR,
                                                 OUT_OF_SERVICE_COLOUR])
    assert glyphs.down.tolist() == [False, True]  # school, hospital
    hospital = np.asarray(glyphs.poly.cell_data["building"]) == 1
    assert (glyphs.colour[hospital] == DOWN_COLOUR).all() and (glyphs.colour[~hospital] != DOWN_COLOUR).any()
    assert arrows.n_arrows == 2 and arrows.kinds == list(KINDS)
    kind = np.asarray(arrows.kind)
    assert (arrows.colour[kind == 0] == ARROW_COLOURS[0]).all() and (arrows.colour[kind == 1] == ARROW_COLOURS[1]).all()
    # the pumps' arrow runs from the depot to the site (city CRS), its tip on the site
    pts = np.asarray(arrows.poly.points).reshape(arrows.capacity, -1, 3) + scene.city.origin
    np.testing.assert_allclose(pts[0, -1, :2], [85_005.0, 447_010.0], atol=0.01)
    np.testing.assert_allclose(pts[0, 0:2, :2].mean(axis=0), [84_925.0, 447_010.0], atol=0.01)
    assert pts[0, :, 2].max() > pts[0, -1, 2] + 5  # it arcs
    # the generator used where it is stored: a vertical arrow falling onto the site
    np.testing.assert_allclose(pts[1, :, :2].mean(axis=0), [85_102.5, 447_012.5], atol=6.0)
    assert pts[1, 0, 2] > pts[1, -1, 2] + 30


def test_show_allocation_rewrites_the_one_arrow_actor(rich):
    scene = rich
    actor, points = scene.actors["allocation"], scene.arrows.poly.GetPoints().GetData()
    rows = np.full((3, 6), np.nan)
    rows[0] = [85_000.0, 447_000.0, 85_060.0, 447_040.0, 5, 1]
    scene.show_allocation(rows, ["pumps", "generators"])
    assert scene.actors["allocation"] is actor and scene.arrows.poly.GetPoints().GetData() is points
    assert scene.arrows.n_arrows == 1 and scene.arrows.shown_kinds.tolist() == [1]
    legend = {e["title"]: e for e in scene.legend()}
    assert [s["label"] for s in legend["Allocation: depot → site"]["stops"]] == ["Generators"]


def test_layers_hide_and_overlays_catch_up(rich):
    scene = rich
    names = [layer["name"] for layer in scene.layers()]
    assert {"terrain", "roads", "buildings", "water", "heat", "plume", "network_power", "facilities",
            "allocation"} <= set(names)
    scene.apply_frame(0)
    scene.set_layer_visible("heat", False)
    assert not scene.actors["heat"].GetVisibility()
    scene.apply_frame(1)  # hidden: not updated
    np.testing.assert_allclose(np.asarray(scene.overlays["heat"].value), 20.0)
    scene.set_layer_visible("heat", True)  # shown again: catches up with frame 1
    np.testing.assert_allclose(np.asarray(scene.overlays["heat"].value), 25.0)
    assert scene.actors["heat"].GetVisibility()
    with pytest.raises(KeyError):
        scene.set_layer_visible("rainbows", True)


def test_legend_lists_what_is_coloured_and_visible(rich):
    scene = rich
    scene.apply_frame(1)
    legend = {e["title"]: e for e in scene.legend()}
    assert {"Buildings: flood depth", "Water depth", "Air temperature", "Plume concentration", "Networks",
            "Critical facilities", "Allocation: depot → site"} <= set(legend)
    water = legend["Water depth"]
    assert water["kind"] == "continuous" and water["units"] == "m"
    assert water["stops"][0]["label"] == "0" and water["stops"][-1]["label"] == "≥3"
    assert legend["Air temperature"]["units"] == "°C" and legend["Air temperature"]["stops"][-1]["label"] == "30"
    plume = [s["label"] for s in legend["Plume concentration"]["stops"]]
    assert plume[0] == "3.0e-06" and plume[-1] == "3.0e-03"  # three decades below the field's max, in kg/m³
    facilities = [s["label"] for s in legend["Critical facilities"]["stops"]]
    assert facilities == ["Hospital", "School", "Down"]
    assert [s["label"] for s in legend["Networks"]["stops"]] == ["Power network: in service", "Out of service"]
    scene.set_layer_visible("water", False)
    assert "Water depth" not in {e["title"] for e in scene.legend()}
    scene.set_layer_visible("water", True)
    assert not scene.plotter.scalar_bars  # the legend panel replaces VTK's scalar bars


def test_camera_presets_give_different_images(rich):
    from twin3d.scene.city_scene import CAMERA_PRESETS

    scene = rich
    images = {}
    for name in CAMERA_PRESETS:
        scene.camera_preset(name)
        images[name] = scene.image().astype(np.int16)
    for a in CAMERA_PRESETS:
        for b in CAMERA_PRESETS:
            if a < b:
                assert np.abs(images[a] - images[b]).mean() > 2, (a, b)
    scene.camera_preset("street")
    cam = scene.plotter.camera
    ground = float(scene.ground.z(np.array([cam.position[0]]), np.array([cam.position[1]]))[0])
    assert cam.position[2] == pytest.approx(ground + 2.0)
    with pytest.raises(ValueError):
        scene.camera_preset("orbit")
    scene.camera_preset("overview")


def test_difference_view_hand_checked(tmp_path):
    from twin3d.scene.city_scene import CityScene

    def depth_b(k):
        return np.full(GRID.shape, 0.25 * (k + 1), dtype=np.float32)

    a = ResultsFile(write_rich_results(tmp_path / "a.h5"))
    b = ResultsFile(write_rich_results(tmp_path / "b.h5", times=(0.0, 900.0, 1500.0), depth=depth_b))
    try:
        scene = CityScene(national_grid_city(), shader=False)
        scene.attach_results(a)
        scene.attach_difference(b)
        for k, kb in ((0, 0), (1, 0), (2, 1)):  # B's last frame not after A's time 0, 600, 1200 s
            scene.apply_frame(k)
            assert scene.frame_b(k) == kb
            shown = np.asarray(scene.water.difference).reshape(GRID.shape, order="F")
            np.testing.assert_allclose(shown, depth_a(k) - 0.25 * (kb + 1), atol=1e-6)
            # drawn where either run is wet (B is wet everywhere), at the higher water level
            z = scene.water.surface.points[:, 2].reshape(GRID.shape, order="F")
            np.testing.assert_allclose(z, 1.5 + np.maximum(depth_a(k), 0.25 * (kb + 1)), atol=1e-4)
        legend = {e["title"]: e for e in scene.legend()}
        diff = legend["Depth difference A − B"]
        assert diff["units"] == "m" and diff["kind"] == "continuous"
        assert diff["stops"][0]["label"] == "-" + diff["stops"][-1]["label"] and diff["stops"][2]["label"] == "0"
        assert "Water depth" not in legend
        assert scene.water.actor.mapper.GetArrayName() == "difference"
        scene.attach_difference(None)
        assert scene.water.actor.mapper.GetArrayName() == "depth"
        np.testing.assert_allclose(np.asarray(scene.water.depth).reshape(GRID.shape, order="F"), depth_a(2))
        assert "Water depth" in {e["title"] for e in scene.legend()}
        scene.plotter.close()
    finally:
        a.close()
        b.close()


def test_difference_outside_b_counts_as_dry(tmp_path):
    from twin3d.scene.city_scene import CityScene

    shifted = Grid((GRID.origin[0] + 80.0, GRID.origin[1]), 10.0, GRID.shape)  # B covers A's east half only
    a = ResultsFile(write_rich_results(tmp_path / "a.h5"))
    b = ResultsFile(write_rich_results(tmp_path / "b.h5", depth=lambda k: np.ones(GRID.shape, np.float32),
                                       grid=shifted))
    try:
        scene = CityScene(national_grid_city(), shader=False)
        scene.attach_results(a)
        scene.attach_difference(b)
        scene.apply_frame(0)  # A: 0.5 m in columns 0-3
        shown = np.asarray(scene.water.difference).reshape(GRID.shape, order="F")
        np.testing.assert_allclose(shown[:, :4], 0.5)  # west: outside B
        np.testing.assert_allclose(shown[:, 8:], -1.0)  # east: B's 1 m, A dry
        np.testing.assert_allclose(shown[:, 4:8], 0.0)  # neither wet
        scene.plotter.close()
    finally:
        a.close()
        b.close()


def test_damage_of_a_live_run_follows_new_frames(tmp_path):
    from twin3d.scene.frames import BuildingDamage

    layout = ResultsLayout(grid=GRID, elevation=np.zeros(GRID.shape), fields=("depth",), n_buildings=2,
                           building_quantities=("max_depth",), mass_balance_columns=("volume",))
    with ResultsWriter(tmp_path / "live.h5", layout, {"start": "2026-02-09T08:00:00"}) as writer:
        writer.append_frame(0.0, {"depth": depth_a(0)}, {"max_depth": np.zeros(2)}, np.zeros(1))
        results = ResultsFile(tmp_path / "live.h5")
        damage = BuildingDamage(results.file["buildings/max_depth"], np.array(["residential", "hospital"]))
        np.testing.assert_array_equal(damage.at(0), [0.0, 0.0])
        writer.append_frame(600.0, {"depth": depth_a(1)}, {"max_depth": np.array([1.0, 2.0])}, np.zeros(1))
        assert (damage.at(1) > 0).all()  # its own handle is refreshed
        results.close()


def test_an_empty_city_still_builds_a_scene():
    from twin3d.model import City
    from twin3d.scene.city_scene import CityScene

    scene = CityScene(City("empty"), shader=False)
    scene.plotter.window_size = (64, 48)
    assert [layer["name"] for layer in scene.layers()] == ["water", "heat", "plume", "allocation"]
    assert not any(layer["available"] for layer in scene.layers()) and scene.legend() == []
    for preset in ("overview", "district", "street"):
        scene.camera_preset(preset)
    scene.set_building_mode("status")
    assert scene.colour_mode == "use" and scene.image().shape == (48, 64, 3)
    scene.plotter.close()
