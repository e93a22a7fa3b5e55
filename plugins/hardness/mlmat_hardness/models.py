"""Hardness and fracture-toughness models: pure functions of the isotropic moduli.

* Mazhnik & Oganov, J. Appl. Phys. 126, 125109 (2019):
  H_v = γ0 χ(ν) E and K_IC = α0^(−1/2) V0^(1/6) [ξ(ν) E]^(3/2), γ0 = 0.096, α0 = 8840 GPa, V0 the volume
  per atom. With V0 in Å³ and E in GPa, GPa·Å^½ = 1e4 Pa·m^½ = 1e-2 MPa·m^½.
* Chen et al., Intermetallics 19, 1275 (2011): H_v = 2 (k² G)^0.585 − 3, k = G/K (negative for ductile solids).
* Tian et al., Int. J. Refract. Met. Hard Mater. 33, 93 (2012): H_v = 0.92 k^1.137 G^0.708.

Every function raises :class:`PropertyError` for input no stable isotropic solid has: non-finite
values, moduli or volumes ≤ 0, or ν outside (−1, 0.5).
"""

from __future__ import annotations

import math

from ase_mlmat.properties import PropertyError

GAMMA0 = 0.096  # Mazhnik–Oganov hardness prefactor (dimensionless)
ALPHA0_GPa = 8840.0  # Mazhnik–Oganov toughness constant, GPa
GPa_A05_TO_MPa_m05 = 1e-2  # 1 GPa·Å^½ = 1e9 Pa · 1e-5 m^½ = 1e-2 MPa·m^½


def _positive(name: str, value: float) -> float:
    value = float(value)
    if not math.isfinite(value):
        raise PropertyError(f"{name} must be finite, got {value}")
    if value <= 0.0:
        raise PropertyError(f"{name} must be positive, got {value}")
    return value


def _poisson(nu: float) -> float:
    nu = float(nu)
    if not math.isfinite(nu):
        raise PropertyError(f"Poisson's ratio must be finite, got {nu}")
    if not -1.0 < nu < 0.5:
        raise PropertyError(f"Poisson's ratio must lie in (−1, 0.5) for a stable isotropic solid, got {nu}")
    return nu


def chi(nu: float) -> float:
    """χ(ν) = (1 − 8.5ν + 19.5ν²) / (1 − 7.5ν + 12.2ν² + 19.6ν³), the hardness factor (χ(0) = 1)."""
    nu = _poisson(nu)
    return (1.0 - 8.5 * nu + 19.5 * nu**2) / (1.0 - 7.5 * nu + 12.2 * nu**2 + 19.6 * nu**3)


def xi(nu: float) -> float:
    """ξ(ν) = (1 − 13.7ν + 48.6ν²) / (1 − 15.2ν + 70.2ν² − 81.5ν³), the toughness factor (ξ(0) = 1)."""
    nu = _poisson(nu)
    return (1.0 - 13.7 * nu + 48.6 * nu**2) / (1.0 - 15.2 * nu + 70.2 * nu**2 - 81.5 * nu**3)


def mazhnik_oganov_hardness_GPa(E_GPa: float, nu: float) -> float:
    """Vickers hardness H_v = γ0 χ(ν) E in GPa.

    Args:
        E_GPa: Young's modulus, GPa.
        nu: Poisson's ratio.
    """
    return GAMMA0 * chi(nu) * _positive("Young's modulus E_GPa", E_GPa)


def mazhnik_oganov_toughness_MPa_m05(E_GPa: float, nu: float, volume_per_atom_A3: float) -> float:
    """Fracture toughness K_IC = α0^(−1/2) V0^(1/6) (ξ(ν) E)^(3/2) in MPa·m^½.

    Args:
        E_GPa: Young's modulus, GPa.
        nu: Poisson's ratio.
        volume_per_atom_A3: V0, volume per atom in Å³.
    """
    E = _positive("Young's modulus E_GPa", E_GPa)
    V0 = _positive("volume_per_atom_A3", volume_per_atom_A3)
    return GPa_A05_TO_MPa_m05 * ALPHA0_GPa**-0.5 * V0 ** (1.0 / 6.0) * (xi(nu) * E) ** 1.5


def chen_hardness_GPa(K_GPa: float, G_GPa: float) -> float:
    """Chen et al. (2011) H_v = 2 (k² G)^0.585 − 3 in GPa, k = G/K; negative for ductile solids.

    Args:
        K_GPa: bulk modulus, GPa.
        G_GPa: shear modulus, GPa.
    """
    K, G = _positive("bulk modulus K_GPa", K_GPa), _positive("shear modulus G_GPa", G_GPa)
    return 2.0 * ((G / K) ** 2 * G) ** 0.585 - 3.0


def tian_hardness_GPa(K_GPa: float, G_GPa: float) -> float:
    """Tian et al. (2012) H_v = 0.92 k^1.137 G^0.708 in GPa, k = G/K.

    Args:
        K_GPa: bulk modulus, GPa.
        G_GPa: shear modulus, GPa.
    """
    K, G = _positive("bulk modulus K_GPa", K_GPa), _positive("shear modulus G_GPa", G_GPa)
    return 0.92 * (G / K) ** 1.137 * G**0.708
