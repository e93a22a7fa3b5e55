"""Quasi-harmonic expansion with ASE's EMT: fcc Cu against experiment, imaginary modes flagged."""

from __future__ import annotations

import time

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT
from mlmat_thermal import ImaginaryModeWarning, quasi_harmonic_expansion
from mlmat_thermal.qha import DEFAULT_SUPERCELL_WIDTH_A, negative_alpha_stretch

from ase_mlmat.properties import PropertyError
from ase_mlmat.workflows.phonons import minimal_supercell

CU_EXPERIMENT_300K = 16.5e-6  # 1/K


def test_emt_copper_alpha_at_300K():
    start = time.perf_counter()
    atoms = bulk("Cu", "fcc", a=3.6)
    result = quasi_harmonic_expansion(atoms, EMT(), supercell=(3, 3, 3), temperatures_K=np.arange(0.0, 801.0, 10.0))
    print(
        f"EMT Cu QHA: α(300 K) = {result.alpha_300K_per_K:.3e} /K (experiment {CU_EXPERIMENT_300K:.3g}), "
        f"B(0 K) = {result.bulk_modulus_GPa[0]:.1f} GPa, bracketed to {result.volume_bracketed_up_to_K:.0f} K, "
        f"{time.perf_counter() - start:.1f} s"
    )
    assert atoms.cell.cellpar()[0] == pytest.approx(3.6 / np.sqrt(2))  # input untouched
    assert result.relax_converged and not result.has_imaginary_modes
    assert result.n_atoms_primitive == 1 and result.volumes_A3.shape == (13,)
    assert CU_EXPERIMENT_300K / 2 < result.alpha_300K_per_K < 2 * CU_EXPERIMENT_300K
    assert result.negative_alpha_below_K is None
    assert result.temperatures_K[-1] == 800.0 and result.alpha_linear_per_K[0] == 0.0
    assert np.all(result.alpha_linear_per_K[1:] > 0)
    assert result.volume_bracketed_up_to_K == 800.0
    assert np.all(np.diff(result.equilibrium_volumes_A3) > 0)
    np.testing.assert_allclose(result.alpha_linear_per_K, result.alpha_volumetric_per_K / 3.0)


@pytest.mark.filterwarnings("ignore:V_eq:RuntimeWarning")
def test_imaginary_modes_are_flagged_or_refused():
    # bcc Cu is dynamically unstable with EMT (imaginary modes about −1 THz)
    atoms = bulk("Cu", "bcc", a=2.87)
    options = {
        "supercell": (3, 3, 3),
        "mesh": (9, 9, 9),
        "volume_strains": np.linspace(-0.02, 0.02, 5),
        "temperatures_K": np.arange(0.0, 301.0, 50.0),
    }
    with pytest.warns(ImaginaryModeWarning, match="imaginary"):
        result = quasi_harmonic_expansion(atoms, EMT(), **options)
    assert result.has_imaginary_modes and result.min_frequency_THz < -0.5
    with pytest.raises(PropertyError, match="unstable"):
        quasi_harmonic_expansion(atoms, EMT(), on_imaginary="raise", **options)


def test_bad_qha_inputs_are_refused():
    atoms = bulk("Cu", "fcc", a=3.6)
    with pytest.raises(PropertyError, match="bracket"):
        quasi_harmonic_expansion(atoms, EMT(), volume_strains=np.linspace(0.01, 0.05, 5))
    with pytest.raises(PropertyError, match="at least 5"):
        quasi_harmonic_expansion(atoms, EMT(), volume_strains=[-0.01, 0.0, 0.01])
    with pytest.raises(PropertyError, match="ascending"):
        quasi_harmonic_expansion(atoms, EMT(), temperatures_K=[300.0, 200.0, 100.0])
    with pytest.raises(PropertyError, match="calculator"):
        quasi_harmonic_expansion(atoms, None)


def test_negative_alpha_stretch():
    T = np.arange(0.0, 60.0, 10.0)
    assert negative_alpha_stretch(T, np.array([0.0, 1, 2, 3, 4, 5])) is None
    assert negative_alpha_stretch(T, np.array([0.0, -1, -2, -1, 1, 2])) == pytest.approx((10.0, 35.0))
    assert negative_alpha_stretch(T, np.array([0.0, -1, -2, -3, -4, -5])) == (10.0, 50.0)


def test_default_supercell_is_at_least_10_A_wide():
    width = DEFAULT_SUPERCELL_WIDTH_A
    assert minimal_supercell(bulk("Si", "diamond", a=5.468), width) == (4, 4, 4)
    assert minimal_supercell(bulk("Si", "diamond", a=5.468, cubic=True), width) == (2, 2, 2)
    assert minimal_supercell(bulk("Cu", "fcc", a=3.6), width) == (5, 5, 5)
    assert minimal_supercell(bulk("Mg"), 8.0) == (3, 3, 2)
