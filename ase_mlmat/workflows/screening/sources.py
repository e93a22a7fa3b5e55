"""Structures to screen, each with a stable key, from files, folders, ase.db files and pymatgen JSON lists.

Keys are ``PATH@INDEX`` (``PATH@id=N`` for ase.db rows) with PATH as given on the command line, so a
second run over the same inputs recognises what the first one did. A file that cannot be read yields
its error in place of the structure: the screening flags that row and carries on.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from ase import Atoms

Item = tuple[str, "Atoms | Exception"]
PYMATGEN_SUFFIXES = (".json", ".json.gz")


def _clean(atoms: Atoms) -> Atoms:
    atoms = atoms.copy()
    atoms.calc = None
    return atoms


def _from_db(path: str) -> Iterator[Item]:
    from ase.db import connect

    from .store import PROVENANCE

    for row in connect(path).select():
        atoms = row.toatoms()
        atoms.info.update({k: v for k, v in row.key_value_pairs.items() if isinstance(v, str) or k in PROVENANCE})
        yield f"{path}@id={row.id}", atoms


def _from_file(path: str) -> Iterator[Item]:
    from ...data import read_structures
    from ...data.pymatgen_json import read_pymatgen_json

    try:
        frames = read_pymatgen_json(path) if path.endswith(PYMATGEN_SUFFIXES) else read_structures(path)
    except Exception as err:  # an unreadable file is one failed row, not a failed run
        yield f"{path}@0", err
        return
    for index, atoms in enumerate(frames):
        yield f"{path}@{index}", _clean(atoms)


def iter_structures(inputs: Sequence[str | os.PathLike]) -> Iterator[Item]:
    """(key, Atoms or the reading error) for every structure in ``inputs``, each key once.

    A folder contributes its files (not sub-folders) in name order; ``.db`` files are ase.db
    databases; ``.json`` / ``.json.gz`` are pymatgen JSON lists; anything else goes to ``ase.io.read``.

    Raises:
        FileNotFoundError: an input does not exist.
    """
    seen: set[str] = set()
    for raw in inputs:
        path = os.fspath(raw)
        if not os.path.exists(path):
            raise FileNotFoundError(f"screening input {path!r} does not exist")
        if os.path.isdir(path):
            files = sorted(str(p) for p in Path(path).iterdir() if p.is_file() and not p.name.startswith("."))
            streams = [_from_db(f) if f.endswith(".db") else _from_file(f) for f in files]
        else:
            streams = [_from_db(path) if path.endswith(".db") else _from_file(path)]
        for stream in streams:
            for key, atoms in stream:
                if key not in seen:
                    seen.add(key)
                    yield key, atoms
