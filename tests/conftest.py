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
        "painn",
        {"cutoff": cutoff, "num_features": features, "num_interactions": 2, "num_basis": 8},
        list(elements),
        reference_energies=[-1.0 - 0.1 * k for k in range(len(elements))],
        scale=1.0,
    )
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.4)
    return model.double().eval()


def pair_set(i, j, shifts) -> set[tuple[int, ...]]:
    """A neighbour list ``(i, j, shifts)`` (tensors on any device) as a set of (i, j, s0, s1, s2)."""
    return {(int(a), int(b), *map(int, s)) for a, b, s in zip(i.cpu(), j.cpu(), shifts.cpu())}


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
