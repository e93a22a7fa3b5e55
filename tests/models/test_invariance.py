"""Physics every potential must obey (the shipped conformance mixin), plus smoothness at r_c."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk

from ase_mlmat import MLCalculator
from ase_mlmat.testing import PotentialTests


class TestRandomPaiNN(PotentialTests):
    """An untrained PaiNN with large weights: strong, irregular forces stress the checks."""

    @pytest.fixture
    def calculator(self, calc):
        return calc

    @pytest.fixture
    def structure(self, si_bulk):
        return si_bulk


class TestShippedSi(PotentialTests):
    @pytest.fixture
    def calculator(self):
        return MLCalculator("mlearn-Si", dtype="float64")

    @pytest.fixture
    def structure(self):
        atoms = bulk("Si", "diamond", a=5.47, cubic=True)
        atoms.rattle(0.08, seed=4)
        return atoms


def test_inputs_not_mutated(si_bulk, calc):
    before = si_bulk.positions.copy(), si_bulk.cell.array.copy()
    si_bulk.calc = calc
    si_bulk.get_forces()
    np.testing.assert_array_equal(si_bulk.positions, before[0])
    np.testing.assert_array_equal(si_bulk.cell.array, before[1])


def test_energy_continuous_across_cutoff(potential):
    """A pair moving through r_c: energy and force vanish smoothly, reaching isolated atoms."""
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


def test_force_constants_finite_at_symmetric_sites(calc):
    """At a centrosymmetric site (ideal diamond) forces grow linearly with a small displacement.

    Vector features vanish there by symmetry; a non-smooth norm of them gave F ∝ sign(u), i.e.
    force constants diverging as u → 0 and imaginary phonons. F(u)/u must converge.
    """
    atoms = bulk("Si", "diamond", a=5.43) * (2, 2, 2)
    ratios = []
    for u in (1e-3, 2e-3, 4e-3):
        displaced = atoms.copy()
        displaced.calc = calc
        displaced.positions[0, 0] += u
        ratios.append(displaced.get_forces()[0, 0] / u)
    assert abs(ratios[0] - ratios[1]) < 0.01 * abs(ratios[0])
    assert abs(ratios[1] - ratios[2]) < 0.02 * abs(ratios[1])
