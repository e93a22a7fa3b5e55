"""Screening through the tiers in one call: estimate for all → Debye α(T) for the top N → QHA for the top M.

The lecture's hierarchy of accuracy (ML estimate for ~10⁵ structures, Debye–Grüneisen for ~10²,
quasi-harmonic phonons for ~10). Each structure gets one :class:`HierarchyRecord` saying how far it went;
a failure (unphysical moduli, a calculator that raises, imaginary modes with ``on_imaginary="raise"``) is
recorded with the tier where it happened and the run goes on.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from ase import Atoms
from numpy.typing import ArrayLike

from ase_mlmat.properties import PropertyResult

from .debye import DEFAULT_TEMPERATURES_K, DebyeGruneisenResult, debye_gruneisen_expansion
from .estimate import ExpansionEstimate, expansion_estimate
from .gruneisen import LECTURE_PREFACTOR
from .moduli_source import ModuliProvider, resolve_moduli
from .qha import QuasiHarmonicResult, quasi_harmonic_expansion

RANK_KEYS: dict[str, Callable[[ExpansionEstimate], float]] = {
    "alpha_300K": lambda e: e.alpha_linear_per_K,
    "bound_ratio": lambda e: e.bound.ratio_to_bound,
    "alpha_bound": lambda e: e.bound.alpha_bound_per_K,
}


@dataclass(frozen=True)
class HierarchyRecord(PropertyResult):
    """How far one structure went through the tiers, with each tier's result."""

    index: int
    label: str
    tier_reached: str  # "none", "bound", "debye" or "qha"
    rank: int | None  # position by ``rank_by`` (0 first) among structures with an estimate
    alpha_300K_per_K: float  # from the highest tier reached; NaN for "none"
    moduli_source: str | None
    estimate: ExpansionEstimate | None
    debye: DebyeGruneisenResult | None
    qha: QuasiHarmonicResult | None
    failed_tier: str | None  # tier whose computation raised, if any
    error_type: str | None
    error: str | None


def _label(atoms: Atoms) -> str:
    return str(atoms.info.get("label", atoms.get_chemical_formula()))


def _moduli_for(moduli: Any, index: int) -> tuple[Any, ModuliProvider | None]:
    """(explicit moduli, provider) for structure ``index`` from the ``moduli`` argument."""
    if moduli is None:
        return None, None
    if callable(moduli):
        return None, moduli
    return moduli[index], None


def _failed(record: HierarchyRecord, tier: str, err: Exception) -> HierarchyRecord:
    return replace(record, failed_tier=tier, error_type=type(err).__name__, error=str(err))


def thermal_hierarchy(
    structures: Sequence[Atoms],
    calculator=None,
    *,
    moduli: Sequence[Any] | ModuliProvider | None = None,
    top_n_debye: int = 100,
    top_m_qha: int = 10,
    rank_by: str | Callable[[ExpansionEstimate], float] = "alpha_300K",
    descending: bool = True,
    gruneisen: float | None = None,
    bound_prefactor: float = LECTURE_PREFACTOR,
    temperatures_K: ArrayLike = DEFAULT_TEMPERATURES_K,
    qha_options: Mapping[str, Any] | None = None,
) -> list[HierarchyRecord]:
    """Estimate α_L at 300 K for all structures, Debye α(T) for the top N, QHA for the top M.

    Args:
        structures: periodic structures (not modified).
        calculator: ASE calculator for QHA (and for moduli from a provider or the elastic plugin).
        moduli: one entry per structure (``(K_GPa, G_GPa)``, a 6×6 C in GPa, or None to use
            ``atoms.info`` / the elastic plugin), or a provider ``(atoms, calculator) → moduli`` for all.
        top_n_debye: how many of the best-ranked structures get the Debye α(T).
        top_m_qha: how many of those (in rank order, Debye tier completed) get QHA; ≤ top_n_debye.
        rank_by: "alpha_300K" (Debye–Grüneisen α_L at 300 K), "bound_ratio", "alpha_bound", or a
            callable on the :class:`~mlmat_thermal.estimate.ExpansionEstimate`.
        descending: largest value first (True) or smallest first.
        gruneisen: γ for the Debye–Grüneisen tiers; default γ(ν).
        bound_prefactor: 2 (lecture) or 1.5 (Belomestnykh–Tesleva).
        temperatures_K: grid (K) for the Debye and QHA tiers.
        qha_options: keyword arguments of :func:`~mlmat_thermal.qha.quasi_harmonic_expansion`.

    Returns:
        One :class:`HierarchyRecord` per structure, in input order.
    """
    if top_n_debye < 0 or top_m_qha < 0:
        raise ValueError("top_n_debye and top_m_qha must be ≥ 0")
    if moduli is not None and not callable(moduli) and len(moduli) != len(structures):
        raise ValueError(f"moduli has {len(moduli)} entries for {len(structures)} structures")
    if isinstance(rank_by, str) and rank_by not in RANK_KEYS:
        raise ValueError(f"rank_by must be one of {sorted(RANK_KEYS)} or a callable")
    key = RANK_KEYS[rank_by] if isinstance(rank_by, str) else rank_by
    temps = np.asarray(temperatures_K, dtype=float)

    records: list[HierarchyRecord] = []
    moduli_used: dict[int, tuple[float, float]] = {}
    for index, atoms in enumerate(structures):
        record = HierarchyRecord(index, _label(atoms), "none", None, math.nan, None, None, None, None, None, None, None)
        given, provider = _moduli_for(moduli, index)
        try:
            K, G, source = resolve_moduli(atoms, calculator, moduli=given, provider=provider)
            estimate = expansion_estimate(atoms, K, G, gruneisen=gruneisen, bound_prefactor=bound_prefactor)
            moduli_used[index] = (K, G)
            record = replace(
                record,
                tier_reached="bound",
                alpha_300K_per_K=estimate.alpha_linear_per_K,
                moduli_source=source,
                estimate=estimate,
            )
        except Exception as err:  # recorded per structure; the screening continues
            record = _failed(record, "bound", err)
        records.append(record)

    ranked = sorted(moduli_used, key=lambda i: key(records[i].estimate), reverse=descending)
    for position, index in enumerate(ranked):
        records[index] = replace(records[index], rank=position)

    for index in ranked[:top_n_debye]:
        try:
            debye = debye_gruneisen_expansion(
                structures[index], *moduli_used[index], gruneisen=gruneisen, temperatures_K=temps
            )
            records[index] = replace(
                records[index], tier_reached="debye", debye=debye, alpha_300K_per_K=debye.alpha_300K_per_K
            )
        except Exception as err:
            records[index] = _failed(records[index], "debye", err)

    qha_candidates = [i for i in ranked[:top_n_debye] if records[i].tier_reached == "debye"][:top_m_qha]
    for index in qha_candidates:
        try:
            options = {"temperatures_K": temps, **dict(qha_options or {})}
            qha = quasi_harmonic_expansion(structures[index], calculator, **options)
            records[index] = replace(records[index], tier_reached="qha", qha=qha, alpha_300K_per_K=qha.alpha_300K_per_K)
        except Exception as err:
            records[index] = _failed(records[index], "qha", err)
    return records
