"""Bapst-style graph network for per-particle propensity (Bapst et al., Nature Physics 16, 448, 2020).

Flow: node encoder (one-hot type, optionally with standardised structural descriptors — see
:mod:`mlmat_glass.descriptors`) and edge encoder (displacement vector and its length) → ``n_steps`` message-passing
steps, each an edge update then a node update with sum aggregation, the encoded features concatenated
to the inputs of every step (encoder skip connection) → node decoder → one number per particle.
MLPs have two hidden layers of ``width`` with ReLU. The node features before the decoder are the network's
representation (:meth:`GlassGraphNetwork.features`, ``num_features`` = ``width``); the decoder is its
per-particle head.

The first layer of the edge MLP acts on [edge, sender, receiver]; it is applied as three linear maps,
the node ones before gathering (same function, cheaper: node projections are computed once per node).
"""

from __future__ import annotations

import torch
from torch import nn

from ase_mlmat.nn import scatter_sum

from .glass_graph import Graph


def mlp(n_in: int, width: int, n_out: int) -> nn.Sequential:
    """Linear → ReLU → Linear → ReLU → Linear."""
    return nn.Sequential(nn.Linear(n_in, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, n_out))


class EdgeUpdate(nn.Module):
    """e'_ij = MLP([e_ij, h_j, h_i]) with the first layer split into edge, sender and receiver parts."""

    def __init__(self, n_edge: int, n_node: int, width: int):
        super().__init__()
        self.edge_in = nn.Linear(n_edge, width)
        self.sender_in = nn.Linear(n_node, width, bias=False)
        self.receiver_in = nn.Linear(n_node, width, bias=False)
        self.rest = nn.Sequential(nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, width))

    def forward(self, edges, nodes, senders, receivers):
        hidden = self.edge_in(edges) + self.sender_in(nodes)[senders] + self.receiver_in(nodes)[receivers]
        return self.rest(hidden)  # [n_edges, width]


class GlassGraphNetwork(nn.Module):
    """Encoder → ``n_steps`` × (edge update, node update) with encoder skips → decoder.

    Args:
        width: MLP width and latent size (Bapst: 64).
        n_steps: message-passing steps (Bapst: 7); 0 makes a per-particle MLP on the node inputs (with
            descriptors coarse-grained over a neighbourhood, the GlassMLP of Jung, Biroli & Berthier 2023).
        n_types: particle types (2 for Kob–Andersen).
        cutoff: edge cutoff (σ) the graphs are built with; stored with the model.
        descriptors: name of extra node descriptors (``graph["descriptors"]``), or None for Bapst's
            type-only node input.
        n_descriptors: their number of columns.
        graph_positions: ``"thermal"`` (Bapst et al.) or ``"inherent"``: the positions edge vectors are
            measured in (see :func:`mlmat_glass.inputs.model_inputs`); stored with the model.
        linear_readout: add a linear function of the standardised descriptors to the decoder output
            (the network then learns a correction to a linear model; see :func:`mlmat_glass.training.train_network`).
    """

    def __init__(
        self,
        *,
        width: int = 64,
        n_steps: int = 7,
        n_types: int = 2,
        cutoff: float = 2.0,
        descriptors: str | None = None,
        n_descriptors: int = 0,
        graph_positions: str = "thermal",
        linear_readout: bool = False,
    ):
        super().__init__()
        if linear_readout and not n_descriptors:
            raise ValueError("linear_readout needs node descriptors")
        self.config = {
            "kind": "graph_network",
            "width": width,
            "n_steps": n_steps,
            "n_types": n_types,
            "cutoff": cutoff,
            "descriptors": descriptors,
            "n_descriptors": n_descriptors,
            "graph_positions": graph_positions,
            "linear_readout": linear_readout,
        }
        self.n_types = n_types
        self.register_buffer("descriptor_mean", torch.zeros(n_descriptors))
        self.register_buffer("descriptor_std", torch.ones(n_descriptors))
        self.node_encoder = mlp(n_types + n_descriptors, width, width)
        self.edge_encoder = mlp(4, width, width)
        self.edge_updates = nn.ModuleList(EdgeUpdate(2 * width, 2 * width, width) for _ in range(n_steps))
        self.node_updates = nn.ModuleList(mlp(3 * width, width, width) for _ in range(n_steps))
        self.decoder = mlp(width, width, 1)
        self.readout = nn.Linear(n_descriptors, 1) if linear_readout else None

    @property
    def num_features(self) -> int:
        """Width of the per-particle features the decoder reads."""
        return self.config["width"]

    @property
    def cutoff(self) -> float:
        """Edge cutoff (σ) of the graphs this network reads."""
        return float(self.config["cutoff"])

    def _scaled_descriptors(self, graph: Graph) -> torch.Tensor:
        return ((graph["descriptors"] - self.descriptor_mean) / self.descriptor_std).to(graph["vectors"].dtype)

    def features(self, graph: Graph) -> torch.Tensor:
        """Per-particle features (N, width) after the message passing: the representation the decoder reads.

        ``graph``: one configuration or several joined (see :func:`mlmat_glass.glass_graph.glass_graph`).
        Rotating the edge vectors changes them (the network is invariant only as far as training with random
        rotations made it); relabelling the particles permutes them.
        """
        senders, receivers = graph["senders"], graph["receivers"]
        n_nodes = len(graph["types"])
        vectors = graph["vectors"]
        node_input = nn.functional.one_hot(graph["types"], self.n_types).to(vectors.dtype)
        if self.config["n_descriptors"]:
            node_input = torch.cat([node_input, self._scaled_descriptors(graph)], dim=1)
        node_skip = self.node_encoder(node_input)  # [n_nodes, width]
        nodes = node_skip
        if self.edge_updates:  # n_steps = 0: a per-particle MLP on the node inputs, edges unused
            edge_input = torch.cat([vectors, vectors.norm(dim=1, keepdim=True)], dim=1)
            edge_skip = self.edge_encoder(edge_input)  # [n_edges, width]
            edges = edge_skip
        for edge_update, node_update in zip(self.edge_updates, self.node_updates):
            node_in = torch.cat([nodes, node_skip], dim=1)
            edges = edge_update(torch.cat([edges, edge_skip], dim=1), node_in, senders, receivers)
            incoming = scatter_sum(edges, receivers, n_nodes)  # [n_nodes, width]
            nodes = node_update(torch.cat([node_in, incoming], dim=1))
        return nodes  # [n_nodes, width]

    def forward(self, graph: Graph) -> torch.Tensor:
        """Per-particle output (N,): the decoder (the per-particle head) on :meth:`features`, plus the linear
        readout of the descriptors where there is one."""
        output = self.decoder(self.features(graph)).squeeze(-1)
        if self.readout is not None:
            output = output + self.readout(self._scaled_descriptors(graph)).squeeze(-1)
        return output
