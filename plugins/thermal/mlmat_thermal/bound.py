"""Where a material sits relative to the bound α_L E ≤ f(ν) c_V ρ.

Units: α_L in 1/K, E in GPa (converted to Pa), c_V in J kg⁻¹ K⁻¹, ρ in kg/m³; then
α_L E [Pa/K = J m⁻³ K⁻¹] and c_V ρ [J m⁻³ K⁻¹] agree and their ratio is dimensionless.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ase_mlmat.properties import PropertyError, PropertyResult

from .gruneisen import LECTURE_PREFACTOR, bound_maximum, expansion_bound_factor

GPA = 1e9  # Pa


@dataclass(frozen=True)
class BoundPosition(PropertyResult):
    """Position of α_L relative to the bound; ``ratio`` ≤ 1 means the bound holds."""

    alpha_linear_per_K: float
    ratio_to_bound: float  # α_L E / (f(ν) c_V ρ)
    alpha_bound_per_K: float  # f(ν) c_V ρ / E, the largest α_L the bound allows
    bound_prefactor: float  # 2: lecture; 1.5: Belomestnykh–Tesleva γ
    bound_factor: float  # f(ν) of this material
    bound_factor_max: float  # f(ν*), the largest f of any ν
    poisson_ratio: float
    youngs_modulus_GPa: float
    heat_capacity_J_per_kgK: float
    density_kg_m3: float
    within_bound: bool


def _positive(name: str, value: float) -> float:
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise PropertyError(f"{name} must be finite and positive, got {value}")
    return value


def alpha_upper_bound(
    youngs_modulus_GPa: float,
    poisson_ratio: float,
    heat_capacity_J_per_kgK: float,
    density_kg_m3: float,
    *,
    prefactor: float = LECTURE_PREFACTOR,
) -> float:
    """Largest linear expansion the bound allows, α_L ≤ f(ν) c_V ρ / E, in 1/K."""
    E = _positive("Young's modulus (GPa)", youngs_modulus_GPa) * GPA
    c_V = _positive("heat capacity (J/kg/K)", heat_capacity_J_per_kgK)
    rho = _positive("density (kg/m³)", density_kg_m3)
    return float(expansion_bound_factor(poisson_ratio, prefactor) * c_V * rho / E)


def bound_position(
    alpha_linear_per_K: float,
    youngs_modulus_GPa: float,
    poisson_ratio: float,
    heat_capacity_J_per_kgK: float,
    density_kg_m3: float,
    *,
    prefactor: float = LECTURE_PREFACTOR,
) -> BoundPosition:
    """Ratio α_L E / (f(ν) c_V ρ) for a measured or predicted α_L, with the bound that was used.

    Args:
        alpha_linear_per_K: linear thermal expansion α_L (1/K); may be negative.
        youngs_modulus_GPa: Young's modulus E (GPa).
        poisson_ratio: ν, −1 < ν < 0.5.
        heat_capacity_J_per_kgK: c_V per unit mass at the temperature of α_L (J kg⁻¹ K⁻¹).
        density_kg_m3: ρ (kg/m³).
        prefactor: 2 (lecture) or 1.5 (Belomestnykh–Tesleva γ).

    Returns:
        A :class:`BoundPosition`; ``ratio_to_bound`` > 1 means the material breaks this bound.
    """
    alpha = float(alpha_linear_per_K)
    if not math.isfinite(alpha):
        raise PropertyError(f"thermal expansion must be finite, got {alpha}")
    alpha_bound = alpha_upper_bound(
        youngs_modulus_GPa, poisson_ratio, heat_capacity_J_per_kgK, density_kg_m3, prefactor=prefactor
    )
    ratio = alpha / alpha_bound
    return BoundPosition(
        alpha_linear_per_K=alpha,
        ratio_to_bound=ratio,
        alpha_bound_per_K=alpha_bound,
        bound_prefactor=float(prefactor),
        bound_factor=float(expansion_bound_factor(poisson_ratio, prefactor)),
        bound_factor_max=bound_maximum(prefactor)[1],
        poisson_ratio=float(poisson_ratio),
        youngs_modulus_GPa=float(youngs_modulus_GPa),
        heat_capacity_J_per_kgK=float(heat_capacity_J_per_kgK),
        density_kg_m3=float(density_kg_m3),
        within_bound=bool(ratio <= 1.0),
    )
