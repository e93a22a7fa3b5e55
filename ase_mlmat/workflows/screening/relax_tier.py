"""The relaxation tier: the best fast-tier rows relaxed with the slow tiers' calculator, then the fast tier again.

The fast tier sees a structure as given. A generated candidate is a prototype's fractional positions in a cell
scaled by covalent radii, and a compressed or strained cell can look far harder to the moduli model than the
material it relaxes into. This tier relaxes positions and cell (FIRE on a Fréchet cell filter) of the top rows with
the calculator of the slow tiers, and runs the fast tier on the relaxed structure. Its columns are the fast tier's
with a ``relaxed_`` prefix (``relaxed_vickers_hardness_GPa``, ``relaxed_synthesizability_score`` …), beside
``relaxed_ok``, ``relaxed_converged``, ``relaxed_volume_ratio`` (relaxed over screened volume),
``relaxed_energy_per_atom_eV`` and ``relaxed_seconds``. The relaxed structure goes into the row's data, and the
elastic tier starts from it.

Each relaxation is bounded by FIRE steps (``max_steps``) and, optionally, wall-clock seconds (``max_seconds``);
one that hits a bound keeps its last structure and is recorded with ``relaxed_converged=False``. A volume change
outside ``volume_range`` is a verdict, not a result: the screened cell was nowhere near a minimum of the calculator
(molecular or layered pieces drifting apart, or a collapse); the row gets ``relaxed_ok=False`` with its
``relaxed_volume_ratio`` and leaves the top-candidates table.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np
from ase import Atoms

from ...properties import PredictionFailure
from ..relax import relax
from .fast_tier import screen_batch

PREFIX = "relaxed_"
STRUCTURE = "relaxed_structure"  # key of the row's data that holds the relaxed structure


def relaxed_columns(
    atoms: Atoms,
    calculator,
    model: str | os.PathLike,
    *,
    fmax_eV_per_A: float = 0.05,
    max_steps: int = 300,
    max_seconds: float | None = None,
    volume_range: tuple[float, float] = (0.5, 2.0),
) -> dict[str, Any]:
    """``relaxed_*`` columns of one structure and, under ``data``, the relaxed structure; or the failure.

    Args:
        calculator: ASE calculator that relaxes the structure (the slow tiers' calculator).
        model: the fast tier's moduli model (shipped name or checkpoint path).
        fmax_eV_per_A: force (and cell force) below which the relaxation has converged.
        max_steps: FIRE steps at most.
        max_seconds: wall-clock seconds at most (None: no bound).
        volume_range: relaxed over screened volume outside this range rejects the structure (``relaxed_ok``
            False, with the ratio).
    """
    start = time.perf_counter()
    relaxed = atoms.copy()
    relaxed.calc = calculator
    try:
        converged = relax(relaxed, fmax_eV_per_A=fmax_eV_per_A, max_steps=max_steps, max_seconds=max_seconds)[1]
        energy = relaxed.get_potential_energy() / len(relaxed)
        ratio = relaxed.get_volume() / atoms.get_volume()
        if not np.isfinite(energy):
            raise ValueError("the relaxation ended at a non-finite energy")
    except Exception as err:  # one structure's failure does not stop the tier
        return {f"{PREFIX}ok": False, **PredictionFailure.from_exception(err, stage="relax").as_row(PREFIX)}
    finally:
        relaxed.calc = None
    if not volume_range[0] <= ratio <= volume_range[1]:  # a verdict on the structure, not a failed calculation
        message = f"the volume changed {ratio:.2f}-fold in the relaxation, outside {volume_range}"
        return {f"{PREFIX}ok": False, f"{PREFIX}volume_ratio": float(ratio), f"{PREFIX}error": message}
    _, _, row = screen_batch([("relaxed", relaxed)], model, threads=None)[0]
    columns = {PREFIX + key: value for key, value in row.items() if key not in ("ok", "tier")}
    return {
        **columns,
        f"{PREFIX}ok": bool(row.get("ok")),
        f"{PREFIX}converged": converged,
        f"{PREFIX}volume_ratio": float(ratio),
        f"{PREFIX}energy_per_atom_eV": float(energy),
        f"{PREFIX}seconds": time.perf_counter() - start,
        "data": {STRUCTURE: {"numbers": relaxed.numbers, "positions": relaxed.positions, "cell": relaxed.cell[:]}},
    }


def structure_of(db, row) -> Atoms:
    """The row's relaxed structure where the relaxation tier made one, else the screened structure."""
    atoms = row.toatoms()
    if not row.get(f"{PREFIX}ok"):  # only a relaxed row has the structure in its data: no read for the others
        return atoms
    saved = db.get(id=row.id).data[STRUCTURE]
    return Atoms(numbers=saved["numbers"], positions=saved["positions"], cell=saved["cell"], pbc=True, info=atoms.info)
