"""The frame C_ij is reported in: the Cartesian frame of the conventional standard cell (spglib).

A stiffness tensor's components depend on the orientation of the Cartesian axes: primitive fcc Si read
from a CIF (a along x) gives C11 = 181, C14 = 21 GPa for the crystal whose cubic-axes C11 is 137. So
C is rotated into the frame of spglib's idealised conventional standard cell (for cubic crystals the
cube axes; in general a along x, b in the xy plane), where tables and databases give C_ij. The
isotropic (Voigt–Reuss–Hill) moduli do not change under rotation.
"""

from __future__ import annotations

import warnings

import numpy as np
from ase import Atoms

from .voigt import rotate_elastic_tensor

STANDARD_FRAME = "conventional standard cell (spglib)"
INPUT_FRAME = "input cell"
SYMPREC_A = 1e-3  # spglib distance tolerance, Å: a relaxed cell is symmetric to well within it


def standard_rotation(atoms: Atoms, symprec: float = SYMPREC_A) -> np.ndarray | None:
    """(3, 3) rotation R taking Cartesian vectors of ``atoms`` to the standard frame (x' = R x), or None.

    None when spglib finds no symmetry dataset at this tolerance.
    """
    import spglib

    cell = (atoms.cell.array, atoms.get_scaled_positions(), atoms.numbers)
    with warnings.catch_warnings():  # spglib 2.5 warns about its own error-handling switch
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            dataset = spglib.get_symmetry_dataset(cell, symprec=symprec)
        except Exception:  # newer spglib raises where older ones returned None
            dataset = None
    if dataset is None:
        return None
    R = np.asarray(dataset.std_rotation_matrix, dtype=float)
    if not np.allclose(R @ R.T, np.eye(3), atol=1e-6) or np.linalg.det(R) < 0:
        return None  # not a proper rotation: keep the input frame rather than reflect C
    return R


def to_standard_frame(C_GPa: np.ndarray, atoms: Atoms) -> tuple[np.ndarray, str, np.ndarray]:
    """(C in the standard frame, the frame's name, R); the input frame and R = 1 when spglib finds none."""
    R = standard_rotation(atoms)
    if R is None:
        return np.asarray(C_GPa, dtype=float), INPUT_FRAME, np.eye(3)
    return rotate_elastic_tensor(C_GPa, R), STANDARD_FRAME, R
