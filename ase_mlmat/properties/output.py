"""Writing predictor results: JSON, CSV and ase.db rows (failures kept, never dropped)."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path

from ase import Atoms

from .base import PredictionFailure, PropertyResult


def records(
    structures: Sequence[Atoms], results: Sequence[PropertyResult | PredictionFailure], sources: Sequence[str]
) -> list[dict]:
    """One flat record per structure: source, formula, ok, and the result's scalars or the error."""
    out = []
    for atoms, result, source in zip(structures, results, sources):
        record = {"source": source, "formula": atoms.get_chemical_formula()}
        if isinstance(result, PredictionFailure):
            record.update(ok=False, error_type=result.error_type, error=result.message)
        else:
            record.update(ok=True, **result.as_row())
        out.append(record)
    return out


def write_json(path: str | Path, structures, results, sources) -> Path:
    """Full results (arrays included) as a JSON list."""
    rows = []
    for atoms, result, source in zip(structures, results, sources):
        row = {"source": source, "formula": atoms.get_chemical_formula()}
        row.update(
            {"ok": False, **result.as_dict()}
            if isinstance(result, PredictionFailure)
            else {"ok": True, **result.as_dict()}
        )
        rows.append(row)
    Path(path).write_text(json.dumps(rows, indent=1))
    return Path(path)


def write_csv(path: str | Path, structures, results, sources) -> Path:
    """Scalar fields as CSV, one line per structure."""
    rows = records(structures, results, sources)
    columns = list(dict.fromkeys(k for row in rows for k in row))
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return Path(path)


def write_db(url: str, structures, results, sources, predictor: str) -> int:
    """Append one ase.db row per structure (key-value pairs = scalars; full result in ``data``)."""
    from ase.db import connect
    from ase.db.core import reserved_keys

    db = connect(url)
    with db:
        for atoms, result, source in zip(structures, results, sources):
            row = records([atoms], [result], [source])[0]
            data = result.as_dict()
            kvp = {
                k: v
                for k, v in row.items()
                if isinstance(v, (bool, int, float, str)) and k.isidentifier() and k not in reserved_keys
            }
            kvp["predictor"] = predictor
            clean = atoms.copy()
            clean.calc = None
            db.write(clean, key_value_pairs=kvp, data={"result": data})
    return len(structures)
