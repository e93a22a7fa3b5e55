"""Relaxation of positions and (optionally) the cell with an ASE optimiser."""

from __future__ import annotations

from ase import Atoms
from ase.filters import FrechetCellFilter
from ase.optimize import BFGS, FIRE


def relax(
    atoms: Atoms,
    *,
    fmax_eV_per_A: float = 1e-3,
    relax_cell: bool = True,
    max_steps: int = 1000,
    optimizer: str = "FIRE",
    logfile: str | None = None,
) -> tuple[Atoms, bool]:
    """Relax ``atoms`` in place (its calculator attached); returns (atoms, converged)."""
    target = FrechetCellFilter(atoms) if relax_cell else atoms
    opt_class = {"FIRE": FIRE, "BFGS": BFGS}[optimizer]
    opt = opt_class(target, logfile=logfile)
    converged = bool(opt.run(fmax=fmax_eV_per_A, steps=max_steps))
    return atoms, converged
