"""An average of propensity models that see the same inputs (e.g. a graph network and a ridge model).

Their errors are partly independent: on the held-out BOTAN configurations the graph network (0.741) and
the ridge model (0.737) on the same coarse-grained inherent-structure descriptors average to 0.759, and
with a second network (0.754) to 0.764.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .glass_graph import Graph

INPUT_KEYS = ("descriptors", "n_descriptors", "graph_positions", "cutoff")


class PropensityEnsemble(nn.Module):
    """Mean of the members' outputs (standardised propensity). Members must share their input settings.

    Build it from trained models; checkpoints store the members' configs under ``config["members"]``.
    """

    def __init__(self, members: Sequence[nn.Module]):
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one member")
        inputs = [{k: m.config.get(k) for k in INPUT_KEYS} for m in members]
        if any(i != inputs[0] for i in inputs[1:]):
            raise ValueError(f"ensemble members must see the same inputs, got {inputs}")
        self.members = nn.ModuleList(members)
        self.config = {"kind": "ensemble", **inputs[0], "members": [dict(m.config) for m in members]}

    def forward(self, graph: Graph) -> torch.Tensor:
        """Per-particle output (N,): the mean over members."""
        return torch.stack([member(graph) for member in self.members]).mean(0)
