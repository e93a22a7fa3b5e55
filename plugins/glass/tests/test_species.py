"""A and B from Atoms (types array, else smaller atomic number = A) and clear errors on bad input."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from mlmat_glass.species import GlassInputError, check_glass_atoms, glass_atoms, particle_types


def _atoms(numbers=(1, 2), n=40, cell=6.0):
    rng = np.random.default_rng(0)
    return Atoms(numbers=np.resize(numbers, n), positions=rng.random((n, 3)) * 6, cell=np.eye(3) * cell, pbc=True)


def test_smaller_atomic_number_is_a_and_types_array_wins():
    atoms = _atoms(numbers=(18, 18, 18, 18, 36))
    np.testing.assert_array_equal(particle_types(atoms), (atoms.numbers == 36).astype(int))
    atoms.set_array("types", (atoms.numbers == 18).astype(np.int8))
    np.testing.assert_array_equal(particle_types(atoms), (atoms.numbers == 18).astype(int))
    made = glass_atoms(atoms.positions, np.arange(40) % 2, 6.0)
    np.testing.assert_array_equal(particle_types(made), np.arange(40) % 2)


@pytest.mark.parametrize("numbers, message", [((1,), "two species"), ((1, 2, 3), "two species")])
def test_wrong_species_count(numbers, message):
    with pytest.raises(GlassInputError, match=message):
        check_glass_atoms(_atoms(numbers=numbers))


def test_non_cubic_non_periodic_and_nan_are_refused():
    atoms = _atoms()
    atoms.set_cell(np.diag([6.0, 6.0, 7.0]))
    with pytest.raises(GlassInputError, match="cubic"):
        check_glass_atoms(atoms)
    atoms = _atoms()
    atoms.pbc = [True, True, False]
    with pytest.raises(GlassInputError, match="periodic"):
        check_glass_atoms(atoms)
    atoms = _atoms()
    atoms.positions[5, 1] = np.nan
    with pytest.raises(GlassInputError, match="non-finite"):
        check_glass_atoms(atoms)
    atoms = _atoms()
    atoms.set_array("types", np.full(40, 3))
    with pytest.raises(GlassInputError, match="types"):
        check_glass_atoms(atoms)
