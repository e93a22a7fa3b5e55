"""Training configuration; YAML keys are the field names."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field

from ..devices import resolve_device
from ..models.registry import get_architecture
from ..yaml_config import ConfigError, read_mapping, typed_builder_options, typed_fields

DEFAULT_LEARNING_RATE = 3e-3  # from scratch
DEFAULT_MODEL = {"cutoff": 5.0, "num_features": 64, "num_interactions": 3}  # a fresh model's unset options


@dataclass
class TrainConfig:
    """Everything a training run needs. Units: Å, eV; weights multiply MSEs in those units.

    The loss is ``energy_weight · MSE(ΔE/N) + forces_weight · MSE(ΔF) + stress_weight · MSE(Δσ)``
    with E/N in eV/atom, F in eV/Å and σ in eV/Å³; the weights are in the inverse squares of those units,
    so the loss is a pure number.
    """

    data: list[str] = field(default_factory=list)
    architecture: str = "painn"
    # architecture options; those not given: DEFAULT_MODEL for a fresh model, the checkpoint's with init_from
    model: dict = field(default_factory=dict)
    elements: list[str] | None = None  # default: those in the data
    epochs: int = 300
    batch_size: int = 8
    learning_rate: float | None = None  # default: 3e-3 from scratch, finetune_learning_rate with init_from
    min_learning_rate: float = 1e-5
    scheduler: str = "plateau"  # "plateau" or "cosine"
    scheduler_patience: int = 15
    scheduler_factor: float = 0.5
    weight_decay: float = 0.0
    energy_weight: float = 100.0
    forces_weight: float = 1.0
    stress_weight: float = 100.0
    val_fraction: float = 0.1
    early_stopping_patience: int = 60
    ema_decay: float = 0.99
    gradient_clip: float = 10.0
    seed: int = 0
    device: str = "auto"
    dtype: str = "float32"
    init_from: str | None = None  # checkpoint path or shipped name to fine-tune (reference energies refitted)
    finetune_learning_rate: float = 3e-4  # the learning rate with init_from when learning_rate is not given
    output: str = "model.pt"
    plots: bool = True
    progress: bool = True  # progress bar, and the label counts printed before training
    swap_stress_yz_xz: list[str] = field(default_factory=list)  # config_types with σ_yz/σ_xz exchanged ("*": all)
    # where the labels are: calculator results, atoms.info or atoms.arrays (e.g. REF_energy, REF_forces, REF_stress)
    energy_key: str = "energy"  # eV
    forces_key: str = "forces"  # (N, 3) eV/Å
    stress_key: str = "stress"  # eV/Å³, ASE sign; without it a "virial" (eV) is read as stress = −virial/volume
    max_minutes: float | None = None  # time budget, stops training cleanly
    budget_clock: str = "wall"  # "wall" or "cpu" (process CPU time: same work however busy the machine)
    # training state beside the output (<output stem>.state.pt) every this many epochs, for --resume; 0: never
    checkpoint_every: int = 10
    # energy finish (MACE's stage two): the last finish_fraction of the run (by epochs or budget) uses the finish
    # energy weight and restarts the cosine from the finish learning rate; the best epoch is chosen within it
    finish_fraction: float = 0.0  # 0: no finish
    finish_energy_weight: float | None = None  # (eV/atom)^-2; default: 10 × energy_weight
    finish_learning_rate: float | None = None  # default: learning_rate / 10

    def __post_init__(self) -> None:
        if self.learning_rate is None:  # resolved here so the run records the value it used
            self.learning_rate = self.finetune_learning_rate if self.init_from else DEFAULT_LEARNING_RATE

    @classmethod
    def from_yaml(cls, path: str | os.PathLike, **overrides) -> TrainConfig:
        return cls.from_dict(read_mapping(path, "a training", overrides))

    @classmethod
    def from_dict(cls, raw: dict) -> TrainConfig:
        if isinstance(raw.get("data"), str):  # one file may be given as a string
            raw = {**raw, "data": [raw["data"]]}
        config = cls(**typed_fields(cls, raw, "training"))
        config.validate()
        return config

    def validate(self) -> None:
        if self.epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {self.epochs}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.learning_rate <= 0 or self.finetune_learning_rate <= 0:
            raise ValueError(
                f"learning rates must be positive, got learning_rate={self.learning_rate}, "
                f"finetune_learning_rate={self.finetune_learning_rate}"
            )
        if min(self.energy_weight, self.forces_weight, self.stress_weight) < 0:
            raise ValueError("loss weights must be non-negative")
        if self.budget_clock not in ("wall", "cpu"):
            raise ValueError(f"budget_clock must be 'wall' or 'cpu', got {self.budget_clock!r}")
        for name in ("energy_key", "forces_key", "stress_key"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ConfigError(f"{name} must be a non-empty key name, got {getattr(self, name)!r}")
        if self.checkpoint_every < 0:
            raise ValueError(f"checkpoint_every must be >= 0 epochs (0: never), got {self.checkpoint_every}")
        if not 0 <= self.finish_fraction < 1:
            raise ValueError(f"finish_fraction must be in [0, 1) (0: no energy finish), got {self.finish_fraction}")
        if (self.finish_energy_weight or 0) < 0 or (
            self.finish_learning_rate is not None and self.finish_learning_rate <= 0
        ):
            raise ValueError("finish_energy_weight must be non-negative and finish_learning_rate positive")
        if not 0 <= self.ema_decay < 1:
            raise ValueError(f"ema_decay must be in [0, 1) (0: no averaging), got {self.ema_decay}")
        if self.scheduler not in ("plateau", "cosine"):
            raise ValueError(f"scheduler must be 'plateau' or 'cosine', got {self.scheduler!r}")
        self.model = typed_builder_options(
            get_architecture(self.architecture), self.model, "model", fixed=("num_species",)
        )
        if "cutoff" in self.model and not self.model["cutoff"] > 0:
            raise ConfigError(f"model option 'cutoff' must be a positive radius in Å, got {self.model.get('cutoff')}")
        resolve_device(self.device)  # an unknown name, or CUDA where there is none, fails before any work

    @property
    def label_keys(self) -> dict[str, str]:
        """The label-key arguments of :func:`ase_mlmat.data.load_labelled`."""
        return {"energy_key": self.energy_key, "forces_key": self.forces_key, "stress_key": self.stress_key}

    def to_dict(self) -> dict:
        return asdict(self)
