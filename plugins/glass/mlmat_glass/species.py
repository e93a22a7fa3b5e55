"""How A and B particles are told apart in ASE Atoms, and the checks on a glass configuration.

Convention (documented in the README):

1. an integer per-particle array ``atoms.arrays["types"]`` with 0 = A, 1 = B wins if present;
2. otherwise the atomic numbers must take exactly two values; the smaller is A and the larger B. This
   matches what ``ase.io.read`` gives for a LAMMPS data/dump file (type 1 → Z = 1, type 2 → Z = 2) and
   what :func:`glass_atoms` writes (A = H, B = He: labels only, LJ units throughout).

The box must be periodic in all three directions and cubic (orthorhombic accepted by the engine, but the
predictor was trained on cubic boxes), positions finite.
"""

from __future__ import annotations

import numpy as np
from ase import Atoms


class GlassInputError(ValueError):
    """A configuration cannot be used as a Kob–Andersen glass (species, box or coordinates are wrong)."""


def glass_atoms(positions: np.ndarray, types: np.ndarray, box: float | np.ndarray) -> Atoms:
    """Atoms in a periodic orthorhombic box: A → Z = 1, B → Z = 2, plus a ``types`` array (0 = A, 1 = B)."""
    types = np.asarray(types, dtype=np.int64)
    lengths = np.broadcast_to(np.asarray(box, dtype=float), (3,))
    atoms = Atoms(numbers=types + 1, positions=np.asarray(positions, dtype=float), cell=np.diag(lengths), pbc=True)
    atoms.set_array("types", types.astype(np.int8))
    return atoms


def particle_types(atoms: Atoms) -> np.ndarray:
    """Types (N,) int64, 0 = A, 1 = B, by the convention of this module.

    Raises:
        GlassInputError: not exactly two species (or a ``types`` array with values other than 0/1).
    """
    if "types" in atoms.arrays:
        types = np.asarray(atoms.arrays["types"]).astype(np.int64).reshape(-1)
        values = set(np.unique(types).tolist())
        if not values <= {0, 1} or len(values) != 2:
            raise GlassInputError(f"atoms.arrays['types'] must contain both 0 (A) and 1 (B); found {sorted(values)}")
        return types
    numbers = np.unique(atoms.numbers)
    if len(numbers) != 2:
        raise GlassInputError(
            f"a Kob–Andersen configuration has two species (A and B); got {len(numbers)} atomic number(s) "
            f"{numbers.tolist()}. Give two atomic numbers (smaller = A) or an atoms.arrays['types'] of 0/1."
        )
    return (atoms.numbers == numbers[1]).astype(np.int64)


def cubic_box_length(atoms: Atoms, *, tolerance: float = 1e-6) -> float:
    """Edge length (σ) of a periodic cubic box; raise :class:`GlassInputError` otherwise."""
    if not atoms.pbc.all():
        raise GlassInputError(f"the box must be periodic in x, y and z; pbc = {atoms.pbc.tolist()}")
    cell = atoms.cell.array
    if not np.all(np.isfinite(cell)):
        raise GlassInputError("non-finite cell (NaN or inf)")
    length = float(cell[0, 0])
    if length <= 0 or not np.allclose(cell, np.eye(3) * length, atol=tolerance * max(length, 1.0)):
        raise GlassInputError(f"the box must be cubic (diagonal cell with equal edges); got cell {cell.tolist()}")
    return length


def check_glass_atoms(atoms: Atoms) -> tuple[np.ndarray, np.ndarray, float]:
    """Validate and return (positions wrapped into the box (N, 3), types (N,), box length)."""
    if not isinstance(atoms, Atoms):
        raise GlassInputError(f"expected ase.Atoms, got {type(atoms).__name__}")
    if len(atoms) == 0:
        raise GlassInputError("empty configuration")
    positions = atoms.positions
    if not np.all(np.isfinite(positions)):
        bad = np.nonzero(~np.isfinite(positions).all(axis=1))[0]
        raise GlassInputError(f"non-finite positions (NaN or inf) for particles {bad[:10].tolist()}")
    length = cubic_box_length(atoms)
    types = particle_types(atoms)
    return np.mod(positions, length), types, length
