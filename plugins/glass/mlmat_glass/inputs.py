"""What a propensity model sees of a configuration: its graph (edges from the thermal positions or from the
inherent structure) with the model's node descriptors attached."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

from .descriptors import needs_inherent, node_descriptors
from .glass_graph import EDGE_CUTOFF, Graph, glass_graph
from .inherent import inherent_structure

GRAPH_POSITIONS = ("thermal", "inherent")


def model_inputs(
    positions: np.ndarray,
    types: np.ndarray,
    box,
    *,
    descriptors: str | None = None,
    graph_positions: str = "thermal",
    cutoff: float = EDGE_CUTOFF,
    inherent: np.ndarray | None = None,
) -> Graph:
    """Graph of one configuration for a model with the given input settings (see :func:`config_inputs`).

    Args:
        positions: (N, 3) σ, the thermal configuration.
        types: (N,) 0 = A, 1 = B.
        box: cubic edge length or (3,) edge lengths (σ).
        descriptors: node descriptor set (:mod:`mlmat_glass.descriptors`) or None.
        graph_positions: ``"thermal"`` (Bapst et al.) or ``"inherent"``: where edge vectors are measured.
        cutoff: edge cutoff (σ).
        inherent: the inherent structure of ``positions`` (N, 3) σ if already computed; else it is computed
            here when the settings need it (one energy minimisation).
    """
    if graph_positions not in GRAPH_POSITIONS:
        raise ValueError(f"graph_positions must be one of {GRAPH_POSITIONS}, got {graph_positions!r}")
    positions = np.asarray(positions, dtype=float)
    if inherent is None and (graph_positions == "inherent" or needs_inherent(descriptors)):
        inherent = inherent_structure(positions, types, box)
    graph = glass_graph(inherent if graph_positions == "inherent" else positions, types, box, cutoff=cutoff)
    features = node_descriptors(descriptors, positions, types, box, inherent=inherent)
    if features is not None:
        graph["descriptors"] = torch.as_tensor(features)
    return graph


def config_inputs(config: Mapping) -> dict:
    """The input settings stored in a model's config, as keyword arguments of :func:`model_inputs`."""
    return {
        "descriptors": config.get("descriptors"),
        "graph_positions": config.get("graph_positions", "thermal"),
        "cutoff": float(config.get("cutoff", EDGE_CUTOFF)),
    }
