"""Shared fixtures: the shared T = 0.44 data (skipped where ../shared/data is absent) and one thread."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

SHARED = Path(__file__).resolve().parents[4] / "shared" / "data" / "glass_ka_T0.44"


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    torch.set_num_threads(1)


def shared_file(index: int) -> Path:
    path = SHARED / f"isoconfig_N4096T0.44_{index}_tc07.npz"
    if not path.is_file():
        pytest.skip(f"shared glass data not found at {path}")
    return path
