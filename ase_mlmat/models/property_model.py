"""Structure → property models: an architecture with a per-structure head, in target units.

``PropertyModel`` wraps a registered architecture that has ``structure_outputs(graph) -> (B, T)``
(e.g. :class:`~ase_mlmat.models.cgcnn.CGCNN`) and undoes the target standardisation, so its output is
in the units of the named targets (e.g. log10 of a modulus in GPa). ``PropertyEnsemble`` holds several
such models trained from different seeds: their mean is the prediction, their spread the uncertainty.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence

import torch
from torch import nn

from .registry import get_architecture


class PropertyModel(nn.Module):
    """Per-structure regression: ``net.structure_outputs(graph) · std + mean``.

    Args:
        architecture: registered name (e.g. "cgcnn").
        config: keyword arguments of the architecture; must contain ``cutoff`` (Å).
        elements: chemical symbols in species-index order.
        targets: names of the T outputs, with units (e.g. "log10_K_VRH_GPa").
        target_mean, target_std: standardisation of each target (T,), in target units.
        max_neighbors: neighbours per atom in the crystal graph.
    """

    def __init__(
        self,
        architecture: str,
        config: dict,
        elements: Sequence[str],
        targets: Sequence[str],
        target_mean: Sequence[float] | None = None,
        target_std: Sequence[float] | None = None,
        max_neighbors: int = 12,
    ):
        super().__init__()
        if "cutoff" not in config:
            raise ValueError("model config needs a 'cutoff' in Å")
        if not targets:
            raise ValueError("a property model needs at least one target name")
        self.architecture = architecture
        self.config = dict(config)
        self.elements = list(elements)
        self.targets = list(targets)
        self.max_neighbors = int(max_neighbors)
        cls = get_architecture(architecture)
        if not hasattr(cls, "structure_outputs"):
            raise ValueError(f"architecture {architecture!r} has no per-structure head (structure_outputs)")
        extra = {"elements": self.elements} if "elements" in inspect.signature(cls).parameters else {}
        self.net = cls(num_species=len(self.elements), num_outputs=len(self.targets), **extra, **self.config)
        self.elements = list(getattr(self.net, "elements", None) or self.elements)  # CGCNN adds untrained ones
        count = len(self.targets)
        mean = torch.zeros(count) if target_mean is None else torch.as_tensor(list(target_mean), dtype=torch.float32)
        std = torch.ones(count) if target_std is None else torch.as_tensor(list(target_std), dtype=torch.float32)
        self.register_buffer("target_mean", mean.reshape(count))
        self.register_buffer("target_std", std.reshape(count))

    @property
    def cutoff(self) -> float:
        return float(self.config["cutoff"])

    def normalized(self, graph: dict[str, torch.Tensor]) -> torch.Tensor:
        """Standardised outputs (B, T), what the loss sees."""
        return self.net.structure_outputs(graph)

    def forward(self, graph: dict[str, torch.Tensor]) -> torch.Tensor:
        """Predictions (B, T) in target units."""
        out = self.normalized(graph)
        return out * self.target_std.to(out.dtype) + self.target_mean.to(out.dtype)


class PropertyEnsemble(nn.Module):
    """Models of one architecture and element list trained from different seeds; mean and spread."""

    def __init__(self, members: Sequence[PropertyModel]):
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one member")
        first = members[0]
        for member in members[1:]:
            if member.elements != first.elements or member.targets != first.targets:
                raise ValueError("ensemble members must share elements and targets")
            if member.cutoff != first.cutoff or member.max_neighbors != first.max_neighbors:
                raise ValueError("ensemble members must share the graph (cutoff, max_neighbors)")
        self.members = nn.ModuleList(members)

    def __len__(self) -> int:
        return len(self.members)

    @property
    def first(self) -> PropertyModel:
        return self.members[0]

    @property
    def elements(self) -> list[str]:
        return self.first.elements

    @property
    def targets(self) -> list[str]:
        return self.first.targets

    @property
    def cutoff(self) -> float:
        return self.first.cutoff

    @property
    def max_neighbors(self) -> int:
        return self.first.max_neighbors

    def forward(self, graph: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean (B, T) and standard deviation (B, T) over members (zero for a single model)."""
        outputs = torch.stack([member(graph) for member in self.members])  # (M, B, T)
        std = outputs.std(dim=0, unbiased=False) if len(self.members) > 1 else torch.zeros_like(outputs[0])
        return outputs.mean(dim=0), std
