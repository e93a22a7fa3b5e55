"""Calculator calls and relaxations that fail with a :class:`PropertyError` naming the structure."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
from ase import Atoms
from ase.filters import FrechetCellFilter
from ase.optimize import BFGS, FIRE, LBFGS

from ase_mlmat.properties import PropertyError

OPTIMIZERS = {"BFGS": BFGS, "LBFGS": LBFGS, "FIRE": FIRE}


def structure_label(atoms: Atoms) -> str:
    """``atoms.info["label"]`` if set, else the chemical formula."""
    return str(atoms.info.get("label") or atoms.get_chemical_formula())


@contextmanager
def calculator_errors(calculator, label: str) -> Iterator[None]:
    """Turn anything a calculator raises into a PropertyError that names the structure."""
    try:
        yield
    except PropertyError:
        raise
    except Exception as err:
        raise PropertyError(
            f"calculator {type(calculator).__name__} failed on {label}: {type(err).__name__}: {err}"
        ) from err


def stress(atoms: Atoms, calculator, label: str) -> np.ndarray:
    """(6,) Voigt stress of ``atoms`` in eV/Å³ (tensile-positive); ``atoms.calc`` is set to ``calculator``."""
    atoms.calc = calculator
    with calculator_errors(calculator, label):
        value = np.asarray(atoms.get_stress(voigt=True), dtype=float)
    if value.shape != (6,) or not np.all(np.isfinite(value)):
        raise PropertyError(f"calculator {type(calculator).__name__} returned a non-finite stress for {label}")
    return value


def relax(atoms: Atoms, calculator, *, cell: bool, fmax: float, max_steps: int, optimizer: str, label: str) -> None:
    """Relax ``atoms`` in place: positions, and the cell too if ``cell`` (FrechetCellFilter).

    Args:
        atoms: the structure (modified).
        calculator: ASE calculator, attached to ``atoms``.
        cell: also relax the cell shape and volume.
        fmax: force criterion, eV/Å (for the cell, the filter's stress-times-volume forces).
        max_steps: optimiser steps allowed.
        optimizer: a key of :data:`OPTIMIZERS`.
        label: name of the structure in error messages.

    Raises:
        PropertyError: the calculator failed, or the relaxation did not converge.
    """
    atoms.calc = calculator
    target = FrechetCellFilter(atoms) if cell else atoms
    with calculator_errors(calculator, label):
        converged = OPTIMIZERS[optimizer](target, logfile=None).run(fmax=fmax, steps=max_steps)
    if not converged:
        what = "cell and position relaxation" if cell else "ion relaxation at fixed strained cell"
        raise PropertyError(f"{what} of {label} did not reach fmax={fmax} eV/Å in {max_steps} steps")
