"""Screening rows in an ase.db (SQLite file or any ase.db URL): one row per structure key.

Rows of a batch are written in one transaction, so an interrupted run leaves whole batches; the next
run reads the keys already present and skips them (failed rows included: they are results too).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from ase import Atoms
from ase.db.core import reserved_keys

KEY = "screen_key"
IDENTIFIERS = ("label", "mp_id", "material_id")  # carried from atoms.info into the row when present
# where a generated structure came from (mlmat generate, mlmat evolve): carried from atoms.info the same way
PROVENANCE = (
    "candidate_key",
    "source",
    "prototype",
    "substitution",
    "substitution_probability",
    "structure_type",
    "charge_balanced",
    "relaxed",
    "relax_potential",
    "evolve_id",
    "generation",
    "operator",
    "parents",
)


def connect(url: str):
    from ase.db import connect as ase_connect

    return ase_connect(url)


def done_keys(db, key: str = KEY) -> set[str]:
    """Values of column ``key`` (default the screening key) over the rows already in ``db``."""
    return {row.get(key) for row in db.select(include_data=False) if row.get(key) is not None}


def reaches(row, floors: Mapping[str, float] | None) -> bool:
    """Whether ``row`` (an ase.db row or a dict) has every column of ``floors`` at or above its floor."""
    return all(row.get(k) is not None and row.get(k) >= v for k, v in (floors or {}).items())


TIERS = ("ml", "relaxed", "elastic", "qha")  # a row's ``tier`` is the last of these it passed
BEST_FIRST = ("elastic_", "relaxed_", "")  # column prefixes of the tiers that give a property, most accurate first


def best_value(row, column: str):
    """The value of ``column`` from the most accurate tier a row went through (elastic, relaxed, fast), or None."""
    return next((row.get(p + column) for p in BEST_FIRST if row.get(p + column) is not None), None)


def clean_pairs(row: dict[str, Any]) -> dict[str, Any]:
    """Key-value pairs ase.db accepts: identifier keys, not reserved, scalar, finite."""
    out = {}
    for key, value in row.items():
        if value is None or not key.isidentifier() or key in reserved_keys:
            continue
        if isinstance(value, float) and not math.isfinite(value):
            continue
        if isinstance(value, (bool, int, float, str)):
            out[key] = value
    return out


def write_records(db, records: Iterable[tuple[str, Atoms | None, dict[str, Any]]]) -> int:
    """Write (key, structure, row) records in one transaction; returns the count."""
    count = 0
    with db:
        for key, atoms, row in records:
            structure = Atoms() if atoms is None else atoms
            identifiers = {
                name: structure.info[name] for name in IDENTIFIERS if isinstance(structure.info.get(name), (str, int))
            }
            identifiers.update(
                (name, structure.info[name])
                for name in PROVENANCE
                if isinstance(structure.info.get(name), (str, int, float, bool))
            )
            db.write(structure, key_value_pairs=clean_pairs({KEY: key, **identifiers, **row}))
            count += 1
    return count
