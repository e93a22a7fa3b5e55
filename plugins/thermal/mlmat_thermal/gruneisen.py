"""Grüneisen parameter from Poisson's ratio and the α_L·E bound it implies (docs/physics.md).

The Grüneisen relation α_V = γ ρ c_V / K with α_L = α_V / 3 and E = 3K(1 − 2ν) gives

    α_L · E = γ (1 − 2ν) · c_V ρ.

With γ(ν) = 3(1+ν) / (2(2−3ν)) (Belomestnykh & Tesleva, Tech. Phys. 49, 1098, 2004) the right-hand
factor is f(ν) = (3/2)(1+ν)(1−2ν)/(2−3ν); E. Mazhnik's lecture notes ("the lecture" below) state the bound
with prefactor 2, f(ν) = 2(1+ν)(1−2ν)/(2−3ν). Both peak at ν* = (4 − √10)/6 ≈ 0.1396, where
f = prefactor · (11 − 2√10)/9 (≈ 1.0390 for prefactor 2, ≈ 0.779 for 3/2).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from ase_mlmat.properties import PropertyError

LECTURE_PREFACTOR = 2.0  # α_L E ≤ 2(1+ν)(1−2ν)/(2−3ν) c_V ρ, the lecture's bound
BELOMESTNYKH_TESLEVA_PREFACTOR = 1.5  # the same product with γ(ν) of Belomestnykh & Tesleva
NU_STAR = (4.0 - math.sqrt(10.0)) / 6.0  # ≈ 0.1396, where f(ν) peaks for any prefactor


def check_poisson_ratio(nu: ArrayLike) -> np.ndarray:
    """ν as a float array, or PropertyError unless every value is finite and −1 < ν < 0.5.

    ν ≥ 0.5 would need K/G → ∞ or G < 0, ν ≤ −1 a negative bulk modulus: not a stable isotropic solid.
    """
    values = np.asarray(nu, dtype=float)
    if not np.all(np.isfinite(values)):
        raise PropertyError(f"Poisson's ratio must be finite, got {nu}")
    if np.any(values >= 0.5) or np.any(values <= -1.0):
        raise PropertyError(f"Poisson's ratio of a stable isotropic solid lies in (−1, 0.5), got {nu}")
    return values


def gruneisen_from_poisson(nu: ArrayLike) -> float | np.ndarray:
    """Grüneisen parameter γ = 3(1+ν) / (2(2−3ν)) (Belomestnykh & Tesleva 2004).

    Args:
        nu: Poisson's ratio (scalar or array), −1 < ν < 0.5.

    Returns:
        γ, dimensionless, with the shape of ``nu``.
    """
    values = check_poisson_ratio(nu)
    gamma = 3.0 * (1.0 + values) / (2.0 * (2.0 - 3.0 * values))
    return float(gamma) if gamma.ndim == 0 else gamma


def expansion_bound_factor(nu: ArrayLike, prefactor: float = LECTURE_PREFACTOR) -> float | np.ndarray:
    """f(ν) = prefactor · (1+ν)(1−2ν)/(2−3ν) in the bound α_L E ≤ f(ν) c_V ρ.

    Args:
        nu: Poisson's ratio (scalar or array), −1 < ν < 0.5.
        prefactor: 2 for the lecture's bound, 3/2 for the Belomestnykh–Tesleva γ.

    Returns:
        f(ν), dimensionless, with the shape of ``nu``.
    """
    if not (math.isfinite(prefactor) and prefactor > 0):
        raise PropertyError(f"bound prefactor must be finite and positive, got {prefactor}")
    values = check_poisson_ratio(nu)
    f = prefactor * (1.0 + values) * (1.0 - 2.0 * values) / (2.0 - 3.0 * values)
    return float(f) if f.ndim == 0 else f


def bound_maximum(prefactor: float = LECTURE_PREFACTOR) -> tuple[float, float]:
    """(ν*, f(ν*)): where the bound factor peaks and its value there, in closed form.

    df/dν = 0 ⇔ 6ν² − 8ν + 1 = 0 ⇒ ν* = (4 − √10)/6 and f(ν*) = prefactor · (11 − 2√10)/9.
    """
    return NU_STAR, prefactor * (11.0 - 2.0 * math.sqrt(10.0)) / 9.0
