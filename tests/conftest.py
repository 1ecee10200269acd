"""Shared test settings: where the real data is, and a Taichi runtime for physics tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("TWIN3D_TEST_DATA", REPO.parent / "shared" / "data"))


def data_path(*parts: str) -> Path:
    """A path inside the real test data; the test is skipped when it is absent."""
    path = DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"test data not found: {path} (set TWIN3D_TEST_DATA)")
    return path


@pytest.fixture(scope="session")
def taichi_cpu():
    """Taichi on the CPU, fast_math off, for the whole session (validation runs here)."""
    from twin3d.physics.arch import init_taichi

    return init_taichi("cpu", fast_math=False)


@pytest.fixture(scope="module")
def browser():
    """Debian chromium, driven by Playwright's sync API, for one test module at a time: a second
    ``sync_playwright`` inside a first refuses to start, and a live one leaves its asyncio loop
    set on the main thread, where later tests' ``asyncio.get_running_loop()`` would find it."""
    from tests.browser.conftest import CHROMIUM, CHROMIUM_FLAGS

    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (bash scripts/dev.sh test installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield b
        b.close()
