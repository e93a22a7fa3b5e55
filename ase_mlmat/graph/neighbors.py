"""Neighbour lists within a cutoff for periodic, non-periodic and mixed boundaries.

Each backend implements one method, :meth:`NeighborList.pairs`, returning the
full (both directions) list of pairs ``(i, j, shift)`` such that
``r_j - r_i + shift @ cell`` is shorter than the cutoff. Small cells, where an
atom sees its own periodic images many times, are handled by every backend.

* :class:`VesinNeighborList` — compiled CPU library (vesin), the default.
* :class:`TorchCellList` — pure torch linked cells, O(N): runs on the GPU and keeps
  tensors on their device; the default there.
* :class:`VesinTorchNeighborList` — vesin's torch extension (``vesin-torch``): CPU and CUDA tensors in place.
* :class:`TorchNeighborList` — pure torch, brute force over all pairs and periodic
  images, chunked to bound memory; O(N²), kept as a simple reference.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod

import numpy as np
import torch

from .cell_list import cell_list_pairs, face_heights, search_basis


class NeighborList(ABC):
    """Base class: ``pairs(positions, cell, pbc, cutoff) -> (i, j, shifts)``."""

    name: str = ""

    @abstractmethod
    def pairs(
        self, positions: torch.Tensor, cell: torch.Tensor, pbc: torch.Tensor, cutoff: float
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return centre indices (E,), neighbour indices (E,), integer shifts (E, 3)."""

    def batch_pairs(
        self, positions: torch.Tensor, cells: torch.Tensor, pbcs: torch.Tensor, batch: torch.Tensor, cutoff: float
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """:meth:`pairs` of several structures: ``cells`` (B, 3, 3), ``pbcs`` (B, 3), ``batch`` (N,) the structure
        of each atom, whose atoms must be contiguous; indices run over the whole batch.

        This default searches one structure after another; a backend may search them all at once.
        """
        counts = torch.bincount(batch, minlength=cells.shape[0]).tolist()
        centres, neighbours, shifts, start = [], [], [], 0
        for b, count in enumerate(counts):
            i, j, shift = self.pairs(positions[start : start + count], cells[b], pbcs[b], cutoff)
            centres.append(i + start)
            neighbours.append(j + start)
            shifts.append(shift)
            start += count
        return torch.cat(centres), torch.cat(neighbours), torch.cat(shifts)


class VesinNeighborList(NeighborList):
    """Cell-list neighbour search from the compiled ``vesin`` library (CPU)."""

    name = "vesin"

    def pairs(self, positions, cell, pbc, cutoff):
        import vesin

        device = positions.device
        pos = positions.detach().cpu().double().numpy()
        box = cell.detach().cpu().double().numpy()
        periodic = [bool(p) for p in pbc.detach().cpu()]
        calculator = vesin.NeighborList(cutoff=float(cutoff), full_list=True)
        i, j, shifts = calculator.compute(pos, box, periodic, quantities="ijS")
        return (
            torch.from_numpy(i.astype(np.int64)).to(device),
            torch.from_numpy(j.astype(np.int64)).to(device),
            torch.from_numpy(shifts.astype(np.int64)).to(device),
        )


class VesinTorchNeighborList(NeighborList):
    """vesin's torch extension (the optional ``vesin-torch`` package): the search runs where the tensors live."""

    name = "vesin_torch"

    def pairs(self, positions, cell, pbc, cutoff):
        from vesin_torch import NeighborList as VesinTorch

        calculator = VesinTorch(cutoff=float(cutoff), full_list=True)
        box = cell.detach().to(positions.dtype)
        # the boundary flags as a host tensor, as vesin-torch makes them from a bool
        i, j, shifts = calculator.compute(positions.detach(), box, pbc.detach().cpu().to(torch.bool), quantities="ijS")
        return i.to(torch.long), j.to(torch.long), shifts.to(torch.long)


class TorchNeighborList(NeighborList):
    """All pairs over the periodic images that can lie within the cutoff.

    Cost is O(N² · images) in time and O(chunk · N · images) in memory, which
    suits the GPU for the few-thousand-atom systems of MD and training.
    """

    name = "torch"

    def __init__(self, chunk_size: int = 512):
        self.chunk_size = chunk_size

    def pairs(self, positions, cell, pbc, cutoff):
        device = positions.device
        pos = positions.detach().double()
        cell = cell.detach().double().to(device)
        pbc = pbc.to(device)
        n_images = torch.zeros(3, dtype=torch.long, device=device)
        if bool(pbc.any()):
            basis = search_basis(cell, pbc)  # non-periodic rows may be zero
            volume = torch.abs(torch.linalg.det(basis))
            heights = face_heights(basis)
            # Atoms may sit outside the cell: widen the image range by the spread of
            # fractional coordinates so no pair is missed.
            frac = torch.linalg.solve(basis.T, pos.T).T if volume > 0 else torch.zeros_like(pos)
            spread = (frac.max(0).values - frac.min(0).values) if len(pos) else torch.zeros(3)
            for d in range(3):
                if pbc[d]:
                    n_images[d] = math.ceil(cutoff / float(heights[d]) + float(spread[d]))
        ranges = [torch.arange(-int(n), int(n) + 1, device=device) for n in n_images]
        shifts = torch.stack(torch.meshgrid(*ranges, indexing="ij"), dim=-1).reshape(-1, 3)  # (S, 3)
        offsets = shifts.to(pos.dtype) @ cell  # (S, 3)
        centres, neighbours, shift_ids = [], [], []
        cutoff2 = cutoff * cutoff
        for start in range(0, len(pos), self.chunk_size):
            block = pos[start : start + self.chunk_size]  # (C, 3)
            # d[c, s, j] = r_j + offset_s - r_c
            diff = pos[None, None, :, :] + offsets[None, :, None, :] - block[:, None, None, :]
            dist2 = (diff * diff).sum(-1)  # (C, S, N)
            mask = dist2 < cutoff2
            c_idx, s_idx, j_idx = torch.nonzero(mask, as_tuple=True)
            self_pair = (c_idx + start == j_idx) & (shifts[s_idx] == 0).all(dim=1)
            keep = ~self_pair
            centres.append(c_idx[keep] + start)
            shift_ids.append(s_idx[keep])
            neighbours.append(j_idx[keep])
        if not centres:
            empty = torch.zeros(0, dtype=torch.long, device=device)
            return empty, empty, torch.zeros((0, 3), dtype=torch.long, device=device)
        i = torch.cat(centres)
        j = torch.cat(neighbours)
        return i, j, shifts[torch.cat(shift_ids)]


class TorchCellList(NeighborList):
    """Linked cells in torch (:func:`~ase_mlmat.graph.cell_list.cell_list_pairs`): O(N), on any device; a batch of
    structures in one search."""

    name = "torch_cells"

    def pairs(self, positions, cell, pbc, cutoff):
        return cell_list_pairs(positions, cell, pbc, cutoff)

    def batch_pairs(self, positions, cells, pbcs, batch, cutoff):
        return cell_list_pairs(positions, cells, pbcs, cutoff, batch=batch)


_BACKENDS = {
    "vesin": VesinNeighborList,
    "vesin_torch": VesinTorchNeighborList,
    "torch_cells": TorchCellList,
    "torch": TorchNeighborList,
}


def get_neighbor_list(backend: str | NeighborList = "auto", device: str | torch.device = "cpu") -> NeighborList:
    """Pick a backend by name; ``"auto"`` is vesin on CPU and torch_cells on CUDA."""
    if isinstance(backend, NeighborList):
        return backend
    if backend == "auto":
        backend = "torch_cells" if torch.device(device).type == "cuda" else "vesin"
    try:
        return _BACKENDS[backend]()
    except KeyError:
        raise ValueError(f"unknown neighbour-list backend {backend!r}; choose from {sorted(_BACKENDS)}") from None
