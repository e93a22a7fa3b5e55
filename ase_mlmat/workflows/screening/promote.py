"""Promotion to the slower tiers: the elastic tensor for the top N, quasi-harmonic α for the top M.

Ranking is by one column of the fast tier (default: Vickers hardness, largest first). Both tiers are
predictors found through the registry: ``elastic`` (finite-strain tensor with the given calculator),
whose result is a moduli source that the moduli-consuming predictors (hardness, thermal expansion)
turn into ``elastic_*`` columns again; and ``thermal_expansion`` in its ``qha`` tier. Results go into
the same rows (``elastic_*``, ``qha_*`` columns, ``tier``); rows already promoted are not recomputed,
so a rerun resumes. A tier whose predictor is not installed is refused before any work.

The calculator is one ASE calculator for every structure, or a chooser with a ``for_atoms(atoms)`` method
returning ``(name, calculator)`` or None (:class:`~.auto_calculator.AutoCalculator`, ``--calc auto``): then the
top N are the best-ranked rows it has a calculator for. Each promoted row records the calculator's name in
``elastic_calculator`` and ``qha_calculator``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ase import Atoms
from tqdm.auto import tqdm

from ...properties import PredictionFailure, PropertyPredictor, available, create, moduli_consumers
from .rows import derived_columns
from .store import clean_pairs, reaches

ELASTIC, QHA = "elastic", "thermal_expansion"  # registered predictor names of the two tiers


@dataclass(frozen=True)
class PromotionSummary:
    elastic_done: int  # computed in this call
    elastic_failed: int
    qha_done: int
    qha_failed: int
    passed_over: int = 0  # better-ranked rows the chooser had no calculator for
    uncovered: tuple[str, ...] = ()  # their element sets, e.g. "B-N"


def ranked_rows(db, rank_by: str, descending: bool = True, min_score: Mapping[str, float] | None = None) -> list:
    """ok rows that have ``rank_by``, best first; with ``min_score`` (column → smallest value, e.g.
    ``{"synthesizability_score": 0.5}``) only the rows that reach every floor (a row without the column does not).

    Raises:
        ValueError: there are ok rows but none has ``rank_by`` (a misspelt column, or the predictor
            that gives it is not installed, e.g. hardness for the default ``vickers_hardness_GPa``).
    """
    ok = list(db.select("ok=True", include_data=False))
    rows = [row for row in ok if row.get(rank_by) is not None]
    if ok and not rows:
        raise ValueError(f"no screened row has {rank_by!r} to rank by (is the predictor that gives it installed?)")
    rows = [row for row in rows if reaches(row, min_score)]
    return sorted(rows, key=lambda row: row.get(rank_by), reverse=descending)


def _prefixed(row: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    return {prefix + key: value for key, value in row.items()}


def _failure(err: Exception, prefix: str, stage: str) -> dict[str, Any]:
    return {f"{prefix}ok": False, **PredictionFailure.from_exception(err, stage=stage).as_row(prefix)}


def elastic_columns(atoms: Atoms, elastic: PropertyPredictor, calculator, consumers) -> dict[str, Any]:
    """``elastic_*`` columns: moduli from the tensor and what the consumers derive from them, or the failure."""
    try:
        result = elastic.predict(atoms, calculator)
    except Exception as err:  # one structure's failure does not stop the tier
        return _failure(err, "elastic_", ELASTIC)
    if not result.born_stable:
        return {"elastic_ok": False, "elastic_born_stable": False, "elastic_error": result.warnings[:500]}
    derived = derived_columns(atoms, result, consumers)
    return {
        "elastic_ok": derived.get("ok", True),
        "elastic_born_stable": True,
        "elastic_bulk_modulus_GPa": result.bulk_modulus_GPa,
        "elastic_shear_modulus_GPa": result.shear_modulus_GPa,
        **_prefixed({k: v for k, v in derived.items() if k != "ok"}, "elastic_"),
    }


def qha_columns(atoms: Atoms, thermal: PropertyPredictor, calculator) -> dict[str, Any]:
    """``qha_*`` columns: quasi-harmonic α_L at 300 K, or the failure."""
    try:
        result = thermal.predict(atoms, calculator)
    except Exception as err:
        return _failure(err, "qha_", QHA)
    return {
        "qha_ok": True,
        "qha_alpha_300K_per_K": result.alpha_300K_per_K,
        "qha_has_imaginary_modes": bool(result.qha.has_imaginary_modes),
    }


def _chooser(calculator, name: str | None) -> Callable[[Atoms], tuple[str, Any] | None]:
    """atoms → (name, calculator) or None: the chooser's own, or the one calculator for every structure."""
    if callable(getattr(calculator, "for_atoms", None)):
        return calculator.for_atoms
    label = name or type(calculator).__name__
    return lambda atoms: (label, calculator)


