"""Which structures count as metals or intermetallics for the hardness models.

Rule: a structure is *metallic* when every element in it is a metal. An element is a metal unless it is
a nonmetal (H, He, C, N, O, F, Ne, P, S, Cl, Ar, Se, Br, Kr, I, Xe, Rn) or one of the six common
metalloids (B, Si, Ge, As, Sb, Te). So Cu, Ni3Al and NiTi are metallic; Si, MgO, TiC, WC and TiB2 are
not — a composition rule, blind to bonding: carbides, borides and nitrides that conduct are not
flagged.
"""

from __future__ import annotations

from collections.abc import Iterable

from ase.data import atomic_numbers

NONMETALS = frozenset({"H", "He", "C", "N", "O", "F", "Ne", "P", "S", "Cl", "Ar", "Se", "Br", "Kr", "I", "Xe", "Rn"})
METALLOIDS = frozenset({"B", "Si", "Ge", "As", "Sb", "Te"})


def is_metal(symbol: str) -> bool:
    """True unless ``symbol`` is a nonmetal or a metalloid."""
    if symbol not in atomic_numbers or symbol == "X":
        raise ValueError(f"not a chemical element: {symbol!r}")
    return symbol not in NONMETALS | METALLOIDS


def is_metallic(symbols: Iterable[str]) -> bool:
    """True when every element of ``symbols`` is a metal (pure metals and intermetallics)."""
    symbols = set(symbols)
    if not symbols:
        raise ValueError("no elements given")
    return all(is_metal(s) for s in symbols)
