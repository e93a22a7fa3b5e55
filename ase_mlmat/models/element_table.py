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

A value that is not tabulated (e.g. the electronegativity of noble gases) leaves its bits at zero.
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


def element_features(symbol: str) -> np.ndarray:
    """The one-hot feature vector (NUM_FEATURES,) of one element.

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
    return np.concatenate(parts)


def feature_matrix(elements: Sequence[str]) -> np.ndarray:
    """Features of each element of ``elements``, stacked (len(elements), NUM_FEATURES)."""
    return np.stack([element_features(symbol) for symbol in elements])
