"""Debye heat capacity and the Debye–Grüneisen thermal expansion from isotropic moduli.

A Debye solid with Debye temperature θ_D (Anderson 1963, from K, G and the density, via
:mod:`ase_mlmat.properties.moduli`) has, per unit mass,

    c_V(T) = (9 k_B / m̄) (T/θ_D)³ ∫₀^{θ_D/T} x⁴ eˣ / (eˣ − 1)² dx,

with m̄ the mean atomic mass: c_V → 3 k_B / m̄ = 3R/M at high T and (12π⁴/5)(k_B/m̄)(T/θ_D)³ at low T.
The Grüneisen relation α_V = γ ρ c_V / K then gives α_L(T) = γ ρ c_V(T) / (3K) (K in Pa), with γ from
Poisson's ratio (Belomestnykh & Tesleva) unless given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from ase import Atoms
from numpy.typing import ArrayLike
from scipy.constants import Boltzmann, atomic_mass
from scipy.integrate import quad

from ase_mlmat.properties import PropertyError, PropertyResult
from ase_mlmat.properties.moduli import (
    check_moduli,
    debye_temperature,
    density_and_number_density,
    poisson_ratio,
    sound_velocities,
    youngs_modulus,
)

from .gruneisen import gruneisen_from_poisson

GPA = 1e9  # Pa
DEFAULT_TEMPERATURES_K = np.arange(0.0, 1001.0, 10.0)
_X_MAX = 200.0  # x⁴eˣ/(eˣ−1)² < 1e-77 beyond: the integral has converged to 4π⁴/15


def _debye_integrand(x: float) -> float:
    if x < 1e-8:
        return x * x  # x⁴eˣ/(eˣ−1)² → x² as x → 0
    return x**4 * math.exp(-x) / (-math.expm1(-x)) ** 2


def debye_heat_capacity_fraction(temperatures_K: ArrayLike, debye_temperature_K: float) -> np.ndarray:
    """c_V / (3 N k_B) of a Debye solid: 0 at T = 0, → 1 at T ≫ θ_D.

    Args:
        temperatures_K: temperatures (K), ≥ 0; any shape.
        debye_temperature_K: θ_D (K), > 0.

    Returns:
        Array with the shape of ``temperatures_K``.
    """
    if not (math.isfinite(debye_temperature_K) and debye_temperature_K > 0):
        raise PropertyError(f"Debye temperature must be finite and positive, got {debye_temperature_K}")
    T = np.asarray(temperatures_K, dtype=float)
    if not np.all(np.isfinite(T)) or np.any(T < 0):
        raise PropertyError("temperatures must be finite and ≥ 0 K")
    out = np.zeros(T.shape)
    for index, t in np.ndenumerate(T):
        if t == 0.0:
            continue
        x_D = debye_temperature_K / t
        integral, _ = quad(_debye_integrand, 0.0, min(x_D, _X_MAX), limit=200)
        out[index] = 3.0 * integral / x_D**3  # = 9 (T/θ)³ ∫ … / 3
    return out


def debye_heat_capacity(
    temperatures_K: ArrayLike, debye_temperature_K: float, mean_atomic_mass_amu: float
) -> np.ndarray:
    """Debye c_V per unit mass (J kg⁻¹ K⁻¹); → 3R/M at high T.

    Args:
        temperatures_K: temperatures (K), ≥ 0; any shape.
        debye_temperature_K: θ_D (K).
        mean_atomic_mass_amu: mass per atom averaged over the structure (u).
    """
    if not (math.isfinite(mean_atomic_mass_amu) and mean_atomic_mass_amu > 0):
        raise PropertyError(f"mean atomic mass must be finite and positive, got {mean_atomic_mass_amu}")
    dulong_petit = 3.0 * Boltzmann / (mean_atomic_mass_amu * atomic_mass)  # J/(kg K)
    return dulong_petit * debye_heat_capacity_fraction(temperatures_K, debye_temperature_K)


@dataclass(frozen=True)
class DebyeSolid(PropertyResult):
    """The isotropic Debye solid a structure and its moduli define."""

    bulk_modulus_GPa: float
    shear_modulus_GPa: float
    youngs_modulus_GPa: float
    poisson_ratio: float
    density_kg_m3: float
    atoms_per_m3: float
    mean_atomic_mass_amu: float
    mean_sound_velocity_m_s: float
    debye_temperature_K: float

    def heat_capacity(self, temperatures_K: ArrayLike) -> np.ndarray:
        """c_V per unit mass (J kg⁻¹ K⁻¹) at ``temperatures_K``."""
        return debye_heat_capacity(temperatures_K, self.debye_temperature_K, self.mean_atomic_mass_amu)


def debye_solid(atoms: Atoms, bulk_modulus_GPa: float, shear_modulus_GPa: float) -> DebyeSolid:
    """Density, θ_D and the derived moduli of ``atoms`` with isotropic moduli K, G (GPa)."""
    check_moduli(bulk_modulus_GPa, shear_modulus_GPa)
    K, G = float(bulk_modulus_GPa), float(shear_modulus_GPa)
    density, number_density = density_and_number_density(atoms)
    _, _, v_m = sound_velocities(K, G, density)
    return DebyeSolid(
        bulk_modulus_GPa=K,
        shear_modulus_GPa=G,
        youngs_modulus_GPa=youngs_modulus(K, G),
        poisson_ratio=poisson_ratio(K, G),
        density_kg_m3=density,
        atoms_per_m3=number_density,
        mean_atomic_mass_amu=float(atoms.get_masses().mean()),
        mean_sound_velocity_m_s=v_m,
        debye_temperature_K=debye_temperature(v_m, number_density),
    )


@dataclass(frozen=True)
class DebyeGruneisenResult(PropertyResult):
    """α_L(T) = γ ρ c_V(T) / (3K) of a Debye solid."""

    solid: DebyeSolid
    gruneisen: float
    gruneisen_source: str  # "poisson" (Belomestnykh–Tesleva) or "given"
    alpha_300K_per_K: float
    heat_capacity_300K_J_per_kgK: float
    temperatures_K: np.ndarray  # (n_T,)
    heat_capacity_J_per_kgK: np.ndarray  # (n_T,) c_V per unit mass
    alpha_linear_per_K: np.ndarray  # (n_T,)


def debye_gruneisen_alpha(
    heat_capacity_J_per_kgK: ArrayLike, density_kg_m3: float, bulk_modulus_GPa: float, gruneisen: float
) -> np.ndarray:
    """α_L = γ ρ c_V / (3K), in 1/K (K converted from GPa to Pa)."""
    return gruneisen * density_kg_m3 * np.asarray(heat_capacity_J_per_kgK, dtype=float) / (3.0 * bulk_modulus_GPa * GPA)


def debye_gruneisen_expansion(
    atoms: Atoms,
    bulk_modulus_GPa: float,
    shear_modulus_GPa: float,
    *,
    gruneisen: float | None = None,
    temperatures_K: ArrayLike = DEFAULT_TEMPERATURES_K,
) -> DebyeGruneisenResult:
    """Debye–Grüneisen α_L(T) of ``atoms`` (as given: relax it first) with isotropic moduli K, G.

    Args:
        atoms: periodic structure; its density and atom count give ρ and θ_D.
        bulk_modulus_GPa: K (GPa), > 0.
        shear_modulus_GPa: G (GPa), > 0.
        gruneisen: γ; default γ(ν) = 3(1+ν)/(2(2−3ν)) from ν of K, G.
        temperatures_K: temperature grid (K).

    Returns:
        A :class:`DebyeGruneisenResult`.
    """
    solid = debye_solid(atoms, bulk_modulus_GPa, shear_modulus_GPa)
    if gruneisen is None:
        gamma, source = float(gruneisen_from_poisson(solid.poisson_ratio)), "poisson"
    else:
        gamma, source = float(gruneisen), "given"
        if not math.isfinite(gamma):
            raise PropertyError(f"Grüneisen parameter must be finite, got {gruneisen}")
    T = np.asarray(temperatures_K, dtype=float).ravel()
    c_V = solid.heat_capacity(T)
    c_V_300 = float(solid.heat_capacity(300.0))
    alpha = debye_gruneisen_alpha(c_V, solid.density_kg_m3, solid.bulk_modulus_GPa, gamma)
    return DebyeGruneisenResult(
        solid=solid,
        gruneisen=gamma,
        gruneisen_source=source,
        alpha_300K_per_K=float(debye_gruneisen_alpha(c_V_300, solid.density_kg_m3, solid.bulk_modulus_GPa, gamma)),
        heat_capacity_300K_J_per_kgK=c_V_300,
        temperatures_K=T,
        heat_capacity_J_per_kgK=c_V,
        alpha_linear_per_K=alpha,
    )
