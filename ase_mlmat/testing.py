"""Conformance checks any ASE potential should pass, as a pytest mixin.

An outside architecture or plugin inherits :class:`PotentialTests` and provides two
fixtures, ``calculator`` (an ASE calculator) and ``structure`` (a periodic, rattled
Atoms the calculator knows); it then gets the same physics checks as our own models:
finite-difference forces and stress, rotation/translation/permutation invariance,
extensivity and per-atom energies that add up.

    class TestMyModel(PotentialTests):
        @pytest.fixture
        def calculator(self): ...
        @pytest.fixture
        def structure(self): ...
"""

from __future__ import annotations

import numpy as np
from ase.calculators.fd import calculate_numerical_forces, calculate_numerical_stress


def _evaluate(atoms, calculator):
    atoms = atoms.copy()
    atoms.calc = calculator
    return atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress()


def _rotation(seed: int = 0) -> np.ndarray:
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q


class PotentialTests:
    """Mixin of physics checks; tolerances suit float64 evaluation."""

    energy_tolerance = 1e-8  # eV
    force_tolerance = 1e-6  # eV/Å, relative to the largest force when that exceeds 1

    def test_forces_are_minus_energy_gradient(self, calculator, structure):
        atoms = structure.copy()
        atoms.calc = calculator
        forces = atoms.get_forces()
        numerical = calculate_numerical_forces(atoms, eps=1e-5)
        np.testing.assert_allclose(forces, numerical, atol=self.force_tolerance * max(1.0, np.abs(forces).max()))

    def test_stress_is_strain_derivative(self, calculator, structure):
        atoms = structure.copy()
        atoms.calc = calculator
        stress = atoms.get_stress()
        numerical = calculate_numerical_stress(atoms, eps=1e-6)
        np.testing.assert_allclose(stress, numerical, atol=1e-6 * max(1.0, np.abs(stress).max()))

    def test_rotation_invariance(self, calculator, structure):
        e0, f0, _ = _evaluate(structure, calculator)
        R = _rotation()
        rotated = structure.copy()
        rotated.set_cell(structure.cell.array @ R.T)
        rotated.positions = structure.positions @ R.T
        e1, f1, _ = _evaluate(rotated, calculator)
        assert abs(e1 - e0) < self.energy_tolerance * max(1.0, len(structure))
        np.testing.assert_allclose(f1, f0 @ R.T, atol=self.force_tolerance * max(1.0, np.abs(f0).max()))

    def test_translation_invariance(self, calculator, structure):
        e0, f0, _ = _evaluate(structure, calculator)
        moved = structure.copy()
        moved.positions += [0.37, -1.21, 2.9]
        e1, f1, _ = _evaluate(moved, calculator)
        assert abs(e1 - e0) < self.energy_tolerance * max(1.0, len(structure))
        np.testing.assert_allclose(f1, f0, atol=self.force_tolerance * max(1.0, np.abs(f0).max()))

    def test_permutation_invariance(self, calculator, structure):
        e0, f0, _ = _evaluate(structure, calculator)
        order = np.random.default_rng(1).permutation(len(structure))
        e1, f1, _ = _evaluate(structure[order], calculator)
        assert abs(e1 - e0) < self.energy_tolerance * max(1.0, len(structure))
        np.testing.assert_allclose(f1, f0[order], atol=self.force_tolerance * max(1.0, np.abs(f0).max()))

    def test_supercell_is_extensive(self, calculator, structure):
        e0, f0, s0 = _evaluate(structure, calculator)
        e8, f8, s8 = _evaluate(structure * (2, 2, 2), calculator)
        assert abs(e8 - 8 * e0) < self.energy_tolerance * 8 * max(1.0, len(structure))
        np.testing.assert_allclose(f8[: len(structure)], f0, atol=self.force_tolerance * max(1.0, np.abs(f0).max()))
        np.testing.assert_allclose(s8, s0, atol=1e-8 * max(1.0, np.abs(s0).max()))

    def test_per_atom_energies_add_up(self, calculator, structure):
        atoms = structure.copy()
        atoms.calc = calculator
        assert abs(atoms.get_potential_energies().sum() - atoms.get_potential_energy()) < self.energy_tolerance
