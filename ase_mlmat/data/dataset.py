"""Reading labelled structures (energy, forces, stress) from any ``ase.io`` format or an ase.db."""

from __future__ import annotations

import os
import warnings
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


# Default keys of the labels in calculator results / atoms.info / atoms.arrays (extxyz: energy=..., forces:R:3).
ENERGY_KEY, FORCES_KEY, STRESS_KEY = "energy", "forces", "stress"
VIRIAL_KEY = "virial"  # eV, 3×3 (extxyz virial="..."); read where there is no stress

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
    """``name`` from the structure's calculator results, ``atoms.info`` or ``atoms.arrays`` (in that order)."""
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


def _voigt(tensor: np.ndarray, name: str, where: str) -> np.ndarray:
    """A stress-like tensor given as 3×3, flat 9 or Voigt 6 as Voigt (xx, yy, zz, yz, xz, xy)."""
    if tensor.size == 9:
        tensor = tensor.reshape(3, 3)
        return tensor[[0, 1, 2, 1, 0, 0], [0, 1, 2, 2, 2, 1]]
    if tensor.size == 6:
        return tensor.reshape(6)
    raise DatasetError(f"structure {where} has a {name} of shape {tensor.shape}; 3×3, 9 or 6 values expected")


def _available(atoms: Atoms) -> str:
    """The label-like keys a structure does hold, for messages about the ones it lacks."""
    found = list(getattr(atoms.calc, "results", {}) or {})
    found += [k for k in atoms.info if isinstance(atoms.info[k], (float, int, np.ndarray, list))]
    found += [k for k in atoms.arrays if k not in ("numbers", "positions")]
    return ", ".join(sorted(set(found))) or "none"


def get_labels(
    atoms: Atoms,
    where: str = "",
    *,
    energy_key: str = ENERGY_KEY,
    forces_key: str = FORCES_KEY,
    stress_key: str = STRESS_KEY,
) -> Labels:
    """Energy (required), forces and stress (optional) of a labelled structure.

    Each label is looked up under its key in the calculator results, ``atoms.info`` and ``atoms.arrays``
    (other codes write e.g. ``REF_energy`` / ``REF_forces`` / ``REF_stress``). Stress is in ASE's convention
    (eV/Å³, tensile positive); where there is none but a ``virial`` (eV, 3×3 or 9 values, as extxyz files
    written by libAtoms/GAP and MACE hold it), stress = −virial / volume.
    """
    energy = _result(atoms, energy_key)
    if energy is None:
        raise DatasetError(
            f"structure {where} has no energy label {energy_key!r} (it holds: {_available(atoms)}); "
            "set energy_key to read another"
        )
    energy = float(np.asarray(energy))
    forces = _result(atoms, forces_key)
    stress = _result(atoms, stress_key)
    if forces is not None:
        forces = np.asarray(forces, dtype=float)
        if forces.size != 3 * len(atoms):
            raise DatasetError(f"structure {where} has {forces_key!r} of shape {forces.shape} for {len(atoms)} atoms")
        forces = forces.reshape(len(atoms), 3)
    if stress is not None:
        stress = _voigt(np.asarray(stress, dtype=float), stress_key, where)
    elif (virial := _result(atoms, VIRIAL_KEY)) is not None:
        volume = abs(atoms.cell.volume) if atoms.cell.rank == 3 else 0.0
        if volume < 1e-8:
            raise DatasetError(f"structure {where} has a virial but no cell volume to turn it into a stress")
        # virial W = −dE/dε (eV) = −σ·V with ASE's stress σ = (1/V) dE/dε
        stress = -_voigt(np.asarray(virial, dtype=float), VIRIAL_KEY, where) / volume
    for name, value in (("energy", energy), ("forces", forces), ("stress", stress)):
        if value is not None and not np.all(np.isfinite(value)):
            raise DatasetError(f"structure {where} has non-finite {name}")
    return Labels(energy, forces, stress)


def _frames(indices: Sequence[int], shown: int = 5) -> str:
    head = ", ".join(str(k) for k in indices[:shown])
    return head + (", ..." if len(indices) > shown else "")


def _warn_gaps(structures: Sequence[Atoms], labels: Sequence[Labels], source: str) -> None:
    """A UserWarning per quantity missing in some or all structures of one file (frame indices in that file)."""
    no_forces = [k for k, label in enumerate(labels) if label.forces is None]
    # a stress needs a 3-D cell: structures without one are not counted as missing it
    periodic = [k for k, atoms in enumerate(structures) if atoms.cell.rank == 3 and atoms.pbc.all()]
    no_stress = [k for k in periodic if labels[k].stress is None]
    gaps = (
        ("forces", no_forces, len(labels), "structures", "fitted to energy (and stress) only"),
        ("stress", no_stress, len(periodic), "periodic structures", "no stress term for them"),
    )
    for name, missing, total, what, effect in gaps:
        if missing:
            share = "all" if len(missing) == total else f"{len(missing)} of"
            warnings.warn(
                f"{name} missing in {share} {total} {what} of {source} (frames {_frames(missing)}): {effect}",
                UserWarning,
                stacklevel=3,
            )


@dataclass(frozen=True)
class LabelCounts:
    """How many structures carry each label."""

    structures: int
    energy: int
    forces: int
    stress: int

    @classmethod
    def of(cls, labels: Sequence[Labels]) -> LabelCounts:
        return cls(
            len(labels),
            sum(label.energy is not None for label in labels),
            sum(label.forces is not None for label in labels),
            sum(label.stress is not None for label in labels),
        )

    def __str__(self) -> str:
        return f"labels: {self.structures} structures, energy {self.energy}, forces {self.forces}, stress {self.stress}"


def load_labelled(
    paths: str | os.PathLike | Sequence[str | os.PathLike],
    swap_stress_yz_xz: Sequence[str] = (),
    *,
    energy_key: str = ENERGY_KEY,
    forces_key: str = FORCES_KEY,
    stress_key: str = STRESS_KEY,
) -> tuple[list[Atoms], list[Labels]]:
    """Structures and their labels from one or more files, warning where forces or stresses are missing.

    ``swap_stress_yz_xz``: config_type values (``"*"`` = all frames) whose σ_yz and σ_xz labels are
    exchanged on reading — see :mod:`ase_mlmat.data.corrections`. The keys are as in :func:`get_labels`.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    keys = {"energy_key": energy_key, "forces_key": forces_key, "stress_key": stress_key}
    structures, labels = [], []
    for path in paths:
        frames = read_structures(path)
        read = [get_labels(atoms, f"{k} of {os.fspath(path)!r}", **keys) for k, atoms in enumerate(frames)]
        _warn_gaps(frames, read, repr(os.fspath(path)))
        structures += frames
        labels += read
    if swap_stress_yz_xz:
        from .corrections import swap_stress_yz_xz as swap

        labels = swap(structures, labels, swap_stress_yz_xz)
    return structures, labels
