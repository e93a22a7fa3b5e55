"""Moment network: message passing with four-body Cartesian moment invariants in every layer.

PaiNN's messages are two-body: each neighbour's contribution to atom i depends on i, j and r_ij only, and
angles enter through later updates. Here each layer first sums, per channel c, Cartesian moment tensors
of ranks 0 to 3 over the neighbours j of atom i (the atomic base of ACE, written in Cartesian form as in
the moment tensors of MTP):

    A0_ic = Σ_j R0_c(r_ij) h_jc
    A1_ic = Σ_j R1_c(r_ij) h_jc û_ij                                        (3,)
    A2_ic = Σ_j R2_c(r_ij) h_jc (û⊗û − I/3)_ij                              (3, 3)
    A3_ic = Σ_j R3_c(r_ij) h_jc (û⊗û⊗û − sym(û⊗I)·3/5)_ij                   (3, 3, 3)

with û_ij = r_ij / |r_ij| the unit vector from i to j, the rank-l tensors symmetric and traceless (pure
angular momentum l), h_j = linear(s_j) the neighbour's scalar features and R_l,c(r) = W_l · Bessel(r) ·
envelope(r) / n_avg, so every term fades smoothly (two vanishing derivatives) at r_c. Channels are then
mixed within each rank (a linear map of channels keeps the rank, so it is equivariant), a, b, c denoting
differently mixed copies, and contracted, channel by channel, into rotation invariants:

    B_ic = ( A0,  a1·b1,  a2:b2,  a3⋮b3,  a1·c2·b1,  tr(a2 b2 c2),  a3_ijk a2_jk a1_i,  a3_ijk b3_ijl c2_kl )

Each A is a sum over one neighbour, so a product of ν of them depends on ν neighbours at once: the
invariants have body order 2, 3, 3, 3, 4, 4, 4 and 4 (counting atom i). Rank 3 matters for tetrahedral
bonding: at a site of cubic symmetry (diamond) the rank-1 and rank-2 moments vanish and rank 3 is the
lowest that sees the bond angles. An MLP of (s_i, B_i) updates the atom's scalar features s_i, and the
next layer's moments are weighted by them, so two layers see four-body correlations of neighbours that
themselves carry four-body information, out to 2 r_c. Only scalars travel between atoms; the moments are
one small matrix product per atom, (C_l × M) harmonics times (M × F) weights over M neighbour slots, so
no (edges × components × channels) tensor is formed; all products are polynomials of the moments (no
norms), so the energy is smooth everywhere, also where symmetry makes a moment vanish.

Units: r in Å; features, moments and invariants are dimensionless; a head (:mod:`.heads`) turns the
features into per-atom energies (eV) or other outputs.
"""

from __future__ import annotations

import math
from itertools import combinations_with_replacement, product

import torch
from torch import nn

from .. import keys
from ..nn import BesselBasis, PolynomialCutoff


def _mlp(n_in: int, n_hidden: int, n_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, n_hidden), nn.SiLU(), nn.Linear(n_hidden, n_out))


def _neighbour_slots(centre: torch.Tensor, num_atoms: int) -> tuple[torch.Tensor, int]:
    """Flat slot ``centre · M + k`` of each edge (k counts its centre's edges), and M, the most edges of an atom."""
    counts = torch.zeros(num_atoms, dtype=centre.dtype, device=centre.device)
    counts = counts.index_add(0, centre, torch.ones_like(centre))  # (N,); bincount's size would depend on values
    if not centre.numel():
        return centre, 1
    most = counts.max().clamp(min=1)
    # int() would make an exporting tracer fix M at the example's value; .item() leaves it a symbolic size
    m = int(most) if torch.jit.is_scripting() else most.item()
    order = torch.argsort(centre, stable=True)
    first = torch.cumsum(counts, 0) - counts  # (N,) position of each atom's first edge in sorted order
    rank = torch.empty_like(centre)
    rank[order] = torch.arange(centre.numel(), device=centre.device) - first[centre[order]]
    return centre * m + rank, m


