"""Debye heat capacity, θ_D from experimental C_ij, Debye–Grüneisen α(T), moduli input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from ase.build import bulk
from mlmat_thermal import (
    debye_gruneisen_expansion,
    debye_heat_capacity,
    debye_heat_capacity_fraction,
    debye_solid,
    expansion_estimate,
    moduli_from,
    resolve_moduli,
)
from scipy.constants import gas_constant

from ase_mlmat.properties import PropertyError
from ase_mlmat.properties.moduli import isotropic_moduli

CU_MOLAR_MASS_KG = 63.546e-3


def cubic_tensor(c11: float, c12: float, c44: float) -> np.ndarray:
    C = np.zeros((6, 6))
    C[:3, :3] = c12
    C[[0, 1, 2], [0, 1, 2]] = c11
    C[[3, 4, 5], [3, 4, 5]] = c44
    return C


CU_C = cubic_tensor(168.4, 121.4, 75.4)  # GPa, experiment
AL_C = cubic_tensor(107.3, 60.9, 28.3)


def test_heat_capacity_high_temperature_limit_is_3R_over_M():
    c_V = debye_heat_capacity(3000.0, 338.0, 63.546)
    dulong_petit = 3.0 * gas_constant / CU_MOLAR_MASS_KG  # J/(kg K)
    print(f"Cu c_V(3000 K) = {c_V:.2f} J/kg/K, 3R/M = {dulong_petit:.2f}")
    assert c_V == pytest.approx(dulong_petit, rel=0.01)
    assert debye_heat_capacity(0.0, 338.0, 63.546) == 0.0


def test_heat_capacity_follows_t_cubed_at_low_temperature():
    theta = 338.0
    T = np.array([1.0, 2.0, 4.0, 6.0])  # ≤ θ/50
    fraction = debye_heat_capacity_fraction(T, theta)
    t_cubed = (4.0 * math.pi**4 / 5.0) * (T / theta) ** 3  # (12π⁴/5) N k_B (T/θ)³ / (3 N k_B)
    np.testing.assert_allclose(fraction, t_cubed, rtol=1e-3)
    # doubling T multiplies c_V by 8
    assert fraction[1] / fraction[0] == pytest.approx(8.0, rel=1e-4)
    # Debye function at T = θ: c_V/3Nk = 0.952
    assert debye_heat_capacity_fraction(theta, theta) == pytest.approx(0.9517, abs=1e-3)


@pytest.mark.parametrize(("symbol", "a", "C", "expected"), [("Cu", 3.615, CU_C, 338.0), ("Al", 4.05, AL_C, 408.0)])
def test_debye_temperature_from_experimental_elastic_constants(symbol, a, C, expected):
    moduli = isotropic_moduli(C)
    solid = debye_solid(bulk(symbol, "fcc", a=a, cubic=True), moduli.bulk_modulus_GPa, moduli.shear_modulus_GPa)
    print(
        f"{symbol}: K = {solid.bulk_modulus_GPa:.1f} GPa, G = {solid.shear_modulus_GPa:.1f} GPa, "
        f"ρ = {solid.density_kg_m3:.0f} kg/m³, θ_D = {solid.debye_temperature_K:.1f} K (docs/physics.md ≈ {expected})"
    )
    assert solid.debye_temperature_K == pytest.approx(expected, rel=0.01)
    # the primitive cell gives the same Debye solid
    primitive = debye_solid(bulk(symbol, "fcc", a=a), moduli.bulk_modulus_GPa, moduli.shear_modulus_GPa)
    assert primitive.debye_temperature_K == pytest.approx(solid.debye_temperature_K, rel=1e-10)


def test_debye_gruneisen_alpha_for_copper():
    K, G = moduli_from(CU_C)
    atoms = bulk("Cu", "fcc", a=3.615)
    result = debye_gruneisen_expansion(atoms, K, G)
    print(
        f"Cu Debye–Grüneisen: γ = {result.gruneisen:.3f}, α(300 K) = {result.alpha_300K_per_K:.3e} /K "
        "(experiment 16.5e-6)"
    )
    assert result.gruneisen_source == "poisson"
    assert 8e-6 < result.alpha_300K_per_K < 33e-6  # within a factor 2 of experiment
    assert result.alpha_linear_per_K[0] == 0.0
    assert np.all(np.diff(result.alpha_linear_per_K) >= 0)  # c_V(T) grows monotonically
    # α_L = γ ρ c_V / (3K) by hand at 300 K
    solid = result.solid
    by_hand = result.gruneisen * solid.density_kg_m3 * result.heat_capacity_300K_J_per_kgK / (3 * K * 1e9)
    assert result.alpha_300K_per_K == pytest.approx(by_hand)
    given = debye_gruneisen_expansion(atoms, K, G, gruneisen=1.0)
    assert given.alpha_300K_per_K == pytest.approx(result.alpha_300K_per_K / result.gruneisen)
    # the estimate with γ(ν) sits at 3/4 of the lecture's bound, by construction
    estimate = expansion_estimate(atoms, K, G)
    assert estimate.alpha_linear_per_K == pytest.approx(result.alpha_300K_per_K)
    assert estimate.bound.ratio_to_bound == pytest.approx(0.75)


def test_moduli_input_forms():
    K, G = moduli_from(CU_C)
    assert moduli_from((K, G)) == (K, G)
    assert moduli_from({"bulk_modulus_GPa": K, "shear_modulus_GPa": G}) == (K, G)
    assert moduli_from(isotropic_moduli(CU_C)) == pytest.approx((K, G))
    atoms = bulk("Cu", "fcc", a=3.615)
    atoms.info["elastic_tensor_GPa"] = CU_C
    assert resolve_moduli(atoms) == pytest.approx((K, G, "atoms.info"))
    assert resolve_moduli(atoms, moduli=[100.0, 40.0]) == (100.0, 40.0, "given")
    assert resolve_moduli(bulk("Cu"), provider=lambda a, c: (1.0, 2.0)) == (1.0, 2.0, "provider")
    assert resolve_moduli(bulk("Cu"), use_elastic_plugin=False) is None


@pytest.mark.parametrize(
    "moduli",
    [
        (-10.0, 40.0),
        (100.0, -1.0),
        (100.0, 0.0),
        (math.nan, 40.0),
        (100.0, math.inf),
        cubic_tensor(100.0, 120.0, 30.0),
        np.full((6, 6), math.nan),
        (1.0, 2.0, 3.0),
    ],
)
def test_unphysical_moduli_are_refused(moduli):
    with pytest.raises(PropertyError):
        moduli_from(moduli)
    atoms = bulk("Cu", "fcc", a=3.615)
    with pytest.raises(PropertyError):
        resolve_moduli(atoms, moduli=moduli)


def test_unphysical_debye_inputs_are_refused():
    atoms = bulk("Cu", "fcc", a=3.615)
    with pytest.raises(PropertyError):
        debye_gruneisen_expansion(atoms, -1.0, 40.0)
    with pytest.raises(PropertyError, match="Grüneisen"):
        debye_gruneisen_expansion(atoms, 100.0, 40.0, gruneisen=math.nan)
    with pytest.raises(PropertyError, match="temperatures"):
        debye_heat_capacity([-5.0, 10.0], 300.0, 63.5)
    with pytest.raises(PropertyError, match="Debye temperature"):
        debye_heat_capacity(300.0, 0.0, 63.5)
