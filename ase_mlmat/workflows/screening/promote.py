"""Promotion to the slower tiers: relaxation for the top R, the elastic tensor for the top N, quasi-harmonic α for
the top M.

Ranking is by one column of the fast tier (default: Vickers hardness, largest first). With a relaxation tier
(:mod:`.relax_tier`) the elastic tier takes the top N of the relaxed rows, ranked (and held to ``min_score``) by
the fast tier's values on the relaxed structures, and starts from those structures. The elastic and QHA tiers are
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
from ...properties.ml_moduli import DEFAULT_MODULI_MODEL
from .relax_tier import PREFIX as RELAXED
from .relax_tier import relaxed_columns, structure_of
from .rows import derived_columns
from .store import TIERS, clean_pairs, reaches

ELASTIC, QHA = "elastic", "thermal_expansion"  # registered predictor names of the two tiers


@dataclass(frozen=True)
class PromotionSummary:
    elastic_done: int  # computed in this call
    elastic_failed: int
    qha_done: int
    qha_failed: int
    passed_over: int = 0  # better-ranked rows the chooser had no calculator for
    uncovered: tuple[str, ...] = ()  # their element sets, e.g. "B-N"
    relax_done: int = 0
    relax_failed: int = 0


def ranked_rows(
    db, rank_by: str, descending: bool = True, min_score: Mapping[str, float] | None = None, relaxed: bool = False
) -> list:
    """ok rows that have ``rank_by``, best first; with ``min_score`` (column → smallest value, e.g.
    ``{"synthesizability_score": 0.5}``) only the rows that reach every floor (a row without the column does not).
    ``relaxed``: only rows the relaxation tier relaxed, by their ``relaxed_*`` columns.

    Raises:
        ValueError: there are ok rows but none has ``rank_by`` (a misspelt column, or the predictor
            that gives it is not installed, e.g. hardness for the default ``vickers_hardness_GPa``).
    """
    ok = list(db.select("ok=True", include_data=False))
    if ok and not any(row.get(rank_by) is not None for row in ok):
        raise ValueError(f"no screened row has {rank_by!r} to rank by (is the predictor that gives it installed?)")
    if relaxed:
        rank_by = RELAXED + rank_by
        min_score = {RELAXED + column: floor for column, floor in (min_score or {}).items()}
        ok = [row for row in ok if row.get(RELAXED + "ok")]
    rows = [row for row in ok if row.get(rank_by) is not None and reaches(row, min_score)]
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
    """Fill ``{name}_*`` columns of ``rows`` not yet done, starting from each row's relaxed structure where there
    is one (``columns`` may return the row's new ``data`` under that key); (done, failed) counts of this call."""
    counts = [0, 0]
    for row in tqdm(rows, disable=not progress, desc=f"{name} tier"):
        if row.get(f"{name}_ok") is not None:
            continue
        values = columns(structure_of(db, row))
        data = values.pop("data", None)
        ok = bool(values[f"{name}_ok"])
        counts[0 if ok else 1] += 1
        tier = row.get("tier")
        if ok and (tier not in TIERS or TIERS.index(name) > TIERS.index(tier)):  # a relaxed elastic row stays elastic
            tier = name
        db.update(row.id, tier=tier, data=data, **clean_pairs(values))
    return counts


def _top_covered(rows: Sequence, n: int, done: str, choose) -> tuple[list, int, set[str]]:
    """The first ``n`` of ``rows`` the chooser has a calculator for (or already ``done``); the count passed over
    and their element sets."""
    chosen, passed_over, uncovered = [], 0, set()
    for row in rows:
        if len(chosen) == n:
            break
        if row.get(done) is None:
            atoms = row.toatoms()
            if choose(atoms) is None:
                passed_over += 1
                uncovered.add("-".join(sorted(set(atoms.get_chemical_symbols()))))
                continue
        chosen.append(row)
    return chosen, passed_over, uncovered


def _require(tier: str, name: str) -> None:
    if name not in available():
        raise ValueError(f"the {tier} tier needs the {name!r} property predictor; installed: {sorted(available())}")


def promote(
    db,
    calculator,
    *,
    top_elastic: int = 0,
    top_qha: int = 0,
    top_relax: int = 0,
    rank_by: str = "vickers_hardness_GPa",
    descending: bool = True,
    elastic_options: Mapping[str, Any] | None = None,
    qha_options: Mapping[str, Any] | None = None,
    progress: bool = True,
    calculator_name: str | None = None,
    min_score: Mapping[str, float] | None = None,
    relax_options: Mapping[str, Any] | None = None,
    model: str = DEFAULT_MODULI_MODEL,
) -> PromotionSummary:
    """Relax the top ``top_relax`` rows, run the elastic tier on the top ``top_elastic`` rows (of the relaxed ones
    when ``top_relax``) and QHA on the top ``top_qha`` of those.

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
        relax_options: keyword arguments of :func:`.relax_tier.relaxed_columns` (``fmax_eV_per_A``, ``max_steps``,
            ``max_seconds``, ``volume_range``).
        model: the fast tier's moduli model, which the relaxation tier runs again on the relaxed structures.
    """
    if top_elastic < 0 or top_qha < 0 or top_relax < 0:
        raise ValueError("top_relax, top_elastic and top_qha must be >= 0")
    if top_qha > top_elastic:
        raise ValueError(f"top_qha ({top_qha}) cannot exceed top_elastic ({top_elastic}): QHA follows the elastic tier")
    if top_relax and top_elastic > top_relax:
        raise ValueError(
            f"top_elastic ({top_elastic}) cannot exceed top_relax ({top_relax}): the elastic tier follows relaxation"
        )
    if (top_elastic or top_qha or top_relax) and calculator is None:
        raise ValueError("promotion to the relaxation, elastic and QHA tiers needs a calculator")
    if top_elastic:
        _require("elastic", ELASTIC)
    if top_qha:
        _require("QHA", QHA)
    choose = _chooser(calculator, calculator_name)
    r_done = r_failed = 0
    passed_over, uncovered = 0, set()
    if top_relax:
        best = ranked_rows(db, rank_by, descending, min_score)
        to_relax, passed_over, uncovered = _top_covered(best, top_relax, RELAXED + "ok", choose)
        options = dict(relax_options or {})
        relax_run = _with_calculator(choose, "relaxed", lambda a, c: relaxed_columns(a, c, model, **options))
        r_done, r_failed = _run_tier(db, to_relax, "relaxed", relax_run, progress)
    ranked = []
    if top_elastic:
        best = ranked_rows(db, rank_by, descending, min_score, relaxed=bool(top_relax))
        ranked, skipped, missing = _top_covered(best, top_elastic, "elastic_ok", choose)
        passed_over, uncovered = passed_over + skipped, uncovered | missing
    elastic, consumers = (create(ELASTIC, **dict(elastic_options or {})), moduli_consumers()) if ranked else (None, {})
    elastic_run = _with_calculator(choose, "elastic", lambda a, c: elastic_columns(a, elastic, c, consumers))
    e_done, e_failed = _run_tier(db, ranked, "elastic", elastic_run, progress)
    stable = [row for row in (db.get(id=row.id) for row in ranked) if row.get("elastic_ok")][:top_qha]
    thermal = create(QHA, tier="qha", qha_options=dict(qha_options or {})) if stable else None
    qha_run = _with_calculator(choose, "qha", lambda a, c: qha_columns(a, thermal, c))
    q_done, q_failed = _run_tier(db, stable, "qha", qha_run, progress)
    return PromotionSummary(e_done, e_failed, q_done, q_failed, passed_over, tuple(sorted(uncovered)), r_done, r_failed)
