"""What an exported file computes: energy, forces and virials of atoms whose neighbour list the caller built.

The caller (a LAMMPS pair style, or :class:`~.reader.ExportedCalculator`) owns the atoms and their neighbour
list, periodic images included: ``N`` atoms, the first ``num_local`` of them local (their energies are summed),
the rest ghost copies; ``E`` directed edges, each pair within the cutoff listed in both directions. Inputs:

========================  ==========  ======================================================================
``positions``             (N, 3)      Å, local atoms first, then ghosts
``species``               (N,) int64  index into the file's element list
``edge_index``            (2, E)      int64, row 0 the centre i, row 1 the neighbour j
``edge_shifts``           (E, 3)      Å, added to r_j − r_i (the periodic image's lattice vector; 0 for ghosts)
``num_local``             () int64    atoms 0 … num_local − 1 are local
========================  ==========  ======================================================================

Outputs, a tuple in this order (:data:`OUTPUTS`):

========================  ==========  ======================================================================
``energy``                ()          eV, Σ of the local atoms' energies
``atomic_energies``       (N,)        eV (meaningful for local atoms only)
``forces``                (N, 3)      eV/Å, −∂energy/∂r on every atom, ghosts included: add a ghost's force
                                      to the atom it copies (LAMMPS: reverse communication, newton on)
``virial``                (3, 3)      eV, W = −∂energy/∂ε for a strain ε; ASE stress = −W / volume
``atomic_virial``         (N, 3, 3)   eV, each edge's share split half-half between its two atoms; sums to W
========================  ==========  ======================================================================

The energy depends on positions only through the edge vectors r_ij = r_j − r_i + shift, so one backward pass
to them gives g_ij = ∂E/∂r_ij and from it everything else: F_j −= g_ij, F_i += g_ij, and
W = −Σ_ij r_ij ⊗ g_ij (symmetrised; a strain moves every r_ij to r_ij (1 + ε)). A committee is exported as
its mean: the members' per-atom energies are averaged before the backward pass.
"""

from __future__ import annotations

import torch
from torch import nn

from .. import keys

#: Names of the outputs of an exported file, in the order it returns them.
OUTPUTS = ("energy", "atomic_energies", "forces", "virial", "atomic_virial")


class ExportInterface(nn.Module):
    """The module an exported file holds: members' representations and energy heads behind the plain interface.

    Args:
        members: potentials (one, or a committee's members) sharing one element list, each a representation
            with ``features`` and an energy head on them.
    """

    def __init__(self, members: list[nn.Module]):
        super().__init__()
        self.nets = nn.ModuleList([m.net for m in members])
        self.heads = nn.ModuleList([m.head for m in members])
        self.weight = 1.0 / len(members)

    def atomic_energies(self, species: torch.Tensor, edge_index: torch.Tensor, vectors: torch.Tensor) -> torch.Tensor:
        """Mean over members of the per-atom energies (N,) eV."""
        graph: dict[str, torch.Tensor] = {
            keys.SPECIES: species,
            keys.EDGE_INDEX: edge_index,
            keys.EDGE_VECTORS: vectors,
        }
        atomic = torch.zeros(species.shape[0], dtype=vectors.dtype, device=vectors.device)
        for net, head in zip(self.nets, self.heads):
            atomic = atomic + head(net.features(graph), species)
        return atomic * self.weight

    def forward(
        self,
        positions: torch.Tensor,
        species: torch.Tensor,
        edge_index: torch.Tensor,
        edge_shifts: torch.Tensor,
        num_local: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        centre, neighbour = edge_index[0], edge_index[1]
        # a fresh leaf: the one backward pass goes to the edge vectors, not through the gathers of positions
        vectors = (positions[neighbour] - positions[centre] + edge_shifts).detach().requires_grad_(True)  # (E, 3)
        atomic = self.atomic_energies(species, edge_index, vectors)  # (N,)
        local = torch.arange(atomic.shape[0], device=atomic.device) < num_local
        energy = torch.where(local, atomic, torch.zeros_like(atomic)).sum()
        grads = torch.autograd.grad([energy], [vectors], allow_unused=True)
        g = grads[0]
        if g is None:  # no edges reach the energy (isolated atoms)
            g = torch.zeros_like(vectors)
        forces = torch.zeros_like(positions).index_add(0, centre, g).index_add(0, neighbour, -g)  # (N, 3)
        edge_virial = -vectors.detach().unsqueeze(2) * g.unsqueeze(1)  # (E, 3, 3)
        edge_virial = 0.25 * (edge_virial + edge_virial.transpose(1, 2))  # symmetrised, and half to each atom
        atomic_virial = torch.zeros(
            (positions.shape[0], 3, 3), dtype=positions.dtype, device=positions.device
        )  # (N, 3, 3)
        atomic_virial = atomic_virial.index_add(0, centre, edge_virial).index_add(0, neighbour, edge_virial)
        return energy, atomic.detach(), forces, atomic_virial.sum(dim=0), atomic_virial
