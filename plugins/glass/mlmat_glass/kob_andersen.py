"""The Kob–Andersen 80:20 binary Lennard-Jones mixture: energy, forces, virial (numpy, vectorised).

Model (Kob & Andersen, PRE 51, 4626, 1995), in LJ units of the A particles (σ_AA = ε_AA = m = k_B = 1):

    u_αβ(r) = 4 ε_αβ [(σ_αβ/r)^12 − (σ_αβ/r)^6] − u_αβ^LJ(r_c,αβ)   for r < r_c,αβ = 2.5 σ_αβ, else 0

with ε_AA = 1, ε_AB = 1.5, ε_BB = 0.5, σ_AA = 1, σ_AB = 0.8, σ_BB = 0.88, equal masses. The potential is
*truncated and shifted* in energy (the shift makes u continuous at r_c; the force is not shifted and
jumps there), as LAMMPS ``pair_style lj/cut 2.5`` with ``pair_modify shift yes``. The shift per pair is
u^LJ(2.5σ) = 4ε(2.5^-12 − 2.5^-6) = −0.016316 ε, which raises e_pot by ≈ 0.57 per particle at ρ = 1.2
compared with the unshifted truncated potential. Pressure has no tail correction.

Types are integers: 0 = A, 1 = B.
"""

from __future__ import annotations

import dataclasses

import numpy as np

EPSILON = np.array([[1.0, 1.5], [1.5, 0.5]])  # ε_αβ, energy units
SIGMA = np.array([[1.0, 0.8], [0.8, 0.88]])  # σ_αβ, length units
CUTOFF_RATIO = 2.5  # r_c,αβ / σ_αβ
CUTOFF = CUTOFF_RATIO * SIGMA  # r_c,αβ, length units
ENERGY_SHIFT = 4.0 * EPSILON * (CUTOFF_RATIO**-12 - CUTOFF_RATIO**-6)  # u^LJ(r_c), subtracted
NUMBER_DENSITY = 1.2  # standard ρ = N/V
A_FRACTION = 0.8


@dataclasses.dataclass(frozen=True)
class ForceResult:
    """Energy, forces and virial of one configuration (LJ units).

    Attributes:
        energy: total potential energy (ε).
        energies: per-particle potential energy, half of each pair's energy to each partner (N,) ε.
        forces: (N, 3) ε/σ.
        virial: W = Σ_pairs r_ij · f_ij (ε); pressure P = (2 K + W) / (3 V).
    """

    energy: float
    energies: np.ndarray
    forces: np.ndarray
    virial: float


def box_lengths(box: float | np.ndarray) -> np.ndarray:
    """Edge lengths (3,) of an orthorhombic periodic box given as a number (cubic) or three lengths."""
    lengths = np.broadcast_to(np.asarray(box, dtype=float), (3,)).copy()
    if not np.all(np.isfinite(lengths)) or np.any(lengths <= 0):
        raise ValueError(f"box lengths must be finite and positive, got {lengths.tolist()}")
    if np.any(lengths < 2 * CUTOFF.max()):
        raise ValueError(f"box {lengths.tolist()} is shorter than twice the largest cutoff {2 * CUTOFF.max():.2f} σ")
    return lengths


def pair_vectors(positions: np.ndarray, box: np.ndarray, cutoff: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Half list of pairs closer than ``cutoff`` in a periodic orthorhombic box.

    Returns:
        i, j (P,) int64 and the minimum-image vectors r_j − r_i (P, 3).
    """
    import vesin

    calculator = vesin.NeighborList(cutoff=float(cutoff), full_list=False)
    i, j, vectors = calculator.compute(
        np.ascontiguousarray(positions, dtype=float), np.diag(box), True, quantities="ijD"
    )
    return i.astype(np.int64), j.astype(np.int64), vectors


def kob_andersen_forces(positions: np.ndarray, types: np.ndarray, box: float | np.ndarray) -> ForceResult:
    """Energy, per-particle energies, forces and virial of the truncated-and-shifted KA mixture.

    Args:
        positions: (N, 3) σ; may lie outside the box (wrapped here).
        types: (N,) 0 = A, 1 = B.
        box: cubic edge length or (3,) orthorhombic edge lengths, σ.
    """
    lengths = box_lengths(box)
    types = np.asarray(types, dtype=np.int64)
    n = len(types)
    i, j, vectors = pair_vectors(np.mod(positions, lengths), lengths, CUTOFF.max())
    ti, tj = types[i], types[j]
    r2 = np.einsum("pk,pk->p", vectors, vectors)
    keep = r2 < CUTOFF[ti, tj] ** 2
    i, j, vectors, r2, ti, tj = i[keep], j[keep], vectors[keep], r2[keep], ti[keep], tj[keep]
    eps = EPSILON[ti, tj]
    s6 = (SIGMA[ti, tj] ** 2 / r2) ** 3
    pair_energy = 4.0 * eps * (s6 * s6 - s6) - ENERGY_SHIFT[ti, tj]
    # f_ij = −du/dr · r̂ acting on j along r_j − r_i: scalar factor −(du/dr)/r.
    factor = 24.0 * eps * (2.0 * s6 * s6 - s6) / r2
    pair_forces = factor[:, None] * vectors  # force on j (P, 3); −that on i
    forces = np.stack(
        [np.bincount(j, pair_forces[:, k], n) - np.bincount(i, pair_forces[:, k], n) for k in range(3)], axis=1
    )
    energies = 0.5 * (np.bincount(i, pair_energy, n) + np.bincount(j, pair_energy, n))
    return ForceResult(float(pair_energy.sum()), energies, forces, float(np.dot(factor, r2)))


def pressure(virial: float, kinetic_energy: float, volume: float) -> float:
    """Virial pressure P = (2 K + W) / (3 V) in ε/σ³ (no tail correction)."""
    return (2.0 * kinetic_energy + virial) / (3.0 * volume)
