"""The package as users get it: light import, wheel with assets, CLI exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from tests.conftest import REPO

HEAVY = ("taichi", "vtk", "open3d", "trame", "pyvista", "rasterio", "pygltflib", "h5py")


def test_import_twin3d_is_light():
    code = (
        "import sys, twin3d, twin3d.model, twin3d.io, twin3d.config, twin3d.cli;"
        f"print([m for m in {HEAVY!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def run_cli(*args: str, cwd: Path | None = None, exe: str | None = None) -> subprocess.CompletedProcess:
    cmd = [exe] if exe else [sys.executable, "-m", "twin3d.cli"]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, cwd=cwd, timeout=300)


@pytest.mark.parametrize(
    "args, code",
    [
        (["import", "missing-file.json"], 2),
        (["import", "."], 2),
        (["no-such-command"], 2),
        (["import"], 2),
        (["import", "pyproject.toml", "--json"], 2),
    ],
)
def test_exit_codes_for_bad_input(args, code):
    result = run_cli(*args, cwd=REPO)
    assert result.returncode == code
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("content", [b"", b"{", b'{"type": "CityJSON", "version": "2.0"', b"\x00\xff" * 50])
def test_bad_files_exit_2_and_write_nothing(tmp_path, content):
    bad = tmp_path / "bad.city.json"
    bad.write_bytes(content)
    out = tmp_path / "out.h5"
    result = run_cli("import", str(bad), "-o", str(out), "--json")
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"error: {bad}")
    assert not out.exists() and list(tmp_path.iterdir()) == [bad]


def test_wheel_installs_and_runs(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist)],
                   cwd=REPO, check=True, capture_output=True, timeout=300)
    wheel = next(dist.glob("twin3d-*.whl"))
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
                   check=True, capture_output=True, timeout=300)
    # dependencies come from the project's environment; the code, assets and shaders from the wheel
    site = Path(subprocess.check_output([str(py), "-c", "import site; print(site.getsitepackages()[0])"],
                                        text=True).strip())
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    probe = ("import twin3d, twin3d_server, twin3d.config as c;"
             "print(twin3d.__file__); print(c.asset('buildings', 'occupancy.toml')); print(c.shaders_dir())")
    out = subprocess.run([str(py), "-c", probe], capture_output=True, text=True, cwd=tmp_path,
                         check=True, env={**os.environ, "PYTHONPATH": ""}).stdout.split()
    assert all(str(site) in line for line in out), out
    assert Path(out[1]).is_file() and Path(out[2]).is_dir()
    city = tmp_path / "city.h5"
    result = run_cli("city", "generate", "--buildings", "200", "-o", str(city),
                     exe=str(env_dir / "bin" / "twin3d"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    result = run_cli("import", str(city), "--json", exe=str(env_dir / "bin" / "twin3d"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["buildings"] == 200
