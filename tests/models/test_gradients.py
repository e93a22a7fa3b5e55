"""Forces are -dE/dr and stress is (1/V) dE/dε, checked by finite differences in float64."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk, fcc111, molecule
from ase.calculators.fd import calculate_numerical_forces, calculate_numerical_stress


def _bulk():
    atoms = bulk("Si", "diamond", a=5.43) * (2, 1, 1)
    atoms.rattle(0.1, seed=1)
    atoms.set_cell(
        atoms.cell.array @ np.array([[1.0, 0.02, 0.0], [0.0, 0.98, 0.03], [0.01, 0.0, 1.01]]), scale_atoms=True
    )
    return atoms


def _slab():
    slab = fcc111("Cu", (2, 2, 3), vacuum=5.0)
    slab.pbc = (True, True, False)
    slab.rattle(0.05, seed=2)
    return slab


def _molecule():
    mol = molecule("CH3OH")
    mol.rattle(0.05, seed=3)
    return mol


@pytest.mark.parametrize("make", [_bulk, _slab, _molecule], ids=["bulk", "slab", "molecule"])
def test_forces_match_finite_differences(make, calc):
    atoms = make()
    atoms.calc = calc
    forces = atoms.get_forces()
    numerical = calculate_numerical_forces(atoms, eps=1e-5)
    assert np.abs(forces).max() > 1e-2  # non-trivial
    np.testing.assert_allclose(forces, numerical, atol=1e-6 * max(1.0, np.abs(forces).max()))


@pytest.mark.parametrize("make", [_bulk, _slab], ids=["bulk", "slab"])
def test_stress_matches_finite_differences(make, calc):
    atoms = make()
    atoms.calc = calc
    stress = atoms.get_stress()
    numerical = calculate_numerical_stress(atoms, eps=1e-6)
    assert np.abs(stress).max() > 1e-4
    np.testing.assert_allclose(stress, numerical, atol=1e-7 * max(1.0, np.abs(stress).max() * 100))


def test_per_atom_energies_sum_to_energy(calc):
    atoms = _bulk()
    atoms.calc = calc
    assert atoms.get_potential_energies().sum() == pytest.approx(atoms.get_potential_energy(), abs=1e-9)
    assert atoms.get_potential_energy() == atoms.get_potential_energy(force_consistent=True)


def test_molecule_has_no_stress(calc):
    from ase.calculators.calculator import PropertyNotImplementedError

    atoms = _molecule()
    atoms.calc = calc
    with pytest.raises(PropertyNotImplementedError):
        atoms.get_stress()
