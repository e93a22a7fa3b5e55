"""The elastic-moduli data set: structures with log10 K_VRH and log10 G_VRH (GPa) as targets.

The shipped file ``../shared/data/elastic/mp-binary-pbe-elasticity-2025.1.json.gz`` is a pymatgen JSON
list of Materials Project records (``mp_id``, ``formula``, ``structure``, ``bulk_modulus_vrh``,
``shear_modulus_vrh`` in GPa). Structures with a non-positive (or missing, non-finite) modulus have no
logarithm and are dropped; the count is kept in :attr:`PropertyDataset.dropped`.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import numpy as np
from ase import Atoms

from .dataset import DatasetError
from .pymatgen_json import read_pymatgen_json

MODULI_TARGETS = ("log10_K_VRH_GPa", "log10_G_VRH_GPa")
MODULI_KEYS = ("bulk_modulus_vrh", "shear_modulus_vrh")  # GPa, in the records


@dataclass
class PropertyDataset:
    """Structures with per-structure targets (n, T) and identifiers."""

    structures: list[Atoms]
    targets: np.ndarray  # (n, T) in the units of target_names
    target_names: tuple[str, ...]
    ids: list[str]
    dropped: int = 0
    dropped_ids: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.structures)

    def subset(self, indices) -> PropertyDataset:
        indices = [int(i) for i in indices]
        return PropertyDataset(
            [self.structures[i] for i in indices],
            self.targets[indices],
            self.target_names,
            [self.ids[i] for i in indices],
        )


def _positive(value) -> bool:
    try:
        return math.isfinite(float(value)) and float(value) > 0
    except (TypeError, ValueError):
        return False


def load_moduli_dataset(path: str | os.PathLike, limit: int | None = None) -> PropertyDataset:
    """Structures with log10 K_VRH, log10 G_VRH (GPa) from a pymatgen JSON list with modulus fields.

    Args:
        path: ``.json`` or ``.json.gz`` file of records with ``structure``, ``bulk_modulus_vrh``
            and ``shear_modulus_vrh`` (GPa).
        limit: keep only the first ``limit`` usable records (for quick tests).
    """
    structures, targets, ids, dropped_ids = [], [], [], []
    for k, atoms in enumerate(read_pymatgen_json(path)):
        info = atoms.info
        missing = [key for key in MODULI_KEYS if key not in info]
        if missing:
            raise DatasetError(f"record {k} of {os.fspath(path)!r} has no {missing}")
        identifier = str(info.get("mp_id", info.get("material_id", k)))
        values = [info[key] for key in MODULI_KEYS]
        if not all(_positive(v) for v in values):
            dropped_ids.append(identifier)
            continue
        if limit is not None and len(structures) >= limit:
            continue
        atoms.info["label"] = f"{info.get('formula', atoms.get_chemical_formula())} {identifier}"
        structures.append(atoms)
        targets.append([math.log10(float(v)) for v in values])
        ids.append(identifier)
    if not structures:
        raise DatasetError(f"{os.fspath(path)!r} holds no structure with positive moduli")
    return PropertyDataset(
        structures, np.asarray(targets, dtype=float), MODULI_TARGETS, ids, len(dropped_ids), dropped_ids
    )
