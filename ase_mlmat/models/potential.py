"""An interatomic potential: a representation (``net``) + an energy head (``head``) + the element list.

E = Σ_i [ e_ref(Z_i) + shift + scale · MLP(h_i) ] with h_i the representation's features
(:class:`~.heads.EnergyHead`). Forces and stress come from :func:`energy_forces_stress`.

Elements can be appended to a trained model (:meth:`Potential.add_elements`) where the architecture keeps
its per-species parameters in an ``nn.Embedding`` named ``embedding`` (PaiNN, and CGCNN without an
element table): the old species keep their index and rows, the new ones come after them.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .. import keys
from .gradients import energy_forces_stress
from .heads import EnergyHead
from .registry import build_representation, is_representation, seeded

# state-dict keys of files written before representation and heads were apart → their keys now
_OLD_KEYS = {
    "net.readout.": "head.mlp.",
    "reference_energies": "head.reference_energies",
    "scale": "head.scale",
    "shift": "head.shift",
}


class Potential(nn.Module):
    """Energy model on atomic graphs; see module docstring for the energy expression.

    Args:
        architecture: registered architecture name (e.g. "painn").
        config: keyword arguments of the architecture; must contain ``cutoff`` (Å). An optional ``head``
            entry holds the energy head's ``hidden`` widths and ``activation`` (default: the
            architecture's ``head_defaults``).
        elements: chemical symbols, in the order of the species index.
        reference_energies: eV per atom of each element (len(elements),).
        scale: eV, multiplies the network output.
        shift: eV per atom, added to every atom.
        seed: seed of the initial weights; None draws from torch's global generator.
    """

    def __init__(
        self,
        architecture: str,
        config: dict,
        elements: Sequence[str],
        reference_energies: Sequence[float] | None = None,
        scale: float = 1.0,
        shift: float = 0.0,
        *,
        seed: int | None = None,
    ):
        super().__init__()
        if "cutoff" not in config:
            raise ValueError("model config needs a 'cutoff' in Å")
        self.architecture = architecture
        self.config = dict(config)
        self.elements = list(elements)
        options = dict(self.config.get("head", {}))
        representation = {k: v for k, v in self.config.items() if k != "head"}
        with seeded(seed):
            self.net = build_representation(architecture, representation, len(self.elements))
            # an architecture with its own readout and no features: its single per-atom output is the residual
            width = self.net.num_features if is_representation(self.net) else 0
            if width:
                options = {**getattr(self.net, "head_defaults", {"hidden": [width // 2]}), **options}
            self.head = EnergyHead(
                width,
                len(self.elements),
                **options,
                reference_energies=reference_energies,
                scale=scale,
                shift=shift,
            )

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        if any(k.startswith(prefix + "head.") for k in state_dict):  # the current layout: nothing to map
            return super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        for old, new in _OLD_KEYS.items():
            if old == "net.readout." and self.head.mlp is None:  # an architecture with its own readout keeps it
                continue
            for key in [k for k in state_dict if k.startswith(prefix + old)]:
                state_dict[prefix + new + key[len(prefix + old) :]] = state_dict.pop(key)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    # the head's buffers, as attributes of the potential (fine-tuning refits and replaces them)
    @property
    def reference_energies(self) -> torch.Tensor:
        """eV per atom of each element (len(elements),)."""
        return self.head.reference_energies

    @reference_energies.setter
    def reference_energies(self, value: torch.Tensor) -> None:
        self.head.reference_energies = value

    @property
    def scale(self) -> torch.Tensor:
        return self.head.scale

    @property
    def shift(self) -> torch.Tensor:
        return self.head.shift

    @property
    def cutoff(self) -> float:
        return float(self.config["cutoff"])

    @torch.no_grad()
    def add_elements(self, symbols: Sequence[str], reference_energies: Sequence[float] | None = None) -> None:
        """Append species ``symbols`` (not yet in :attr:`elements`), in the order given, in place.

        Each new embedding row starts as the mean of the existing rows (an average atom of the model), so the
        network sees a sensible input rather than noise; the old rows, indices and predictions are unchanged.

        Args:
            symbols: chemical symbols to add.
            reference_energies: eV per atom of each new element (default 0; refit them on data).
        """
        symbols = list(symbols)
        present = sorted(set(symbols) & set(self.elements))
        if present or len(set(symbols)) != len(symbols):
            raise ValueError(f"elements to add must be new and distinct; got {symbols}, have {self.elements}")
        if not symbols:
            return
        embedding = getattr(self.net, "embedding", None)
        if not isinstance(embedding, nn.Embedding):
            raise ValueError(
                f"architecture {self.architecture!r} keeps no species embedding to extend; "
                f"cannot add elements {symbols} to a model of {self.elements}"
            )
        old = embedding.weight  # (S, F)
        rows = old.mean(dim=0, keepdim=True).expand(len(symbols), -1)  # (S_new, F)
        extended = nn.Embedding(old.shape[0] + len(symbols), old.shape[1], device=old.device, dtype=old.dtype)
        extended.weight.copy_(torch.cat([old, rows]))
        self.net.embedding = extended
        new_reference = torch.as_tensor(
            list(reference_energies) if reference_energies is not None else [0.0] * len(symbols),
            dtype=self.reference_energies.dtype,
            device=self.reference_energies.device,
        )
        if new_reference.shape != (len(symbols),):
            raise ValueError(f"{new_reference.numel()} reference energies for {len(symbols)} new elements")
        self.reference_energies = torch.cat([self.reference_energies, new_reference])
        self.elements += symbols

    def atomic_energies(self, graph: dict[str, torch.Tensor]) -> torch.Tensor:
        """Per-atom energies (N,) eV; the graph must hold EDGE_VECTORS."""
        features = self.net.features(graph) if self.head.mlp is not None else self.net(graph)  # (N, F) | (N, 1)
        return self.head(features, graph[keys.SPECIES])

    def forward(
        self,
        graph: dict[str, torch.Tensor],
        *,
        forces: bool = True,
        stress: bool = True,
        create_graph: bool = False,
    ) -> dict[str, torch.Tensor]:
        """Energy (B,), per-atom energies (N,), forces (N, 3) and stress (B, 3, 3) of a batch."""
        return energy_forces_stress(
            self.atomic_energies, graph, forces=forces, stress=stress, create_graph=create_graph
        )
