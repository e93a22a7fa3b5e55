"""A committee of models of one kind: the mean of any output is the prediction, the spread its uncertainty.

Members are potentials (outputs: a dict of energy, per-atom energies, forces, stress) or property models
(outputs: (B, T) targets) trained from different seeds or data. The spread is the population standard
deviation over members (zero for one member). :class:`~ase_mlmat.calculator.MLCalculator` wraps an ensemble
of potentials; the moduli predictors use one of property models.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from torch import nn

# attributes members must agree on: they see one graph and name the same outputs
SHARED = ("elements", "targets", "max_neighbors")

Output = torch.Tensor | dict[str, torch.Tensor]


def mean_and_spread(outputs: Sequence[Output]) -> tuple[Output, Output]:
    """Mean and population standard deviation over ``outputs`` (M tensors, or M dicts of tensors, key by key)."""
    if isinstance(outputs[0], dict):
        stats = {key: mean_and_spread([o[key] for o in outputs]) for key in outputs[0]}
        return {k: m for k, (m, _) in stats.items()}, {k: s for k, (_, s) in stats.items()}
    stacked = torch.stack(list(outputs))  # (M, ...)
    spread = stacked.std(dim=0, unbiased=False) if len(outputs) > 1 else torch.zeros_like(stacked[0])
    return stacked.mean(dim=0), spread


class Ensemble(nn.Module):
    """Models of one class that share elements, targets and graph settings.

    ``forward(*args, **kwargs)`` calls every member the same way and returns ``(mean, spread)``, each shaped as
    one member's output. Attributes of the members (``elements``, ``targets``, ``architecture``, …) are read
    from the first one; ``cutoff`` is the largest of theirs (a potential ignores neighbours beyond its own).

    Raises:
        ValueError: no members, members of different classes, or members that disagree on :data:`SHARED`
            attributes or (for nearest-neighbour graphs, ``max_neighbors`` set) on the cutoff.
    """

    def __init__(self, members: Sequence[nn.Module]):
        super().__init__()
        members = list(members)
        if not members:
            raise ValueError("an ensemble needs at least one member")
        first = members[0]
        for member in members[1:]:
            if type(member) is not type(first):
                raise ValueError(
                    f"ensemble members must be of one kind: {type(first).__name__}, {type(member).__name__}"
                )
            for name in SHARED:
                if getattr(member, name, None) != getattr(first, name, None):
                    raise ValueError(
                        f"ensemble members disagree on {name}: {getattr(first, name)} vs {getattr(member, name)}"
                    )
            if getattr(first, "max_neighbors", None) is not None and member.cutoff != first.cutoff:
                raise ValueError(f"ensemble members must share the graph: cutoff {first.cutoff} vs {member.cutoff} Å")
        self.members = nn.ModuleList(members)

    def __len__(self) -> int:
        return len(self.members)

    def __iter__(self) -> Iterator[nn.Module]:
        return iter(self.members)

    def __getitem__(self, index: int) -> nn.Module:
        return self.members[index]

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)  # parameters, buffers, submodules
        except AttributeError:
            if name.startswith("_") or "members" not in self._modules:
                raise
            return getattr(self._modules["members"][0], name)

    @property
    def first(self) -> nn.Module:
        return self.members[0]

    @property
    def cutoff(self) -> float:
        return max(float(m.cutoff) for m in self.members)

    def forward(self, *args, **kwargs) -> tuple[Output, Output]:
        """Mean and population standard deviation over members of their outputs."""
        return mean_and_spread([member(*args, **kwargs) for member in self.members])
