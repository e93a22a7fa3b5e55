"""Reading labelled structures (energy, forces, stress) from any ``ase.io`` format or an ase.db."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from ase import Atoms
from ase.calculators.calculator import PropertyNotImplementedError


class DatasetError(ValueError):
    """Training data that cannot be used (missing file, no labels, NaN labels...)."""


@dataclass(frozen=True)
class Labels:
    """Reference labels of one structure in ASE units."""

    energy: float  # eV
    forces: np.ndarray | None  # (N, 3) eV/Å
    stress: np.ndarray | None  # (6,) eV/Å³ Voigt, tensile positive


# The key mlmat learn's database (ase_mlmat.active.store) tags its rows with; only LABELLED rows hold labels.
ACTIVE_LEARNING_STATUS, LABELLED = "al_status", "labelled"


def read_structures(path: str | os.PathLike, index: str = ":", format: str | None = None) -> list[Atoms]:
    """All structures in ``path`` (extxyz, ase.db, VASP OUTCAR... anything ``ase.io.read`` knows).

    ``FILE@INDEX`` picks frames (``md.extxyz@-1``, ``md.extxyz@0:100``) or, in an ase.db, rows by a
    selection (``train.db@config_type=bulk``). An ``mlmat learn`` database yields its labelled
    structures only: its candidates, failures and loop state carry no labels. There an index counts
    labelled structures (``active.db@-8:`` is the last eight labelled) and a selection reaches every row
    (``active.db@al_status=pending``).
    """
    from ase.io import read
    from ase.io.formats import string2index

    path = os.fspath(path)
    if not os.path.exists(path) and "@" in path:
        path, _, index = path.rpartition("@")
    if not os.path.exists(path):
        raise DatasetError(f"data file {path!r} does not exist")
    asked = index
    active = _active_learning_counts(path, format)
    # in an mlmat learn database an index (int or slice) counts labelled rows; a row selection (a string) reaches
    # every row, as written
    position = string2index(index) if active else None
    if isinstance(position, str):
        position = None
    elif position is not None:
        if not active.get(LABELLED):
            raise DatasetError(
                f"{path!r} is an active-learning database with no labelled structures yet "
                f"({', '.join(f'{n} {status}' for status, n in sorted(active.items()))})"
            )
        index = f"{ACTIVE_LEARNING_STATUS}={LABELLED}"
    try:
        frames = read(path, index=index, format=format)
    except Exception as err:  # ase.io raises many types for unreadable input
        raise DatasetError(f"cannot read structures from {path!r}: {type(err).__name__}: {err}") from None
    frames = frames if isinstance(frames, list) else [frames]
    if isinstance(position, int):
        if not -len(frames) <= position < len(frames):
            raise DatasetError(f"{path!r} has {len(frames)} labelled structures, none at index {position}")
        frames = [frames[position]]
    elif position is not None:
        frames = frames[position]
    if not frames:
        raise DatasetError(f"{path!r} holds no structures" + (f" at {asked!r}" if asked != ":" else ""))
    return frames


def _active_learning_counts(path: str, format: str | None) -> dict[str, int]:
    """Rows per ``al_status`` if ``path`` is an ase.db written by ``mlmat learn``, else empty."""
    from ase.io.formats import filetype

    try:
        if (format or filetype(path)) != "db":
            return {}
        from ase.db import connect

        statuses = [row.get(ACTIVE_LEARNING_STATUS) for row in connect(path).select(ACTIVE_LEARNING_STATUS)]
    except Exception:  # not an ase.db after all, or corrupt: ase.io.read reports it
        return {}
    return dict(Counter(statuses))


def _result(atoms: Atoms, name: str):
    calc = atoms.calc
    if calc is not None and name in getattr(calc, "results", {}):
        return calc.results[name]
    if name in atoms.info:
        return atoms.info[name]
    if name in atoms.arrays:
        return atoms.arrays[name]
    if calc is not None:
        try:
            return calc.get_property(name, atoms, allow_calculation=False)
        except (PropertyNotImplementedError, KeyError, AttributeError):
            return None
    return None


def get_labels(atoms: Atoms, where: str = "") -> Labels:
    """Energy (required), forces and stress (optional) of a labelled structure."""
    energy = _result(atoms, "energy")
    if energy is None:
        raise DatasetError(f"structure {where} has no energy label")
    energy = float(np.asarray(energy))
    forces = _result(atoms, "forces")
    stress = _result(atoms, "stress")
    if forces is not None:
        forces = np.asarray(forces, dtype=float).reshape(len(atoms), 3)
    if stress is not None:
        stress = np.asarray(stress, dtype=float)
        if stress.shape == (3, 3):
            stress = stress[[0, 1, 2, 1, 0, 0], [0, 1, 2, 2, 2, 1]]
        stress = stress.reshape(6)
    for name, value in (("energy", energy), ("forces", forces), ("stress", stress)):
        if value is not None and not np.all(np.isfinite(value)):
            raise DatasetError(f"structure {where} has non-finite {name}")
    return Labels(energy, forces, stress)


def load_labelled(
    paths: str | os.PathLike | Sequence[str | os.PathLike], swap_stress_yz_xz: Sequence[str] = ()
) -> tuple[list[Atoms], list[Labels]]:
    """Structures and their labels from one or more files.

    ``swap_stress_yz_xz``: config_type values (``"*"`` = all frames) whose σ_yz and σ_xz labels are
    exchanged on reading — see :mod:`ase_mlmat.data.corrections`.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    structures, labels = [], []
    for path in paths:
        for k, atoms in enumerate(read_structures(path)):
            labels.append(get_labels(atoms, f"{k} of {os.fspath(path)!r}"))
            structures.append(atoms)
    if swap_stress_yz_xz:
        from .corrections import swap_stress_yz_xz as swap

        labels = swap(structures, labels, swap_stress_yz_xz)
    return structures, labels
