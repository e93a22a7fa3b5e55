"""Structural baselines for propensity, each fitted by linear least squares on training configurations.

* local potential energy per particle (Kob–Andersen, half of each pair energy; ε);
* number of neighbours in the first shell, r < 1.4 σ (first minimum of g_AA at ρ = 1.2);
* radial density descriptors (Schoenholz-type structure functions): for each partner species β and
  shell centre r_k = 0.8, 0.9, …, 3.5 σ, G_i(r_k; β) = Σ_{j∈β} exp(−(r_ij − r_k)² / (2 · 0.1²)),
  a linear (ridge) model on them.
"""

from __future__ import annotations

import numpy as np

from .kob_andersen import kob_andersen_forces

FIRST_SHELL = 1.4  # σ
RADIAL_CENTRES = np.round(np.arange(0.8, 3.5001, 0.1), 3)  # σ
RADIAL_WIDTH = 0.1  # σ


def _pairs(positions: np.ndarray, box: np.ndarray, cutoff: float):
    import vesin

    lengths = np.broadcast_to(np.asarray(box, dtype=float), (3,))
    i, j, d = vesin.NeighborList(cutoff=float(cutoff), full_list=True).compute(
        np.mod(positions, lengths), np.diag(lengths), True, quantities="ijd"
    )
    return i.astype(np.int64), j.astype(np.int64), d


def local_energy(positions: np.ndarray, types: np.ndarray, box) -> np.ndarray:
    """Per-particle Kob–Andersen potential energy (N,) ε."""
    return kob_andersen_forces(positions, types, box).energies


def neighbour_count(positions: np.ndarray, types: np.ndarray, box, *, radius: float = FIRST_SHELL) -> np.ndarray:
    """Number of particles (any type) within ``radius`` σ of each particle (N,)."""
    i, _, _ = _pairs(positions, box, radius)
    return np.bincount(i, minlength=len(types)).astype(float)


def radial_descriptors(positions: np.ndarray, types: np.ndarray, box) -> np.ndarray:
    """Radial density descriptors (N, 2 · len(RADIAL_CENTRES)): A-partner block, then B-partner block."""
    types = np.asarray(types, dtype=np.int64)
    i, j, d = _pairs(positions, box, RADIAL_CENTRES[-1] + 3 * RADIAL_WIDTH)
    weights = np.exp(-0.5 * ((d[:, None] - RADIAL_CENTRES[None, :]) / RADIAL_WIDTH) ** 2)  # (P, K)
    n, k = len(types), len(RADIAL_CENTRES)
    out = np.zeros((n, 2 * k))
    for partner in (0, 1):
        sel = types[j] == partner
        for c in range(k):
            out[:, partner * k + c] = np.bincount(i[sel], weights[sel, c], minlength=n)
    return out


BASELINES = {
    "local_energy": lambda p, t, b: local_energy(p, t, b)[:, None],
    "neighbour_count": lambda p, t, b: neighbour_count(p, t, b)[:, None],
    "radial_linear": radial_descriptors,
}


class LinearBaseline:
    """Ridge regression y ≈ w · standardised(x) + c (closed form)."""

    def __init__(self, ridge: float = 1e-3):
        self.ridge = ridge

    def fit(self, x: np.ndarray, y: np.ndarray) -> LinearBaseline:
        self.mean = x.mean(axis=0)
        self.scale = x.std(axis=0) + 1e-12
        z = (x - self.mean) / self.scale
        design = np.hstack([z, np.ones((len(z), 1))])
        penalty = self.ridge * len(z) * np.eye(design.shape[1])
        penalty[-1, -1] = 0.0
        self.coef = np.linalg.solve(design.T @ design + penalty, design.T @ y)
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        z = (x - self.mean) / self.scale
        return z @ self.coef[:-1] + self.coef[-1]
