"""Structure → property models: a representation with a per-structure head, in target units.

``PropertyModel`` = any registered representation (CGCNN, PaiNN, …: ``features(graph) -> (N, F)``) +
:class:`~.heads.StructureHead` (pooling → MLP → undo the target standardisation), so its output is in the
units of the named targets (e.g. log10 of a modulus in GPa). Several of them trained from different seeds
make an :class:`~.ensemble.Ensemble`: their mean is the prediction, their spread the uncertainty.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .. import keys
from .gradients import edge_vectors
from .heads import StructureHead
from .registry import build_representation, is_representation, seeded

# state-dict keys of files written before representation and heads were apart → their keys now (None: dropped)
_OLD_KEYS = {
    "net.head.": "head.mlp.",
    "target_mean": "head.target_mean",
    "target_std": "head.target_std",
    "net.atom_head.": None,  # CGCNN's per-atom head, never trained by a property model
}


class PropertyModel(nn.Module):
    """Per-structure regression: ``head(net.features(graph))`` in target units.

    Args:
        architecture: registered name (e.g. "cgcnn", "painn").
        config: keyword arguments of the architecture; must contain ``cutoff`` (Å). An optional ``head``
            entry holds the head's ``hidden`` widths, ``activation`` and ``pooling`` ("mean" or "sum").
        elements: chemical symbols in species-index order.
        targets: names of the T outputs, with units (e.g. "log10_K_VRH_GPa").
        target_mean, target_std: standardisation of each target (T,), in target units.
        max_neighbors: neighbours per atom in the crystal graph. A representation that reads edge directions
            (PaiNN) is exactly invariant only when no shell of equidistant neighbours is cut, i.e. with
            ``max_neighbors`` at least the number of neighbours within the cutoff.
        seed: seed of the initial weights; None draws from torch's global generator.
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
        *,
        seed: int | None = None,
    ):
        super().__init__()
        if "cutoff" not in config:
            raise ValueError("model config needs a 'cutoff' in Å")
        if not targets:
            raise ValueError("a property model needs at least one target name")
        self.architecture = architecture
        self.config = dict(config)
        self.targets = list(targets)
        self.max_neighbors = int(max_neighbors)
        representation = {k: v for k, v in self.config.items() if k != "head"}
        with seeded(seed):
            self.net = build_representation(architecture, representation, len(elements), elements=elements)
            if not is_representation(self.net):
                raise ValueError(
                    f"architecture {architecture!r} gives no per-atom features (features + num_features), "
                    "so it cannot carry a per-structure head"
                )
            width = self.net.num_features
            options = {**getattr(self.net, "head_defaults", {"hidden": [width // 2]}), **self.config.get("head", {})}
            self.head = StructureHead(
                width, len(self.targets), **options, target_mean=target_mean, target_std=target_std
            )
        self.elements = list(getattr(self.net, "elements", None) or elements)  # CGCNN adds untrained ones

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        if any(k.startswith(prefix + "head.") for k in state_dict):  # the current layout: nothing to map
            return super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        for old, new in _OLD_KEYS.items():
            for key in [k for k in state_dict if k.startswith(prefix + old)]:
                value = state_dict.pop(key)
                if new is not None:
                    state_dict[prefix + new + key[len(prefix + old) :]] = value
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    @property
    def cutoff(self) -> float:
        return float(self.config["cutoff"])

    @property
    def target_mean(self) -> torch.Tensor:
        return self.head.target_mean

    @property
    def target_std(self) -> torch.Tensor:
        return self.head.target_std

    def features(self, graph: dict[str, torch.Tensor]) -> torch.Tensor:
        """The representation's per-atom features (N, F)."""
        if keys.EDGE_VECTORS not in graph and keys.POSITIONS in graph:  # a graph of atoms_to_graph
            graph = {**graph, keys.EDGE_VECTORS: edge_vectors(graph)}
        return self.net.features(graph)

    def normalized(self, graph: dict[str, torch.Tensor]) -> torch.Tensor:
        """Standardised outputs (B, T), what the loss sees."""
        return self.head.normalized(self.features(graph), graph)

    def forward(self, graph: dict[str, torch.Tensor]) -> torch.Tensor:
        """Predictions (B, T) in target units."""
        return self.head(self.features(graph), graph)
