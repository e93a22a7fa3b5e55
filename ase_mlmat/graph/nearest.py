"""Crystal graphs for property models: each atom linked to its nearest neighbours within a cutoff.

CGCNN keeps the 12 nearest neighbours of every atom within 8 Å. An atom with no neighbour inside the
cutoff (an isolated atom, a molecule in a huge box) has nothing to learn from and is refused.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from ase import Atoms

from .. import keys
from .atoms_graph import Graph, atoms_to_graph
from .validate import StructureError


def nearest_edges(centre: np.ndarray, lengths: np.ndarray, max_neighbors: int) -> np.ndarray:
    """Indices of the edges to keep: the ``max_neighbors`` shortest per centre atom (ties by order).

    Args:
        centre: (E,) centre atom of each edge.
        lengths: (E,) edge lengths, Å.
        max_neighbors: neighbours kept per atom.
    """
    order = np.lexsort((lengths, centre))  # by centre, then by length
    sorted_centre = centre[order]
    starts = np.searchsorted(sorted_centre, sorted_centre, side="left")
    rank = np.arange(len(order)) - starts  # position of each edge within its centre's group
    return np.sort(order[rank < max_neighbors])


def crystal_graph(
    atoms: Atoms,
    cutoff: float,
    elements: Sequence[str],
    *,
    max_neighbors: int = 12,
    dtype: torch.dtype = torch.float32,
) -> Graph:
    """Graph of ``atoms`` with at most ``max_neighbors`` edges per atom, their vectors and lengths (Å).

    Raises:
        StructureError: invalid structure, unknown element, overlapping atoms, or an atom with no
            neighbour within ``cutoff``.
    """
    graph = atoms_to_graph(atoms, cutoff, elements=elements, dtype=torch.float64, neighbor_list="vesin")
    centre, neighbour = graph[keys.EDGE_INDEX]
    vectors = (
        graph[keys.POSITIONS][neighbour] - graph[keys.POSITIONS][centre] + graph[keys.CELL_SHIFTS] @ graph[keys.CELL][0]
    )
    lengths = torch.linalg.norm(vectors, dim=1).numpy()
    keep = nearest_edges(centre.numpy(), lengths, max_neighbors)
    counts = np.bincount(centre.numpy()[keep], minlength=len(atoms))
    if np.any(counts == 0):
        lonely = np.flatnonzero(counts == 0)
        raise StructureError(
            f"isolated atom(s) {lonely[:10].tolist()} ({atoms.get_chemical_formula()}): no neighbour within "
            f"the model's cutoff of {cutoff} Å"
        )
    keep_t = torch.as_tensor(keep)
    return {
        keys.SPECIES: graph[keys.SPECIES],
        keys.BATCH: graph[keys.BATCH],
        keys.NUM_ATOMS: graph[keys.NUM_ATOMS],
        keys.EDGE_INDEX: graph[keys.EDGE_INDEX][:, keep_t].contiguous(),
        keys.EDGE_LENGTHS: torch.as_tensor(lengths[keep], dtype=dtype),
        keys.EDGE_VECTORS: vectors[keep_t].to(dtype),  # (E, 3) Å, for representations that need directions
    }
