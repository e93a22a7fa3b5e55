"""Atomic graphs: neighbour lists, Atoms → graph conversion, batching, input checks."""

from .atoms_graph import Graph, atoms_to_graph, collate, species_index, to_device
from .neighbors import (
    NeighborList,
    TorchCellList,
    TorchNeighborList,
    VesinNeighborList,
    VesinTorchNeighborList,
    get_neighbor_list,
)
from .validate import StructureError, check_structure
from .verlet import VerletList

__all__ = [
    "Graph",
    "NeighborList",
    "StructureError",
    "TorchCellList",
    "TorchNeighborList",
    "VerletList",
    "VesinNeighborList",
    "VesinTorchNeighborList",
    "atoms_to_graph",
    "check_structure",
    "collate",
    "get_neighbor_list",
    "species_index",
    "to_device",
]
