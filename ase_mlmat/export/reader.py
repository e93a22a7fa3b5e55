"""Load an exported potential (:func:`load_exported`) and run it on ASE atoms (:class:`ExportedCalculator`).

Loading uses torch alone (``torch._inductor.aoti_load_package`` or ``torch.jit.load``): the file holds its
computation and weights, so nothing of ase_mlmat runs inside it. The calculator feeds it the project's
neighbour list, as the LAMMPS pair style feeds it LAMMPS's, and is what the tests compare with
:class:`~ase_mlmat.calculator.MLCalculator`.
"""

from __future__ import annotations

import json
import os
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from ase import Atoms
from ase.calculators.calculator import Calculator, PropertyNotImplementedError, all_changes

from .. import keys
from ..graph import VerletList
from .interface import OUTPUTS
from .writer import METADATA_FILE


def _file_format(path: Path) -> str:
    """The format, "aoti" or "torchscript", from the names inside the zip archive both formats are."""
    if not path.is_file():
        raise FileNotFoundError(f"no exported model at {str(path)!r}")
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except zipfile.BadZipFile:
        names = []
    if any("/data/aotinductor/" in name for name in names):
        return "aoti"
    if any(name.endswith(f"/extra/{METADATA_FILE}") for name in names):
        return "torchscript"
    raise ValueError(f"{str(path)!r} is not an exported ase-mlmat potential (write one with `mlmat export`)")


def is_exported(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a file written by ``mlmat export`` (as against a checkpoint or anything else)."""
    try:
        _file_format(Path(path))
    except (FileNotFoundError, ValueError):
        return False
    return True


@dataclass
class ExportedModel:
    """An exported potential, loaded: call it with the tensors of :mod:`.interface`, get a dict of its outputs."""

    runner: Any
    metadata: dict[str, str] = field(repr=False)

    @property
    def elements(self) -> list[str]:
        return self.metadata["elements"].split()

    @property
    def cutoff(self) -> float:
        """Å."""
        return float(self.metadata["cutoff"])

    @property
    def num_interactions(self) -> int:
        return int(self.metadata["num_interactions"])

    @property
    def dtype(self) -> torch.dtype:
        return getattr(torch, self.metadata["dtype"])

    @property
    def device(self) -> torch.device:
        return torch.device(self.metadata["device"])

    def __call__(
        self,
        positions: torch.Tensor,
        species: torch.Tensor,
        edge_index: torch.Tensor,
        edge_shifts: torch.Tensor,
        num_local: int | torch.Tensor,
    ) -> dict[str, torch.Tensor]:
        """Outputs by name (:data:`~.interface.OUTPUTS`); see :mod:`.interface` for shapes and units."""
        num_local = torch.as_tensor(num_local, dtype=torch.long, device=positions.device)
        return dict(zip(OUTPUTS, self.runner(positions, species, edge_index, edge_shifts, num_local)))


def load_exported(path: str | os.PathLike) -> ExportedModel:
    """Load a file written by :func:`~.writer.export_model`.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the file is no exported ase-mlmat potential.
    """
    path = Path(path)
    if _file_format(path) == "aoti":
        runner = torch._inductor.aoti_load_package(str(path))
        meta = dict(runner.get_metadata())
    else:
        extra = {METADATA_FILE: ""}
        with warnings.catch_warnings():  # torch.jit is deprecated in favour of torch.export, still supported
            warnings.simplefilter("ignore", DeprecationWarning)
            runner = torch.jit.load(str(path), _extra_files=extra)
        meta = json.loads(extra[METADATA_FILE])
    if meta.get("format") != "ase-mlmat-exported-potential":
        raise ValueError(f"{str(path)!r} is not an exported ase-mlmat potential (write one with `mlmat export`)")
    return ExportedModel(runner, meta)


class ExportedCalculator(Calculator):
    """Energy, per-atom energies, forces and stress from an exported file, on ASE atoms.

    Args:
        model: the file, or an :class:`ExportedModel`.
        neighbor_list: backend of the project's neighbour list ("auto", "vesin", "torch_cells", "torch").
        min_distance: atoms closer than this (Å) are refused as overlapping.
        skin: Å; the neighbour list is reused until an atom has moved more than skin/2, as in
            :class:`~ase_mlmat.calculator.MLCalculator` (:class:`~ase_mlmat.graph.VerletList`); 0 searches afresh on
            every call.
    """

    implemented_properties = ("energy", "free_energy", "energies", "forces", "stress")

    def __init__(
        self,
        model: str | os.PathLike | ExportedModel,
        *,
        neighbor_list: str = "auto",
        min_distance: float = 0.1,
        skin: float = 1.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.model = model if isinstance(model, ExportedModel) else load_exported(model)
        self.neighbors = VerletList(
            self.model.cutoff,
            skin,
            elements=self.model.elements,
            neighbor_list=neighbor_list,
            dtype=self.model.dtype,
            device=self.model.device,
            min_distance=min_distance,
        )

    def calculate(self, atoms: Atoms | None = None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        model = self.model
        graph = self.neighbors.graph(self.atoms)
        shifts = graph[keys.CELL_SHIFTS] @ graph[keys.CELL][0]  # (E, 3) Å
        out = model(graph[keys.POSITIONS], graph[keys.SPECIES], graph[keys.EDGE_INDEX], shifts, len(self.atoms))
        out = {name: value.detach().cpu().double().numpy() for name, value in out.items()}
        self.results["energy"] = self.results["free_energy"] = float(out["energy"])
        self.results["energies"] = out["atomic_energies"]
        self.results["forces"] = out["forces"]
        has_volume = self.atoms.cell.rank == 3 and abs(self.atoms.cell.volume) > 1e-8
        if has_volume:
            stress = -out["virial"] / abs(self.atoms.cell.volume)  # eV/Å³, tensile positive
            self.results["stress"] = stress.flat[[0, 4, 8, 5, 2, 1]]
        elif "stress" in properties:
            raise PropertyNotImplementedError("stress needs a cell with non-zero volume")


__all__ = ["ExportedCalculator", "ExportedModel", "is_exported", "load_exported"]
