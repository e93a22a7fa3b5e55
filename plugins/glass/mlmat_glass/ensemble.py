"""A weighted average of propensity models that see the same inputs (e.g. a graph network and a ridge model),
with the weights chosen on validation predictions.

The members' errors are partly independent, so an average beats each of them — but only with weights that
reflect how good each member is: a fixed equal-weight average lets a weak member drag the ensemble below
its best member. :func:`fit_weights` chooses non-negative weights summing to one that maximise the mean
per-configuration Pearson correlation of the weighted average with the target on *out-of-fold*
predictions (each configuration predicted by members trained without it, see
:func:`mlmat_glass.validation.out_of_fold`); the weights live in the model's state dict.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from .glass_graph import Graph
from .metrics import pearson

INPUT_KEYS = ("descriptors", "n_descriptors", "graph_positions", "cutoff")


class PropensityEnsemble(nn.Module):
    """Weighted mean of the members' outputs (standardised propensity). Members must share their input settings.

    Args:
        members: trained models (checkpoints store their configs under ``config["members"]``).
        weights: (M,) non-negative, summing to one; equal weights if None. Stored as the buffer ``weights``
            (files written before weights existed load with equal weights).
    """

    def __init__(self, members: Sequence[nn.Module], weights: Sequence[float] | None = None):
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one member")
        inputs = [{k: m.config.get(k) for k in INPUT_KEYS} for m in members]
        if any(i != inputs[0] for i in inputs[1:]):
            raise ValueError(f"ensemble members must see the same inputs, got {inputs}")
        self.members = nn.ModuleList(members)
        self.config = {"kind": "ensemble", **inputs[0], "members": [dict(m.config) for m in members]}
        self.register_buffer("weights", torch.full((len(members),), 1.0 / len(members), dtype=torch.float64))
        if weights is not None:
            self.set_weights(weights)

    def set_weights(self, weights: Sequence[float]) -> None:
        """Replace the weights; they must be (M,), non-negative and sum to one."""
        w = torch.as_tensor(np.asarray(weights, dtype=np.float64))
        if w.shape != self.weights.shape or bool((w < 0).any()) or abs(float(w.sum()) - 1.0) > 1e-6:
            raise ValueError(f"weights must be {len(self.members)} non-negative numbers summing to one, got {weights}")
        self.weights.copy_(w)

    def forward(self, graph: Graph) -> torch.Tensor:
        """Per-particle output (N,): Σ_m w_m · member_m(graph)."""
        outputs = torch.stack([member(graph) for member in self.members])  # [n_members, n_nodes]
        return (self.weights.to(outputs.dtype)[:, None] * outputs).sum(0)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # files written before the ensemble had weights: keep the equal weights they were built with
        state_dict.setdefault(prefix + "weights", self.weights.clone())
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


def mean_pearson(predictions: Sequence[np.ndarray], targets: Sequence[np.ndarray]) -> float:
    """Mean over configurations of the Pearson correlation of ``predictions[k]`` with ``targets[k]``."""
    return float(np.mean([pearson(p, t) for p, t in zip(predictions, targets)]))


def fit_weights(predictions: Sequence[np.ndarray], targets: Sequence[np.ndarray]) -> np.ndarray:
    """Simplex weights (M,) maximising the mean per-configuration Pearson of Σ_m w_m · predictions[k][m].

    Args:
        predictions: per configuration, the members' validation predictions (M, N_k) — out-of-fold, so
            that a member that over-fits gets no credit for it.
        targets: per configuration, the target (N_k,) on the same particles.

    The optimum is searched from equal weights and from every member alone; the result is the best of the
    optimised weights and the single members, so it never scores below the best member on these
    predictions.
    """
    from scipy.optimize import minimize

    blocks = [np.asarray(p, dtype=np.float64) for p in predictions]
    n_members = blocks[0].shape[0]
    if any(b.ndim != 2 or b.shape[0] != n_members for b in blocks):
        raise ValueError("predictions must be (n_members, n_particles) per configuration, same n_members")

    def score(w: np.ndarray) -> float:
        return mean_pearson([w @ b for b in blocks], targets)

    def to_simplex(theta: np.ndarray) -> np.ndarray:  # softmax: unconstrained search over the simplex
        e = np.exp(theta - theta.max())
        return e / e.sum()

    vertices = [np.eye(n_members)[m] for m in range(n_members)]
    if n_members == 1:
        return vertices[0]
    candidates = list(vertices)
    for start in [np.full(n_members, 1.0 / n_members), *vertices]:
        theta0 = np.log(np.clip(start, 1e-3, None))
        result = minimize(lambda t: -score(to_simplex(t)), theta0, method="Powell")
        w = to_simplex(result.x)
        w = np.where(w < 1e-4, 0.0, w)  # members whose weight is round-off are dropped
        candidates.append(w / w.sum())
    return max(candidates, key=score)
