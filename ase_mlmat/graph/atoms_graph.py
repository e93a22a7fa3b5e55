"""Atoms → graph dictionaries, and batching of many graphs into one."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from ase import Atoms

from .. import keys
from .neighbors import NeighborList, get_neighbor_list
from .validate import check_min_distance, check_structure

Graph = dict[str, torch.Tensor]


def atoms_to_graph(
    atoms: Atoms,
    cutoff: float,
    *,
    elements: Sequence[str] | None = None,
    neighbor_list: NeighborList | str = "auto",
    dtype: torch.dtype = torch.float64,
    device: str | torch.device = "cpu",
    min_distance: float = 0.1,
) -> Graph:
    """Build the graph of one structure: atoms as nodes, pairs within ``cutoff`` (Å) as edges.

    Args:
        atoms: the structure (periodic, non-periodic or mixed boundaries).
        cutoff: neighbour cutoff in Å.
        elements: the model's element list; sets the ``species`` index and rejects others.
        neighbor_list: backend or its name ("auto", "vesin", "torch_cells", "torch").
        dtype, device: of the floating-point tensors.
        min_distance: atoms closer than this (Å) are rejected as overlapping.

    Raises:
        StructureError: empty, non-finite, degenerate or overlapping input, or unknown elements.
    """
    check_structure(atoms, list(elements) if elements is not None else None)
    backend = get_neighbor_list(neighbor_list, device)
    positions = torch.as_tensor(atoms.positions, dtype=dtype, device=device)
    cell = torch.as_tensor(atoms.cell.array, dtype=dtype, device=device)
    pbc = torch.as_tensor(atoms.pbc, dtype=torch.bool, device=device)
    i, j, shifts = backend.pairs(positions, cell, pbc, cutoff)
    shifts_f = shifts.to(dtype)
    edge_index = torch.stack([i, j])
    if min_distance > 0:
        vectors = positions[j] - positions[i] + shifts_f @ cell
        check_min_distance(torch.linalg.norm(vectors, dim=1), edge_index, min_distance)
    numbers = torch.as_tensor(atoms.numbers, dtype=torch.long, device=device)
    graph: Graph = {
        keys.POSITIONS: positions,
        keys.ATOMIC_NUMBERS: numbers,
        keys.CELL: cell.unsqueeze(0),
        keys.PBC: pbc.unsqueeze(0),
        keys.BATCH: torch.zeros(len(atoms), dtype=torch.long, device=device),
        keys.NUM_ATOMS: torch.tensor([len(atoms)], dtype=torch.long, device=device),
        keys.EDGE_INDEX: edge_index,
        keys.CELL_SHIFTS: shifts_f,
    }
    if elements is not None:
        graph[keys.SPECIES] = species_index(atoms.numbers, elements, device)
    return graph


def species_index(numbers: np.ndarray, elements: Sequence[str], device="cpu") -> torch.Tensor:
    """Map atomic numbers to positions in ``elements`` (N,) int64."""
    from ase.data import atomic_numbers

    lookup = np.full(119, -1, dtype=np.int64)
    for index, symbol in enumerate(elements):
        lookup[atomic_numbers[symbol]] = index
    return torch.as_tensor(lookup[np.asarray(numbers)], dtype=torch.long, device=device)


_PER_ATOM = (keys.POSITIONS, keys.ATOMIC_NUMBERS, keys.SPECIES, keys.FORCES, keys.ATOMIC_ENERGIES)
_PER_EDGE = (keys.CELL_SHIFTS,)


def collate(graphs: Sequence[Graph]) -> Graph:
    """Join graphs into one batch: concatenate atoms and edges, offset indices, number structures."""
    if len(graphs) == 1:
        return dict(graphs[0])
    out: Graph = {}
    first = graphs[0]
    num_atoms = torch.cat([g[keys.NUM_ATOMS] for g in graphs])
    offsets = torch.cumsum(num_atoms, 0) - num_atoms
    for key in first:
        parts = [g[key] for g in graphs]
        if key == keys.EDGE_INDEX:
            out[key] = torch.cat([p + o for p, o in zip(parts, offsets)], dim=1)
        elif key == keys.BATCH:
            out[key] = torch.cat([torch.full_like(p, b) for b, p in enumerate(parts)])
        else:
            out[key] = torch.cat(parts)
    return out


def to_device(graph: Graph, device: str | torch.device, dtype: torch.dtype | None = None) -> Graph:
    """Move every tensor; floating-point tensors also change to ``dtype`` if given."""
    out = {}
    for key, value in graph.items():
        if dtype is not None and value.is_floating_point():
            out[key] = value.to(device=device, dtype=dtype)
        else:
            out[key] = value.to(device)
    return out
