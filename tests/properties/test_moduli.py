"""VRH averages, Born stability and Debye temperatures against the cross-check figures of docs/physics.md."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk

from ase_mlmat.properties import PropertyError
from ase_mlmat.properties.moduli import (
    born_stability,
    debye_temperature,
    density_and_number_density,
    isotropic_moduli,
    sound_velocities,
)


def cubic(c11, c12, c44):
    C = np.zeros((6, 6))
    C[:3, :3] = c12
    np.fill_diagonal(C[:3, :3], c11)
    C[3, 3] = C[4, 4] = C[5, 5] = c44
    return C


def isotropic(K, G):
    lam = K - 2 * G / 3
    return cubic(lam + 2 * G, lam, G)


def test_isotropic_tensor_returns_its_moduli():
    m = isotropic_moduli(isotropic(150.0, 80.0))
    assert m.bulk_modulus_GPa == pytest.approx(150.0)
    assert m.shear_modulus_voigt_GPa == pytest.approx(80.0) and m.shear_modulus_reuss_GPa == pytest.approx(80.0)
    assert m.universal_anisotropy == pytest.approx(0.0, abs=1e-12)
    assert m.youngs_modulus_GPa == pytest.approx(9 * 150 * 80 / (450 + 80))
    assert m.poisson_ratio == pytest.approx((450 - 160) / (2 * 530))


def test_reuss_below_voigt_for_anisotropic_crystal():
    m = isotropic_moduli(cubic(168.4, 121.4, 75.4))  # Cu
    assert m.shear_modulus_reuss_GPa < m.shear_modulus_GPa < m.shear_modulus_voigt_GPa
    assert m.bulk_modulus_GPa == pytest.approx((168.4 + 2 * 121.4) / 3)
    assert m.universal_anisotropy > 1


@pytest.mark.parametrize(
    ("name", "C", "atoms", "theta"),
    [
        ("diamond", cubic(1079, 124, 578), bulk("C", "diamond", a=3.567), 2246),
        ("Si", cubic(165.7, 63.9, 79.6), bulk("Si", "diamond", a=5.431), 648),
        ("Cu", cubic(168.4, 121.4, 75.4), bulk("Cu", "fcc", a=3.615), 338),
        ("Al", cubic(107.3, 60.9, 28.3), bulk("Al", "fcc", a=4.05), 408),
        ("MgO", cubic(297.0, 95.2, 155.7), bulk("MgO", "rocksalt", a=4.212), 942),
    ],
)
def test_debye_temperature_cross_checks(name, C, atoms, theta):
    m = isotropic_moduli(C)
    rho, n = density_and_number_density(atoms)
    *_, v_m = sound_velocities(m.bulk_modulus_GPa, m.shear_modulus_GPa, rho)
    assert debye_temperature(v_m, n) == pytest.approx(theta, rel=0.02)


def test_unstable_tensor_is_refused():
    C = cubic(100.0, 120.0, 50.0)  # C11 < C12: unstable against tetragonal shear
    stable, eigenvalues = born_stability(C)
    assert not stable and eigenvalues.min() < 0
    with pytest.raises(PropertyError, match="mechanically unstable"):
        isotropic_moduli(C)
    with pytest.raises(PropertyError, match="6×6"):
        isotropic_moduli(np.eye(3))
    with pytest.raises(PropertyError, match="positive"):
        sound_velocities(-10.0, 5.0, 1000.0)
