"""phonopy with MLCalculator: real phonon frequencies for diamond Si; warnings for supercells too small."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT

from ase_mlmat import MLCalculator
from ase_mlmat.workflows import make_phonopy, mesh_frequencies, relax
from ase_mlmat.workflows.phonons import band_structure_figure, minimal_supercell, perpendicular_widths_A


def test_si_phonons_are_real():
    atoms = bulk("Si", "diamond", a=5.468)
    calc = MLCalculator("mlearn-Si", dtype="float64")
    atoms.calc = calc
    relax(atoms, fmax_eV_per_A=1e-4)
    assert minimal_supercell(atoms, 2 * calc.cutoff) == (4, 4, 4)  # 3 × 3.16 Å is narrower than 2 × 5 Å
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # wide enough: no warning
        phonon = make_phonopy(atoms, calc, supercell=(4, 4, 4))
    qpoints, frequencies = mesh_frequencies(phonon, (8, 8, 8))
    away_from_gamma = np.linalg.norm(qpoints, axis=1) > 1e-6
    print(f"min frequency away from Γ {frequencies[away_from_gamma].min():.3f} THz, max {frequencies.max():.3f} THz")
    assert frequencies[away_from_gamma].min() > 0.0  # no imaginary modes
    phonon.run_qpoints([[0, 0, 0]])
    gamma = np.sort(phonon.qpoints.frequencies[0])
    np.testing.assert_allclose(gamma[:3], 0.0, atol=0.05)  # acoustic sum rule
    # Zone-centre optical mode: PBE gives about 15.1 THz, experiment 15.5 THz.
    print(f"Γ optical {gamma[3:].mean():.2f} THz")
    assert 13.0 < gamma[3:].mean() < 17.0


def test_perpendicular_widths():
    a = 3.6
    np.testing.assert_allclose(perpendicular_widths_A(bulk("Cu", "fcc", a=a, cubic=True).cell), [a, a, a])
    np.testing.assert_allclose(perpendicular_widths_A(bulk("Cu", "fcc", a=a).cell), a / np.sqrt(3))  # {111} planes
    assert minimal_supercell(bulk("Cu", "fcc", a=a), 8.0) == (4, 4, 4)  # 4 a/√3 = 8.31 Å
    assert minimal_supercell(bulk("Cu", "fcc", a=a, cubic=True), 7.2) == (2, 2, 2)  # exactly wide enough


def test_one_by_one_by_one_supercell_warns():
    """One atom per cell in a 1×1×1 supercell: the displacement is a rigid translation, every frequency zero."""
    atoms = bulk("Cu", "fcc", a=3.6)
    with pytest.warns(UserWarning, match="1×1×1 supercell gives wrong phonons"):
        phonon = make_phonopy(atoms, EMT(), supercell=(1, 1, 1))
    _, frequencies = mesh_frequencies(phonon, (4, 4, 4))
    np.testing.assert_allclose(frequencies, 0.0, atol=1e-6)  # why the warning is needed


def test_supercell_narrower_than_twice_the_cutoff_warns():
    atoms = bulk("Cu", "fcc", a=3.6)
    with pytest.warns(UserWarning, match=r"2×2×2 supercell is 4\.16 Å wide.*\(8\.00 Å\).*4×4×4 is wide enough"):
        make_phonopy(atoms, EMT(), supercell=(2, 2, 2), cutoff_A=4.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        make_phonopy(atoms, EMT(), supercell=(2, 2, 2))  # EMT has no cutoff attribute: nothing to check against
        make_phonopy(atoms, EMT(), supercell=(4, 4, 4), cutoff_A=4.0)


def test_band_structure_plot_has_units_and_a_title():
    phonon = make_phonopy(bulk("Cu", "fcc", a=3.6), EMT(), supercell=(3, 3, 3))
    fig = band_structure_figure(phonon)
    assert fig.axes[0].get_ylabel() == "frequency (THz)"
    assert fig.get_suptitle() == "Phonon band structure of Cu"
    fig = band_structure_figure(phonon, title="Cu with EMT")
    assert fig.get_suptitle() == "Cu with EMT"
