"""Shared fixtures: the shared T = 0.44 data (tests skip where ../shared/data is absent) and one thread."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch

SHARED = Path(__file__).resolve().parents[4] / "shared" / "data" / "glass_ka_T0.44"


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def shared_file() -> Callable[[int], Path]:
    """``shared_file(i)``: path of BOTAN configuration i (1–10) at T = 0.44; skips the test if absent."""

    def path(index: int) -> Path:
        file = SHARED / f"isoconfig_N4096T0.44_{index}_tc07.npz"
        if not file.is_file():
            pytest.skip(f"shared glass data not found at {file}")
        return file

    return path
