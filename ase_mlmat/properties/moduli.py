"""Isotropic moduli, stability and Debye temperature from an elastic tensor.

Voigt–Reuss–Hill averages (Hill, Proc. Phys. Soc. A 1952), Born stability as positive definiteness
(Mouhat & Coudert, Phys. Rev. B 2014), θ_D from the mean sound velocity (Anderson, J. Phys. Chem.
Solids 1963); formulas in docs/physics.md.

Everything in GPa, m/s, kg/m³, K. The Voigt 6×6 convention uses engineering shear strain,
so C44 is the shear modulus of a cubic crystal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.constants import Boltzmann, hbar

from .base import PropertyError, PropertyResult

GPA = 1e9  # Pa


@dataclass(frozen=True)
class IsotropicModuli(PropertyResult):
    """Voigt, Reuss and Hill averages and the moduli derived from the Hill pair."""

    bulk_modulus_voigt_GPa: float
    bulk_modulus_reuss_GPa: float
    bulk_modulus_GPa: float  # Hill
    shear_modulus_voigt_GPa: float
    shear_modulus_reuss_GPa: float
    shear_modulus_GPa: float  # Hill
    youngs_modulus_GPa: float
    poisson_ratio: float
    universal_anisotropy: float


def check_tensor(C: np.ndarray) -> np.ndarray:
    """A finite, symmetric 6×6 array (symmetrised), or PropertyError."""
    C = np.asarray(C, dtype=float)
    if C.shape != (6, 6):
        raise PropertyError(f"an elastic tensor must be 6×6 in Voigt notation, got shape {C.shape}")
    if not np.all(np.isfinite(C)):
        raise PropertyError("elastic tensor has non-finite entries")
    return 0.5 * (C + C.T)


def born_stability(C: np.ndarray) -> tuple[bool, np.ndarray]:
    """(stable, eigenvalues in GPa): stable iff C is positive definite (Mouhat & Coudert 2014)."""
    eigenvalues = np.linalg.eigvalsh(check_tensor(C))
    return bool(eigenvalues.min() > 0), eigenvalues


def youngs_modulus(K: float, G: float) -> float:
    """E = 9KG / (3K + G)."""
    return 9.0 * K * G / (3.0 * K + G)


def poisson_ratio(K: float, G: float) -> float:
    """ν = (3K − 2G) / (2(3K + G))."""
    return (3.0 * K - 2.0 * G) / (2.0 * (3.0 * K + G))


def check_moduli(K: float, G: float) -> None:
    """PropertyError unless K, G are finite and positive (so that −1 < ν < 0.5)."""
    if not (np.isfinite(K) and np.isfinite(G)):
        raise PropertyError(f"moduli must be finite, got K={K}, G={G}")
    if K <= 0 or G <= 0:
        raise PropertyError(f"moduli must be positive for a stable solid, got K={K} GPa, G={G} GPa")


def isotropic_moduli(C: np.ndarray) -> IsotropicModuli:
    """Voigt–Reuss–Hill averages of a 6×6 tensor (GPa); PropertyError if C is not positive definite."""
    C = check_tensor(C)
    stable, eigenvalues = born_stability(C)
    if not stable:
        raise PropertyError(
            f"mechanically unstable elastic tensor: smallest eigenvalue {eigenvalues.min():.3g} GPa ≤ 0"
        )
    S = np.linalg.inv(C)
    K_V = (C[0, 0] + C[1, 1] + C[2, 2] + 2.0 * (C[0, 1] + C[1, 2] + C[0, 2])) / 9.0
    G_V = (C[0, 0] + C[1, 1] + C[2, 2] - (C[0, 1] + C[1, 2] + C[0, 2]) + 3.0 * (C[3, 3] + C[4, 4] + C[5, 5])) / 15.0
    K_R = 1.0 / (S[0, 0] + S[1, 1] + S[2, 2] + 2.0 * (S[0, 1] + S[1, 2] + S[0, 2]))
    G_R = 15.0 / (
        4.0 * (S[0, 0] + S[1, 1] + S[2, 2]) - 4.0 * (S[0, 1] + S[1, 2] + S[0, 2]) + 3.0 * (S[3, 3] + S[4, 4] + S[5, 5])
    )
    K, G = 0.5 * (K_V + K_R), 0.5 * (G_V + G_R)
    return IsotropicModuli(
        bulk_modulus_voigt_GPa=K_V,
        bulk_modulus_reuss_GPa=K_R,
        bulk_modulus_GPa=K,
        shear_modulus_voigt_GPa=G_V,
        shear_modulus_reuss_GPa=G_R,
        shear_modulus_GPa=G,
        youngs_modulus_GPa=youngs_modulus(K, G),
        poisson_ratio=poisson_ratio(K, G),
        universal_anisotropy=5.0 * G_V / G_R + K_V / K_R - 6.0,
    )


def sound_velocities(K_GPa: float, G_GPa: float, density_kg_m3: float) -> tuple[float, float, float]:
    """Longitudinal, transverse and mean (Anderson) sound velocities in m/s."""
    check_moduli(K_GPa, G_GPa)
    v_l = np.sqrt((K_GPa + 4.0 * G_GPa / 3.0) * GPA / density_kg_m3)
    v_t = np.sqrt(G_GPa * GPA / density_kg_m3)
    v_m = ((2.0 / v_t**3 + 1.0 / v_l**3) / 3.0) ** (-1.0 / 3.0)
    return float(v_l), float(v_t), float(v_m)


def debye_temperature(mean_sound_velocity_m_s: float, atoms_per_m3: float) -> float:
    """θ_D = (ħ/k_B) v_m (6π² n)^(1/3), Anderson (1963), in K."""
    return float(hbar / Boltzmann * mean_sound_velocity_m_s * (6.0 * np.pi**2 * atoms_per_m3) ** (1.0 / 3.0))


def density_and_number_density(atoms) -> tuple[float, float]:
    """(mass density kg/m³, atoms per m³) of a periodic structure."""
    from scipy.constants import atomic_mass

    volume_m3 = atoms.get_volume() * 1e-30
    if volume_m3 <= 0:
        raise PropertyError("structure has no cell volume")
    return float(atoms.get_masses().sum() * atomic_mass / volume_m3), len(atoms) / volume_m3
