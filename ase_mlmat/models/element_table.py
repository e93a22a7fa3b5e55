"""Elemental atom features of CGCNN: one-hot encodings of tabulated element properties.

Bits (91 in all; Xie & Grossman list 92 with slightly different ranges):

==========================  ====  =========================================
property                    bits  encoding
==========================  ====  =========================================
group                       18    1 … 18 (lanthanides and actinides: 3)
period                      7     1 … 7
Pauling electronegativity   10    linear bins over 0.5 – 4.0
covalent radius (Å)         10    linear bins over 0.25 – 2.65
valence electrons           12    1 … 12
first ionisation energy     10    linear bins over 3.5 – 25 eV
electron affinity           10    linear bins over −2.0 – 3.7 eV
block                       4     s, p, d, f
atomic volume (Å³/atom)     10    logarithmic bins over 7 – 120
==========================  ====  =========================================

A value that is not tabulated leaves its bits at zero. The table covers Z = 1 … 100 (H to Fm) and is
complete except for six values: no Pauling electronegativity for He, Ne, Ar; no atomic volume for
At, Fr, Fm.

Optionally (``continuous=True``) the raw values follow the bits, standardised over the table
(:data:`CONTINUOUS`; atomic volume as its logarithm; a missing value is 0, the table mean), so two
elements with close properties get close inputs even where a bin edge separates them.

The table (``element_properties.json``) is written by ``scripts/make_element_table.py``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from functools import cache
from importlib.resources import files

import numpy as np

BLOCKS = ("s", "p", "d", "f")
# (property, low, high, bins, logarithmic)
BINNED = (
    ("electronegativity", 0.5, 4.0, 10, False),
    ("covalent_radius_A", 0.25, 2.65, 10, False),
    ("ionization_energy_eV", 3.5, 25.0, 10, False),
    ("electron_affinity_eV", -2.0, 3.7, 10, False),
    ("atomic_volume_A3", 7.0, 120.0, 10, True),
)
NUM_FEATURES = 18 + 7 + 12 + 4 + sum(b[3] for b in BINNED)
# (property, logarithmic) of the continuous inputs
CONTINUOUS = (
    ("group", False),
    ("period", False),
    ("valence_electrons", False),
    ("electronegativity", False),
    ("covalent_radius_A", False),
    ("ionization_energy_eV", False),
    ("electron_affinity_eV", False),
    ("atomic_volume_A3", True),
)
NUM_CONTINUOUS = len(CONTINUOUS)


@cache
def element_properties() -> dict[str, dict]:
    """The raw table: symbol → property → value (None where unknown), Z = 1 … 100."""
    return json.loads((files(__package__) / "element_properties.json").read_text())


def _one_hot(index: int | None, size: int) -> np.ndarray:
    bits = np.zeros(size)
    if index is not None:
        bits[min(max(index, 0), size - 1)] = 1.0
    return bits


def _bin(value: float | None, low: float, high: float, bins: int, logarithmic: bool) -> int | None:
    if value is None:
        return None
    if logarithmic:
        value, low, high = math.log(value), math.log(low), math.log(high)
    return int((value - low) / (high - low) * bins)


@cache
def _continuous_scale() -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of each continuous input over the tabulated elements."""
    columns = [[_raw(row, name, log) for row in element_properties().values()] for name, log in CONTINUOUS]
    values = [np.array([v for v in column if v is not None]) for column in columns]
    return np.array([v.mean() for v in values]), np.array([v.std() for v in values])


def _raw(row: dict, name: str, logarithmic: bool) -> float | None:
    value = row[name]
    return None if value is None else (math.log(value) if logarithmic else float(value))


def continuous_features(symbol: str) -> np.ndarray:
    """Standardised raw properties (NUM_CONTINUOUS,) of one element; 0 where not tabulated."""
    row = element_properties()[symbol]
    mean, std = _continuous_scale()
    raw = np.array([_raw(row, name, log) for name, log in CONTINUOUS], dtype=object)
    return np.array([0.0 if v is None else (v - m) / d for v, m, d in zip(raw, mean, std, strict=True)])


def element_features(symbol: str, continuous: bool = False) -> np.ndarray:
    """The feature vector of one element: NUM_FEATURES one-hot bits, then NUM_CONTINUOUS values if ``continuous``.

    Raises:
        KeyError: the element is not in the table (Z > 100 or not an element).
    """
    table = element_properties()
    if symbol not in table:
        raise KeyError(f"element {symbol!r} has no tabulated atom features (table covers Z = 1-100)")
    row = table[symbol]
    parts = [
        _one_hot(row["group"] - 1, 18),
        _one_hot(row["period"] - 1, 7),
        _one_hot(row["valence_electrons"] - 1, 12),
        _one_hot(BLOCKS.index(row["block"]), 4),
    ]
    parts += [_one_hot(_bin(row[name], low, high, bins, log), bins) for name, low, high, bins, log in BINNED]
    if continuous:
        parts.append(continuous_features(symbol))
    return np.concatenate(parts)


def feature_matrix(elements: Sequence[str], continuous: bool = False) -> np.ndarray:
    """Features of each element of ``elements``, stacked (len(elements), NUM_FEATURES [+ NUM_CONTINUOUS])."""
    return np.stack([element_features(symbol, continuous) for symbol in elements])
