"""Structures named on a command line: a file (``FILE`` or ``FILE@INDEX``) or a default bulk."""

from __future__ import annotations

import numpy as np
from ase import Atoms
from ase.build import bulk

from ..data import read_structures


def default_bulk(element: str, min_atoms: int = 64) -> Atoms:
    """ASE's reference crystal of ``element`` (cubic cell), repeated to at least ``min_atoms``."""
    try:
        atoms = bulk(element, cubic=True)
    except (ValueError, RuntimeError, KeyError):
        atoms = bulk(element)
    n = int(np.ceil(np.cbrt(min_atoms / len(atoms))))
    return atoms * (n, n, n)


def load_structure(spec: str | None, element: str, supercell: tuple[int, int, int] | None = None) -> Atoms:
    """The structure ``spec`` names, or the default bulk of ``element``; optionally repeated."""
    if spec is None:
        atoms = default_bulk(element)
    else:
        frames = read_structures(spec, index="-1")  # FILE@INDEX picks another frame
        atoms = frames[-1].copy()
        atoms.calc = None
    if supercell:
        atoms = atoms * tuple(supercell)
    return atoms
