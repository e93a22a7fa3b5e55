"""Harmonic phonons with phonopy, forces from any ASE calculator."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from ase import Atoms


def _to_phonopy(atoms: Atoms):
    from phonopy.structure.atoms import PhonopyAtoms

    return PhonopyAtoms(
        symbols=atoms.get_chemical_symbols(), cell=atoms.cell.array, scaled_positions=atoms.get_scaled_positions()
    )


def _to_ase(cell) -> Atoms:
    return Atoms(cell.symbols, cell=cell.cell, scaled_positions=cell.scaled_positions, pbc=True)


def make_phonopy(
    atoms: Atoms,
    calculator,
    *,
    supercell: Sequence[int] = (3, 3, 3),
    displacement_A: float = 0.01,
    primitive_matrix="auto",
):
    """A ``phonopy.Phonopy`` with force constants from finite displacements evaluated by ``calculator``."""
    from phonopy import Phonopy

    if not atoms.pbc.all():
        raise ValueError("phonons need a structure periodic in all three directions")
    phonon = Phonopy(_to_phonopy(atoms), supercell_matrix=np.diag(supercell), primitive_matrix=primitive_matrix)
    phonon.generate_displacements(distance=displacement_A)
    forces = []
    for displaced in phonon.supercells_with_displacements:
        structure = _to_ase(displaced)
        structure.calc = calculator
        f = structure.get_forces()
        forces.append(f - f.mean(axis=0))  # remove the numerical drift of the net force
    phonon.forces = np.array(forces)
    phonon.produce_force_constants()
    phonon.symmetrize_force_constants()
    return phonon


def mesh_frequencies(phonon, mesh: Sequence[int] = (12, 12, 12)) -> tuple[np.ndarray, np.ndarray]:
    """q-points (fractional) and frequencies (THz, shape (n_q, n_bands)) on a Γ-centred mesh."""
    phonon.run_mesh(list(mesh), with_eigenvectors=False, is_gamma_center=True)
    return phonon.mesh.qpoints, phonon.mesh.frequencies


def plot_band_structure(phonon, path: str) -> str:
    """Band structure along phonopy's automatic path, saved as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    phonon.auto_band_structure(npoints=51)
    fig = phonon.plot_band_structure()
    fig.savefig(path, dpi=120)
    return path
