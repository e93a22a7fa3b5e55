"""Symmetries of the energy: rotation, translation, permutation, extensivity; smoothness at r_c."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from scipy.spatial.transform import Rotation

from ase_mlmat import MLCalculator


def _energy_forces(atoms, calc):
    atoms = atoms.copy()
    atoms.calc = calc
    return atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress()


def test_rotation(si_bulk, calc):
    e0, f0, s0 = _energy_forces(si_bulk, calc)
    R = Rotation.from_euler("xyz", [0.3, -1.1, 2.0]).as_matrix()
    rotated = si_bulk.copy()
    rotated.set_cell(si_bulk.cell.array @ R.T)
    rotated.positions = si_bulk.positions @ R.T
    e1, f1, s1 = _energy_forces(rotated, calc)
    assert e1 == pytest.approx(e0, abs=1e-9)
    np.testing.assert_allclose(f1, f0 @ R.T, atol=1e-9)
    voigt = lambda s: np.array([[s[0], s[5], s[4]], [s[5], s[1], s[3]], [s[4], s[3], s[2]]])  # noqa: E731
    np.testing.assert_allclose(voigt(s1), R @ voigt(s0) @ R.T, atol=1e-10)


def test_translation_and_wrapping(si_bulk, calc):
    e0, f0, _ = _energy_forces(si_bulk, calc)
    moved = si_bulk.copy()
    moved.positions += [1.7, -3.2, 12.9]
    e1, f1, _ = _energy_forces(moved, calc)
    moved.wrap()
    e2, f2, _ = _energy_forces(moved, calc)
    assert e1 == pytest.approx(e0, abs=1e-9) and e2 == pytest.approx(e0, abs=1e-9)
    np.testing.assert_allclose(f1, f0, atol=1e-9)
    np.testing.assert_allclose(f2, f0, atol=1e-9)


def test_permutation(si_bulk, calc):
    e0, f0, _ = _energy_forces(si_bulk, calc)
    order = np.random.default_rng(0).permutation(len(si_bulk))
    e1, f1, _ = _energy_forces(si_bulk[order], calc)
    assert e1 == pytest.approx(e0, abs=1e-9)
    np.testing.assert_allclose(f1, f0[order], atol=1e-9)


def test_supercell_is_extensive(si_bulk, calc):
    e0, f0, s0 = _energy_forces(si_bulk, calc)
    e8, f8, s8 = _energy_forces(si_bulk * (2, 2, 2), calc)
    assert e8 == pytest.approx(8 * e0, rel=1e-10)
    np.testing.assert_allclose(f8[: len(si_bulk)], f0, atol=1e-9)
    np.testing.assert_allclose(s8, s0, atol=1e-10)


def test_inputs_not_mutated(si_bulk, calc):
    before = si_bulk.positions.copy(), si_bulk.cell.array.copy()
    _energy_forces(si_bulk, calc)
    np.testing.assert_array_equal(si_bulk.positions, before[0])
    np.testing.assert_array_equal(si_bulk.cell.array, before[1])


def test_energy_continuous_across_cutoff(potential):
    """A pair moving through r_c: energy, force and their change vary smoothly, reaching isolated atoms."""
    calc = MLCalculator(potential, dtype="float64")
    cutoff = potential.cutoff

    def energy_force(r):
        dimer = Atoms("SiC", positions=[[0, 0, 0], [r, 0, 0]])
        dimer.calc = calc
        return dimer.get_potential_energy(), dimer.get_forces()[1, 0]

    e_far, f_far = energy_force(cutoff + 0.5)
    assert f_far == 0.0
    for delta in (1e-2, 1e-3, 1e-4):
        e_in, f_in = energy_force(cutoff - delta)
        e_out, _ = energy_force(cutoff + delta)
        assert e_out == pytest.approx(e_far, abs=1e-12)
        # polynomial envelope: E - E_far ~ δ^3 near r_c (value, slope and curvature vanish)
        assert abs(e_in - e_far) < 50 * delta**3 + 1e-12
        assert abs(f_in) < 50 * delta**2 + 1e-12
