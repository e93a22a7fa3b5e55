"""Graphs with reference labels attached, and the statistics that normalise a model."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from ase import Atoms

from ..data import Labels
from ..graph import atoms_to_graph

TARGET_ENERGY = "target_energy"  # (B,) eV
TARGET_ENERGY_PER_ATOM = "target_energy_per_atom"  # (B,) eV/atom
TARGET_FORCES = "target_forces"  # (N, 3) eV/Å
TARGET_STRESS = "target_stress"  # (B, 3, 3) eV/Å³
HAS_FORCES = "has_forces"  # (B,) bool
HAS_STRESS = "has_stress"  # (B,) bool
PROPERTY_TARGETS = "property_targets"  # (B, T) per-structure targets in their own units


def voigt_to_matrix(voigt: np.ndarray) -> np.ndarray:
    xx, yy, zz, yz, xz, xy = voigt
    return np.array([[xx, xy, xz], [xy, yy, yz], [xz, yz, zz]])


def labelled_graphs(
    structures: Sequence[Atoms],
    labels: Sequence[Labels],
    elements: Sequence[str],
    cutoff: float,
    dtype: torch.dtype = torch.float64,
) -> list[dict[str, torch.Tensor]]:
    """One graph per structure, with its labels as TARGET_* entries (zeros where missing)."""
    graphs = []
    for atoms, label in zip(structures, labels):
        g = atoms_to_graph(atoms, cutoff, elements=elements, dtype=dtype, min_distance=0.0)
        n = len(atoms)
        g[TARGET_ENERGY] = torch.tensor([label.energy], dtype=dtype)
        g[TARGET_ENERGY_PER_ATOM] = g[TARGET_ENERGY] / n
        forces = label.forces if label.forces is not None else np.zeros((n, 3))
        g[TARGET_FORCES] = torch.as_tensor(forces, dtype=dtype)
        g[HAS_FORCES] = torch.tensor([label.forces is not None])
        stress = voigt_to_matrix(label.stress) if label.stress is not None else np.zeros((3, 3))
        g[TARGET_STRESS] = torch.as_tensor(stress, dtype=dtype).unsqueeze(0)
        g[HAS_STRESS] = torch.tensor([label.stress is not None and atoms.cell.rank == 3])
        graphs.append(g)
    return graphs


def property_graphs(
    structures: Sequence[Atoms],
    targets: np.ndarray,
    elements: Sequence[str],
    cutoff: float,
    max_neighbors: int,
) -> list[dict[str, torch.Tensor]]:
    """Crystal graphs with their row of ``targets`` (n, T) as PROPERTY_TARGETS (StructureError names a bad one)."""
    from ..graph.nearest import crystal_graph

    graphs = []
    for atoms, row in zip(structures, np.asarray(targets, dtype=np.float32)):
        g = crystal_graph(atoms, cutoff, elements, max_neighbors=max_neighbors)
        g[PROPERTY_TARGETS] = torch.as_tensor(row).reshape(1, -1)
        graphs.append(g)
    return graphs


def fit_reference_energies(
    structures: Sequence[Atoms], labels: Sequence[Labels], elements: Sequence[str]
) -> np.ndarray:
    """Per-element energies (eV/atom) minimising Σ (E - Σ_Z n_Z e_Z)² over the training set."""
    index = {symbol: k for k, symbol in enumerate(elements)}
    counts = np.zeros((len(structures), len(elements)))
    for row, atoms in enumerate(structures):
        for symbol in atoms.get_chemical_symbols():
            counts[row, index[symbol]] += 1
    energies = np.array([label.energy for label in labels])
    solution, *_ = np.linalg.lstsq(counts, energies, rcond=None)
    return solution


def force_rms(labels: Sequence[Labels]) -> float:
    """Root-mean-square force component (eV/Å), the network's output scale; 1 if no forces."""
    forces = [label.forces.ravel() for label in labels if label.forces is not None]
    if not forces:
        return 1.0
    rms = float(np.sqrt(np.mean(np.concatenate(forces) ** 2)))
    return rms if rms > 1e-6 else 1.0
