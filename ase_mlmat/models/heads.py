"""Heads: what turns a representation's invariant per-atom features h_i (N, F) into a model's outputs.

- :class:`EnergyHead` — per-atom energies e_i = e_ref(Z_i) + shift + scale · MLP(h_i), eV. The per-element
  reference energies are fitted by least squares on the training set and ``scale`` is the RMS force, so the
  MLP learns an O(1) residual.
- :class:`StructureHead` — per-structure outputs (B, T): pool h_i over each structure (mean or sum), then an
  MLP; :meth:`~StructureHead.normalized` is the standardised output the loss sees, ``forward`` is in target
  units (``· std + mean``).
- :class:`AtomHead` — per-atom outputs (N, T), e.g. charges or a per-particle propensity.

A head's MLP is a ``Sequential`` of Linear → activation pairs ending in a Linear (index 0, 2, …), the layout
the readouts of earlier versions had, so their weights load unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .. import keys
from ..nn import scatter_mean, scatter_sum

ACTIVATIONS = {"silu": nn.SiLU, "softplus": nn.Softplus, "relu": nn.ReLU, "tanh": nn.Tanh}
POOLINGS = {"mean": scatter_mean, "sum": scatter_sum}


def mlp(num_in: int, hidden: Sequence[int], num_out: int, activation: str = "silu") -> nn.Sequential:
    """Linear → activation for each width in ``hidden``, then a Linear to ``num_out``."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; known: {sorted(ACTIVATIONS)}")
    layers: list[nn.Module] = []
    for width in hidden:
        layers += [nn.Linear(num_in, int(width)), ACTIVATIONS[activation]()]
        num_in = int(width)
    return nn.Sequential(*layers, nn.Linear(num_in, num_out))


class EnergyHead(nn.Module):
    """Per-atom energies (N,) eV from features (N, F) and species (N,).

    Args:
        num_features: F; 0 for an architecture whose ``forward`` already gives one number per atom (the
            head then only applies reference energies, scale and shift to it).
        num_species: size of the element list.
        hidden: widths of the MLP's hidden layers.
        activation: "silu", "softplus", "relu" or "tanh".
        reference_energies: eV per atom of each element (num_species,); default 0.
        scale: eV, multiplies the MLP output.
        shift: eV per atom, added to every atom.
    """

    def __init__(
        self,
        num_features: int,
        num_species: int,
        *,
        hidden: Sequence[int] = (),
        activation: str = "silu",
        reference_energies: Sequence[float] | None = None,
        scale: float = 1.0,
        shift: float = 0.0,
    ):
        super().__init__()
        self.mlp = mlp(num_features, hidden, 1, activation) if num_features else None
        if reference_energies is None:
            reference_energies = [0.0] * num_species
        if len(reference_energies) != num_species:
            raise ValueError(f"{len(reference_energies)} reference energies for {num_species} elements")
        self.register_buffer("reference_energies", torch.tensor(list(reference_energies), dtype=torch.float64))
        self.register_buffer("scale", torch.tensor(float(scale), dtype=torch.float64))
        self.register_buffer("shift", torch.tensor(float(shift), dtype=torch.float64))

    def forward(self, features: torch.Tensor, species: torch.Tensor) -> torch.Tensor:
        raw = (features if self.mlp is None else self.mlp(features)).squeeze(-1)  # (N,)
        dtype = raw.dtype
        return self.reference_energies.to(dtype)[species] + self.shift.to(dtype) + self.scale.to(dtype) * raw


class StructureHead(nn.Module):
    """Per-structure outputs (B, T) in target units from per-atom features (N, F).

    Args:
        num_features: F.
        num_targets: T.
        hidden, activation: the MLP after pooling.
        pooling: "mean" (intensive targets, e.g. log10 of a modulus) or "sum" (extensive ones).
        target_mean, target_std: standardisation of each target (T,), in target units.
    """

    def __init__(
        self,
        num_features: int,
        num_targets: int,
        *,
        hidden: Sequence[int] = (),
        activation: str = "silu",
        pooling: str = "mean",
        target_mean: Sequence[float] | None = None,
        target_std: Sequence[float] | None = None,
    ):
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {pooling!r}; known: {sorted(POOLINGS)}")
        self.pooling = pooling
        self.mlp = mlp(num_features, hidden, num_targets, activation)
        mean = torch.zeros(num_targets) if target_mean is None else torch.as_tensor(list(target_mean))
        std = torch.ones(num_targets) if target_std is None else torch.as_tensor(list(target_std))
        self.register_buffer("target_mean", mean.to(torch.float32).reshape(num_targets))
        self.register_buffer("target_std", std.to(torch.float32).reshape(num_targets))

    def normalized(self, features: torch.Tensor, graph: dict[str, torch.Tensor]) -> torch.Tensor:
        """Standardised outputs (B, T), what the loss sees."""
        num_structures = graph[keys.NUM_ATOMS].shape[0]
        pooled = POOLINGS[self.pooling](features, graph[keys.BATCH], num_structures)  # (B, F)
        return self.mlp(pooled)

    def forward(self, features: torch.Tensor, graph: dict[str, torch.Tensor]) -> torch.Tensor:
        out = self.normalized(features, graph)
        return out * self.target_std.to(out.dtype) + self.target_mean.to(out.dtype)


class AtomHead(nn.Module):
    """Per-atom outputs (N, T) from features (N, F), in the units the caller standardised to."""

    def __init__(self, num_features: int, num_outputs: int, *, hidden: Sequence[int] = (), activation: str = "silu"):
        super().__init__()
        self.mlp = mlp(num_features, hidden, num_outputs, activation)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.mlp(features)
