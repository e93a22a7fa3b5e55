"""Propensity, F_s and the times where F_s crosses given levels."""

from __future__ import annotations

import numpy as np
import pytest
from mlmat_glass.observables import (
    crossing_time,
    log_spaced_times,
    propensity,
    relaxation_times,
    self_intermediate_scattering,
)
from mlmat_glass.storage import from_botan


def test_propensity_is_invariant_to_particle_order():
    rng = np.random.default_rng(0)
    initial = rng.random((50, 3)) * 5
    final = initial[None] + rng.normal(scale=0.3, size=(6, 50, 3))
    order = rng.permutation(50)
    direct = propensity(final, initial)
    permuted = propensity(final[:, order], initial[order])
    np.testing.assert_allclose(permuted, direct[order], rtol=1e-12)
    assert direct[3] == pytest.approx(np.mean(np.linalg.norm(final[:, 3] - initial[3], axis=1)))


def test_botan_conversion_is_invariant_to_particle_order(tmp_path, shared_file):
    data = dict(np.load(shared_file(1)))
    order = np.random.default_rng(1).permutation(len(data["types"]))
    shuffled = tmp_path / "isoconfig_N4096T0.44_1_tc07.npz"
    np.savez(
        shuffled,
        types=data["types"][order],
        initial_positions=data["initial_positions"][order],
        positions=data["positions"][:, order],
    )
    original = from_botan(shared_file(1))
    converted = from_botan(shuffled)
    np.testing.assert_allclose(converted.propensity[0], original.propensity[0][order], rtol=1e-6)
    assert converted.fs_a[0] == pytest.approx(original.fs_a[0], rel=1e-10)


def test_self_intermediate_scattering_limits():
    assert self_intermediate_scattering(np.zeros((10, 3))) == pytest.approx(1.0)
    d = 0.4
    displacements = np.array([[d, 0.0, 0.0], [0.0, 0.0, -d]])
    assert self_intermediate_scattering(displacements, k=7.25) == pytest.approx(np.sin(7.25 * d) / (7.25 * d))


def test_crossing_time_interpolates_in_log_time():
    times = np.array([0.1, 1.0, 10.0])
    fs = np.array([0.9, 0.5, 0.1])
    assert crossing_time(times, fs, 0.7) == pytest.approx(np.sqrt(0.1 * 1.0))
    assert np.isnan(crossing_time(times, fs, 0.05))
    tau = relaxation_times(times, fs)
    assert tau["t_fs_0.5"] == pytest.approx(1.0)
    assert 1.0 < tau["tau_alpha"] < 10.0


def test_log_spaced_times_are_whole_steps():
    times = log_spaced_times(0.01, 10.0, 12, 0.005)
    np.testing.assert_allclose(times / 0.005, np.round(times / 0.005), atol=1e-9)
    assert np.all(np.diff(times) > 0) and times[-1] == pytest.approx(10.0)
