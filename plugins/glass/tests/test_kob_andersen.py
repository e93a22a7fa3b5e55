"""The Kob–Andersen engine: forces are −∇E, the virial is −dE/dlnL, NVE conserves energy, and the
standard state point ρ = 1.2, T = 2.0 is reproduced (docs/physics.md: LAMMPS, N = 1000, truncated and shifted)."""

from __future__ import annotations

import numpy as np
import pytest
from mlmat_glass.dynamics import equilibrate, lattice_start, maxwell_boltzmann, run
from mlmat_glass.kob_andersen import ENERGY_SHIFT, kob_andersen_forces


@pytest.fixture(scope="module")
def melted():
    rng = np.random.default_rng(7)
    state = lattice_start(256, 2.0, rng)
    return equilibrate(state, 2.0, 1.0, rng=rng)


def test_energy_shift_is_the_standard_one():
    # u_LJ(2.5 σ) = 4 ε (2.5^-12 − 2.5^-6) = −0.0163169 ε for every pair type
    assert ENERGY_SHIFT[0, 0] == pytest.approx(-0.01631689, abs=1e-7)
    np.testing.assert_allclose(ENERGY_SHIFT / np.array([[1.0, 1.5], [1.5, 0.5]]), ENERGY_SHIFT[0, 0])


def test_forces_are_minus_energy_gradient(melted):
    x, t, box = melted.positions.copy(), melted.types, melted.box
    forces = kob_andersen_forces(x, t, box).forces
    h = 1e-6
    for particle in (0, 17, 101):
        for k in range(3):
            plus, minus = x.copy(), x.copy()
            plus[particle, k] += h
            minus[particle, k] -= h
            numeric = -(kob_andersen_forces(plus, t, box).energy - kob_andersen_forces(minus, t, box).energy) / (2 * h)
            assert forces[particle, k] == pytest.approx(numeric, rel=1e-5, abs=1e-5)


def test_virial_is_minus_log_length_derivative(melted):
    x, t, box = melted.positions, melted.types, melted.box
    result = kob_andersen_forces(x, t, box)
    h = 1e-6
    e_plus = kob_andersen_forces(x * (1 + h), t, box * (1 + h)).energy
    e_minus = kob_andersen_forces(x * (1 - h), t, box * (1 - h)).energy
    assert result.virial == pytest.approx(-(e_plus - e_minus) / (2 * h), rel=1e-5)
    assert result.energies.sum() == pytest.approx(result.energy)


def test_nve_energy_error_is_second_order_in_dt(melted):
    """Velocity Verlet: the spread of the total energy over a fixed time falls as dt²."""
    import copy

    spreads = []
    for dt in (0.004, 0.002):
        state = copy.deepcopy(melted)
        state.velocities = maxwell_boltzmann(len(state.types), 1.0, np.random.default_rng(3))
        state.compute_forces()
        totals: list[float] = []

        def record(s, _step, totals=totals):
            totals.append(s.result.energy + s.kinetic_energy())

        run(state, round(0.8 / dt), dt, every=round(0.04 / dt), callback=record)
        spreads.append((max(totals) - min(totals)) / len(state.types))
    print(f"NVE total-energy spread over 0.8 τ: dt=0.004 {spreads[0]:.2e}, dt=0.002 {spreads[1]:.2e} ε/particle")
    assert spreads[0] < 5e-3
    assert spreads[1] < 0.4 * spreads[0]


def test_state_point_T2():
    """N = 500, ρ = 1.2, T = 2.0, Bussi NVT: e_pot = −4.644 and P = 19.37 in the literature (N = 1000).

    Tolerances: 0.05 ε in e_pot, 0.4 in P, 0.04 in ⟨T⟩ — about three standard deviations of this 10 τ
    average, measured over seeds 1–3 (e_pot −4.670, −4.614, −4.653; P 19.20, 19.61, 19.32; ⟨T⟩ 1.983, 2.015,
    1.997), finite-size effects of N = 500 included. They catch a missing energy shift (+0.57 ε), wrong
    σ_AB / ε_AB, or a thermostat off by 3 % in T. The tight check of the model is the LAMMPS comparison
    (test_lammps.py), which also runs the literature system itself (N = 1000, T = 1.0)."""
    rng = np.random.default_rng(2024)
    state = equilibrate(lattice_start(500, 2.0, rng), 2.0, 3.0, dt=0.005, rng=rng, thermostat_time=0.1)
    energies, pressures, temperatures = [], [], []

    def record(s, _):
        energies.append(s.result.energy / 500)
        pressures.append(s.pressure())
        temperatures.append(s.temperature())

    run(state, 2000, 0.005, temperature=2.0, thermostat_time=0.1, rng=rng, every=5, callback=record)
    e_pot, p, temperature = np.mean(energies), np.mean(pressures), np.mean(temperatures)
    print(f"KA N=500 T=2.0: e_pot {e_pot:.4f} (lit. -4.644), P {p:.3f} (lit. 19.37), <T> {temperature:.4f}")
    assert temperature == pytest.approx(2.0, abs=0.04)
    assert e_pot == pytest.approx(-4.644, abs=0.05)
    assert p == pytest.approx(19.37, abs=0.4)
