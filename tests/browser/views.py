"""Helpers for browser tests of the 3D views: what a remote view's image shows, artefacts."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

# The remote view's latest image drawn to a canvas (a same-origin blob), as 48 x 32 grey levels.
_IMAGE_JS = """(selector) => {
  const img = document.querySelector(selector);
  if (!img || !img.complete || !img.naturalWidth) return null;
  const c = document.createElement('canvas'); c.width = 48; c.height = 32;
  const g = c.getContext('2d'); g.drawImage(img, 0, 0, 48, 32);
  const d = g.getImageData(0, 0, 48, 32).data; const out = [];
  for (let i = 0; i < d.length; i += 4) out.push((d[i] + d[i + 1] + d[i + 2]) / 3);
  return out;
}"""


def artifacts(tmp_path) -> Path:
    """Where screenshots go: $TWIN3D_TEST_ARTIFACTS, else the test's tmp_path."""
    path = Path(os.environ.get("TWIN3D_TEST_ARTIFACTS", tmp_path))
    path.mkdir(parents=True, exist_ok=True)
    return path


def view_image(page, selector: str) -> np.ndarray | None:
    """The image a remote view shows (``selector`` names its <img>), 32 x 48 grey levels."""
    values = page.evaluate(_IMAGE_JS, selector)
    return None if values is None else np.asarray(values, dtype=np.float64).reshape(32, 48)


def wait_for_image(page, selector: str, accept, timeout_s: float = 180.0) -> np.ndarray:
    """Poll the view's image until ``accept(image)``; the last image otherwise (the caller asserts)."""
    import time

    deadline = time.monotonic() + timeout_s
    image = None
    while time.monotonic() < deadline:
        image = view_image(page, selector)
        if image is not None and accept(image):
            return image
        page.wait_for_timeout(1000)
    return image


def quick_results(tmp_path, monkeypatch, *scenarios: str) -> list[str]:
    """Quick CPU runs of asset scenarios in a cache of the test's own; their results paths."""
    import twin3d.mis.stages
    from twin3d.config import asset
    from twin3d.scenario.runner import run_scenario

    monkeypatch.setenv("TWIN3D_CACHE_DIR", str(tmp_path / "cache"))
    return [str(run_scenario(asset("scenarios", name), quick=True, arch="cpu", progress=False,
                             stages=twin3d.mis.stages.STAGES)) for name in scenarios]
