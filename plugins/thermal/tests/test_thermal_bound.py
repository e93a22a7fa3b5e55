"""The α_L·E bound and the Grüneisen parameter from Poisson's ratio (docs/physics.md, "Thermal expansion")."""

from __future__ import annotations

import math

import numpy as np
import pytest
from mlmat_thermal import (
    BELOMESTNYKH_TESLEVA_PREFACTOR,
    LECTURE_PREFACTOR,
    NU_STAR,
    alpha_upper_bound,
    bound_maximum,
    bound_position,
    expansion_bound_factor,
    gruneisen_from_poisson,
)
from scipy.optimize import minimize_scalar

from ase_mlmat.properties import PropertyError


def _numerical_maximum(prefactor: float) -> tuple[float, float]:
    result = minimize_scalar(
        lambda nu: -expansion_bound_factor(nu, prefactor),
        bounds=(-0.99, 0.499),
        method="bounded",
        options={"xatol": 1e-10},
    )
    return float(result.x), float(-result.fun)


def test_lecture_bound_peaks_at_nu_star():
    nu, f_max = _numerical_maximum(LECTURE_PREFACTOR)
    print(f"lecture bound (prefactor 2): max f = {f_max:.6f} at ν = {nu:.6f}")
    assert nu == pytest.approx((4.0 - math.sqrt(10.0)) / 6.0, abs=1e-6)
    assert nu == pytest.approx(0.1396, abs=1e-4)
    assert f_max == pytest.approx(2.0 * (11.0 - 2.0 * math.sqrt(10.0)) / 9.0, rel=1e-9)
    assert f_max == pytest.approx(1.0390, abs=1e-4)
    assert bound_maximum(LECTURE_PREFACTOR) == pytest.approx((nu, f_max), rel=1e-6)


def test_belomestnykh_tesleva_bound_peaks_at_same_nu():
    nu, f_max = _numerical_maximum(BELOMESTNYKH_TESLEVA_PREFACTOR)
    print(f"Belomestnykh–Tesleva (prefactor 3/2): max f = {f_max:.6f} at ν = {nu:.6f}")
    assert nu == pytest.approx(NU_STAR, abs=1e-6)
    assert f_max == pytest.approx(0.779, abs=1e-3)


def test_bt_gamma_times_one_minus_two_nu_is_the_three_halves_factor():
    nu = np.linspace(-0.9, 0.49, 50)
    np.testing.assert_allclose(gruneisen_from_poisson(nu) * (1 - 2 * nu), expansion_bound_factor(nu, 1.5), rtol=1e-12)
    assert gruneisen_from_poisson(0.0) == pytest.approx(0.75)
    assert gruneisen_from_poisson(1.0 / 3.0) == pytest.approx(2.0)


def test_bound_position_units():
    # Cu-like numbers: E 130 GPa, ν 0.34, c_V 385 J/kg/K, ρ 8960 kg/m³, α 16.5e-6 /K
    alpha_max = alpha_upper_bound(130.0, 0.34, 385.0, 8960.0)
    expected = expansion_bound_factor(0.34) * 385.0 * 8960.0 / 130e9
    assert alpha_max == pytest.approx(expected)
    position = bound_position(16.5e-6, 130.0, 0.34, 385.0, 8960.0)
    assert position.ratio_to_bound == pytest.approx(16.5e-6 / expected)
    assert position.bound_prefactor == 2.0 and position.bound_factor_max == pytest.approx(1.0390, abs=1e-4)
    assert position.within_bound
    assert bound_position(16.5e-6, 130.0, 0.34, 385.0, 8960.0, prefactor=1.5).ratio_to_bound == pytest.approx(
        position.ratio_to_bound * 2.0 / 1.5
    )


@pytest.mark.parametrize("nu", [0.5, 0.6, -1.0, -1.5, math.nan, math.inf])
def test_unphysical_poisson_ratio_is_refused(nu):
    with pytest.raises(PropertyError, match="Poisson"):
        expansion_bound_factor(nu)
    with pytest.raises(PropertyError, match="Poisson"):
        gruneisen_from_poisson(nu)


@pytest.mark.parametrize(
    ("E", "c_V", "rho"),
    [(-130.0, 385.0, 8960.0), (130.0, 0.0, 8960.0), (130.0, 385.0, math.nan), (math.inf, 385.0, 8960.0)],
)
def test_unphysical_bound_inputs_are_refused(E, c_V, rho):
    with pytest.raises(PropertyError, match="finite and positive"):
        bound_position(1e-5, E, 0.3, c_V, rho)


def test_bad_prefactor_and_alpha_are_refused():
    with pytest.raises(PropertyError, match="prefactor"):
        expansion_bound_factor(0.2, prefactor=-1.0)
    with pytest.raises(PropertyError, match="finite"):
        bound_position(math.nan, 130.0, 0.3, 385.0, 8960.0)
