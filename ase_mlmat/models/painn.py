"""PaiNN: polarizable atom interaction neural network (Schütt, Unke & Gastegger, ICML 2021).

Each atom carries invariant features s_i (F,) and equivariant vector features
v_i (3, F). A message from neighbour j to centre i is filtered by a radial basis
of |r_ij| times a smooth cutoff envelope, so it fades to zero with two vanishing
derivatives at r_c. Vector features give angular information at the cost of a
few extra linear maps — far cheaper than spherical-tensor products, yet much
more accurate than distance-only SchNet.
"""

from __future__ import annotations

import torch
from torch import nn

from .. import keys
from ..nn import BesselBasis, PolynomialCutoff, scatter_sum


def _mlp(n_in: int, n_hidden: int, n_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, n_hidden), nn.SiLU(), nn.Linear(n_hidden, n_out))


class PaiNNMessage(nn.Module):
    """Continuous-filter message from neighbours: updates s_i and v_i."""

    def __init__(self, num_features: int, num_basis: int):
        super().__init__()
        self.num_features = num_features
        self.scalar_net = _mlp(num_features, num_features, 3 * num_features)
        self.filter_net = nn.Linear(num_basis, 3 * num_features)

    def forward(self, s, v: torch.Tensor | None, basis, unit, centre, neighbour):
        # s (N, F), v (N, 3, F) or None where it is zero (the first layer), basis (E, K + 1): the radial basis times
        # the cutoff envelope, then the envelope itself; unit (E, 3)
        # index_select, not v[neighbour]: its backward is an index_add_ rather than a slower accumulating index_put_
        # filter_net(basis) · envelope as one product: [basis·envelope, envelope] @ [W, bias]ᵀ, which saves an
        # (E, 3F) product forward and backward; `basis` arrives as that (E, K + 1) block (see PaiNN.features)
        weight = torch.cat([self.filter_net.weight, self.filter_net.bias.unsqueeze(1)], dim=1)  # (3F, K + 1)
        x = self.scalar_net(s).index_select(0, neighbour) * nn.functional.linear(basis, weight)  # (E, 3F)
        ds, dv_v, dv_r = torch.split(x, self.num_features, dim=-1)
        dv = unit.unsqueeze(-1) * dv_r.unsqueeze(1)  # (E, 3, F)
        n = s.shape[0]
        if v is None:  # skipping the zero products saves an (E, 3, F) gather and product, forward and backward
            return s + scatter_sum(ds, centre, n), scatter_sum(dv, centre, n)
        dv = dv + v.index_select(0, neighbour) * dv_v.unsqueeze(1)
        return s + scatter_sum(ds, centre, n), v + scatter_sum(dv, centre, n)


class PaiNNUpdate(nn.Module):
    """Atom-wise mixing of scalar and vector channels."""

    def __init__(self, num_features: int):
        super().__init__()
        self.num_features = num_features
        self.vector_u = nn.Linear(num_features, num_features, bias=False)
        self.vector_v = nn.Linear(num_features, num_features, bias=False)
        self.gate_net = _mlp(2 * num_features, num_features, 3 * num_features)

    def forward(self, s, v):
        u_v = self.vector_u(v)  # (N, 3, F)
        v_v = self.vector_v(v)
        # Smooth norm: sqrt(|v|² + 1) - 1 is quadratic near zero. A plain |v| (even with a tiny eps)
        # has a cusp where symmetry makes v vanish — diamond, fcc and bcc equilibrium sites — which
        # makes force constants there diverge and phonons imaginary.
        norm = torch.sqrt((v_v * v_v).sum(dim=1) + 1.0) - 1.0  # (N, F)
        a = self.gate_net(torch.cat([s, norm], dim=-1))
        a_vv, a_sv, a_ss = torch.split(a, self.num_features, dim=-1)
        ds = (u_v * v_v).sum(dim=1) * a_sv + a_ss
        return s + ds, v + a_vv.unsqueeze(1) * u_v


class PaiNN(nn.Module):
    """PaiNN representation: invariant per-atom features (N, F); the heads of :mod:`.heads` read them.

    Args:
        num_species: size of the element list (embedding rows).
        cutoff: radial cutoff r_c in Å.
        num_features: width F of scalar and vector channels.
        num_interactions: message-passing layers (receptive field = layers × r_c).
        num_basis: Bessel functions in the radial basis.
    """

    def __init__(
        self,
        *,
        num_species: int,
        cutoff: float = 5.0,
        num_features: int = 64,
        num_interactions: int = 3,
        num_basis: int = 16,
    ):
        super().__init__()
        if not cutoff > 0 or min(num_features, num_basis) < 1 or num_interactions < 0:
            raise ValueError(
                f"PaiNN needs cutoff > 0 Å and num_features, num_basis >= 1, num_interactions >= 0; "
                f"got cutoff={cutoff}, num_features={num_features}, num_basis={num_basis}, "
                f"num_interactions={num_interactions}"
            )
        self.cutoff = float(cutoff)
        self.num_features = num_features
        self.embedding = nn.Embedding(num_species, num_features)
        self.basis = BesselBasis(cutoff, num_basis)
        self.envelope = PolynomialCutoff(cutoff)
        self.messages = nn.ModuleList(PaiNNMessage(num_features, num_basis) for _ in range(num_interactions))
        self.updates = nn.ModuleList(PaiNNUpdate(num_features) for _ in range(num_interactions))
        # heads on PaiNN: one hidden layer of F/2 with SiLU (Schütt et al.'s atom-wise readout)
        self.head_defaults = {"hidden": [num_features // 2], "activation": "silu"}

    def features(self, graph: dict[str, torch.Tensor]) -> torch.Tensor:
        """Invariant per-atom features (N, F) after all interactions."""
        centre, neighbour = graph[keys.EDGE_INDEX][0], graph[keys.EDGE_INDEX][1]
        vectors = graph[keys.EDGE_VECTORS]
        lengths = torch.linalg.norm(vectors, dim=-1)  # (E,)
        unit = vectors / lengths.unsqueeze(-1)
        envelope = self.envelope(lengths).unsqueeze(-1)  # (E, 1)
        basis = torch.cat([self.basis(lengths) * envelope, envelope], dim=1)  # (E, K + 1)
        s = self.embedding(graph[keys.SPECIES])
        v: torch.Tensor | None = None  # zero before the first message
        for message, update in zip(self.messages, self.updates):
            s, v = message(s, v, basis, unit, centre, neighbour)
            s, v = update(s, v)
        return s

    forward = features
