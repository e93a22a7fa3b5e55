"""``elastic``: the stiffness tensor of a crystal by finite strain with any ASE calculator."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import ClassVar

import numpy as np
from ase import Atoms
from ase.units import GPa

from ase_mlmat.properties import PropertyError, PropertyPredictor

from .fit import fit_elastic_tensor
from .frame import to_standard_frame
from .relax import OPTIMIZERS, relax, stress, structure_label
from .result import ElasticResult
from .voigt import deformed, strain_tensor, voigt_strain

DEFAULT_NORMAL_STRAINS = (-0.01, -0.005, 0.005, 0.01)
DEFAULT_SHEAR_STRAINS = (-0.01, -0.005, 0.005, 0.01)
MAX_STRAIN = 0.1  # beyond 10 % a "linear" fit is no longer an elastic constant
ASYMMETRY_WARNING = 0.02  # warn when |C_ij − C_ji| / 2 exceeds this fraction of max |C|
PRESTRESS_WARNING = 0.01  # warn when the reference stress exceeds this fraction of max |C|


def _amplitudes(name: str, values: Sequence[float]) -> tuple[float, ...]:
    values = tuple(float(v) for v in values)
    if not values:
        raise ValueError(f"{name} must contain at least one strain")
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"{name} must be finite, got {values}")
    if any(v == 0.0 for v in values):
        raise ValueError(f"{name} must be non-zero (the unstrained state is always included), got {values}")
    if any(abs(v) > MAX_STRAIN for v in values):
        raise ValueError(f"{name} must lie within ±{MAX_STRAIN} (linear elasticity), got {values}")
    return values


class ElasticPredictor(PropertyPredictor):
    """Elastic tensor C (GPa) by finite strain, and the moduli, stability and θ_D derived from it.

    The structure is relaxed (positions and cell, :class:`ase.filters.FrechetCellFilter`), then for
    each of the six Voigt components and each amplitude the cell is strained, x → (1 + ε) x, with the
    tensor strain ε applied symmetrically to shear pairs (engineering strain γ = 2ε), the ions are
    relaxed at fixed cell (relaxed-ion tensor; ``relax_ions=False`` gives the clamped-ion tensor) and
    the stress is recorded. ASE stress is tensile-positive, so C_ij = +dσ_i/dε_j: the slope of a line
    fitted through the strained states and the unstrained one. C is symmetrised and reported in the
    Cartesian frame of the conventional standard cell (:mod:`~mlmat_elastic.frame`; ``result.frame``
    names it), so primitive and conventional cells of one crystal give the same C_ij.

    Default amplitudes are ±0.5 % and ±1 % for normal and shear strain alike. pymatgen's
    ``DeformedStructureSet`` (and matcalc) strain shear by ±3 % and ±6 % tensor strain; for EMT copper
    that linear fit overestimates C44 by 7.5 % and for EMT aluminium underestimates it by 6 %, while
    forces and stresses of a potential are exact to far below what ±0.5 % needs.

    An unstable tensor is returned with ``born_stable=False`` and no moduli (see
    :class:`~mlmat_elastic.result.ElasticResult`).

    Args:
        normal_strains: tensor strains applied to xx, yy, zz (dimensionless, non-zero, |ε| ≤ 0.1).
        shear_strains: tensor strains ε_ij = ε_ji applied to yz, xz, xy (γ = 2ε).
        relax_structure: relax positions and cell before straining.
        relax_ions: relax positions in each strained cell (relaxed-ion C); False: clamped-ion C.
        fmax: force criterion of every relaxation, eV/Å.
        max_steps: optimiser steps allowed per relaxation; not converging is a PropertyError.
        optimizer: "BFGS", "LBFGS" or "FIRE" (ase.optimize).
    """

    name: ClassVar[str] = "elastic"
    needs_calculator: ClassVar[bool] = True

    def __init__(
        self,
        *,
        normal_strains: Sequence[float] = DEFAULT_NORMAL_STRAINS,
        shear_strains: Sequence[float] = DEFAULT_SHEAR_STRAINS,
        relax_structure: bool = True,
        relax_ions: bool = True,
        fmax: float = 1e-3,
        max_steps: int = 1000,
        optimizer: str = "BFGS",
    ) -> None:
        self.normal_strains = _amplitudes("normal_strains", normal_strains)
        self.shear_strains = _amplitudes("shear_strains", shear_strains)
        if not (math.isfinite(fmax) and fmax > 0):
            raise ValueError(f"fmax must be a positive force in eV/Å, got {fmax}")
        if int(max_steps) != max_steps or max_steps < 1:
            raise ValueError(f"max_steps must be a positive integer, got {max_steps}")
        if optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {sorted(OPTIMIZERS)}, got {optimizer!r}")
        self.relax_structure = bool(relax_structure)
        self.relax_ions = bool(relax_ions)
        self.fmax = float(fmax)
        self.max_steps = int(max_steps)
        self.optimizer = optimizer

    def predict(self, atoms: Atoms, calculator=None) -> ElasticResult:
        """Elastic tensor and derived properties of ``atoms`` (not modified).

        Raises:
            PropertyError: no calculator, no 3D periodic cell, the calculator fails on the structure,
                or a relaxation does not converge.
        """
        label = structure_label(atoms)
        if calculator is None:
            raise PropertyError(f"the elastic predictor needs a calculator giving stress ({label})")
        if not atoms.pbc.all() or atoms.cell.rank != 3:
            raise PropertyError(f"an elastic tensor needs a cell periodic in 3D; {label} is not")
        options = {"fmax": self.fmax, "max_steps": self.max_steps, "optimizer": self.optimizer, "label": label}
        reference = atoms.copy()
        if self.relax_structure:
            relax(reference, calculator, cell=True, **options)
        reference_stress = stress(reference, calculator, label)
        strains, stresses = [], []
        for component in range(6):
            for amplitude in self.normal_strains if component < 3 else self.shear_strains:
                eps = strain_tensor(component, amplitude)
                strained = deformed(reference, eps)
                if self.relax_ions:
                    relax(strained, calculator, cell=False, **options)
                strains.append(voigt_strain(eps))
                stresses.append(stress(strained, calculator, label))
        fit = fit_elastic_tensor(strains, stresses, reference_stress)
        C, frame, rotation = to_standard_frame(fit.tensor / GPa, reference)
        result = ElasticResult.from_tensor(C, reference)
        return dataclasses.replace(
            result,
            frame=frame,
            frame_rotation=rotation,
            relaxed_ions=self.relax_ions,
            fit_residual_GPa=fit.rms_residual / GPa,
            fit_asymmetry_GPa=fit.asymmetry / GPa,
            reference_stress_GPa=reference_stress / GPa,
            cell_A=reference.cell.array.copy(),
            strains_voigt=np.array(strains),
            stresses_GPa=np.array(stresses) / GPa,
            warnings=_warnings(result, fit.asymmetry / GPa, reference_stress / GPa),
        )


def _warnings(result: ElasticResult, asymmetry_GPa: float, reference_stress_GPa: np.ndarray) -> str:
    scale = np.abs(result.elastic_tensor_GPa).max()
    notes = [result.warnings] if result.warnings else []
    if asymmetry_GPa > ASYMMETRY_WARNING * scale:
        notes.append(
            f"C_ij and C_ji differed by up to {asymmetry_GPa:.3g} GPa before symmetrisation "
            "(strains beyond the linear range, or a stressed reference structure)"
        )
    if np.abs(reference_stress_GPa).max() > PRESTRESS_WARNING * scale:
        notes.append(
            f"the reference structure is under stress up to {np.abs(reference_stress_GPa).max():.3g} GPa; "
            "C is the stress–strain slope at that stress"
        )
    return "; ".join(notes)
