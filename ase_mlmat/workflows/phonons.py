"""Harmonic phonons with phonopy, forces from any ASE calculator."""

from __future__ import annotations

import warnings
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


def perpendicular_widths_A(cell) -> np.ndarray:
    """Distances between opposite faces of ``cell`` (3×3, rows are lattice vectors, Å): V / |a_j × a_k|, shape (3,)."""
    cell = np.asarray(cell, dtype=float)
    volume = abs(np.linalg.det(cell))
    return volume / np.linalg.norm(np.cross(cell[[1, 2, 0]], cell[[2, 0, 1]]), axis=1)


def minimal_supercell(atoms: Atoms, min_width_A: float) -> tuple[int, int, int]:
    """Smallest diagonal supercell of ``atoms`` whose three perpendicular widths are all ≥ ``min_width_A``."""
    widths = perpendicular_widths_A(atoms.cell)
    return tuple(max(1, int(np.ceil(min_width_A / w - 1e-9))) for w in widths)


def check_supercell(atoms: Atoms, supercell: Sequence[int], cutoff_A: float | None = None) -> None:
    """Warn (``UserWarning``) when ``supercell`` of ``atoms`` is too small for finite-displacement force constants.

    The force on an atom within ``cutoff_A`` of a displaced atom must come from that atom alone, not also
    from its periodic images: the supercell must be at least twice the cutoff wide in each direction.
    For a message-passing model the forces reach further (cutoff × interaction layers), so this is the
    least to ask. A 1×1×1 supercell moves every image with the displaced atom (all frequencies zero for
    one atom per cell) and is warned about whatever the cutoff.
    """
    supercell = tuple(int(n) for n in supercell)
    size = "×".join(map(str, supercell))
    advice = ""
    if cutoff_A:
        advice = f"; {'×'.join(map(str, minimal_supercell(atoms, 2 * cutoff_A)))} is wide enough for the cutoff"
    if supercell == (1, 1, 1):
        warnings.warn(
            "a 1×1×1 supercell gives wrong phonons: the displaced atom's periodic images move with it "
            f"(for one atom per cell every frequency is zero){advice}",
            UserWarning,
            stacklevel=3,
        )
        return
    if not cutoff_A:
        return
    widths = perpendicular_widths_A(atoms.cell) * supercell
    if widths.min() < 2 * cutoff_A:
        warnings.warn(
            f"the {size} supercell is {widths.min():.2f} Å wide, less than twice the model's cutoff "
            f"({2 * cutoff_A:.2f} Å): displaced atoms interact with their own images, so the force constants "
            f"and frequencies are off{advice}",
            UserWarning,
            stacklevel=3,
        )


def make_phonopy(
    atoms: Atoms,
    calculator,
    *,
    supercell: Sequence[int] = (3, 3, 3),
    displacement_A: float = 0.01,
    primitive_matrix="auto",
    cutoff_A: float | None = None,
):
    """A ``phonopy.Phonopy`` with force constants from finite displacements evaluated by ``calculator``.

    Warns (:func:`check_supercell`) when the supercell is 1×1×1 or narrower than twice ``cutoff_A``
    (default: the calculator's ``cutoff`` attribute, as :class:`~ase_mlmat.MLCalculator` has, in Å).
    """
    from phonopy import Phonopy

    if not atoms.pbc.all():
        raise ValueError("phonons need a structure periodic in all three directions")
    if cutoff_A is None:
        cutoff = getattr(calculator, "cutoff", None)
        cutoff_A = float(cutoff) if isinstance(cutoff, int | float) else None
    check_supercell(atoms, supercell, cutoff_A)
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


def band_structure_figure(phonon, title: str | None = None):
    """Band structure along phonopy's automatic path as a matplotlib ``Figure``, frequency axis in THz."""
    import matplotlib

    matplotlib.use("Agg")
    phonon.auto_band_structure(npoints=51)
    fig = phonon.plot_band_structure().gcf()
    fig.axes[0].set_ylabel("frequency (THz)")
    if title is None:
        formula = Atoms(phonon.unitcell.symbols).get_chemical_formula()
        title = f"Phonon band structure of {formula}"
    fig.suptitle(title)
    return fig


def plot_band_structure(phonon, path: str, title: str | None = None) -> str:
    """Band structure along phonopy's automatic path, saved as a PNG; see :func:`band_structure_figure`."""
    import matplotlib.pyplot as plt

    fig = band_structure_figure(phonon, title)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
