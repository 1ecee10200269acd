"""The water shader compiles under off-screen rendering and changes what the water looks like."""

from __future__ import annotations

import numpy as np
import pytest

from tests.io.test_store import national_grid_city
from tests.scene.test_scene import write_rich_results
from twin3d.config import shaders_dir
from twin3d.scenario.results import ResultsFile


def test_shader_file_has_vertex_and_fragment_sections():
    from twin3d.scene.water_shader import WATER_SHADER, shader_sections

    sections = shader_sections(shaders_dir() / WATER_SHADER)
    assert {s for s, _, _ in sections} == {"vertex", "fragment"}
    assert all(tag.startswith("//VTK::") and code for _, tag, code in sections)
    assert any("rippleTime" in code for _, _, code in sections)


def test_bad_section_header_is_refused(tmp_path):
    from twin3d.scene.water_shader import shader_sections

    path = tmp_path / "bad.glsl"
    path.write_text("//--- geometry //VTK::Light::Impl\nfoo;\n")
    with pytest.raises(ValueError, match="bad section header"):
        shader_sections(path)


def render_water(results, shader: bool, ripple: float | None = None) -> np.ndarray:
    from twin3d.scene.city_scene import CityScene

    scene = CityScene(national_grid_city(), shader=shader)
    scene.plotter.window_size = (320, 240)
    scene.attach_results(results)
    scene.apply_frame(2)
    for name in ("heat", "plume", "buildings", "facilities", "allocation", "network_power"):
        scene.set_layer_visible(name, False)
    scene.camera_preset("overview")
    if ripple is not None:
        from twin3d.scene.water_shader import set_ripple_time

        set_ripple_time(scene.actors["water"], ripple)
    image = scene.image().astype(np.int16)
    scene.plotter.close()
    return image


def test_water_shader_compiles_and_changes_the_pixels(tmp_path):
    from vtkmodules.vtkCommonCore import vtkOutputWindow, vtkStringOutputWindow

    results = ResultsFile(write_rich_results(tmp_path / "rich.h5"))
    previous = vtkOutputWindow.GetInstance()
    messages = vtkStringOutputWindow()
    vtkOutputWindow.SetInstance(messages)
    try:
        plain = render_water(results, shader=False)
        shaded = render_water(results, shader=True)
        rippled = render_water(results, shader=True, ripple=7.3)
    finally:
        vtkOutputWindow.SetInstance(previous)
        results.close()
    log = messages.GetOutput()
    assert "error" not in log.lower(), log  # a shader compile or link error is reported here
    changed = (np.abs(plain - shaded).max(axis=-1) > 2).mean()
    assert changed > 0.05, changed  # the sheen changes the water (subtly, seen from above)
    assert np.abs(shaded - rippled).max() > 0  # the uniform moves the ripples


def test_a_broken_shader_is_caught_by_the_same_check(tmp_path):
    """The negative control: the output-window check above does see compile errors."""
    import pyvista as pv
    from vtkmodules.vtkCommonCore import vtkOutputWindow, vtkStringOutputWindow

    from twin3d.scene.water_shader import apply_water_shader

    bad = tmp_path / "bad.glsl"
    bad.write_text("//--- fragment //VTK::Light::Impl\nfragOutput0 = undefinedThing;\n")
    previous = vtkOutputWindow.GetInstance()
    messages = vtkStringOutputWindow()
    vtkOutputWindow.SetInstance(messages)
    try:
        plotter = pv.Plotter(off_screen=True, window_size=(64, 64))
        apply_water_shader(plotter.add_mesh(pv.Plane(), color="blue"), bad)
        plotter.screenshot(return_img=True)  # the first render compiles the shaders
        plotter.close()
    finally:
        vtkOutputWindow.SetInstance(previous)
    assert "error" in messages.GetOutput().lower()


BACKEND_SCRIPT = """
import numpy as np, pyvista as pv
from vtkmodules.vtkCommonCore import vtkOutputWindow, vtkStringOutputWindow
from twin3d.scene.water_shader import apply_water_shader
messages = vtkStringOutputWindow()
vtkOutputWindow.SetInstance(messages)
images = []
for shader in (False, True):
    p = pv.Plotter(off_screen=True, window_size=(160, 120))
    g = pv.Plane(i_size=100, j_size=100, i_resolution=20, j_resolution=20)
    g.point_data["depth"] = np.linspace(0, 3, g.n_points)
    actor = p.add_mesh(g, scalars="depth", cmap="Blues", clim=(0, 3), show_scalar_bar=False)
    if shader:
        apply_water_shader(actor)
    p.camera_position = [(0, -150, 60), (0, 0, 0), (0, 0, 1)]
    images.append(p.screenshot(return_img=True).astype(int))
    window = p.render_window.GetClassName()
    p.close()
print(window, float(np.abs(images[0] - images[1]).mean()), "error" in messages.GetOutput().lower())
"""


@pytest.mark.parametrize("window", ["vtkEGLRenderWindow", "vtkOSOpenGLRenderWindow"])
def test_water_shader_renders_under_egl_and_osmesa(window):
    import os
    import subprocess
    import sys

    env = dict(os.environ, VTK_DEFAULT_OPENGL_WINDOW=window)
    env.pop("DISPLAY", None)
    run = subprocess.run([sys.executable, "-c", BACKEND_SCRIPT], env=env, capture_output=True, text=True,
                         timeout=120)
    lines = [line for line in run.stdout.splitlines() if line.startswith("vtk")]
    if run.returncode != 0 or not lines or not lines[-1].startswith(window):
        pytest.skip(f"{window} is not available here: {run.stderr[-300:]}")
    _, difference, error = lines[-1].split()
    assert error == "False" and float(difference) > 0.5
