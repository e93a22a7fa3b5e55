"""Least-squares fit of the stiffness tensor from independent strain states.

For each Voigt strain component j, the stresses of the states strained along j alone, together with
the unstrained (reference) stress at ε = 0, are fitted by straight lines σ_i = σ_i⁰ + C_ij ε_j; the
slopes form column j of C. The fit is unit-agnostic: C comes out in the stress unit.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike


class TensorFit(NamedTuple):
    """Result of :func:`fit_elastic_tensor`, in the unit of the stresses given."""

    tensor: np.ndarray  # (6, 6) symmetrised C
    rms_residual: float  # root-mean-square deviation of the stresses from the fitted lines
    asymmetry: float  # max |C_ij − C_ji| / 2 before symmetrisation


def fit_elastic_tensor(strains: ArrayLike, stresses: ArrayLike, reference_stress: ArrayLike) -> TensorFit:
    """C_ij = dσ_i/dε_j from states that each strain one Voigt component.

    Args:
        strains: (n, 6) Voigt strains, engineering shear, one non-zero component per row.
        stresses: (n, 6) stresses of those states, tensile-positive (ASE sign), any unit.
        reference_stress: (6,) stress of the unstrained structure, same unit.

    Returns:
        The symmetrised tensor, the RMS fit residual and the asymmetry of the raw slopes.

    Raises:
        ValueError: mismatched shapes, a row straining zero or several components, or a component
            without any strained state.
    """
    strains = np.asarray(strains, dtype=float)
    stresses = np.asarray(stresses, dtype=float)
    reference_stress = np.asarray(reference_stress, dtype=float)
    if strains.ndim != 2 or strains.shape[1] != 6 or stresses.shape != strains.shape:
        raise ValueError(f"strains and stresses must both be (n, 6), got {strains.shape} and {stresses.shape}")
    if reference_stress.shape != (6,):
        raise ValueError(f"reference_stress must be (6,), got {reference_stress.shape}")
    active = strains != 0.0
    if not np.all(active.sum(axis=1) == 1):
        raise ValueError("every strain state must strain exactly one Voigt component")
    component = active.argmax(axis=1)
    C = np.empty((6, 6))
    squared_residuals = []
    for j in range(6):
        rows = component == j
        if not rows.any():
            raise ValueError(f"no strain state for Voigt component {j}")
        x = np.concatenate([[0.0], strains[rows, j]])  # [n_j + 1]
        y = np.vstack([reference_stress, stresses[rows]])  # [n_j + 1, 6]
        (slope, intercept), *_ = np.linalg.lstsq(np.column_stack([x, np.ones_like(x)]), y, rcond=None)
        C[:, j] = slope
        squared_residuals.append((y - np.outer(x, slope) - intercept) ** 2)
    rms = float(np.sqrt(np.mean(np.concatenate(squared_residuals))))
    return TensorFit(0.5 * (C + C.T), rms, float(0.5 * np.abs(C - C.T).max()))
