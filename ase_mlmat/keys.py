"""Names of the entries of a graph dictionary, with shapes and units.

A graph is a plain ``dict[str, torch.Tensor]``: free functions read and write
entries, so models, neighbour lists and the calculator agree on one vocabulary
without a class hierarchy. ``N`` atoms, ``E`` directed edges, ``B`` structures.
"""

from __future__ import annotations

from typing import Final

POSITIONS: Final = "positions"  # (N, 3) Å
ATOMIC_NUMBERS: Final = "atomic_numbers"  # (N,) int64
SPECIES: Final = "species"  # (N,) int64 index into the model's element list
CELL: Final = "cell"  # (B, 3, 3) Å, rows are lattice vectors
PBC: Final = "pbc"  # (B, 3) bool
BATCH: Final = "batch"  # (N,) int64 structure index of each atom
NUM_ATOMS: Final = "num_atoms"  # (B,) int64
EDGE_INDEX: Final = "edge_index"  # (2, E) int64: row 0 centre i, row 1 neighbour j
CELL_SHIFTS: Final = "cell_shifts"  # (E, 3) integer lattice shifts (float dtype)
EDGE_VECTORS: Final = "edge_vectors"  # (E, 3) Å, r_j - r_i + shift · cell
EDGE_LENGTHS: Final = "edge_lengths"  # (E,) Å, |EDGE_VECTORS|; property models need no vectors

ENERGY: Final = "energy"  # (B,) eV
ATOMIC_ENERGIES: Final = "atomic_energies"  # (N,) eV
FORCES: Final = "forces"  # (N, 3) eV/Å
STRESS: Final = "stress"  # (B, 3, 3) eV/Å³, tensile positive (ASE convention)
VIRIAL: Final = "virial"  # (B, 3, 3) eV

# Per-structure training weights/masks.
HAS_STRESS: Final = "has_stress"  # (B,) bool
