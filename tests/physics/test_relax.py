"""Relaxation with an ASE optimiser and FrechetCellFilter converges to the DFT lattice constant."""

from __future__ import annotations

import numpy as np
from ase.build import bulk

from ase_mlmat import MLCalculator
from ase_mlmat.workflows import relax


def test_relax_cell_and_positions_converges():
    atoms = bulk("Si", "diamond", a=5.30, cubic=True)  # compressed by 3 %
    atoms.rattle(0.05, seed=0)
    atoms.calc = MLCalculator("mlearn-Si", dtype="float64")
    _, converged = relax(atoms, fmax_eV_per_A=1e-3, relax_cell=True, max_steps=500)
    assert converged
    assert np.abs(atoms.get_forces()).max() < 1e-3
    assert np.abs(atoms.get_stress()).max() < 1e-3 * len(atoms) / atoms.get_volume() * 10
    a = np.cbrt(atoms.get_volume())
    print(f"relaxed Si lattice constant {a:.4f} Å (PBE 5.468 Å)")
    assert abs(a - 5.468) / 5.468 < 0.01