class CartesianHarmonics(nn.Module):
    """Symmetric traceless tensors of the unit vector û, ranks 1..max_rank, as their independent entries.

    Rank 1: û (3 entries); rank 2: û⊗û − I/3 (6); rank 3: û⊗û⊗û − (û_i δ_jk + û_j δ_ik + û_k δ_ij)/5 (10).
    A symmetric tensor is stored once per sorted index tuple; ``full_index[l]`` maps the 3^l entries of the
    full tensor to those, so per-atom contractions can use the full tensors while edges carry only the few.
    """

    def __init__(self, max_rank: int):
        super().__init__()
        if max_rank not in (2, 3):
            raise ValueError(f"max_rank must be 2 or 3, got {max_rank}")
        self.max_rank = max_rank
        self.sizes: list[int] = []
        self.full_index: dict[int, list[int]] = {}
        for rank in range(1, max_rank + 1):
            entries = list(combinations_with_replacement(range(3), rank))
            position = {entry: k for k, entry in enumerate(entries)}
            self.sizes.append(len(entries))
            self.full_index[rank] = [position[tuple(sorted(m))] for m in product(range(3), repeat=rank)]
            self.register_buffer(f"indices{rank}", torch.tensor(entries).T.contiguous(), persistent=False)  # (l, C)
        if max_rank == 2:  # named by forward's rank-3 branch, which TorchScript compiles whatever max_rank is
            self.register_buffer("indices3", torch.zeros(3, 0, dtype=torch.long), persistent=False)
        identity = torch.tensor([float(i == j) for i, j in combinations_with_replacement(range(3), 2)])
        self.register_buffer("trace2", identity / 3.0, persistent=False)  # (6,)
        trace3 = torch.zeros(10, 3)  # û ↦ (û_i δ_jk + û_j δ_ik + û_k δ_ij)/5, as a (10, 3) matrix
        for c, (i, j, k) in enumerate(combinations_with_replacement(range(3), 3)):
            trace3[c, i] += float(j == k) / 5.0
            trace3[c, j] += float(i == k) / 5.0
            trace3[c, k] += float(i == j) / 5.0
        self.register_buffer("trace3", trace3, persistent=False)

    def forward(self, unit: torch.Tensor) -> torch.Tensor:  # (E, 3) -> (E, 3 + 6 [+ 10])
        i2, j2 = self.indices2[0], self.indices2[1]
        parts = [unit, unit[:, i2] * unit[:, j2] - self.trace2.to(unit.dtype)]
        if self.max_rank == 3:
            i3, j3, k3 = self.indices3[0], self.indices3[1], self.indices3[2]
            parts.append(unit[:, i3] * unit[:, j3] * unit[:, k3] - unit @ self.trace3.to(unit.dtype).T)
        return torch.cat(parts, dim=-1)


class MomentInteraction(nn.Module):
    """One layer: moments of ranks 0..max_rank from the neighbours, four-body invariants, residual update."""

    def __init__(self, num_features: int, num_basis: int, harmonics: CartesianHarmonics):
        super().__init__()
        f = num_features
        self.num_features = f
        self.max_rank = harmonics.max_rank
        self.sizes = harmonics.sizes
        self.full_index = harmonics.full_index
        self.neighbour_net = nn.Linear(f, f)
        self.radial = nn.Linear(num_basis, (1 + self.max_rank) * f, bias=False)  # R_l,c(r) for l = 0..max_rank
        # channel mixing within a rank (equivariant): copies a, b of rank 1, a, b, c of rank 2, a, b of rank 3
        self.mix1 = nn.Linear(f, 2 * f, bias=False)
        self.mix2 = nn.Linear(f, 3 * f, bias=False)
        self.mix3 = nn.Linear(f, 2 * f, bias=False) if self.max_rank == 3 else None
        num_invariants = 5 if self.max_rank == 2 else 8
        self.update = _mlp((1 + num_invariants) * f, f, f)

    def _full(self, entries: torch.Tensor, rank: int) -> torch.Tensor:
        """(N, C, F) independent entries -> (N, 3, ..., 3, F) full symmetric tensor."""
        shape = [entries.shape[0]] + [3] * rank + [entries.shape[2]]
        return entries[:, self.full_index[rank]].view(shape)

    def forward(
        self,
        s: torch.Tensor,
        radial: torch.Tensor,
        harmonics: list[torch.Tensor],
        neighbour: torch.Tensor,
        slots: torch.Tensor,
    ) -> torch.Tensor:
        # s (N, F); radial (E, K) basis × envelope / avg_num_neighbors; harmonics: per rank (N, C_l, M) padded
        # to M neighbour slots per atom; slots (E,) flat slot (centre · M + k) of each edge
        n, f = s.shape
        m = harmonics[0].shape[-1]
        weights = self.radial(radial) * self.neighbour_net(s)[neighbour].repeat(1, 1 + self.max_rank)  # (E, (L+1)F)
        padded = weights.new_zeros(n * m, weights.shape[1]).index_add(0, slots, weights).view(n, m, -1)
        w = torch.split(padded, f, dim=-1)  # (N, M, F) for each rank
        # moments as one small matrix product per atom: (C_l, M) @ (M, F), no (E, C, F) tensor on the edges
        moments = [w[0].sum(dim=1, keepdim=True)]
        for rank in range(1, len(harmonics) + 1):
            moments.append(torch.bmm(harmonics[rank - 1], w[rank]))
        a0 = moments[0][:, 0]  # (N, F)
        a1, b1 = torch.split(self.mix1(moments[1]), f, dim=-1)  # (N, 3, F)
        a2, b2, c2 = torch.split(self.mix2(moments[2]), f, dim=-1)
        a2, b2, c2 = self._full(a2, 2), self._full(b2, 2), self._full(c2, 2)  # (N, 3, 3, F)
        invariants = [
            a0,
            (a1 * b1).sum(dim=1),
            (a2 * b2).sum(dim=(1, 2)),
            (a1.unsqueeze(2) * c2 * b1.unsqueeze(1)).sum(dim=(1, 2)),
            ((a2.unsqueeze(3) * b2.unsqueeze(1)).sum(dim=2) * c2.transpose(1, 2)).sum(dim=(1, 2)),
        ]
        if self.mix3 is not None:  # max_rank 3; the None test lets TorchScript drop the branch for rank 2
            a3, b3 = torch.split(self.mix3(moments[3]), f, dim=-1)
            a3, b3 = self._full(a3, 3), self._full(b3, 3)  # (N, 3, 3, 3, F)
            invariants += [
                (a3 * b3).sum(dim=(1, 2, 3)),
                ((a3 * a2.unsqueeze(1)).sum(dim=(2, 3)) * a1).sum(dim=1),
                ((a3.unsqueeze(4) * b3.unsqueeze(3)).sum(dim=(1, 2)) * c2).sum(dim=(1, 2)),
            ]
        # a concatenation, not [s, *invariants]: TorchScript cannot unpack a list of unknown length
        return s + self.update(torch.cat([s] + invariants, dim=-1))  # noqa: RUF005  (N, F)


