"""CGCNN: crystal graph convolutional network (Xie & Grossman, PRL 120, 145301, 2018).

Atoms start from fixed elemental one-hot features (:mod:`.element_table`) mapped to F channels.
Each convolution forms z_ij = v_i ⊕ v_j ⊕ u_ij, with u_ij the Gaussian expansion of |r_ij|, and updates

    v_i ← softplus(v_i + BN(Σ_j σ(BN(z_ij W_f + b_f)) ⊙ softplus(BN(z_ij W_s + b_s)))),

a gate σ(·) choosing how much of each neighbour's message passes. The atom features after the
convolutions are the representation; for per-structure targets Xie & Grossman average them per crystal
(mean pooling) and apply an MLP — a :class:`~.heads.StructureHead` (its defaults: ``head_defaults``).

Element coverage: the atom inputs are a linear map of the tabulated element properties, so the model
predicts for any tabulated element, whether or not it was in the training data. The species list is
the training elements first, then every other element of the table (Z = 1–100) in order of Z; an
element beyond the table (Z > 100) is refused by the graph builder, which names it. The table is
complete for every element except: no electronegativity for He, Ne, Ar; no atomic volume for At, Fr,
Fm (those bits stay zero). How far an untrained element can be trusted depends on how close its
properties are to trained ones (e.g. Yb from Tm and Lu).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .. import keys
from ..nn import scatter_sum
from ..nn.gaussian import GaussianBasis
from .element_table import element_properties, feature_matrix


class GatedConvolution(nn.Module):
    """One CGCNN convolution on F atom channels with K edge channels."""

    def __init__(self, num_features: int, num_edge_features: int):
        super().__init__()
        self.linear = nn.Linear(2 * num_features + num_edge_features, 2 * num_features)
        self.norm_message = nn.BatchNorm1d(2 * num_features)
        self.norm_sum = nn.BatchNorm1d(num_features)
        self.softplus = nn.Softplus()

    def forward(self, v: torch.Tensor, edges: torch.Tensor, centre: torch.Tensor, neighbour: torch.Tensor):
        # v (N, F), edges (E, K)
        z = torch.cat([v[centre], v[neighbour], edges], dim=-1)  # (E, 2F + K)
        gate, core = self.norm_message(self.linear(z)).chunk(2, dim=-1)  # (E, F) each
        message = torch.sigmoid(gate) * self.softplus(core)
        return self.softplus(v + self.norm_sum(scatter_sum(message, centre, v.shape[0])))


class CGCNN(nn.Module):
    """CGCNN representation: per-atom features (N, F) after the gated convolutions.

    Args:
        num_species: number of training elements (``len(elements)``).
        elements: chemical symbols of the training elements; their tabulated one-hot features are the atom
            inputs. Every other tabulated element is appended after them (:attr:`elements`), so a
            structure with an element absent from training still gets a prediction. Without
            ``elements`` each species gets a learned embedding instead, and only ``num_species`` exist.
        cutoff: neighbour cutoff, Å (the last Gaussian centre).
        num_features: atom channels F.
        num_interactions: convolutions (beyond 4–5 more stop helping: docs/physics.md, "CGCNN").
        gaussian_step: spacing and width of the Gaussian edge expansion, Å.
        num_hidden: width of the MLP of the heads built on it (``head_defaults``).
        num_hidden_layers: hidden layers of that MLP.
        continuous_features: append the standardised raw element properties to the one-hot bits
            (:func:`~.element_table.continuous_features`).
    """

    def __init__(
        self,
        *,
        num_species: int,
        elements: Sequence[str] | None = None,
        cutoff: float = 8.0,
        num_features: int = 64,
        num_interactions: int = 3,
        gaussian_step: float = 0.2,
        num_hidden: int = 128,
        num_hidden_layers: int = 1,
        continuous_features: bool = False,
    ):
        super().__init__()
        self.cutoff = float(cutoff)
        self.num_features = num_features
        self.head_defaults = {"hidden": [num_hidden] * num_hidden_layers, "activation": "softplus"}
        if elements is not None:
            if len(elements) != num_species:
                raise ValueError(f"{len(elements)} elements for num_species={num_species}")
            # trained elements keep their species index; the rest of the table follows
            known = set(elements)
            self.elements = list(elements) + [e for e in element_properties() if e not in known]
            table = torch.as_tensor(feature_matrix(self.elements, continuous_features), dtype=torch.float32)
            self.register_buffer("atom_table", table)  # (len(self.elements), NUM_FEATURES [+ NUM_CONTINUOUS])
            self.embedding = nn.Linear(table.shape[1], num_features)
        else:
            self.atom_table = None
            self.elements = None
            self.embedding = nn.Embedding(num_species, num_features)
        self.basis = GaussianBasis(0.0, cutoff, gaussian_step)
        self.convolutions = nn.ModuleList(
            GatedConvolution(num_features, self.basis.num_basis) for _ in range(num_interactions)
        )

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # A checkpoint that stored rows for its training elements only: keep those rows as stored
        # (same predictions for them) and take the appended elements' rows from the table.
        key = prefix + "atom_table"
        stored = state_dict.get(key)
        if self.atom_table is not None and stored is not None and stored.shape[0] < self.atom_table.shape[0]:
            table = self.atom_table.detach().clone()
            table[: stored.shape[0]] = stored
            state_dict[key] = table
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def features(self, graph: dict[str, torch.Tensor]) -> torch.Tensor:
        """Atom features (N, F) after the convolutions."""
        species = graph[keys.SPECIES]
        if self.atom_table is not None:
            v = self.embedding(self.atom_table[species].to(self.embedding.weight.dtype))
        else:
            v = self.embedding(species)
        if keys.EDGE_LENGTHS in graph:
            lengths = graph[keys.EDGE_LENGTHS]
        else:
            lengths = torch.linalg.norm(graph[keys.EDGE_VECTORS], dim=-1)
        edges = self.basis(lengths.to(v.dtype))  # (E, K)
        centre, neighbour = graph[keys.EDGE_INDEX]
        for convolution in self.convolutions:
            v = convolution(v, edges, centre, neighbour)
        return v

    forward = features
