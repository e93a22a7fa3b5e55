"""Shared fixtures: the shared T = 0.44 data (tests skip where ../shared/data is absent) and one thread."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
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


@pytest.fixture(scope="session")
def synthetic_samples() -> list:
    """Four small liquids with a synthetic two-timescale target that depends on their structure."""
    from mlmat_glass.dynamics import equilibrate, lattice_start
    from mlmat_glass.storage import GlassSample
    from mlmat_glass.training import prepare

    out = []
    for seed in range(4):
        rng = np.random.default_rng(seed)
        state = equilibrate(lattice_start(300, 1.0, rng), 1.0, 0.2, rng=rng)
        features = (
            prepare(
                [GlassSample(state.positions, state.types, state.box, 1.0, [1.0], rng.random((1, 300)), [0.5])],
                descriptors="radial_energy",
            )[0]
            .graph["descriptors"]
            .numpy()
        )
        z = (features - features.mean(0)) / (features.std(0) + 1e-9)
        early = 0.3 + 0.05 * z[:, -1] + 0.02 * rng.standard_normal(300)  # local energy
        late = 0.7 + 0.1 * z[:, 5] + 0.03 * rng.standard_normal(300)  # a radial shell
        out.append(
            GlassSample(
                state.positions,
                state.types,
                state.box,
                1.0,
                [10.0, 100.0],
                np.stack([early, late]),
                [0.8, 0.3],
                n_runs=8,
                source=f"synthetic {seed}",
                squared_displacement=np.stack([early, late]) ** 2 * 1.3,
            )
        )
    return out