class MomentNet(nn.Module):
    """Moment-tensor message passing (see module docstring): invariant per-atom features for the heads.

    Args:
        num_species: size of the element list (embedding rows).
        cutoff: radial cutoff r_c in Å.
        num_features: channels F of the scalar features and of each moment.
        num_interactions: message-passing layers (receptive field = layers × r_c).
        num_basis: Bessel functions in the radial basis.
        max_rank: highest moment rank, 2 or 3 (rank 3 resolves tetrahedral bonding: for a site of cubic
            symmetry, as in diamond, the rank-1 and rank-2 moments vanish).
        avg_num_neighbors: moments are divided by this, about the number of neighbours within r_c.
    """

    def __init__(
        self,
        *,
        num_species: int,
        cutoff: float = 5.0,
        num_features: int = 48,
        num_interactions: int = 2,
        num_basis: int = 16,
        max_rank: int = 3,
        avg_num_neighbors: float = 8.0,
    ):
        super().__init__()
        if not cutoff > 0 or min(num_features, num_basis) < 1 or num_interactions < 1:
            raise ValueError(
                f"MomentNet needs cutoff > 0 Å and num_features, num_basis, num_interactions >= 1; "
                f"got cutoff={cutoff}, num_features={num_features}, num_basis={num_basis}, "
                f"num_interactions={num_interactions}"
            )
        if not avg_num_neighbors > 0:
            raise ValueError(f"avg_num_neighbors must be positive, got {avg_num_neighbors}")
        self.cutoff = float(cutoff)
        self.num_features = num_features
        self.embedding = nn.Embedding(num_species, num_features)
        self.basis = BesselBasis(cutoff, num_basis)
        # The Bessel functions have mean square 3/r_c³ over the sphere of radius r_c; this makes it 1, so the
        # radial functions and moments start O(1) and the products of three moments are not negligible.
        self.basis_scale = math.sqrt(cutoff**3 / 3.0)
        self.norm = 1.0 / float(avg_num_neighbors)
        self.envelope = PolynomialCutoff(cutoff)
        self.harmonics = CartesianHarmonics(max_rank)
        self.interactions = nn.ModuleList(
            MomentInteraction(num_features, num_basis, self.harmonics) for _ in range(num_interactions)
        )
        # heads on it: one hidden layer of F/2 with SiLU, as on PaiNN
        self.head_defaults = {"hidden": [num_features // 2], "activation": "silu"}

    def features(self, graph: dict[str, torch.Tensor]) -> torch.Tensor:
        """Invariant per-atom features (N, F) after all interactions."""
        centre, neighbour = graph[keys.EDGE_INDEX][0], graph[keys.EDGE_INDEX][1]
        vectors = graph[keys.EDGE_VECTORS]
        lengths = torch.linalg.norm(vectors, dim=-1)  # (E,)
        s = self.embedding(graph[keys.SPECIES])  # (N, F)
        n = s.shape[0]
        slots, m = _neighbour_slots(centre, n)
        harmonics = self.harmonics(vectors / lengths.unsqueeze(-1))  # (E, C)
        padded = harmonics.new_zeros(n * m, harmonics.shape[1]).index_add(0, slots, harmonics)
        padded = padded.view(n, m, -1).transpose(1, 2)  # (N, C, M)
        per_rank = torch.split(padded, self.harmonics.sizes, dim=1)  # (N, C_l, M)
        radial = self.basis(lengths) * (self.basis_scale * self.norm * self.envelope(lengths)).unsqueeze(-1)  # (E, K)
        for interaction in self.interactions:
            s = interaction(s, radial, per_rank, neighbour, slots)
        return s
