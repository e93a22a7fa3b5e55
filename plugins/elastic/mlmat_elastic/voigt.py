"""Voigt conventions: strain states, cell deformation and rotation of a stiffness tensor.

Voigt order is ASE's: xx, yy, zz, yz, xz, xy. Strain vectors carry engineering shear,
γ_yz = 2 ε_yz, so that σ = C ε with the stress in the same order (``atoms.get_stress()``).
"""

from __future__ import annotations

import numpy as np
from ase import Atoms

VOIGT_PAIRS = ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))  # Voigt index → tensor indices


def strain_tensor(component: int, amplitude: float) -> np.ndarray:
    """Symmetric 3×3 tensor strain with one Voigt component set.

    Args:
        component: Voigt index 0–5.
        amplitude: tensor strain ε_ij (dimensionless); for a shear component (3–5) it is applied to
            both ε_ij and ε_ji, so the engineering strain is γ = 2 · amplitude.

    Returns:
        (3, 3) strain tensor ε.
    """
    if component not in range(6):
        raise ValueError(f"Voigt component must be 0–5, got {component}")
    i, j = VOIGT_PAIRS[component]
    eps = np.zeros((3, 3))
    eps[i, j] = eps[j, i] = amplitude
    return eps


def voigt_strain(eps: np.ndarray) -> np.ndarray:
    """(6,) Voigt strain, engineering shear (γ = 2ε), of a symmetric (3, 3) tensor strain."""
    eps = np.asarray(eps, dtype=float)
    return np.array([eps[i, j] * (1.0 if i == j else 2.0) for i, j in VOIGT_PAIRS])


def deformed(atoms: Atoms, eps: np.ndarray) -> Atoms:
    """A copy of ``atoms`` with cell and positions mapped by x → (1 + ε) x (calculator not copied)."""
    strained = atoms.copy()
    strained.set_cell(atoms.cell.array @ (np.eye(3) + eps).T, scale_atoms=True)
    return strained


def voigt_to_full(C: np.ndarray) -> np.ndarray:
    """(3, 3, 3, 3) stiffness tensor of a (6, 6) Voigt stiffness (no factors: C_ijkl = C_(ij)(kl))."""
    C = np.asarray(C, dtype=float)
    full = np.empty((3, 3, 3, 3))
    for a, (i, j) in enumerate(VOIGT_PAIRS):
        for b, (k, m) in enumerate(VOIGT_PAIRS):
            for p, q in {(i, j), (j, i)}:
                for r, s in {(k, m), (m, k)}:
                    full[p, q, r, s] = C[a, b]
    return full


def full_to_voigt(c: np.ndarray) -> np.ndarray:
    """(6, 6) Voigt stiffness of a (3, 3, 3, 3) stiffness tensor with the minor symmetries."""
    c = np.asarray(c, dtype=float)
    return np.array([[c[i, j, k, m] for k, m in VOIGT_PAIRS] for i, j in VOIGT_PAIRS])


def rotate_elastic_tensor(C: np.ndarray, R: np.ndarray) -> np.ndarray:
    """Stiffness of the rotated crystal, C'_ijkl = R_ia R_jb R_kc R_ld C_abcd.

    Args:
        C: (6, 6) Voigt stiffness in the original frame.
        R: (3, 3) rotation taking original Cartesian vectors to new ones (x' = R x).

    Returns:
        (6, 6) Voigt stiffness in the rotated frame.
    """
    R = np.asarray(R, dtype=float)
    return full_to_voigt(np.einsum("ia,jb,kc,ld,abcd->ijkl", R, R, R, R, voigt_to_full(C)))