def _with_calculator(choose, name: str, columns: Callable[[Atoms, Any], dict[str, Any]]):
    def run(atoms: Atoms) -> dict[str, Any]:
        label, calculator = choose(atoms)
        return {**columns(atoms, calculator), f"{name}_calculator": label}

    return run


def _run_tier(db, rows: Sequence, name: str, columns: Callable[[Atoms], dict[str, Any]], progress: bool) -> list[int]:
    """Fill ``{name}_*`` columns of ``rows`` not yet done; (done, failed) counts of this call."""
    counts = [0, 0]
    for row in tqdm(rows, disable=not progress, desc=f"{name} tier"):
        if row.get(f"{name}_ok") is not None:
            continue
        values = columns(row.toatoms())
        ok = bool(values[f"{name}_ok"])
        counts[0 if ok else 1] += 1
        db.update(row.id, tier=name if ok else row.get("tier"), **clean_pairs(values))
    return counts


def _require(tier: str, name: str) -> None:
    if name not in available():
        raise ValueError(f"the {tier} tier needs the {name!r} property predictor; installed: {sorted(available())}")


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
    calculator_name: str | None = None,
    min_score: Mapping[str, float] | None = None,
) -> PromotionSummary:
    """Run the elastic tier on the top ``top_elastic`` rows and QHA on the top ``top_qha`` of those.

    Args:
        db: connected screening ase.db.
        calculator: ASE calculator for both tiers (an MLCalculator, EMT, a DFT code), or a chooser with
            ``for_atoms`` (module docstring).
        rank_by: fast-tier column to rank by.
        elastic_options: keyword arguments of the ``elastic`` predictor.
        qha_options: keyword arguments of the quasi-harmonic calculation (``thermal_expansion``'s ``qha_options``).
        calculator_name: what the rows record as the calculator (default: its class name; a chooser names its own).
        min_score: column → smallest value a row needs to be promoted, e.g. ``{"synthesizability_score": 0.5}``:
            the slow tiers are not spent on candidates predicted unmakeable.
    """
    if top_elastic < 0 or top_qha < 0:
        raise ValueError("top_elastic and top_qha must be >= 0")
    if top_qha > top_elastic:
        raise ValueError(f"top_qha ({top_qha}) cannot exceed top_elastic ({top_elastic}): QHA follows the elastic tier")
    if (top_elastic or top_qha) and calculator is None:
        raise ValueError("promotion to the elastic and QHA tiers needs a calculator")
    if top_elastic:
        _require("elastic", ELASTIC)
    if top_qha:
        _require("QHA", QHA)
    choose = _chooser(calculator, calculator_name)
    ranked, passed_over, uncovered = [], 0, set()
    for row in ranked_rows(db, rank_by, descending, min_score) if top_elastic else []:
        if len(ranked) == top_elastic:
            break
        if row.get("elastic_ok") is None:
            atoms = row.toatoms()
            if choose(atoms) is None:
                passed_over += 1
                uncovered.add("-".join(sorted(set(atoms.get_chemical_symbols()))))
                continue
        ranked.append(row)
    elastic, consumers = (create(ELASTIC, **dict(elastic_options or {})), moduli_consumers()) if ranked else (None, {})
    elastic_run = _with_calculator(choose, "elastic", lambda a, c: elastic_columns(a, elastic, c, consumers))
    e_done, e_failed = _run_tier(db, ranked, "elastic", elastic_run, progress)
    stable = [row for row in (db.get(id=row.id) for row in ranked) if row.get("elastic_ok")][:top_qha]
    thermal = create(QHA, tier="qha", qha_options=dict(qha_options or {})) if stable else None
    qha_run = _with_calculator(choose, "qha", lambda a, c: qha_columns(a, thermal, c))
    q_done, q_failed = _run_tier(db, stable, "qha", qha_run, progress)
    return PromotionSummary(e_done, e_failed, q_done, q_failed, passed_over, tuple(sorted(uncovered)))
