"""An interatomic potential: architecture + element list + per-element reference energies.

E = Σ_i [ e_ref(Z_i) + shift + scale · net_i ], the reference energies fitted by least
squares on the training set and ``scale`` the RMS force, so the network learns an
O(1) residual. Forces and stress come from :func:`energy_forces_stress`.

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
from .registry import get_architecture


class Potential(nn.Module):
    """Energy model on atomic graphs; see module docstring for the energy expression.

    Args:
        architecture: registered architecture name (e.g. "painn").
        config: keyword arguments of the architecture; must contain ``cutoff`` (Å).
        elements: chemical symbols, in the order of the species index.
        reference_energies: eV per atom of each element (len(elements),).
        scale: eV, multiplies the network output.
        shift: eV per atom, added to every atom.
    """

    def __init__(
        self,
        architecture: str,
        config: dict,
        elements: Sequence[str],
        reference_energies: Sequence[float] | None = None,
        scale: float = 1.0,
        shift: float = 0.0,
    ):
        super().__init__()
        if "cutoff" not in config:
            raise ValueError("model config needs a 'cutoff' in Å")
        self.architecture = architecture
        self.config = dict(config)
        self.elements = list(elements)
        self.net = get_architecture(architecture)(num_species=len(self.elements), **self.config)
        if reference_energies is None:
            reference_energies = [0.0] * len(self.elements)
        self.register_buffer("reference_energies", torch.tensor(list(reference_energies), dtype=torch.float64))
        self.register_buffer("scale", torch.tensor(float(scale), dtype=torch.float64))
        self.register_buffer("shift", torch.tensor(float(shift), dtype=torch.float64))

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
        raw = self.net(graph).squeeze(-1)  # (N,)
        dtype = raw.dtype
        species = graph[keys.SPECIES]
        return self.reference_energies.to(dtype)[species] + self.shift.to(dtype) + self.scale.to(dtype) * raw

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
