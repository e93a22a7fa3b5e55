"""Single-model uncertainty: the extrapolation grade of last-layer features (D-optimality, as in MTP).

A potential's per-atom energy is linear in its last readout layer: e_i = w · h_i, with h_i the hidden
activation that feeds that layer (plus a constant for the bias). Among the training atoms, the MaxVol
algorithm picks the d = dim(h) rows of the feature matrix H whose d x d matrix A has the largest
|det A| (the D-optimal active set). Every training atom is then a combination of the active set with
coefficients c = h A⁻¹ of magnitude at most ~1, and the grade of a new atom is

    γ = max_j |(h A⁻¹)_j|

— γ ≤ 1: interpolation within the training set; γ > 1: extrapolation (γ = 2 means the active-set
volume would double if this atom replaced one of it). A structure's grade is the largest over its
atoms. One forward pass of one model, no committee (Podryabinkin & Shapeev, Comput. Mater. Sci. 140,
171, 2017). How it compares with the committee's force spread: ``docs/active/README.md``.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np
import scipy.linalg
import torch
from ase import Atoms
from torch import nn

from .. import keys
from ..graph import atoms_to_graph
from ..models.gradients import edge_vectors
from ..models.potential import Potential


def last_layer_features(model: Potential, atoms: Atoms) -> np.ndarray:
    """Inputs of the model's last readout layer per atom, with a trailing 1 for its bias: (N, d) float64.

    Raises:
        TypeError: the architecture has no ``features`` + ``readout`` (an ``nn.Sequential`` ending in
            ``nn.Linear``) to take them from.
        StructureError: the structure is empty, overlapping, degenerate or has unknown elements.
    """
    net, readout = model.net, model.head.mlp  # representation and the energy head's MLP
    if not (hasattr(net, "features") and isinstance(readout, nn.Sequential) and isinstance(readout[-1], nn.Linear)):
        raise TypeError(f"architecture {model.architecture!r} has no features + linear readout for a grade")
    parameter = next(model.parameters())
    if parameter.dtype != torch.float64:  # a grade needs float64 solves; convert a copy, not the caller's model
        net, readout = copy.deepcopy(net).to(dtype=torch.float64), copy.deepcopy(readout).to(dtype=torch.float64)
    device = parameter.device
    graph = atoms_to_graph(atoms, model.cutoff, elements=model.elements, dtype=torch.float64, device=device)
    graph[keys.EDGE_VECTORS] = edge_vectors(graph)
    with torch.no_grad():
        hidden = readout[:-1](net.features(graph)) if len(readout) > 1 else net.features(graph)
    hidden = hidden.cpu().numpy()
    return np.hstack([hidden, np.ones((len(hidden), 1))])


def maxvol(matrix: np.ndarray, tolerance: float = 1.001, max_swaps: int | None = None) -> np.ndarray:
    """Row indices of a d x d submatrix of ``matrix`` (n, d) with locally maximal |det| (MaxVol).

    Starts from a pivoted-QR choice and swaps a row in while some coefficient |c_ij| of
    ``matrix @ inv(submatrix)`` exceeds ``tolerance``; each swap multiplies |det| by |c_ij|.

    Raises:
        ValueError: fewer rows than columns, or the rows span fewer than d dimensions.
    """
    n, d = matrix.shape
    if n < d:
        raise ValueError(f"an active set of {d} features needs at least {d} training atoms, got {n}")
    _, _, pivots = scipy.linalg.qr(matrix.T, pivoting=True, mode="economic")
    rows = np.array(pivots[:d])
    if np.linalg.matrix_rank(matrix[rows]) < d:  # checked once: swaps only grow |det|
        raise ValueError(
            "training features span fewer dimensions than the last layer: add more varied "
            "structures (or a model with a narrower readout)"
        )
    for _ in range(max_swaps if max_swaps is not None else 100 * d):
        coefficients = _coefficients(matrix, matrix[rows])
        i, j = np.unravel_index(np.argmax(np.abs(coefficients)), coefficients.shape)
        if abs(coefficients[i, j]) <= tolerance:
            break
        rows[j] = i
    return rows


def _coefficients(matrix: np.ndarray, active: np.ndarray) -> np.ndarray:
    """c with c @ active = matrix, i.e. matrix @ inv(active), by a solve rather than an inverse."""
    return np.linalg.solve(active.T, matrix.T).T


class ExtrapolationGrade:
    """The D-optimal active set of a model's training atoms, and the grade γ of new structures.

    Args:
        model: a trained potential (PaiNN-type: ``features`` + linear readout).
        training: the structures it was trained on (any number; at least d atoms in all).
        tolerance: MaxVol stops when no training atom has |c| above it; training atoms then grade <= it.

    Attributes:
        active_set: (structure index, atom index) of the d training atoms that span the active set.
        active_features: their last-layer features (d, d).

    Example::

        grade = ExtrapolationGrade(model, train_structures)
        grade(atoms)  # > 1: the model extrapolates somewhere in atoms
    """

    def __init__(self, model: Potential, training: Sequence[Atoms], *, tolerance: float = 1.001):
        if not training:
            raise ValueError("an extrapolation grade needs the training structures, got none")
        self.model = copy.deepcopy(model).to(dtype=torch.float64)  # converted once, not per structure
        features = [last_layer_features(self.model, atoms) for atoms in training]
        owners = np.concatenate([[(k, i) for i in range(len(f))] for k, f in enumerate(features)])
        stacked = np.vstack(features)
        rows = maxvol(stacked, tolerance)
        self.active_set = [tuple(int(x) for x in owners[r]) for r in rows]  # (structure, atom) pairs
        self.active_features = stacked[rows]

    def atom_grades(self, atoms: Atoms) -> np.ndarray:
        """γ of every atom of ``atoms`` (N,), dimensionless."""
        coefficients = _coefficients(last_layer_features(self.model, atoms), self.active_features)
        return np.abs(coefficients).max(axis=1)

    def __call__(self, atoms: Atoms) -> float:
        """γ of the structure: the largest over its atoms."""
        return float(self.atom_grades(atoms).max())


def select_d_optimal(candidates: Sequence[Atoms], k: int, *, model: Potential, labelled: Sequence[Atoms]) -> list[int]:
    """Indices of at most ``k`` candidates chosen greedily for D-optimality (batch active learning, as MTP).

    Each pick is the candidate with the largest grade against the current active set; its atoms then
    join the MaxVol update, so a second copy of an environment already picked no longer extrapolates
    and the next pick goes elsewhere. ``labelled``: the training set (the active set starts from it).
    """
    if not candidates or k <= 0:
        return []
    grade = ExtrapolationGrade(model, labelled)
    active = grade.active_features
    features = [last_layer_features(grade.model, atoms) for atoms in candidates]
    chosen: list[int] = []
    while len(chosen) < min(k, len(candidates)):
        grades = [
            -np.inf if c in chosen else float(np.abs(_coefficients(f, active)).max()) for c, f in enumerate(features)
        ]
        best = int(np.argmax(grades))
        chosen.append(best)
        merged = np.vstack([active, features[best]])
        active = merged[maxvol(merged)]
    return chosen
