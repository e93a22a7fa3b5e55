"""Configuration of structure → property training; YAML keys are the field names."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field

from ..devices import resolve_device
from ..models.registry import get_architecture
from ..yaml_config import ConfigError, read_mapping, typed_builder_options, typed_fields


@dataclass
class PropertyTrainConfig:
    """A property-model training run (or k-fold cross-validation).

    The targets are standardised per column; the loss is the mean of ``loss`` ("l1" or "mse") over
    standardised targets. The learning rate follows a cosine from ``learning_rate`` to
    ``min_learning_rate`` over ``epochs`` (or over ``max_minutes`` if that comes first); the weights
    of the best validation epoch are kept, and training stops after ``early_stopping_patience``
    epochs without improvement. In k-fold cross-validation ``group_by: formula`` puts all structures
    of one compound (reduced formula) in the same fold. ``ensemble_size`` models are trained from seeds
    ``seed``, ``seed+1``, …
    """

    data: str = ""  # pymatgen JSON list (.json / .json.gz) with bulk_modulus_vrh, shear_modulus_vrh (GPa)
    limit: int | None = None  # use only the first `limit` structures
    targets: list[str] | None = None  # subset of log10_K_VRH_GPa, log10_G_VRH_GPa (default both, one model)
    architecture: str = "cgcnn"
    model: dict = field(default_factory=lambda: {"cutoff": 8.0, "num_features": 64, "num_interactions": 3})
    max_neighbors: int = 12
    elements: list[str] | None = None  # default: those in the data
    ensemble_size: int = 1
    epochs: int = 100
    batch_size: int = 64
    learning_rate: float = 3e-3
    min_learning_rate: float = 1e-5
    weight_decay: float = 0.0
    loss: str = "l1"
    val_fraction: float = 0.1
    early_stopping_patience: int = 25
    seed: int = 0
    max_minutes: float | None = None  # per ensemble member
    budget_clock: str = "cpu"  # "cpu" (process time: same work on a busy machine) or "wall"
    threads: int | None = 1  # torch.set_num_threads for the run; None leaves torch's setting
    device: str = "auto"  # "auto" (CUDA when available), "cpu", "cuda" or "cuda:N"
    output: str = "property_model.pt"
    plots: bool = True
    progress: bool = True
    group_by: str | None = None  # k-fold CV: "formula" keeps every reduced formula in one fold; None: random

    @classmethod
    def from_yaml(cls, path: str | os.PathLike, **overrides) -> PropertyTrainConfig:
        return cls.from_dict(read_mapping(path, "a property-training", overrides))

    @classmethod
    def from_dict(cls, raw: dict) -> PropertyTrainConfig:
        config = cls(**typed_fields(cls, raw, "property-training"))
        config.validate()
        return config

    def validate(self) -> None:
        for name in ("epochs", "batch_size", "ensemble_size", "max_neighbors"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.learning_rate <= 0:
            raise ValueError(f"learning_rate must be positive, got {self.learning_rate}")
        if self.loss not in ("l1", "mse"):
            raise ValueError(f"loss must be 'l1' or 'mse', got {self.loss!r}")
        if self.budget_clock not in ("wall", "cpu"):
            raise ValueError(f"budget_clock must be 'wall' or 'cpu', got {self.budget_clock!r}")
        if self.group_by not in (None, "formula"):
            raise ValueError(f"group_by must be 'formula' or None, got {self.group_by!r}")
        if not 0 <= self.val_fraction < 1:
            raise ValueError(f"val_fraction must be in [0, 1), got {self.val_fraction}")
        self.model = typed_builder_options(
            get_architecture(self.architecture), self.model, "model", fixed=("num_species", "elements", "num_outputs")
        )
        if not self.model.get("cutoff", 0.0) > 0:
            raise ConfigError(f"model option 'cutoff' must be a positive radius in Å, got {self.model.get('cutoff')}")
        resolve_device(self.device)  # an unknown name, or CUDA where there is none, fails before any work

    def to_dict(self) -> dict:
        return asdict(self)
