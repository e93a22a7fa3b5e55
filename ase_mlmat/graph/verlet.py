"""A Verlet neighbour list: pairs within ``cutoff + skin``, reused while no atom has moved more than ``skin / 2``.

Two atoms that each moved at most skin/2 since the list was built changed their distance by at most the skin,
so every pair now within the cutoff was within cutoff + skin then: the stored pairs, filtered to the cutoff at
the current positions, are exactly the pairs a fresh search would find. The list is rebuilt when an atom moved
further, or when the number of atoms, their elements, the cell or the boundary conditions changed (a new cell
changes every periodic image, so it is rebuilt rather than tracked).

Displacements are raw differences of positions: an atom wrapped back into the cell jumps by a lattice vector
and simply triggers a rebuild.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from ase import Atoms

from .. import keys
from .atoms_graph import Graph, atoms_to_graph
from .neighbors import NeighborList
from .validate import check_min_distance


class VerletList:
    """Graphs of successive structures, sharing one neighbour search while the atoms stay near their places.

    Args:
        cutoff: the model's cutoff, Å; every graph holds exactly the pairs closer than this.
        skin: extra search radius, Å. 0 searches afresh on every call.
        elements: the model's element list (sets the species index, rejects other elements).
        neighbor_list: backend or its name, as for :func:`~ase_mlmat.graph.atoms_to_graph`.
        dtype, device: of the floating-point tensors.
        min_distance: atoms closer than this (Å) are refused as overlapping, on every call.

    Attributes:
        builds: neighbour searches run so far.
    """

    def __init__(
        self,
        cutoff: float,
        skin: float,
        *,
        elements: Sequence[str] | None = None,
        neighbor_list: NeighborList | str = "auto",
        dtype: torch.dtype = torch.float64,
        device: str | torch.device = "cpu",
        min_distance: float = 0.1,
    ):
        if not skin >= 0:
            raise ValueError(f"skin must be a non-negative distance in Å, got {skin}")
        self.cutoff = float(cutoff)
        self.skin = float(skin)
        self.elements = list(elements) if elements is not None else None
        self.neighbor_list = neighbor_list
        self.dtype = dtype
        self.device = torch.device(device)
        self.min_distance = min_distance
        self.builds = 0
        self._built: Atoms | None = None  # numbers, cell, pbc and positions at the last search
        self._graph: Graph = {}  # the graph at cutoff + skin of that search
        self._offsets = torch.empty(0)  # (E, 3) Å, shift · cell of each stored pair

    def graph(self, atoms: Atoms) -> Graph:
        """The graph of ``atoms`` with the pairs closer than the cutoff (see :func:`atoms_to_graph`).

        Raises:
            StructureError: as :func:`~ase_mlmat.graph.atoms_to_graph`.
        """
        if self.skin == 0:
            self.builds += 1
            return self._search(atoms, self.cutoff, min_distance=self.min_distance)
        if self._needs_build(atoms):
            self._graph = self._search(atoms, self.cutoff + self.skin, min_distance=0.0)  # checked below
            self._built = atoms.copy()
            self._offsets = self._graph[keys.CELL_SHIFTS] @ self._graph[keys.CELL][0]
            self.builds += 1
            positions = self._graph[keys.POSITIONS]
        else:
            positions = torch.as_tensor(atoms.positions, dtype=self.dtype, device=self.device)
        centre, neighbour = self._graph[keys.EDGE_INDEX]
        vectors = positions.index_select(0, neighbour) - positions.index_select(0, centre) + self._offsets  # (E, 3)
        lengths = torch.linalg.norm(vectors, dim=1)  # (E,)
        check_min_distance(lengths, self._graph[keys.EDGE_INDEX], self.min_distance)
        keep = torch.nonzero(lengths < self.cutoff).squeeze(1)
        graph = dict(self._graph)
        graph[keys.POSITIONS] = positions
        graph[keys.EDGE_INDEX] = self._graph[keys.EDGE_INDEX].index_select(1, keep)
        graph[keys.CELL_SHIFTS] = self._graph[keys.CELL_SHIFTS].index_select(0, keep)
        return graph

    def _search(self, atoms: Atoms, cutoff: float, min_distance: float) -> Graph:
        return atoms_to_graph(
            atoms,
            cutoff,
            elements=self.elements,
            neighbor_list=self.neighbor_list,
            dtype=self.dtype,
            device=self.device,
            min_distance=min_distance,
        )

    def _needs_build(self, atoms: Atoms) -> bool:
        built = self._built
        if (
            built is None
            or len(atoms) != len(built)
            or not np.array_equal(atoms.numbers, built.numbers)
            or not np.array_equal(atoms.cell.array, built.cell.array)
            or not np.array_equal(atoms.pbc, built.pbc)
        ):
            return True
        moved = np.max(np.sum((atoms.positions - built.positions) ** 2, axis=1))
        return not moved <= (0.5 * self.skin) ** 2  # written so that NaN positions rebuild (and are refused there)
