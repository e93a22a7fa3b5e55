"""The top candidates of a screening database as a table (CSV and HTML), with provenance and the tiers passed.

A row's values are its best tier's: the elastic tier's hardness and toughness where it was promoted (and stable),
else the fast tier's on the relaxed structure where the relaxation tier made one, else the fast tier's. ``tiers``
lists the tiers a row went through and how it came out of each: ``ml``, ``relaxed`` (``relaxed-volume``: the
volume changed beyond the relaxation's range, ``relaxed-failed``),
``elastic`` (``elastic-unstable``, ``elastic-failed``), ``qha`` (``qha-failed``).
"""

from __future__ import annotations

import csv
import html
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .store import BEST_FIRST, TIERS, reaches


def _tiers_of(column: str) -> tuple[str, ...]:
    return tuple(prefix + column for prefix in BEST_FIRST)


# (column of the table, columns of the row to take it from, best tier first)
COLUMNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("label", ("label", "candidate_key", "evolve_id", "mp_id", "screen_key")),
    ("formula", ()),
    ("vickers_hardness_GPa", _tiers_of("vickers_hardness_GPa")),
    ("fracture_toughness_MPa_m05", _tiers_of("fracture_toughness_MPa_m05")),
    ("bulk_modulus_GPa", _tiers_of("bulk_modulus_GPa")),
    ("shear_modulus_GPa", _tiers_of("shear_modulus_GPa")),
    ("synthesizability_score", ("relaxed_synthesizability_score", "synthesizability_score")),
    ("alpha_300K_per_K", ("qha_alpha_300K_per_K", "alpha_300K_per_K")),
    ("prototype", ("prototype",)),
    ("substitution", ("substitution",)),
    ("substitution_probability", ("substitution_probability",)),
    ("charge_balanced", ("charge_balanced",)),
    ("relax_potential", ("relax_potential",)),
    ("relaxed_volume_ratio", ("relaxed_volume_ratio",)),
    ("tiers", ()),
    ("calculator", ("elastic_calculator", "relaxed_calculator")),
)


def _tiers(row) -> str:
    tiers = ["ml"]
    if row.get("relaxed_ok") is not None:
        rejected = row.get("relaxed_volume_ratio") is not None
        tiers.append("relaxed" if row.get("relaxed_ok") else "relaxed-volume" if rejected else "relaxed-failed")
    if row.get("elastic_ok") is not None:
        stable = row.get("elastic_born_stable", True)
        tiers.append("elastic" if row.get("elastic_ok") else "elastic-unstable" if not stable else "elastic-failed")
    if row.get("qha_ok") is not None:
        tiers.append("qha" if row.get("qha_ok") else "qha-failed")
    return " ".join(tiers)


def _entry(row) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, sources in COLUMNS:
        if name == "formula":
            out[name] = row.formula
        elif name == "tiers":
            out[name] = _tiers(row)
        else:
            out[name] = next((row.get(s) for s in sources if row.get(s) is not None), None)
    return out


def top_candidates(
    db,
    n: int = 10,
    *,
    rank_by: str = "vickers_hardness_GPa",
    min_score: dict[str, float] | None = None,
    passed: str | None = None,
) -> list[dict[str, Any]]:
    """The ``n`` best ok rows by ``rank_by`` (a table column, best tier's value), largest first.

    A row the elastic tier found mechanically unstable, or whose volume the relaxation tier changed beyond its range,
    is no candidate and is left out (its fast-tier values would otherwise keep it in the table).

    Args:
        min_score: column → smallest value kept, e.g. ``{"synthesizability_score": 0.5}``; a row without the
            column is dropped.
        passed: keep only the rows that passed this tier ("relaxed", "elastic" or "qha"): the confirmed candidates.
    """
    if passed not in (None, *TIERS):
        raise ValueError(f"passed must be one of {TIERS}, got {passed!r}")
    entries = [_entry(row) for row in db.select("ok=True", include_data=False)]
    if entries and rank_by not in entries[0]:
        raise ValueError(f"cannot rank by {rank_by!r}: the table's columns are {[c for c, _ in COLUMNS]}")
    kept = []
    for entry in entries:
        value = entry.get(rank_by)
        if value is None or not math.isfinite(float(value)):
            continue
        tiers = entry["tiers"].split()
        if {"elastic-unstable", "relaxed-volume"} & set(tiers) or (passed is not None and passed not in tiers):
            continue
        if reaches(entry, min_score):
            kept.append(entry)
    kept.sort(key=lambda e: -float(e[rank_by]))
    return kept[:n]


def write_table(entries: Sequence[dict[str, Any]], path: str | Path, title: str = "Top candidates") -> Path:
    """Write ``entries`` as CSV (``.csv``) or as an HTML page (``.html``)."""
    path = Path(path)
    names = [c for c, _ in COLUMNS]
    if path.suffix == ".csv":
        with path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=names)
            writer.writeheader()
            writer.writerows(entries)
        return path
    if path.suffix not in (".html", ".htm"):
        raise ValueError(f"a table is written as .csv or .html, not {path.suffix!r} ({path})")

    def cell(value) -> str:
        if isinstance(value, float):
            return f"{value:.3g}"
        return html.escape("" if value is None else str(value))

    head = "".join(f"<th>{html.escape(n)}</th>" for n in names)
    body = "".join("<tr>" + "".join(f"<td>{cell(e[n])}</td>" for n in names) + "</tr>\n" for e in entries)
    path.write_text(
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        "<style>td,th{padding:2px 8px;border-bottom:1px solid #ddd;font:13px sans-serif}</style></head>"
        f"<body><h1>{html.escape(title)}</h1><table><tr>{head}</tr>\n{body}</table></body></html>\n"
    )
    return path
