"""Bulk and shear moduli from a trained structure → property model (the "fast ML estimate" tier).

The model (default: the shipped ``mp-binary-kg``, an :class:`~ase_mlmat.models.ensemble.Ensemble` of CGCNN
property models) predicts log10 K_VRH and
log10 G_VRH in GPa; K = 10^mean. The ensemble spread σ of the log10 values is the uncertainty; in GPa
it is reported to first order as σ_K ≈ K ln(10) σ. ``MLModuli`` is a callable ``(atoms) → (K, G)``,
a moduli model a hardness or thermal predictor can take; :class:`ModuliPrediction` is a moduli source.
"""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from ase import Atoms

from ..devices import module_device, resolve_device
from ..graph import collate, to_device
from ..graph.nearest import crystal_graph
from ..model_store import load_model, model_path
from ..models.ensemble import Ensemble
from ..models.property_model import PropertyModel
from .base import PropertyError, PropertyResult

DEFAULT_MODULI_MODEL = "mp-binary-kg"
LOG_TARGETS = ("log10_K_VRH_GPa", "log10_G_VRH_GPa")


@dataclass(frozen=True)
class ModuliPrediction(PropertyResult):
    """ML moduli of one structure (Voigt–Reuss–Hill averages), GPa; std from the ensemble spread."""

    bulk_modulus_GPa: float
    shear_modulus_GPa: float
    bulk_modulus_std_GPa: float
    shear_modulus_std_GPa: float
    log10_bulk_modulus: float
    log10_shear_modulus: float
    log10_bulk_modulus_std: float
    log10_shear_modulus_std: float


@lru_cache(maxsize=8)
def _load_cached(path: str, mtime: float, device: torch.device) -> Ensemble:
    return _as_ensemble(load_model(path, kind="property")).to(device)


def _as_ensemble(model: PropertyModel | Ensemble) -> Ensemble:
    return model if isinstance(model, Ensemble) else Ensemble([model])


def load_moduli_model(
    spec: str | os.PathLike | PropertyModel | Ensemble = DEFAULT_MODULI_MODEL, device: str | torch.device = "cpu"
) -> Ensemble:
    """An ensemble of property models from a loaded one, a checkpoint path or a shipped name (cached per file
    and device).

    A loaded model or ensemble is used as given when it is on ``device``, else a copy is moved there (the
    caller's model is not moved under them); a single model becomes an ensemble of one. ``device``: "cpu"
    (default: the same numbers on every worker of a screening run), "auto", "cuda" or "cuda:N".

    Raises:
        FileNotFoundError: neither a file nor a shipped model.
        ValueError: the model does not predict log10 K_VRH and log10 G_VRH.
    """
    device = resolve_device(device)
    if isinstance(spec, torch.nn.Module):
        load_model(spec, kind="property")  # refuses another kind
        model = _as_ensemble(spec if module_device(spec) == device else copy.deepcopy(spec).to(device))
    else:
        path = str(model_path(spec))
        model = _load_cached(os.path.abspath(path), os.path.getmtime(path), device)
    if tuple(model.targets[:2]) != LOG_TARGETS:
        raise ValueError(f"model predicts {model.targets}, not {list(LOG_TARGETS)}")
    return model


def _prediction(mean: np.ndarray, std: np.ndarray) -> ModuliPrediction:
    K, G = 10.0 ** float(mean[0]), 10.0 ** float(mean[1])
    return ModuliPrediction(
        bulk_modulus_GPa=K,
        shear_modulus_GPa=G,
        bulk_modulus_std_GPa=K * math.log(10.0) * float(std[0]),
        shear_modulus_std_GPa=G * math.log(10.0) * float(std[1]),
        log10_bulk_modulus=float(mean[0]),
        log10_shear_modulus=float(mean[1]),
        log10_bulk_modulus_std=float(std[0]),
        log10_shear_modulus_std=float(std[1]),
    )


@torch.no_grad()
def predict_moduli(
    model: Ensemble, structures: Sequence[Atoms], batch_size: int = 256
) -> list[ModuliPrediction | Exception]:
    """One prediction, or the exception that stopped it (unknown element, isolated atom…), per structure.

    Structures are batched in input order, so the same list gives the same numbers however it is
    distributed, as long as the batches and the device are the same. Runs on the model's device.
    """
    model.eval()
    device = module_device(model)
    out: list[ModuliPrediction | Exception | None] = [None] * len(structures)
    graphs, where = [], []
    for index, atoms in enumerate(structures):
        try:
            graphs.append(crystal_graph(atoms, model.cutoff, model.elements, max_neighbors=model.max_neighbors))
            where.append(index)
        except Exception as err:  # reported per structure
            out[index] = err
    for start in range(0, len(graphs), batch_size):
        mean, std = model(to_device(collate(graphs[start : start + batch_size]), device))
        for k, (m, s) in enumerate(zip(mean.double().cpu().numpy(), std.double().cpu().numpy())):
            index = where[start + k]
            out[index] = _prediction(m, s) if np.all(np.isfinite(m)) else PropertyError("model gave non-finite moduli")
    return out  # type: ignore[return-value]


class MLModuli:
    """Callable ``(atoms) → (K_GPa, G_GPa)`` backed by a property model.

    Args:
        model: shipped name, checkpoint path, or a loaded property model or :class:`Ensemble` of them.
        device: "auto" (CUDA when available), "cpu", "cuda" or "cuda:N".
    """

    def __init__(
        self,
        model: str | os.PathLike | PropertyModel | Ensemble = DEFAULT_MODULI_MODEL,
        device: str | torch.device = "auto",
    ):
        self.model = load_moduli_model(model, device)

    def predict(self, atoms: Atoms) -> ModuliPrediction:
        """Moduli with uncertainty; raises the structure's error (e.g. StructureError)."""
        result = predict_moduli(self.model, [atoms])[0]
        if isinstance(result, Exception):
            raise result
        return result

    def __call__(self, atoms: Atoms) -> tuple[float, float]:
        result = self.predict(atoms)
        return result.bulk_modulus_GPa, result.shear_modulus_GPa
