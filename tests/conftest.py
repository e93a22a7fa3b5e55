"""Shared fixtures: small random potentials and reference structures."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from ase.build import bulk

from ase_mlmat import MLCalculator, Potential

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
MLEARN = DATA / "mlearn"


def random_potential(elements=("H", "C", "O", "Si", "Cu"), cutoff=4.0, seed=0, features=16) -> Potential:
    """An untrained PaiNN with weights large enough to give non-trivial forces and stress."""
    torch.manual_seed(seed)
    model = Potential(
        "painn", {"cutoff": cutoff, "num_features": features, "num_interactions": 2, "num_basis": 8},
        list(elements), reference_energies=[-1.0 - 0.1 * k for k in range(len(elements))], scale=1.0,
    )
    with torch.no_grad():
        for p in model.net.parameters():
            p.normal_(0.0, 0.4)
    return model.double().eval()


@pytest.fixture
def potential() -> Potential:
    return random_potential()


@pytest.fixture
def calc(potential) -> MLCalculator:
    return MLCalculator(potential, dtype="float64", device="cpu")


@pytest.fixture
def si_bulk():
    atoms = bulk("Si", "diamond", a=5.43, cubic=True)
    atoms.rattle(0.05, seed=3)
    return atoms
