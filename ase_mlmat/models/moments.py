"""Moment network: message passing with four-body Cartesian moment invariants in every layer.

PaiNN's messages are two-body: each neighbour's contribution to atom i depends on i, j and r_ij only, and
angles enter through later updates. Here each layer first sums, per channel c, Cartesian moment tensors
of ranks 0, 1 and 2 over the neighbours j of atom i (the atomic base of ACE, written in Cartesian form as
in the moment tensors of MTP):

    A0_ic = Σ_j R0_c(r_ij) h_jc
    A1_ic = Σ_j R1_c(r_ij) h_jc û_ij                   (3,)
    A2_ic = Σ_j R2_c(r_ij) h_jc (û_ij ⊗ û_ij − I/3)    (3, 3), symmetric and traceless

with û_ij the unit vector from i to j, h_j the neighbour's scalar features and R_l,c(r) = W_l · Bessel(r) ·
envelope(r), so every term fades smoothly at r_c. Channels are then mixed within each rank (a linear map
of channels keeps the rank, so it is equivariant), a, b, c denoting differently mixed copies, and
contracted, channel by channel, into rotation invariants:

    B_ic = ( A0,  a1·b1,  a2 : b2,  a1 · c2 · b1,  tr(a2 b2 c2) )

Each A is a sum over one neighbour, so a product of ν of them depends on ν neighbours at once: the
invariants have body order 2, 3, 3, 4 and 4 (counting atom i). An MLP of (s_i, B_i) updates the atom's
scalar features s_i, and the next layer's moments are weighted by them (h_j = linear(s_j)), so two layers
see 4-body correlations of correlated neighbours out to 2 r_c. Only scalars travel between atoms, so the
cost per edge is a few elementwise products and one scatter of 10 F numbers (PaiNN: 4 F per layer); the
tensor products are per atom. All products are polynomials in the moments (no norms), so the energy is
smooth everywhere, also where symmetry makes a moment vanish.

Units: r in Å; features, moments and invariants are dimensionless; the readout is in the units the
:class:`~ase_mlmat.models.potential.Potential` scales it to.
"""

from __future__ import annotations

import torch
from torch import nn

from .. import keys
from ..nn import BesselBasis, PolynomialCutoff, scatter_sum

# Upper triangle of a symmetric 3×3 tensor: xx, yy, zz, xy, xz, yz; and back from those six to the nine entries.
_ROWS = (0, 1, 2, 0, 0, 1)
_COLS = (0, 1, 2, 1, 2, 2)
_FULL = (0, 3, 4, 3, 1, 5, 4, 5, 2)


def _mlp(n_in: int, n_hidden: int, n_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, n_hidden), nn.SiLU(), nn.Linear(n_hidden, n_out))


class MomentInteraction(nn.Module):
    """One layer: moments of ranks 0-2 from the neighbours, four-body invariants, residual scalar update."""

    num_invariants = 5

    def __init__(self, num_features: int, num_basis: int, avg_num_neighbors: float):
        super().__init__()
        self.num_features = num_features
        self.norm = 1.0 / float(avg_num_neighbors)
        self.neighbour_net = nn.Linear(num_features, num_features)
        self.radial = nn.Linear(num_basis, 3 * num_features, bias=False)
        # channel mixing within a rank: copies a, b of the rank-1 moment and a, b, c of the rank-2 moment
        self.mix1 = nn.Linear(num_features, 2 * num_features, bias=False)
        self.mix2 = nn.Linear(num_features, 3 * num_features, bias=False)
        self.update = _mlp((1 + self.num_invariants) * num_features, num_features, num_features)

    def forward(self, s, basis, envelope, harmonics, centre, neighbour):
        # s (N, F), basis (E, K), envelope (E,), harmonics (E, 9): û (3) and û⊗û − I/3 (6, upper triangle)
        n, f = s.shape
        weights = self.radial(basis) * (envelope * self.norm).unsqueeze(-1)  # (E, 3F)
        weights = weights * self.neighbour_net(s)[neighbour].repeat(1, 3)  # (E, 3F)
        w0, w1, w2 = torch.split(weights, f, dim=-1)  # (E, F) each
        edge_moments = torch.cat(
            [w0.unsqueeze(1), harmonics[:, :3, None] * w1.unsqueeze(1), harmonics[:, 3:, None] * w2.unsqueeze(1)],
            dim=1,
        )  # (E, 10, F)
        moments = scatter_sum(edge_moments, centre, n)  # (N, 10, F)
        a0 = moments[:, 0]  # (N, F)
        a1, b1 = torch.split(self.mix1(moments[:, 1:4]), f, dim=-1)  # (N, 3, F) each
        a2, b2, c2 = (t[:, _FULL].view(n, 3, 3, f) for t in torch.split(self.mix2(moments[:, 4:]), f, dim=-1))
        invariants = torch.cat(
            [
                a0,
                (a1 * b1).sum(dim=1),
                (a2 * b2).sum(dim=(1, 2)),
                torch.einsum("nif,nijf,njf->nf", a1, c2, b1),
                torch.einsum("nijf,njkf,nkif->nf", a2, b2, c2),
            ],
            dim=-1,
        )  # (N, 5F)
        return s + self.update(torch.cat([s, invariants], dim=-1))


