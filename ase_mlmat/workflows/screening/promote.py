"""Promotion to the slower tiers: finite-strain elastic tensor for the top N, quasi-harmonic α for the top M.

Ranking is by one column of the fast tier (default: Vickers hardness, largest first). The top N rows
get the elastic tier (:class:`mlmat_elastic.ElasticPredictor` with the given calculator) and, from its
moduli, hardness and toughness again; of those with a stable tensor, the top M get the quasi-harmonic
thermal expansion (:func:`mlmat_thermal.quasi_harmonic_expansion`). Results go into the same rows
(``elastic_*``, ``qha_*`` columns, ``tier``); rows already promoted are not recomputed, so a rerun resumes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tqdm.auto import tqdm

from .rows import failure_row
from .store import clean_pairs


@dataclass(frozen=True)
class PromotionSummary:
    elastic_done: int  # computed in this call
    elastic_failed: int
    qha_done: int
    qha_failed: int


def ranked_rows(db, rank_by: str, descending: bool = True) -> list:
    """ok rows that have ``rank_by``, best first."""
    rows = [row for row in db.select("ok=True", include_data=False) if row.get(rank_by) is not None]
    return sorted(rows, key=lambda row: row.get(rank_by), reverse=descending)


def _prefixed(row: dict[str, Any], prefix: str) -> dict[str, Any]:
    return {prefix + key: value for key, value in row.items()}


def elastic_columns(atoms, calculator, options: Mapping[str, Any]) -> dict[str, Any]:
    """``elastic_*`` columns: moduli from the tensor and the hardness that follows, or the failure."""
    from mlmat_elastic import ElasticPredictor
    from mlmat_hardness import hardness_from_moduli

    try:
        result = ElasticPredictor(**dict(options)).predict(atoms, calculator)
        if not result.born_stable:
            return {"elastic_ok": False, "elastic_born_stable": False, "elastic_error": result.warnings[:500]}
        hardness = hardness_from_moduli(
            result.bulk_modulus_GPa,
            result.shear_modulus_GPa,
            result.volume_per_atom_A3,
            elements=atoms.get_chemical_symbols(),
            moduli_source="elastic",
        )
    except Exception as err:  # one structure's failure does not stop the tier
        return {"elastic_ok": False, **_prefixed(failure_row(err, "elastic"), "elastic_")}
    return {
        "elastic_ok": True,
        "elastic_born_stable": True,
        "elastic_bulk_modulus_GPa": hardness.bulk_modulus_GPa,
        "elastic_shear_modulus_GPa": hardness.shear_modulus_GPa,
        "elastic_vickers_hardness_GPa": hardness.vickers_hardness_GPa,
        "elastic_fracture_toughness_MPa_m05": hardness.fracture_toughness_MPa_m05,
        "elastic_debye_temperature_K": result.debye_temperature_K,
    }


def qha_columns(atoms, calculator, options: Mapping[str, Any]) -> dict[str, Any]:
    """``qha_*`` columns: quasi-harmonic α_L at 300 K, or the failure."""
    from mlmat_thermal import quasi_harmonic_expansion

    try:
        result = quasi_harmonic_expansion(atoms, calculator, **dict(options))
    except Exception as err:
        return {"qha_ok": False, **_prefixed(failure_row(err, "qha"), "qha_")}
    return {
        "qha_ok": True,
        "qha_alpha_300K_per_K": result.alpha_300K_per_K,
        "qha_has_imaginary_modes": bool(result.has_imaginary_modes),
    }


def promote(
    db,
    calculator,
    *,
    top_elastic: int = 0,
    top_qha: int = 0,
    rank_by: str = "vickers_hardness_GPa",
    descending: bool = True,
    elastic_options: Mapping[str, Any] | None = None,
    qha_options: Mapping[str, Any] | None = None,
    progress: bool = True,
) -> PromotionSummary:
    """Run the elastic tier on the top ``top_elastic`` rows and QHA on the top ``top_qha`` of those.

    Args:
        db: connected screening ase.db.
        calculator: ASE calculator for both tiers (an MLCalculator, EMT, a DFT code).
        rank_by: fast-tier column to rank by.
        elastic_options, qha_options: keyword arguments of the elastic predictor and of the QHA function.
    """
    if top_elastic < 0 or top_qha < 0:
        raise ValueError("top_elastic and top_qha must be >= 0")
    if top_qha > top_elastic:
        raise ValueError(f"top_qha ({top_qha}) cannot exceed top_elastic ({top_elastic}): QHA follows the elastic tier")
    if (top_elastic or top_qha) and calculator is None:
        raise ValueError("promotion to the elastic and QHA tiers needs a calculator")
    ranked = ranked_rows(db, rank_by, descending)[:top_elastic]
    counts = {"elastic_done": 0, "elastic_failed": 0, "qha_done": 0, "qha_failed": 0}
    for row in tqdm(ranked, disable=not progress, desc="elastic tier"):
        if row.get("elastic_ok") is not None:
            continue
        columns = elastic_columns(row.toatoms(), calculator, elastic_options or {})
        counts["elastic_done" if columns["elastic_ok"] else "elastic_failed"] += 1
        db.update(row.id, tier="elastic" if columns["elastic_ok"] else row.get("tier"), **clean_pairs(columns))
    stable = [db.get(id=row.id) for row in ranked]
    stable = [row for row in stable if row.get("elastic_ok")][:top_qha]
    for row in tqdm(stable, disable=not progress, desc="QHA tier"):
        if row.get("qha_ok") is not None:
            continue
        columns = qha_columns(row.toatoms(), calculator, qha_options or {})
        counts["qha_done" if columns["qha_ok"] else "qha_failed"] += 1
        db.update(row.id, tier="qha" if columns["qha_ok"] else row.get("tier"), **clean_pairs(columns))
    return PromotionSummary(**counts)
