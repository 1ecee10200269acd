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