class MomentNet(nn.Module):
    """Moment-tensor message passing (see module docstring) with an atom-wise readout.

    Args:
        num_species: size of the element list (embedding rows).
        cutoff: radial cutoff r_c in Å.
        num_features: channels F of the scalar features and of each moment.
        num_interactions: message-passing layers (receptive field = layers × r_c).
        num_basis: Bessel functions in the radial basis.
        avg_num_neighbors: moments are divided by this, so that they are O(1) for a typical neighbourhood
            (about the number of neighbours within r_c; the envelope makes the effective number smaller).
        num_outputs: per-atom outputs of the readout (1 for an energy).
    """

    def __init__(
        self,
        *,
        num_species: int,
        cutoff: float = 5.0,
        num_features: int = 48,
        num_interactions: int = 2,
        num_basis: int = 16,
        avg_num_neighbors: float = 12.0,
        num_outputs: int = 1,
    ):
        super().__init__()
        if not cutoff > 0 or min(num_features, num_basis, num_outputs) < 1 or num_interactions < 1:
            raise ValueError(
                f"MomentNet needs cutoff > 0 Å and num_features, num_basis, num_outputs, num_interactions >= 1; "
                f"got cutoff={cutoff}, num_features={num_features}, num_basis={num_basis}, "
                f"num_outputs={num_outputs}, num_interactions={num_interactions}"
            )
        if not avg_num_neighbors > 0:
            raise ValueError(f"avg_num_neighbors must be positive, got {avg_num_neighbors}")
        self.cutoff = float(cutoff)
        self.num_features = num_features
        self.embedding = nn.Embedding(num_species, num_features)
        self.basis = BesselBasis(cutoff, num_basis)
        self.envelope = PolynomialCutoff(cutoff)
        self.interactions = nn.ModuleList(
            MomentInteraction(num_features, num_basis, avg_num_neighbors) for _ in range(num_interactions)
        )
        self.readout = _mlp(num_features, num_features // 2, num_outputs)

    def features(self, graph: dict[str, torch.Tensor]) -> torch.Tensor:
        """Invariant per-atom features (N, F) after all interactions."""
        centre, neighbour = graph[keys.EDGE_INDEX]
        vectors = graph[keys.EDGE_VECTORS]
        lengths = torch.linalg.norm(vectors, dim=-1)  # (E,)
        unit = vectors / lengths.unsqueeze(-1)  # (E, 3)
        rank2 = unit[:, _ROWS] * unit[:, _COLS]  # (E, 6)
        rank2 = rank2 - torch.tensor([1, 1, 1, 0, 0, 0], dtype=unit.dtype, device=unit.device) / 3.0
        harmonics = torch.cat([unit, rank2], dim=-1)  # (E, 9)
        basis = self.basis(lengths)
        envelope = self.envelope(lengths)
        s = self.embedding(graph[keys.SPECIES])
        for interaction in self.interactions:
            s = interaction(s, basis, envelope, harmonics, centre, neighbour)
        return s

    def forward(self, graph: dict[str, torch.Tensor]) -> torch.Tensor:
        """Per-atom outputs (N, num_outputs)."""
        return self.readout(self.features(graph))
