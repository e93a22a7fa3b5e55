"""Checks on a structure before it becomes a graph, each with a message that says what and why."""

from __future__ import annotations

import numpy as np
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


def check_min_distance(lengths: np.ndarray, i: np.ndarray, j: np.ndarray, min_distance: float) -> None:
    """Raise :class:`StructureError` if any pair is closer than ``min_distance`` (Å)."""
    if len(lengths) == 0 or min_distance <= 0:
        return
    k = int(np.argmin(lengths))
    if lengths[k] < min_distance:
        raise StructureError(
            f"overlapping atoms: atoms {int(i[k])} and {int(j[k])} are {lengths[k]:.3g} Å apart "
            f"(less than min_distance={min_distance} Å)"
        )
