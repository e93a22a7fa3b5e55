"""Forces and stress from an energy-only model by autograd on positions and a strain.

The structure is deformed by a symmetric strain ε (zero-valued but differentiable):
r' = r (1 + ε), cell' = cell (1 + ε). Then F = -∂E/∂r and σ = (1/V) ∂E/∂ε, the
ASE convention (eV/Å³, tensile positive). One backward pass gives both.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .. import keys

EnergyFn = Callable[[dict[str, torch.Tensor]], torch.Tensor]


def attach_strain(graph: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Return a graph whose positions, cell and edge vectors depend on a zero strain (B, 3, 3)."""
    num_graphs = graph[keys.CELL].shape[0]
    positions = graph[keys.POSITIONS]
    strain = torch.zeros((num_graphs, 3, 3), dtype=positions.dtype, device=positions.device)
    strain.requires_grad_(True)
    symmetric = 0.5 * (strain + strain.transpose(1, 2))
    batch = graph[keys.BATCH]
    out = dict(graph)
    out[keys.POSITIONS] = positions + torch.einsum("ni,nij->nj", positions, symmetric[batch])
    out[keys.CELL] = graph[keys.CELL] + torch.bmm(graph[keys.CELL], symmetric)
    return out, strain


def edge_vectors(graph: dict[str, torch.Tensor]) -> torch.Tensor:
    """r_j - r_i + shift · cell for every edge (E, 3) Å."""
    centre, neighbour = graph[keys.EDGE_INDEX]
    positions = graph[keys.POSITIONS]
    cell = graph[keys.CELL][graph[keys.BATCH][centre]]  # (E, 3, 3)
    shift = torch.einsum("ei,eij->ej", graph[keys.CELL_SHIFTS], cell)
    return positions[neighbour] - positions[centre] + shift


def cell_volume(cell: torch.Tensor) -> torch.Tensor:
    """|det(cell)| per structure (B,) Å³."""
    return torch.abs(torch.linalg.det(cell))


def energy_forces_stress(
    energy_fn: EnergyFn,
    graph: dict[str, torch.Tensor],
    *,
    forces: bool = True,
    stress: bool = True,
    create_graph: bool = False,
) -> dict[str, torch.Tensor]:
    """Evaluate ``energy_fn`` (graph with edge vectors → per-atom energies (N,)) with derivatives.

    Returns ENERGY (B,), ATOMIC_ENERGIES (N,), and if asked FORCES (N, 3) eV/Å and
    STRESS (B, 3, 3) eV/Å³ (zero for structures without a finite volume).
    ``create_graph=True`` keeps the derivative graph, needed to train on forces.
    """
    graph = dict(graph)
    # A fresh leaf, so gradients never leak into the caller's tensor.
    positions = graph[keys.POSITIONS].detach().requires_grad_(forces)
    graph[keys.POSITIONS] = positions
    strain = None
    if stress:
        graph, strain = attach_strain(graph)
    graph[keys.EDGE_VECTORS] = edge_vectors(graph)
    atomic = energy_fn(graph)
    num_graphs = graph[keys.CELL].shape[0]
    energy = torch.zeros(num_graphs, dtype=atomic.dtype, device=atomic.device).index_add_(0, graph[keys.BATCH], atomic)
    out = {keys.ENERGY: energy, keys.ATOMIC_ENERGIES: atomic}
    inputs = ([positions] if forces else []) + ([strain] if stress else [])
    if inputs:
        grads = torch.autograd.grad(energy.sum(), inputs, create_graph=create_graph, allow_unused=True)
        grads = [torch.zeros_like(x) if g is None else g for g, x in zip(grads, inputs)]
        if forces:
            out[keys.FORCES] = -grads[0]
        if stress:
            volume = cell_volume(graph[keys.CELL].detach())
            safe = torch.where(volume > 1e-8, volume, torch.ones_like(volume))
            virial = grads[-1]
            out[keys.STRESS] = torch.where(
                (volume > 1e-8).view(-1, 1, 1), virial / safe.view(-1, 1, 1), torch.zeros_like(virial)
            )
    return out
