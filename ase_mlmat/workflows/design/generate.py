"""``mlmat generate``: substitution candidates of a prototype file in an ase.db, relaxed where a potential covers them.

The database has one row per candidate, keyed by ``candidate_key`` (``PROTOTYPE:A>A',B>B'``), with its provenance
(:func:`~ase_mlmat.workflows.design.substitution.candidate_row`) and, where relaxed, the relaxation's
(:class:`~ase_mlmat.workflows.design.relaxation.Relaxation`). Rows are written in batches, one transaction each;
a rerun with the same options regenerates the same candidates (the structure types are kept in the database's
metadata), skips the keys already there and writes the rest, so an interrupted run loses at most one batch. The
database is an input of ``mlmat screen``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from .relaxation import Relaxation, relax_candidates
from .substitution import (
    Prototype,
    SiteOrder,
    SubstitutionTable,
    assign_structure_types,
    candidate_row,
    generate_substitutions,
    read_prototypes,
)

KEY = "candidate_key"
TYPES_METADATA = "structure_types"  # mp_id → structure type, so that a rerun skips the matching


@dataclass
class GenerateSummary:
    prototypes: int
    structure_types: int
    candidates: int
    charge_balanced: int
    written: int
    relaxed: int
    seconds: float


def _types(db, prototypes: list[Prototype]) -> int:
    stored = db.metadata.get(TYPES_METADATA, {})
    if stored and all(p.mp_id in stored for p in prototypes):
        for p in prototypes:
            p.type_id = int(stored[p.mp_id])
    else:
        assign_structure_types(prototypes)
        db.metadata = {**db.metadata, TYPES_METADATA: {p.mp_id: p.type_id for p in prototypes}}
    return len({p.type_id for p in prototypes})


def generate(
    prototypes_path: str,
    db_path: str,
    *,
    threshold: float = 1e-3,
    max_candidates: int | None = None,
    elements: Iterable[str] | None = None,
    relax: bool = True,
    fmax_eV_per_A: float = 0.05,
    max_steps: int = 200,
    batch_size: int = 2000,
    progress: bool = False,
) -> GenerateSummary:
    """Generate, relax where covered, and write the candidates of ``prototypes_path`` into ``db_path``.

    Args:
        elements: the elements substituted in (default: those of the prototypes).
        relax: relax the candidates a shipped potential covers (``relaxed=False`` on the others).
    """
    from ase.db import connect
    from tqdm.auto import tqdm

    from ..screening.store import clean_pairs, done_keys

    start = time.perf_counter()
    prototypes = read_prototypes(prototypes_path)
    db = connect(db_path)
    types = _types(db, prototypes)
    allowed = set(elements) if elements is not None else {e for p in prototypes for e in p.elements}
    table = SubstitutionTable(allowed)
    candidates = generate_substitutions(
        prototypes, table, threshold=threshold, max_candidates=max_candidates, site_order=SiteOrder(prototypes)
    )
    done = done_keys(db, KEY)
    todo = [c for c in candidates if c.key not in done]
    calculators = None
    if relax and todo:
        from ..screening.auto_calculator import AutoCalculator

        calculators = AutoCalculator()
    written = relaxed = 0
    for first in tqdm(range(0, len(todo), batch_size), disable=not progress, desc="candidates", unit="batch"):
        batch = todo[first : first + batch_size]
        outcomes = [None] * len(batch)
        if calculators is not None:
            outcomes = relax_candidates(
                [c.atoms for c in batch], calculators, fmax_eV_per_A=fmax_eV_per_A, max_steps=max_steps
            )
        with db:
            for candidate, outcome in zip(batch, outcomes):
                row = {KEY: candidate.key, "label": candidate.key, **candidate_row(candidate)}
                row["relaxed"] = isinstance(outcome, Relaxation)
                atoms = candidate.atoms
                if isinstance(outcome, Exception):
                    row["relax_error"] = f"{type(outcome).__name__}: {outcome}"[:300]
                elif outcome is not None:
                    row.update(outcome.row())
                    atoms = outcome.atoms
                    relaxed += 1
                db.write(atoms, key_value_pairs=clean_pairs(row))
                written += 1
    return GenerateSummary(
        prototypes=len(prototypes),
        structure_types=types,
        candidates=len(candidates),
        charge_balanced=sum(c.charge_balanced is True for c in candidates),
        written=written,
        relaxed=relaxed,
        seconds=round(time.perf_counter() - start, 1),
    )
