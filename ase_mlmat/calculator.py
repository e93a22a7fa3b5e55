"""ASE calculator for ase-mlmat potentials, single models or committees.

``calculate`` is a short pipeline, ``atoms → graph → ensemble → results``, with
results filled from one table of (ASE key, model key, reshaping). A single model is
an ensemble of one; a committee's spread comes from :class:`~ase_mlmat.models.ensemble.Ensemble`.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence

import numpy as np
import torch
from ase import Atoms
from ase.calculators.calculator import Calculator, PropertyNotImplementedError, all_changes

from . import keys
from .devices import resolve_device
from .graph import VerletList
from .model_store import load_model
from .models.ensemble import Ensemble
from .models.potential import Potential

ModelSpec = str | os.PathLike | Potential | Ensemble


def resolve_dtype(dtype: str | torch.dtype) -> torch.dtype:
    names = {"float32": torch.float32, "float64": torch.float64}
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype not in names:
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    return names[dtype]


# (ASE name, model key, reduce): per-structure entries are taken from batch element 0.
_RESULTS = (
    ("energy", keys.ENERGY, "structure"),
    ("free_energy", keys.ENERGY, "structure"),
    ("energies", keys.ATOMIC_ENERGIES, "atoms"),
    ("forces", keys.FORCES, "atoms"),
    ("stress", keys.STRESS, "voigt"),
)


def _to_ase(value: torch.Tensor, reduce: str) -> np.ndarray | float:
    value = value.detach().cpu().double().numpy()
    if reduce == "structure":
        return float(value[0])
    if reduce == "voigt":
        s = value[0]
        return np.array([s[0, 0], s[1, 1], s[2, 2], s[1, 2], s[0, 2], s[0, 1]])
    return value


class MLCalculator(Calculator):
    """Energy, per-atom energies, forces and stress from an ase-mlmat potential.

    Args:
        model: checkpoint path, shipped model name (``"mlearn-Si"``), a :class:`Potential`, an
            :class:`Ensemble` of them, or a list of these — a committee, whose mean is returned together with the
            spread (``energy_std`` eV, ``energies_std`` eV, ``forces_std`` (N, 3) eV/Å, ``stress_std`` eV/Å³; only a
            committee lists them in ``implemented_properties``).
        device: "auto", "cpu", "cuda" (or "cuda:N").
        dtype: "float32" or "float64".
        neighbor_list: "auto" (vesin on CPU, linked cells in torch on CUDA), "vesin", "torch_cells"
            or "torch" (brute force).
        min_distance: atoms closer than this (Å) are refused as overlapping.
        skin: Å; the neighbour list is searched to cutoff + skin and reused (filtered to the cutoff) until an
            atom has moved more than skin/2 or the cell, pbc, atom count or elements change
            (:class:`~ase_mlmat.graph.VerletList`); results equal a fresh search's to rounding. 0 searches
            afresh on every call.
        compile: run each model as an AOTInductor-compiled package (:mod:`ase_mlmat.export.compiled`): the same
            numbers to rounding, 2–5× faster on one CPU thread. The first use of a model with a dtype and device
            compiles it (about a minute, needs a C++ compiler) into a cache folder (``$ASE_MLMAT_CACHE``, default
            ``~/.cache/ase-mlmat``); later processes load it from there. Cells with fewer than two atoms or two
            neighbour pairs run the eager model.
    """

    implemented_properties = ("energy", "free_energy", "energies", "forces", "stress")
    #: Spreads a committee adds (per instance; a single model has none to give).
    committee_properties = ("energy_std", "energies_std", "forces_std", "stress_std")

    def __init__(
        self,
        model: ModelSpec | Sequence[ModelSpec],
        *,
        device: str | torch.device = "auto",
        dtype: str | torch.dtype = "float32",
        neighbor_list: str = "auto",
        min_distance: float = 0.1,
        skin: float = 1.0,
        compile: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        specs = list(model) if isinstance(model, (list, tuple)) else [model]
        if not specs:
            raise ValueError("a committee needs at least one model")
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype)
        members = []
        for spec in specs:
            loaded = load_model(spec, kind="potential")
            members += list(loaded.members) if isinstance(loaded, Ensemble) else [loaded]
        # Copies: moving a caller's model to another dtype/device must not change it under them.
        self.committee = Ensemble([copy.deepcopy(m) for m in members]).to(device=self.device, dtype=self.dtype).eval()
        self.elements = self.committee.elements
        self.cutoff = self.committee.cutoff
        # one neighbour list for every member of a committee
        self.neighbors = VerletList(
            self.cutoff,
            skin,
            elements=self.elements,
            neighbor_list=neighbor_list,
            dtype=self.dtype,
            device=self.device,
            min_distance=min_distance,
        )
        self.compiled = None
        if compile:
            from .export.compiled import compiled_potential

            self.compiled = [
                compiled_potential(m, dtype=self.dtype, device=self.device) for m in self.committee.members
            ]
        if self.is_committee:  # a new instance tuple: the class-level one stays as it is for every other instance
            self.implemented_properties = type(self).implemented_properties + self.committee_properties

    @classmethod
    def from_checkpoint(cls, path: str | os.PathLike, **kwargs) -> MLCalculator:
        return cls(path, **kwargs)

    @property
    def models(self) -> list[Potential]:
        return list(self.committee.members)

    @property
    def is_committee(self) -> bool:
        return len(self.committee) > 1

    def calculate(self, atoms: Atoms | None = None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        atoms = self.atoms
        graph = self.neighbors.graph(atoms)
        has_volume = atoms.cell.rank == 3 and abs(atoms.cell.volume) > 1e-8
        if not has_volume and {"stress", "stress_std"} & set(properties):
            raise PropertyNotImplementedError("stress needs a cell with non-zero volume")
        num_edges = graph[keys.EDGE_INDEX].shape[1]
        if self.compiled is not None and len(atoms) >= 2 and num_edges >= 2:  # the packages' smallest shapes
            mean, spread = self._run_compiled(graph, volume=abs(atoms.cell.volume) if has_volume else None)
        else:
            mean, spread = self.committee(graph, forces=True, stress=has_volume)
        for ase_name, key, reduce in _RESULTS:
            if key in mean:
                self.results[ase_name] = _to_ase(mean[key], reduce)
                if self.is_committee and ase_name != "free_energy":
                    self.results[f"{ase_name}_std"] = _to_ase(spread[key], reduce)

    def _run_compiled(
        self, graph: dict[str, torch.Tensor], volume: float | None
    ) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """Mean and spread over the compiled members, keyed and shaped as :class:`Ensemble` gives them."""
        shifts = graph[keys.CELL_SHIFTS] @ graph[keys.CELL][0]  # (E, 3) Å
        n = graph[keys.POSITIONS].shape[0]
        outputs = [
            runner(graph[keys.POSITIONS], graph[keys.SPECIES], graph[keys.EDGE_INDEX], shifts, n)
            for runner in self.compiled
        ]
        stacked = {
            keys.ENERGY: torch.stack([o["energy"].reshape(1) for o in outputs]),  # (M, 1) eV
            keys.ATOMIC_ENERGIES: torch.stack([o["atomic_energies"] for o in outputs]),  # (M, N) eV
            keys.FORCES: torch.stack([o["forces"] for o in outputs]),  # (M, N, 3) eV/Å
        }
        if volume is not None:  # ASE stress = −virial / volume, eV/Å³
            stacked[keys.STRESS] = torch.stack([-o["virial"].unsqueeze(0) / volume for o in outputs])  # (M, 1, 3, 3)
        mean = {key: value.mean(dim=0) for key, value in stacked.items()}
        spread = {key: value.std(dim=0, unbiased=False) for key, value in stacked.items()}
        return mean, spread
