"""The fast-tier row of one structure: ML moduli, what the core derives from them, and the plugins' columns.

K, G (GPa, with ensemble spread) → Young's modulus E, Poisson's ratio ν, density, Debye temperature θ_D
(K) in the core; then every installed predictor that derives a property from moduli (the registry's
``consumes_moduli`` predictors, e.g. hardness and thermal expansion) adds its headline columns. Row keys
are valid ase.db keys (no element symbols such as ``K``). Failures are :class:`PredictionFailure` rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ase import Atoms

from ...properties import PredictionFailure, PropertyPredictor
from ...properties.moduli import (
    debye_temperature,
    density_and_number_density,
    poisson_ratio,
    sound_velocities,
    youngs_modulus,
)
from ...properties.moduli_source import ModuliSource, moduli_of


def failure_row(err: BaseException, stage: str) -> dict[str, Any]:
    """Row of a structure that failed at ``stage`` ("read", "ml", a predictor's name…)."""
    return PredictionFailure.from_exception(err, stage=stage).as_row()


def core_columns(atoms: Atoms, moduli: ModuliSource) -> dict[str, Any]:
    """E, ν (GPa, –), volume per atom (Å³), density (kg/m³) and Debye temperature (K) from K, G."""
    K, G = moduli_of(moduli)
    density, atoms_per_m3 = density_and_number_density(atoms)
    return {
        "youngs_modulus_GPa": youngs_modulus(K, G),
        "poisson_ratio": poisson_ratio(K, G),
        "volume_per_atom_A3": atoms.get_volume() / len(atoms),
        "density_kg_m3": density,
        "debye_temperature_K": debye_temperature(sound_velocities(K, G, density)[2], atoms_per_m3),
    }


def derived_columns(atoms: Atoms, moduli: ModuliSource, consumers: Mapping[str, PropertyPredictor]) -> dict[str, Any]:
    """The core's columns, then each consumer's headline columns; the first failure ends the row as failed."""
    try:
        row = core_columns(atoms, moduli)
    except Exception as err:  # moduli are kept; the row says what could not be derived
        return failure_row(err, "derived")
    for name, predictor in consumers.items():
        try:
            row.update(predictor.predict_from_moduli(atoms, moduli).summary_row())
        except Exception as err:
            return {**row, **failure_row(err, name)}
    return row


def fast_row(atoms: Atoms, prediction: ModuliSource, consumers: Mapping[str, PropertyPredictor]) -> dict[str, Any]:
    """Moduli and everything derived from them for one structure (units in the column names)."""
    return {"ok": True, "tier": "ml", **prediction.as_row(), **derived_columns(atoms, prediction, consumers)}
