"""Which frames to label: committee uncertainty, and diversity by farthest-point sampling.

Uncertainty of a frame is the largest per-atom force spread of the committee,
``max_i |σ_F,i|`` in eV/Å (σ_F,i the (3,) standard deviation of atom i's force over the
members), together with the energy spread per atom σ_E / N in eV/atom.

Diversity uses a model-independent descriptor, a Gaussian-smoothed radial distribution
per pair of elements, so that the choice does not drift with the committee. Farthest-point
sampling starts from the most uncertain candidate and then repeatedly takes the candidate
farthest from everything chosen so far — including the structures already labelled.
With ``weighted=True`` (batch query-by-committee) the greedy score is instead the
candidate's uncertainty times its distance to everything chosen or labelled: the most
uncertain frames are taken, but a near-copy of one already chosen scores close to zero.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers
from ase.neighborlist import neighbor_list


def frame_uncertainty(results: dict, num_atoms: int) -> tuple[float, float]:
    """(max per-atom force spread in eV/Å, energy spread in eV/atom) from committee results."""
    forces_std = np.asarray(results["forces_std"]).reshape(num_atoms, 3)
    return float(np.linalg.norm(forces_std, axis=1).max()), float(results["energy_std"]) / num_atoms


def rdf_descriptor(
    atoms: Atoms, elements: Sequence[str], *, cutoff: float = 5.0, r_min: float = 1.0, bins: int = 48,
    width: float = 0.1,
) -> np.ndarray:
    """Smoothed radial distribution per element pair, per atom: (n_pairs * bins,).

    Args:
        elements: symbols fixing the pair order (all structures compared must use the same list).
        cutoff: largest distance, Å.
        r_min: smallest distance of the grid, Å.
        width: Gaussian smoothing, Å.
    """
    order = sorted(elements, key=lambda s: atomic_numbers[s])
    index = {atomic_numbers[s]: k for k, s in enumerate(order)}
    pairs = {(a, b): n for n, (a, b) in enumerate((a, b) for a in range(len(order)) for b in range(a, len(order)))}
    grid = np.linspace(r_min, cutoff, bins)
    out = np.zeros((len(pairs), bins))
    i, j, d = neighbor_list("ijd", atoms, cutoff)
    if len(d):
        si = np.array([index[z] for z in atoms.numbers])
        a, b = np.minimum(si[i], si[j]), np.maximum(si[i], si[j])
        pair = np.array([pairs[(x, y)] for x, y in zip(a, b)])
        weight = np.exp(-0.5 * ((grid[None, :] - d[:, None]) / width) ** 2)  # [n_pairs_ij, bins]
        np.add.at(out, pair, weight)
    return (out / len(atoms)).ravel()


def farthest_point_sampling(
    points: np.ndarray, k: int, *, first: int = 0, existing: np.ndarray | None = None,
    weights: np.ndarray | None = None,
) -> list[int]:
    """Indices of ``k`` rows of ``points`` (n, d), each farthest from those chosen and from ``existing`` (m, d).

    With ``weights`` (n,), non-negative, each pick maximises weight x distance instead (``first`` is
    then ignored: the first pick is the largest weight x distance to ``existing``, or the largest
    weight). Exact duplicates (distance 0 to something chosen or existing) are never chosen, so fewer
    than ``k`` indices may come back.
    """
    n = len(points)
    if n == 0 or k <= 0:
        return []
    distance = np.full(n, np.inf)
    if existing is not None and len(existing):
        distance = np.min(np.linalg.norm(points[:, None, :] - existing[None, :, :], axis=-1), axis=1)
    if weights is not None:
        weights = np.asarray(weights, dtype=float).clip(min=0.0) + 1e-12

    def best() -> int:
        if weights is None:
            return int(np.argmax(distance))
        if np.isinf(distance).all():
            return int(np.argmax(weights))
        return int(np.argmax(np.where(distance > 0, weights * distance, -1.0)))

    chosen: list[int] = []
    candidate = first if weights is None and distance[first] > 0 else best()
    while len(chosen) < min(k, n) and distance[candidate] > 0:
        chosen.append(candidate)
        distance = np.minimum(distance, np.linalg.norm(points - points[candidate], axis=1))
        candidate = best()
    return chosen


def select_diverse(
    candidates: Sequence[Atoms], uncertainty: Sequence[float], k: int, *, labelled: Sequence[Atoms] = (),
    cutoff: float = 5.0, weighted: bool = False,
) -> list[int]:
    """Indices of at most ``k`` candidates: the most uncertain first, then farthest-point sampling.

    Args:
        candidates: frames above the uncertainty threshold.
        uncertainty: their force spread, eV/Å.
        labelled: structures already in the training set; candidates like them are avoided.
        cutoff: descriptor range, Å.
        weighted: pick by uncertainty x distance to the chosen and labelled ones (batch
            query-by-committee) instead of by distance alone after the most uncertain.
    """
    if not candidates:
        return []
    elements = sorted({s for atoms in (*candidates, *labelled) for s in atoms.get_chemical_symbols()},
                      key=lambda s: atomic_numbers[s])
    points = np.array([rdf_descriptor(a, elements, cutoff=cutoff) for a in candidates])
    existing = np.array([rdf_descriptor(a, elements, cutoff=cutoff) for a in labelled]) if labelled else None
    weights = None
    if weighted:  # NaN: a frame where MD failed (no spread measured) counts as the most uncertain
        weights = np.asarray(uncertainty, dtype=float)
        finite = weights[np.isfinite(weights)]
        weights = np.where(np.isfinite(weights), weights, 2.0 * finite.max() if len(finite) else 1.0)
    return farthest_point_sampling(points, k, first=int(np.argmax(uncertainty)), existing=existing, weights=weights)
