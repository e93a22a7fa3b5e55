"""The fast-tier row of one structure: ML moduli and everything that follows from them.

K, G (GPa, with ensemble spread) → Young's modulus E and Poisson's ratio ν → Mazhnik–Oganov hardness
H_v (GPa) and toughness K_IC (MPa·m^½) from the hardness plugin → Debye temperature θ_D (K), the
Debye–Grüneisen α_L at 300 K and the thermal-expansion bound f(ν) c_V ρ / E (1/K) from the thermal plugin.
Row keys are valid ase.db keys (no element symbols such as ``K``).
"""

from __future__ import annotations

from typing import Any

from ase import Atoms

from ...properties.ml_moduli import ModuliPrediction


def require_plugins() -> None:
    """ImportError with the install command if the hardness or thermal plugin is missing."""
    try:
        import mlmat_hardness  # noqa: F401
        import mlmat_thermal  # noqa: F401
    except ImportError as err:
        raise ImportError(
            f"screening derives hardness and thermal expansion with the plugins ({err}); install them with "
            "pip install -e plugins/elastic -e plugins/hardness -e plugins/thermal"
        ) from None


def failure_row(err: Exception, stage: str) -> dict[str, Any]:
    """Row of a structure that failed at ``stage`` ("read", "ml" or "derived")."""
    return {"ok": False, "failed_stage": stage, "error_type": type(err).__name__, "error": str(err)[:500]}


def fast_row(atoms: Atoms, prediction: ModuliPrediction) -> dict[str, Any]:
    """Moduli, hardness, toughness, θ_D and thermal-expansion columns of one structure (units in names)."""
    from mlmat_hardness import hardness_from_moduli
    from mlmat_thermal import expansion_estimate

    K, G = prediction.bulk_modulus_GPa, prediction.shear_modulus_GPa
    row: dict[str, Any] = {"ok": True, "tier": "ml", **prediction.as_row()}
    try:
        hardness = hardness_from_moduli(
            K, G, atoms.get_volume() / len(atoms), elements=atoms.get_chemical_symbols(), moduli_source="ml"
        )
        estimate = expansion_estimate(atoms, K, G)
    except Exception as err:  # moduli are kept; the row says what could not be derived
        return {**row, **failure_row(err, "derived")}
    row.update(
        youngs_modulus_GPa=hardness.youngs_modulus_GPa,
        poisson_ratio=hardness.poisson_ratio,
        vickers_hardness_GPa=hardness.vickers_hardness_GPa,
        fracture_toughness_MPa_m05=hardness.fracture_toughness_MPa_m05,
        superhard=hardness.superhard,
        metallic=bool(hardness.metallic),
        hardness_reliable=hardness.reliable,
        volume_per_atom_A3=hardness.volume_per_atom_A3,
        density_kg_m3=estimate.solid.density_kg_m3,
        debye_temperature_K=estimate.solid.debye_temperature_K,
        alpha_300K_per_K=estimate.alpha_linear_per_K,
        alpha_bound_per_K=estimate.bound.alpha_bound_per_K,
    )
    return row
