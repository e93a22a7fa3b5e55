"""pymatgen structures stored as JSON (``Structure.as_dict()``), read into ASE Atoms without pymatgen.

Accepted files (plain or gzipped): a list of structure dicts, a list of records each holding one under
``"structure"`` (as Materials Project exports do), or one structure dict. Disordered sites (partial
occupancy or several species) are refused: a graph needs one element per site.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms

from .dataset import DatasetError


def structure_from_dict(structure: Mapping[str, Any], where: str = "") -> Atoms:
    """Atoms from a pymatgen ``Structure`` (or ``Molecule``) dict; Cartesian positions in Å.

    Raises:
        DatasetError: missing keys or disordered sites.
    """
    try:
        sites = structure["sites"]
        lattice = structure.get("lattice")
        symbols, positions = [], []
        for k, site in enumerate(sites):
            species = site["species"]
            if len(species) != 1 or abs(float(species[0].get("occu", 1.0)) - 1.0) > 1e-6:
                raise DatasetError(f"structure {where}: site {k} is disordered ({species}); not supported")
            symbols.append(species[0]["element"])
            if "xyz" in site:
                positions.append(site["xyz"])
            elif lattice is not None:
                positions.append(np.asarray(site["abc"], dtype=float) @ np.asarray(lattice["matrix"], dtype=float))
            else:
                raise KeyError("xyz")
    except (KeyError, TypeError, IndexError) as err:
        raise DatasetError(f"structure {where} is not a pymatgen structure dict (missing {err})") from None
    if lattice is None:  # a Molecule
        return Atoms(symbols=symbols, positions=positions, pbc=False)
    pbc = lattice.get("pbc", (True, True, True))
    return Atoms(symbols=symbols, positions=positions, cell=np.asarray(lattice["matrix"], dtype=float), pbc=pbc)


def read_json_records(path: str | os.PathLike) -> list[Any]:
    """The JSON content of ``path`` (``.gz`` decompressed) as a list."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"data file {str(path)!r} does not exist")
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt") as handle:
            content = json.load(handle)
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DatasetError(f"cannot read JSON from {str(path)!r}: {err}") from None
    return content if isinstance(content, list) else [content]


def _structure_of(record: Any) -> Mapping[str, Any]:
    if isinstance(record, Mapping) and "sites" in record:
        return record
    if isinstance(record, Mapping) and isinstance(record.get("structure"), Mapping):
        return record["structure"]
    raise DatasetError("record holds neither a pymatgen structure dict nor a 'structure' entry")


def read_pymatgen_json(path: str | os.PathLike) -> list[Atoms]:
    """All structures of a pymatgen JSON list; ``atoms.info`` gets the record's scalar fields (ids, labels).

    Raises:
        DatasetError: unreadable file, a record without a structure, or a disordered site.
    """
    structures = []
    for k, record in enumerate(read_json_records(path)):
        where = f"{k} of {os.fspath(path)!r}"
        try:
            atoms = structure_from_dict(_structure_of(record), where)
        except DatasetError as err:
            raise DatasetError(f"record {where}: {err}") from None
        if isinstance(record, Mapping) and "structure" in record:
            atoms.info.update(
                {
                    key: value
                    for key, value in record.items()
                    if key != "structure" and isinstance(value, (str, int, float, bool))
                }
            )
        structures.append(atoms)
    if not structures:
        raise DatasetError(f"{os.fspath(path)!r} holds no structures")
    return structures
