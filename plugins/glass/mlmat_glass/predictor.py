"""The ``glass_mobility`` property predictor: per-particle propensity of a Kob–Andersen configuration.

Input: ASE ``Atoms`` in LJ units (positions and cell in σ), periodic cubic box, two species told apart
as in :mod:`mlmat_glass.species` (``arrays["types"]`` 0/1, else the smaller atomic number is A). The
model was trained at number density 1.2; configurations more than ``density_tolerance`` away are refused.
Models that read the inherent structure (the shipped one does) minimise the configuration's energy first
(≈ 10 s for N = 4096 on one core).

What is predicted: for each particle i, its propensity at time t — the mean over an iso-configurational
ensemble (runs from these positions with fresh Maxwell–Boltzmann velocities) of |r_i(t) − r_i(0)|, in σ_AA
(or of |r_i(t) − r_i(0)|², in σ_AA², for a model built with ``--target mean_squared_displacement``; see the
result's ``target``). Models are fitted and scored on A particles only; B particles get a number from
the same model but it is not validated. A model file holds one model per timescale of its training data;
``time=`` chooses one.
"""

from __future__ import annotations

import dataclasses
from importlib import resources
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from ase import Atoms

from ase_mlmat.devices import resolve_device
from ase_mlmat.properties import PropertyPredictor, PropertyResult

from .glass_graph import cube_symmetries
from .inputs import config_inputs, model_inputs
from .model_io import load_model
from .species import GlassInputError, check_glass_atoms
from .timescales import DEFAULT_TARGET, PropensityTimescales
from .training import predict_z

DEFAULT_MODEL = "ka-T0.44-botan"


def shipped_models() -> dict[str, Path]:
    """Names of the models shipped in ``mlmat_glass/pretrained`` → their files."""
    folder = resources.files("mlmat_glass") / "pretrained"
    return {Path(str(p)).stem: Path(str(p)) for p in folder.iterdir() if str(p).endswith(".pt")}


@dataclasses.dataclass(frozen=True)
class GlassMobilityResult(PropertyResult):
    """Predicted propensity.

    Attributes:
        propensity_sigma: (N,) predicted mean over the iso-configurational ensemble of |r_i(t) − r_i(0)| at the
            model's time t (σ), in input order — of |r_i(t) − r_i(0)|² (σ²) when ``target`` says so.
        types: (N,) 0 = A, 1 = B as read from the input.
        mean_propensity_A_sigma: mean over A particles (σ, or σ²) — the training-set level by construction.
        model: model name; temperature and time/F_s level it was trained for are in its card.
        model_temperature: temperature of the training data (ε/k_B).
        model_fs_a: mean F_s(k = 7.25) of A particles at the training time.
        target: ``"mean_abs_displacement"`` (σ) or ``"mean_squared_displacement"`` (σ²).
        time_label: the model's timescale (e.g. ``"tc07"``, ``"2800"``).
        time_tau: its time after t = 0 (τ); NaN where the training data did not store it.
    """

    propensity_sigma: np.ndarray
    types: np.ndarray
    mean_propensity_A_sigma: float
    n_particles: int
    model: str
    model_temperature: float
    model_fs_a: float
    target: str = DEFAULT_TARGET
    time_label: str = ""
    time_tau: float = float("nan")


class GlassMobilityPredictor(PropertyPredictor):
    """Per-particle propensity from static structure with a trained glass graph network.

    Args:
        model: a shipped model name (see :func:`shipped_models`) or a checkpoint path.
        symmetrize: average the network over the 48 symmetry operations of the cube (exactly invariant
            to them; 48× the cost) instead of one evaluation.
        density_tolerance: relative deviation from the training density accepted.
        device: where the network runs: "auto" (CUDA when available), "cpu", "cuda" or "cuda:N".
        time: the timescale to predict — a label of the model (``"tc07"``) or a time in τ; None for a
            model with a single timescale. ValueError, listing the model's timescales, for one it lacks.
    """

    name: ClassVar[str] = "glass_mobility"
    needs_calculator: ClassVar[bool] = False

    def __init__(
        self,
        model: str | Path = DEFAULT_MODEL,
        *,
        symmetrize: bool = False,
        density_tolerance: float = 0.1,
        device: str | torch.device = "auto",
        time: float | str | None = None,
    ):
        shipped = shipped_models()
        path = shipped.get(str(model), Path(model))
        if str(model) not in shipped and not path.is_file():
            raise ValueError(f"no glass model {str(model)!r}: not a file and not shipped (shipped: {sorted(shipped)})")
        network, info = load_model(path)
        self.model_name = str(model) if str(model) in shipped else path.stem
        self.card = info.get("card", {})
        if isinstance(network, PropensityTimescales):
            try:
                index = network.index(time)
            except ValueError as err:
                raise ValueError(f"glass model {self.model_name!r}: {err}") from None
            self.network = network.models[index]
            self.target = network.config["target"]
            self.time_label, self.time_tau = network.labels[index], network.times[index]
            self.target_mean = float(network.target_mean[index])
            self.target_std = float(network.target_std[index])
        else:  # a single model (files written before models had timescales)
            if time is not None:
                raise ValueError(f"glass model {self.model_name!r} has a single timescale; pass time=None")
            self.network, self.target = network, DEFAULT_TARGET
            self.time_label, self.time_tau = str(self.card.get("time", "")), float("nan")
            self.target_mean = float(info["target_mean"])
            self.target_std = float(info["target_std"])
        self.network.to(resolve_device(device))
        self.symmetries = cube_symmetries() if symmetrize else None
        self.density_tolerance = density_tolerance

    def predict(self, atoms: Atoms, calculator=None) -> GlassMobilityResult:
        positions, types, length = check_glass_atoms(atoms)
        density = len(atoms) / length**3
        trained = 1.2
        if abs(density / trained - 1.0) > self.density_tolerance:
            raise GlassInputError(
                f"number density {density:.4f} σ⁻³ is outside ±{self.density_tolerance:.0%} of the training density "
                f"{trained} (are positions in σ, not Å?)"
            )
        graph = model_inputs(positions, types, length, **config_inputs(self.network.config))
        with torch.no_grad():
            z = predict_z(self.network, graph, self.symmetries)
        propensity = self.target_mean + self.target_std * z
        is_a = types == 0
        return GlassMobilityResult(
            propensity_sigma=propensity,
            types=types,
            mean_propensity_A_sigma=float(propensity[is_a].mean()),
            n_particles=len(types),
            model=self.model_name,
            model_temperature=float(self.card.get("temperature", float("nan"))),
            model_fs_a=float(
                self.card.get("timescales", {}).get(self.time_label, self.card).get("fs_a_train_mean", float("nan"))
            ),
            target=self.target,
            time_label=self.time_label,
            time_tau=self.time_tau,
        )
