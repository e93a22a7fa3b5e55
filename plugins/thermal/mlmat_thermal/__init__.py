"""Thermal expansion for ase-mlmat, in three tiers of cost and accuracy (docs/physics.md, "Thermal expansion").

* bound — Debye–Grüneisen α_L at 300 K from K, G and the density, placed against the bound
  α_L E ≤ f(ν) c_V ρ (:mod:`.gruneisen`, :mod:`.bound`, :mod:`.estimate`);
* debye — Debye–Grüneisen α_L(T) = γ ρ c_V(T) / (3K) (:mod:`.debye`);
* qha — quasi-harmonic phonons with phonopy over a volume scan (:mod:`.qha`).

:class:`ThermalExpansionPredictor` is the ``thermal_expansion`` entry in the ``ase_mlmat.properties``
group (``tier="auto"``: QHA when a calculator is given); it derives α from any moduli source
(:meth:`~ThermalExpansionPredictor.predict_from_moduli`), so ``mlmat screen`` adds its columns to the fast
tier and runs its QHA tier for the best structures. :func:`plot_alpha` plots α(T).
"""

from __future__ import annotations

from .bound import BoundPosition, alpha_upper_bound, bound_position
from .debye import (
    DebyeGruneisenResult,
    DebyeSolid,
    debye_gruneisen_expansion,
    debye_heat_capacity,
    debye_heat_capacity_fraction,
    debye_solid,
)
from .estimate import ExpansionEstimate, expansion_estimate
from .gruneisen import (
    BELOMESTNYKH_TESLEVA_PREFACTOR,
    LECTURE_PREFACTOR,
    NU_STAR,
    bound_maximum,
    expansion_bound_factor,
    gruneisen_from_poisson,
)
from .moduli_source import moduli_from, resolve_moduli
from .plot import plot_alpha
from .predictor import ThermalExpansionPredictor, ThermalExpansionResult
from .qha import ImaginaryModeWarning, QuasiHarmonicResult, quasi_harmonic_expansion

__version__ = "0.1.0"

__all__ = [
    "BELOMESTNYKH_TESLEVA_PREFACTOR",
    "LECTURE_PREFACTOR",
    "NU_STAR",
    "BoundPosition",
    "DebyeGruneisenResult",
    "DebyeSolid",
    "ExpansionEstimate",
    "ImaginaryModeWarning",
    "QuasiHarmonicResult",
    "ThermalExpansionPredictor",
    "ThermalExpansionResult",
    "alpha_upper_bound",
    "bound_maximum",
    "bound_position",
    "debye_gruneisen_expansion",
    "debye_heat_capacity",
    "debye_heat_capacity_fraction",
    "debye_solid",
    "expansion_bound_factor",
    "expansion_estimate",
    "gruneisen_from_poisson",
    "moduli_from",
    "plot_alpha",
    "quasi_harmonic_expansion",
    "resolve_moduli",
]
