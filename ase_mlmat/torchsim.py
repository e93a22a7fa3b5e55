"""ase-mlmat potentials as a torch-sim model: batched MD and relaxation of many structures on the device.

torch-sim (``pip install "ase-mlmat[torchsim]"``) integrates many systems at once — velocity Verlet, Langevin,
NPT, FIRE — with positions kept on the device. :class:`TorchSimModel` implements its model interface: a
:class:`~torch_sim.state.SimState` of B systems becomes one batched graph, and the potential (a committee's
mean) gives ``energy`` (B,) eV, ``forces`` (N, 3) eV/Å and ``stress`` (B, 3, 3) eV/Å³ with ASE's sign (tensile
positive), the convention torch-sim's cell optimisers and barostats use. Units are ASE's, which are also
torch-sim's "metal" units: Å, eV, amu, and time in Å·(amu/eV)^½, so ``dt = 2 * ase.units.fs`` is 2 fs.

The pairs are kept as a Verlet list over the whole batch, as :class:`~ase_mlmat.graph.VerletList` does for one
structure: searched to cutoff + skin, then filtered to the cutoff at each call, until an atom has moved more than
skin/2 or a cell, the atoms or their elements change. torch-sim wraps atoms back into the cell after each step;
the lattice vector an atom jumped by is taken out of its displacement and put into its pairs' shifts, so wrapping
costs no search. On the reuse path the host reads two flags per call (search? overlap?) and the number of pairs
kept; a search reads more.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence

import torch
from torch_sim.models.interface import ModelInterface
from torch_sim.state import SimState

from . import keys
from .devices import resolve_device
from .graph import NeighborList, get_neighbor_list
from .graph.validate import StructureError, check_min_distance
from .model_store import load_model
from .models.ensemble import Ensemble
from .models.potential import Potential

ModelSpec = str | os.PathLike | Potential | Ensemble
# model key → torch-sim output name
_OUTPUTS = ((keys.ENERGY, "energy"), (keys.FORCES, "forces"), (keys.STRESS, "stress"))


class TorchSimModel(ModelInterface):
    """An ase-mlmat potential, or a committee of them, behind torch-sim's ``ModelInterface``.

    Args:
        model: checkpoint path, shipped name (``"mlearn-Cu"``), :class:`Potential`, :class:`Ensemble`, or a list of
            these (a committee: its mean drives the dynamics; ``energy_std`` (B,), ``forces_std`` (N, 3) and
            ``stress_std`` (B, 3, 3) are returned beside it).
        device: "auto", "cpu", "cuda" or "cuda:N"; states must live there.
        dtype: of the model and of the states it is given (torch-sim's default is float64).
        neighbor_list: a backend of :func:`~ase_mlmat.graph.get_neighbor_list` ("auto": vesin on CPU, torch_cells on
            CUDA; "vesin_torch"), whose ``batch_pairs`` searches the batch (torch_cells in one search, the others one
            system after another), or "torch_sim" for torch-sim's batched linked cells.
        skin: Å, the Verlet list's extra radius; 0 searches afresh on every call.
        min_distance: Å; atoms closer than this are refused as overlapping (:class:`StructureError`).
        compute_forces, compute_stress: which derivatives to return.
    """

    def __init__(
        self,
        model: ModelSpec | Sequence[ModelSpec],
        *,
        device: str | torch.device = "auto",
        dtype: torch.dtype = torch.float64,
        neighbor_list: str | NeighborList = "auto",
        skin: float = 1.0,
        min_distance: float = 0.1,
        compute_forces: bool = True,
        compute_stress: bool = True,
    ):
        super().__init__()
        if not skin >= 0:
            raise ValueError(f"skin must be a non-negative distance in Å, got {skin}")
        specs = list(model) if isinstance(model, (list, tuple)) else [model]
        members = []
        for spec in specs:
            loaded = load_model(spec, kind="potential")
            members += list(loaded.members) if isinstance(loaded, Ensemble) else [loaded]
        self._device = resolve_device(device)
        self._dtype = dtype
        self._compute_forces = compute_forces
        self._compute_stress = compute_stress
        self._memory_scales_with = "n_atoms_x_density"
        # copies: moving a caller's model to another dtype/device must not change it under them
        self.committee = Ensemble([copy.deepcopy(m) for m in members]).to(device=self._device, dtype=dtype).eval()
        self.cutoff = self.committee.cutoff
        self.skin = float(skin)
        self.min_distance = float(min_distance)
        # None: torch-sim's batched linked cells
        self.neighbor_list = None if neighbor_list == "torch_sim" else get_neighbor_list(neighbor_list, self._device)
        from ase.data import atomic_numbers

        species = torch.full((119,), -1, dtype=torch.long)
        for index, symbol in enumerate(self.committee.elements):
            species[atomic_numbers[symbol]] = index
        self._species = species.to(self._device)  # atomic number → index into the model's elements
        self.builds = 0  # neighbour searches so far
        self._built: dict[str, torch.Tensor] = {}  # the batch at the last search, and its pairs at cutoff + skin

    def forward(self, state: SimState | dict[str, torch.Tensor], **_) -> dict[str, torch.Tensor]:
        """Energy (B,) eV, forces (N, 3) eV/Å and stress (B, 3, 3) eV/Å³ of every system in ``state``.

        Raises:
            StructureError: elements the model lacks, or atoms closer than ``min_distance``.
        """
        if isinstance(state, dict):
            state = SimState(**{"masses": torch.ones_like(state["positions"][:, 0]), **state})
        graph = self.graph(state)
        mean, spread = self.committee(graph, forces=self._compute_forces, stress=self._compute_stress)
        out = {name: mean[key].detach() for key, name in _OUTPUTS if key in mean}
        if len(self.committee) > 1:
            out.update({f"{name}_std": spread[key].detach() for key, name in _OUTPUTS if key in spread})
        return out

    def graph(self, state: SimState) -> dict[str, torch.Tensor]:
        """The batched graph of ``state``: every system's pairs closer than the cutoff, atoms in state order."""
        positions = state.positions.to(self._dtype)
        cells = state.row_vector_cell.to(self._dtype)  # (B, 3, 3), rows are lattice vectors
        batch, numbers = state.system_idx, state.atomic_numbers
        if isinstance(state.pbc, torch.Tensor):
            pbc = state.pbc.to(device=positions.device, dtype=torch.bool).expand(cells.shape[0], 3)
        else:  # torch-sim 0.3: one flag for every direction of every system
            pbc = torch.full((cells.shape[0], 3), bool(state.pbc), device=positions.device)
        built = self._built
        reuse = self.skin > 0 and bool(built)
        reuse = reuse and built[keys.POSITIONS].shape == positions.shape and built[keys.CELL].shape == cells.shape
        if reuse:
            jumps = self._jumps(positions, batch)  # (N, 3) lattice vectors moved by wrapping
            unwrapped = positions - torch.einsum("ni,nij->nj", jumps, cells[batch])  # (N, 3) Å, as if never wrapped
            moved = unwrapped - built[keys.POSITIONS]
            shifts, lengths = self._edges(unwrapped, jumps)
            stale = (
                (cells != built[keys.CELL]).any()
                | (pbc != built[keys.PBC]).any()
                | (numbers != built[keys.ATOMIC_NUMBERS]).any()
                | (batch != built[keys.BATCH]).any()
                | ~((moved * moved).sum(dim=1).max() <= (0.5 * self.skin) ** 2)  # NaN positions search (and fail)
            )
            close = lengths.min() < self.min_distance if lengths.numel() else torch.zeros_like(stale)
            stale, close = torch.stack([stale, close]).tolist()  # the one host read that decides
            reuse = not stale
        if not reuse:
            built = self._search(positions, cells, pbc, numbers, batch)
            shifts, lengths = self._edges(positions, None)
        if not reuse or close:
            check_min_distance(lengths, built[keys.EDGE_INDEX], self.min_distance)
        edge_index = built[keys.EDGE_INDEX]
        if self.skin > 0:  # the pairs within the cutoff
            keep = torch.nonzero(lengths < self.cutoff).squeeze(1)
            edge_index, shifts = edge_index.index_select(1, keep), shifts.index_select(0, keep)
        return {
            keys.POSITIONS: positions,
            keys.ATOMIC_NUMBERS: numbers,
            keys.SPECIES: built[keys.SPECIES],
            keys.CELL: cells,
            keys.PBC: pbc,
            keys.BATCH: batch,
            keys.NUM_ATOMS: built[keys.NUM_ATOMS],
            keys.EDGE_INDEX: edge_index,
            keys.CELL_SHIFTS: shifts,
        }

    def _edges(self, unwrapped: torch.Tensor, jumps: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """Shifts (E, 3) of the stored pairs for the atoms' present places, and their lengths (E,) Å.

        ``unwrapped``: positions less the lattice vectors of ``jumps`` (N, 3), which the shifts take up instead.
        """
        centre, neighbour = self._built[keys.EDGE_INDEX]
        shifts = self._built[keys.CELL_SHIFTS]
        if jumps is not None:
            shifts = shifts + jumps.index_select(0, centre) - jumps.index_select(0, neighbour)
        vectors = unwrapped.index_select(0, neighbour) - unwrapped.index_select(0, centre) + self._built["offsets"]
        return shifts, torch.linalg.norm(vectors, dim=1)

    def _jumps(self, positions: torch.Tensor, batch: torch.Tensor) -> torch.Tensor:
        """Whole lattice vectors (N, 3) by which each atom moved since the search, along periodic directions."""
        built = self._built
        fractional = torch.einsum("ni,nij->nj", positions - built[keys.POSITIONS], built["inverse_cell"][batch])
        return torch.where(built[keys.PBC][batch], torch.round(fractional), torch.zeros_like(fractional))

    def _search(
        self, positions: torch.Tensor, cells: torch.Tensor, pbc: torch.Tensor, numbers: torch.Tensor, batch
    ) -> dict[str, torch.Tensor]:
        """Search every system to cutoff + skin and remember the batch it was made for."""
        n_systems = cells.shape[0]
        species = self._species[numbers]
        if bool((species < 0).any()):
            missing = sorted(set(numbers[species < 0].tolist()))
            raise StructureError(f"atomic numbers {missing} are not among the model's elements {self.elements}")
        radius = self.cutoff + self.skin
        if self.neighbor_list is None:
            edge_index, shifts = torch_sim_pairs(positions, cells, pbc, batch, radius)
        else:
            i, j, shifts = self.neighbor_list.batch_pairs(positions, cells, pbc, batch, radius)
            edge_index = torch.stack([i, j])
        self.builds += 1
        self._built = {
            keys.POSITIONS: positions.detach().clone(),
            keys.CELL: cells.detach().clone(),
            "inverse_cell": torch.linalg.inv_ex(cells.detach()).inverse,  # unused where no direction is periodic
            keys.PBC: pbc,
            keys.ATOMIC_NUMBERS: numbers.clone(),
            keys.SPECIES: species,
            keys.BATCH: batch.clone(),
            keys.NUM_ATOMS: torch.bincount(batch, minlength=n_systems),
            keys.EDGE_INDEX: edge_index,
            keys.CELL_SHIFTS: shifts.to(positions.dtype),
            "offsets": torch.einsum("ei,eij->ej", shifts.to(positions.dtype), cells[batch[edge_index[0]]]),  # (E, 3) Å
        }
        return self._built

    @property
    def elements(self) -> list[str]:
        return list(self.committee.elements)


def torch_sim_pairs(
    positions: torch.Tensor, cells: torch.Tensor, pbc: torch.Tensor, batch: torch.Tensor, cutoff: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """All systems' pairs from torch-sim's batched linked cells: edge index (2, E) into the batch, shifts (E, 3).

    That search wants atoms inside their cells: they are wrapped first, and the wrap is put back in the shifts.
    """
    from torch_sim.neighbors import torch_nl_linked_cell

    cell_of_atom = cells[batch]  # (N, 3, 3)
    inverse = torch.linalg.inv_ex(cell_of_atom).inverse  # not finite for the zero cell of a molecule
    fractional = torch.einsum("ni,nij->nj", positions, inverse)
    periodic = pbc[batch]
    wrap = torch.where(periodic, torch.floor(fractional), torch.zeros_like(fractional))  # (N, 3) taken off
    wrapped = positions - torch.einsum("ni,nij->nj", wrap, cell_of_atom)
    edge_index, _, shifts = torch_nl_linked_cell(cutoff, wrapped, cells.reshape(-1, 3), pbc, batch)
    i, j = edge_index
    # r_j - r_i + s·cell with r = wrapped + wrap·cell: the input positions need s + wrap_i - wrap_j
    return edge_index, shifts.to(positions.dtype) + wrap[i] - wrap[j]
