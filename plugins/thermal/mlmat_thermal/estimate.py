"""The cheap tier: Debye–Grüneisen α_L at one temperature and where it sits relative to the bound.

With γ from Poisson's ratio (Belomestnykh & Tesleva) the Debye–Grüneisen α_L is exactly the
prefactor-3/2 "bound", so its ratio to the lecture's prefactor-2 bound is always 3/4; the ratio says
more for a given γ, and :func:`~mlmat_thermal.bound.bound_position` places any measured α_L.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ase import Atoms

from ase_mlmat.properties import PropertyError, PropertyResult

from .bound import BoundPosition, bound_position
from .debye import DebyeSolid, debye_gruneisen_alpha, debye_solid
from .gruneisen import LECTURE_PREFACTOR, gruneisen_from_poisson


@dataclass(frozen=True)
class ExpansionEstimate(PropertyResult):
    """Debye–Grüneisen α_L at ``temperature_K`` with the bound it is compared to."""

    temperature_K: float
    alpha_linear_per_K: float
    gruneisen: float
    gruneisen_source: str  # "poisson" or "given"
    heat_capacity_J_per_kgK: float  # Debye c_V at temperature_K
    solid: DebyeSolid
    bound: BoundPosition


def expansion_estimate(
    atoms: Atoms,
    bulk_modulus_GPa: float,
    shear_modulus_GPa: float,
    *,
    temperature_K: float = 300.0,
    gruneisen: float | None = None,
    bound_prefactor: float = LECTURE_PREFACTOR,
) -> ExpansionEstimate:
    """Debye–Grüneisen α_L(T) at one temperature and its position relative to the bound.

    Args:
        atoms: periodic structure (as given; relax it first).
        bulk_modulus_GPa: K (GPa).
        shear_modulus_GPa: G (GPa).
        temperature_K: T (K) of the estimate.
        gruneisen: γ; default from ν (Belomestnykh & Tesleva).
        bound_prefactor: 2 (lecture) or 1.5 (Belomestnykh–Tesleva).
    """
    if not (math.isfinite(temperature_K) and temperature_K > 0):
        raise PropertyError(f"temperature must be finite and positive, got {temperature_K}")
    solid = debye_solid(atoms, bulk_modulus_GPa, shear_modulus_GPa)
    source = "poisson" if gruneisen is None else "given"
    gamma = float(gruneisen_from_poisson(solid.poisson_ratio) if gruneisen is None else gruneisen)
    if not math.isfinite(gamma):
        raise PropertyError(f"Grüneisen parameter must be finite, got {gruneisen}")
    c_V = float(solid.heat_capacity(temperature_K))
    alpha = float(debye_gruneisen_alpha(c_V, solid.density_kg_m3, solid.bulk_modulus_GPa, gamma))
    position = bound_position(
        alpha, solid.youngs_modulus_GPa, solid.poisson_ratio, c_V, solid.density_kg_m3, prefactor=bound_prefactor
    )
    return ExpansionEstimate(
        temperature_K=float(temperature_K),
        alpha_linear_per_K=alpha,
        gruneisen=gamma,
        gruneisen_source=source,
        heat_capacity_J_per_kgK=c_V,
        solid=solid,
        bound=position,
    )
