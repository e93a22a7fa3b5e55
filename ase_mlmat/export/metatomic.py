# ruff: noqa: UP006, UP035, UP045 - metatomic compares forward's annotations with typing.List/Dict/Optional
"""The metatomic format (``mlmat export --format metatomic``): one file for every engine that reads metatomic models.

A metatomic model (``metatomic-torch``) is a TorchScript module with a fixed calling convention: the engine
passes ``System`` objects (atomic numbers, positions, cell) carrying the neighbour lists the model asked for,
and gets named outputs back as metatensor ``TensorMap``. Engines that read it include metatomic-ase's ASE
calculator, torch-sim and LAMMPS builds with the metatomic pair style.

:class:`MetatomicPotential` asks for one full, strict neighbour list at the model's cutoff and takes the pair
vectors r_ij = r_j − r_i + shift from it. The engine builds those vectors with autograd connections to the
positions and the cell, so the energy returned here is differentiable and the engine gets forces and stress by
its own backward pass (nothing is differentiated inside the file). Only the ``energy`` output is offered, per
structure or per atom; ``selected_atoms`` (e.g. the local atoms of a LAMMPS domain, the rest being ghosts)
restricts the atoms whose energies are returned and summed. A committee is exported as its mean.
"""

# no ``from __future__ import annotations`` either: the annotations must be evaluated
from pathlib import Path
from typing import Dict, List, Optional

import torch
from ase.data import atomic_numbers
from torch import nn

from .interface import ExportInterface

try:  # optional: ase_mlmat works without it, only this format needs it
    from metatensor.torch import Labels, TensorBlock, TensorMap
    from metatomic.torch import (
        AtomisticModel,
        ModelCapabilities,
        ModelMetadata,
        ModelOutput,
        NeighborListOptions,
        System,
    )

    HAVE_METATOMIC = True
except ImportError:  # pragma: no cover - exercised only where metatomic-torch is missing
    HAVE_METATOMIC = False

MISSING = (
    "the metatomic format needs metatomic-torch, which is not installed: "
    "pip install metatomic-torch metatomic-ase (or the extra: pip install 'ase-mlmat[metatomic]')"
)


if HAVE_METATOMIC:

    class MetatomicPotential(nn.Module):
        """Members' representations and energy heads behind metatomic's ``forward(systems, outputs, selected_atoms)``.

        Args:
            interface: the members, as in the other export formats.
            elements: element symbols in species-index order.
            cutoff: Å, of the one neighbour list requested.
        """

        def __init__(self, interface: ExportInterface, elements: list[str], cutoff: float):
            super().__init__()
            self.interface = interface
            numbers = torch.tensor([atomic_numbers[e] for e in elements])
            table = torch.full((int(numbers.max()) + 1,), -1, dtype=torch.long)
            table[numbers] = torch.arange(len(elements))
            self.register_buffer("species_of_number", table)  # atomic number -> species index (-1: not modelled)
            self.neighbors = NeighborListOptions(cutoff=float(cutoff), full_list=True, strict=True)

        def requested_neighbor_lists(self) -> List[NeighborListOptions]:
            return [self.neighbors]

        def forward(
            self,
            systems: List[System],
            outputs: Dict[str, ModelOutput],
            selected_atoms: Optional[Labels],
        ) -> Dict[str, TensorMap]:
            if "energy" not in outputs:
                return {}
            per_atom = outputs["energy"].sample_kind == "atom"
            energies: List[torch.Tensor] = []  # per system: (1,) or (n_selected,)
            samples: List[torch.Tensor] = []  # per system: (1, 1) or (n_selected, 2), int32
            for s, system in enumerate(systems):
                pairs = system.get_neighbor_list(self.neighbors)
                edge_index = torch.stack([pairs.samples.column("first_atom"), pairs.samples.column("second_atom")]).to(
                    torch.long
                )
                vectors = pairs.values.reshape(-1, 3)  # (E, 3) Å, differentiable w.r.t. positions and cell
                species = self.species_of_number[system.types.to(torch.long)]
                atomic = self.interface.atomic_energies(species, edge_index, vectors)  # (N,) eV
                atoms = torch.arange(atomic.shape[0], device=atomic.device)
                if selected_atoms is not None:
                    chosen = selected_atoms.values
                    atoms = chosen[chosen[:, 0] == s][:, 1].to(torch.long)
                    atomic = atomic[atoms]
                if per_atom:
                    energies.append(atomic)
                    samples.append(torch.stack([torch.full_like(atoms, s), atoms], dim=1).to(torch.int32))
                else:
                    energies.append(atomic.sum().reshape(1))
                    samples.append(torch.full((1, 1), s, dtype=torch.int32, device=atomic.device))
            device = self.species_of_number.device
            dtype = self.interface.heads[0].reference_energies.dtype
            values = torch.cat(energies).unsqueeze(1) if energies else torch.zeros((0, 1), dtype=dtype, device=device)
            names = ["system", "atom"] if per_atom else ["system"]
            sample_values = (
                torch.cat(samples) if samples else torch.zeros((0, len(names)), dtype=torch.int32, device=device)
            )
            block = TensorBlock(
                values=values,
                samples=Labels(names, sample_values),
                components=torch.jit.annotate(List[Labels], []),
                properties=Labels(["energy"], torch.zeros((1, 1), dtype=torch.int32, device=values.device)),
            )
            keys = Labels(["_"], torch.zeros((1, 1), dtype=torch.int32, device=values.device))
            return {"energy": TensorMap(keys, [block])}


def write_metatomic(module: ExportInterface, path: Path, meta: dict[str, str]) -> None:
    """Save ``module`` (on its final dtype and device) as a metatomic ``AtomisticModel`` at ``path``.

    Raises:
        ImportError: metatomic-torch is not installed.
    """
    if not HAVE_METATOMIC:
        raise ImportError(MISSING)
    elements = meta["elements"].split()
    cutoff = float(meta["cutoff"])
    device = torch.device(meta["device"]).type
    wrapped = MetatomicPotential(module, elements, cutoff).to(module.heads[0].reference_energies.device).eval()
    capabilities = ModelCapabilities(
        outputs={"energy": ModelOutput(unit="eV", sample_kind="atom", explicit_gradients=[])},
        atomic_types=[atomic_numbers[e] for e in elements],
        # a ghost atom further than layers × cutoff from every selected atom cannot change their energies
        interaction_range=cutoff * int(meta["num_interactions"]),
        length_unit="angstrom",
        supported_devices=[device] + [d for d in ("cuda", "cpu") if d != device],  # --device first: preferred
        dtype=meta["dtype"],
    )
    description = (
        f"ase-mlmat {meta['architecture']} potential for {' '.join(elements)}"
        + (f", mean of a committee of {meta['committee_size']}" if meta["committee_size"] != "1" else "")
        + f"; cutoff {cutoff} Å, {meta['num_interactions']} interactions"
    )
    metadata = ModelMetadata(name=f"ase-mlmat {meta['architecture']}", description=description, extra=meta)
    AtomisticModel(wrapped, metadata, capabilities).save(str(path))


def read_metatomic_metadata(path: str | Path) -> dict[str, str]:
    """The ase-mlmat metadata strings (see :func:`.writer.metadata`) stored in a metatomic file's model metadata."""
    if not HAVE_METATOMIC:
        raise ImportError(MISSING)
    from metatomic.torch import read_model_metadata

    return dict(read_model_metadata(str(path)).extra)
