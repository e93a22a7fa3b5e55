"""Checks on a structure before it becomes a graph, each with a message that says what and why."""

from __future__ import annotations

import numpy as np
import torch
from ase import Atoms


class StructureError(ValueError):
    """A structure cannot be evaluated (empty, NaN, degenerate cell, overlapping atoms...)."""


def check_structure(atoms: Atoms, elements: list[str] | None = None) -> None:
    """Raise :class:`StructureError` if ``atoms`` cannot be turned into a graph.

    Args:
        atoms: the structure.
        elements: chemical symbols the model knows; others are rejected.
    """
    if not isinstance(atoms, Atoms):
        raise StructureError(f"expected an ase.Atoms, got {type(atoms).__name__}")
    if len(atoms) == 0:
        raise StructureError("empty structure: Atoms has no atoms")
    positions = atoms.positions
    if not np.all(np.isfinite(positions)):
        bad = np.where(~np.isfinite(positions).all(axis=1))[0]
        raise StructureError(f"non-finite positions (NaN or inf) for atoms {bad[:10].tolist()}")
    cell = atoms.cell.array
    if not np.all(np.isfinite(cell)):
        raise StructureError("non-finite cell vectors (NaN or inf)")
    pbc = atoms.pbc
    if pbc.any():
        # Every periodic direction needs a non-zero lattice vector independent of the others.
        periodic_vectors = cell[pbc]
        if np.linalg.matrix_rank(periodic_vectors, tol=1e-6) < int(pbc.sum()):
            raise StructureError(
                f"degenerate cell: periodic lattice vectors {periodic_vectors.tolist()} are zero or "
                "linearly dependent (zero volume)"
            )
        if pbc.all() and abs(np.linalg.det(cell)) < 1e-6:
            raise StructureError(f"degenerate cell: volume {abs(np.linalg.det(cell)):.3g} Å³ is zero")
    if elements is not None:
        unknown = sorted(set(atoms.get_chemical_symbols()) - set(elements))
        if unknown:
            raise StructureError(f"element(s) {unknown} not in the model, which knows only {list(elements)}")


def check_min_distance(lengths: torch.Tensor, edge_index: torch.Tensor, min_distance: float) -> None:
    """Raise :class:`StructureError` if any pair is closer than ``min_distance`` (Å).

    Args:
        lengths: pair distances (E,) Å, on any device.
        edge_index: (2, E) centre and neighbour of each pair.
        min_distance: Å; 0 or less skips the check.
    """
    if lengths.numel() == 0 or min_distance <= 0:
        return
    shortest = float(lengths.min())  # the only value that leaves the device unless the check fails
    if shortest < min_distance:
        i, j = edge_index[:, int(torch.argmin(lengths))].tolist()
        raise StructureError(
            f"overlapping atoms: atoms {i} and {j} are {shortest:.3g} Å apart (less than min_distance={min_distance} Å)"
        )
