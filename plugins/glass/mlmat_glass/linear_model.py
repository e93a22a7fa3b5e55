"""Linear propensity model on standardised node descriptors, in the graph network's interface.

z_i = w · (x_i − mean) / std + b, fitted in closed form (ridge) on A particles. On coarse-grained
inherent-structure descriptors (``"inherent_radial_cg"``) this is the physics-inspired competitor of the
graph network (Boattini et al. 2021; Jung, Biroli & Berthier 2023); it shares checkpoints, predictor and
evaluation with the network.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from .baselines import LinearBaseline
from .glass_graph import EDGE_CUTOFF, Graph


class DescriptorLinearModel(nn.Module):
    """Ridge regression on the descriptors of one descriptor set; no message passing.

    Args:
        descriptors: descriptor set name (:mod:`mlmat_glass.descriptors`).
        n_descriptors: its number of columns.
        cutoff: edge cutoff of the graphs it is given (unused by the model; kept for the shared inputs).
        graph_positions: unused by the model; kept for the shared inputs.
    """

    def __init__(
        self, *, descriptors: str, n_descriptors: int, cutoff: float = EDGE_CUTOFF, graph_positions: str = "thermal"
    ):
        super().__init__()
        self.config = {
            "kind": "linear",
            "descriptors": descriptors,
            "n_descriptors": n_descriptors,
            "cutoff": cutoff,
            "graph_positions": graph_positions,
        }
        self.register_buffer("descriptor_mean", torch.zeros(n_descriptors))
        self.register_buffer("descriptor_std", torch.ones(n_descriptors))
        self.register_buffer("weights", torch.zeros(n_descriptors))
        self.register_buffer("bias", torch.zeros(()))

    def forward(self, graph: Graph) -> torch.Tensor:
        """Per-particle output (N,)."""
        scaled = (graph["descriptors"] - self.descriptor_mean) / self.descriptor_std
        return scaled.to(self.weights.dtype) @ self.weights + self.bias

    def fit(
        self, features: Sequence[np.ndarray], targets: Sequence[np.ndarray], *, ridge: float = 1e-3
    ) -> DescriptorLinearModel:
        """Closed-form ridge fit on rows of ``features`` (each (N_k, F)) against ``targets`` (each (N_k,)).

        ``ridge`` is the penalty per sample on standardised inputs (the intercept is not penalised).
        """
        fit = LinearBaseline(ridge).fit(
            np.concatenate(features).astype(np.float64), np.concatenate(targets).astype(np.float64)
        )
        self.descriptor_mean.copy_(torch.as_tensor(fit.mean))
        self.descriptor_std.copy_(torch.as_tensor(fit.scale))
        self.weights.copy_(torch.as_tensor(fit.coef[:-1]))
        self.bias.copy_(torch.as_tensor(fit.coef[-1]))
        return self
