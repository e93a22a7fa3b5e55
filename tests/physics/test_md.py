"""NVE molecular dynamics with a shipped model conserves total energy."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk

from ase_mlmat import MLCalculator
from ase_mlmat.workflows import run_md


def test_nve_energy_conservation():
    """Si, 64 atoms, 300 K, 1 fs velocity Verlet, 2 ps, float64.

    Bound: velocity Verlet on a smooth (C²) potential has bounded energy error, oscillating at
    O(dt²) with no secular drift; a drift above 0.5 meV/atom/ps (2 % of k_B·300 K per ps) would mean
    forces that are not the gradient of the energy or a non-smooth cutoff.
    """
    atoms = bulk("Si", "diamond", a=5.468, cubic=True) * (2, 2, 2)
    atoms.calc = MLCalculator("mlearn-Si", dtype="float64")
    result = run_md(
        atoms, ensemble="nve", temperature_K=300, timestep_fs=1.0, steps=2000, interval=10, rng=np.random.default_rng(1)
    )
    fluctuation = np.ptp(result.total_eV_per_atom) * 1000  # meV/atom
    drift = result.drift_meV_per_atom_per_ps
    print(f"NVE drift {drift:.4f} meV/atom/ps, total-energy range {fluctuation:.3f} meV/atom")
    assert abs(result.drift_meV_per_atom_per_ps) < 0.5
    assert fluctuation < 1.0
    assert 100 < result.temperature_K[-50:].mean() < 300  # equipartition: about half of 300 K goes to potential


def test_nvt_has_no_energy_drift():
    """Under a Langevin thermostat the total energy is exchanged with the bath: no drift is reported."""
    import warnings

    from ase.calculators.emt import EMT

    atoms = bulk("Cu", "fcc", a=3.6, cubic=True) * (2, 2, 2)
    atoms.calc = EMT()
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)  # ASE's deprecated Langevin(fixcm=True) is not used
        nvt = run_md(atoms, ensemble="nvt", temperature_K=300, steps=40, interval=10, friction_per_fs=0.05)
    assert nvt.ensemble == "nvt" and nvt.drift_meV_per_atom_per_ps is None
    assert atoms.constraints == []  # the centre-of-mass constraint held during the run only
    np.testing.assert_allclose(atoms.get_momenta().sum(axis=0), 0.0, atol=1e-10)
    assert len(nvt.temperature_K) == 5 and np.isfinite(nvt.potential_eV_per_atom).all()
    atoms.calc = EMT()
    nve = run_md(atoms, ensemble="nve", temperature_K=300, steps=40, interval=10)
    assert nve.ensemble == "nve" and isinstance(nve.drift_meV_per_atom_per_ps, float)


@pytest.mark.slow
def test_nve_drift_with_the_skin_list_is_no_worse():
    """The Verlet list (a small skin, so that it is rebuilt along the run) against a fresh search every step.

    The forces agree to rounding at every step, so the two runs follow the same trajectory and drift alike.
    """
    runs = {}
    for skin in (0.3, 0.0):
        atoms = bulk("Si", "diamond", a=5.468, cubic=True) * (2, 2, 1)
        atoms.calc = MLCalculator("mlearn-Si", dtype="float64", skin=skin)
        runs[skin] = run_md(
            atoms,
            ensemble="nve",
            temperature_K=900,
            timestep_fs=1.0,
            steps=400,
            interval=10,
            rng=np.random.default_rng(2),
        )
        if skin:
            builds = atoms.calc.neighbors.builds
    skinned, fresh = runs[0.3], runs[0.0]
    print(
        f"NVE drift {skinned.drift_meV_per_atom_per_ps:.4f} (skin, {builds} builds) and "
        f"{fresh.drift_meV_per_atom_per_ps:.4f} (fresh) meV/atom/ps"
    )
    assert 1 < builds < 400
    np.testing.assert_allclose(skinned.total_eV_per_atom, fresh.total_eV_per_atom, rtol=0, atol=1e-9)
    assert abs(skinned.drift_meV_per_atom_per_ps) <= abs(fresh.drift_meV_per_atom_per_ps) + 1e-3
    assert abs(skinned.drift_meV_per_atom_per_ps) < 0.5
