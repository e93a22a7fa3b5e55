"""Relaxation of positions and (optionally) the cell with an ASE optimiser."""

from __future__ import annotations

import time

from ase import Atoms
from ase.filters import FrechetCellFilter
from ase.optimize import BFGS, FIRE


class _OutOfTimeError(Exception):
    pass


def relax(
    atoms: Atoms,
    *,
    fmax_eV_per_A: float = 1e-3,
    relax_cell: bool = True,
    max_steps: int = 1000,
    optimizer: str = "FIRE",
    logfile: str | None = None,
    max_seconds: float | None = None,
) -> tuple[Atoms, bool]:
    """Relax ``atoms`` in place (its calculator attached); returns (atoms, converged).

    ``max_seconds`` bounds the wall-clock time: when it runs out the atoms keep their last step and the
    relaxation counts as not converged, like one that ran out of ``max_steps``.
    """
    target = FrechetCellFilter(atoms) if relax_cell else atoms
    opt_class = {"FIRE": FIRE, "BFGS": BFGS}[optimizer]
    opt = opt_class(target, logfile=logfile)
    if max_seconds is not None:
        deadline = time.perf_counter() + max_seconds

        def check_time() -> None:
            if time.perf_counter() > deadline:
                raise _OutOfTimeError

        opt.attach(check_time)
    try:
        converged = bool(opt.run(fmax=fmax_eV_per_A, steps=max_steps))
    except _OutOfTimeError:
        converged = False
    return atoms, converged
