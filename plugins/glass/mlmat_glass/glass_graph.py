"""Static-structure graphs of a glass configuration (Bapst et al. 2020): particles as nodes, pairs within
2.0 σ as directed edges carrying the minimum-image displacement vector."""

from __future__ import annotations

import numpy as np
import torch

EDGE_CUTOFF = 2.0  # σ

Graph = dict[str, torch.Tensor]


def glass_graph(
    positions: np.ndarray, types: np.ndarray, box: float | np.ndarray, *, cutoff: float = EDGE_CUTOFF
) -> Graph:
    """Graph of one periodic configuration.

    Args:
        positions: (N, 3) σ (wrapped or not).
        types: (N,) 0 = A, 1 = B.
        box: cubic edge length or (3,) edge lengths (σ).
        cutoff: edge cutoff (σ).

    Returns:
        ``types`` (N,) int64, ``senders``/``receivers`` (E,) int64 and ``vectors`` (E, 3) float32 with
        vectors[e] = r_sender − r_receiver (minimum image), σ.
    """
    import vesin

    lengths = np.broadcast_to(np.asarray(box, dtype=float), (3,))
    if np.any(lengths < 2 * cutoff):
        raise ValueError(f"box {lengths.tolist()} is shorter than twice the edge cutoff {cutoff} σ")
    wrapped = np.mod(np.asarray(positions, dtype=float), lengths)
    i, j, vectors = vesin.NeighborList(cutoff=float(cutoff), full_list=True).compute(
        wrapped, np.diag(lengths), True, quantities="ijD"
    )
    return {
        "types": torch.as_tensor(np.asarray(types), dtype=torch.long),
        "receivers": torch.as_tensor(i.astype(np.int64)),
        "senders": torch.as_tensor(j.astype(np.int64)),
        "vectors": torch.as_tensor(vectors, dtype=torch.float32),  # r_j − r_i
    }


def transform_graph(graph: Graph, matrix: torch.Tensor) -> Graph:
    """The same graph with every edge vector multiplied by ``matrix`` (3, 3) (a rotation or reflection)."""
    out = dict(graph)
    out["vectors"] = graph["vectors"] @ matrix.T.to(graph["vectors"].dtype)
    return out


def random_orthogonal(generator: torch.Generator | None = None) -> torch.Tensor:
    """A Haar-random orthogonal 3×3 matrix (rotation or rotation-reflection), float32."""
    q, r = torch.linalg.qr(torch.randn(3, 3, generator=generator, dtype=torch.float64))
    return (q * torch.sign(torch.diagonal(r))).float()


def cube_symmetries() -> torch.Tensor:
    """The 48 symmetry operations of the cube (axis permutations × sign flips), (48, 3, 3) float32."""
    import itertools

    ops = []
    for perm in itertools.permutations(range(3)):
        for signs in itertools.product((1.0, -1.0), repeat=3):
            matrix = torch.zeros(3, 3)
            for row, (col, sign) in enumerate(zip(perm, signs)):
                matrix[row, col] = sign
            ops.append(matrix)
    return torch.stack(ops)
