"""Training configuration of potentials and property models; YAML keys are the field names.

One configuration trains either kind of model. ``targets`` chooses: without it the model is a potential
(energy, forces, stress from labelled structures); with it, a property model predicting those
per-structure targets (e.g. ``[log10_K_VRH_GPa, log10_G_VRH_GPa]`` from a pymatgen JSON list). Fields left
unset take the defaults of that kind (:data:`KIND_DEFAULTS`).

The ``losses`` section maps each output to its term, e.g. for a potential::

    losses:
      energy_per_atom: {weight: 100}      # MSE of E/N, weight in (eV/atom)^-2
      forces: {weight: 1, loss: huber, huber_delta: 0.01}
      stress: 300                         # a number alone is the weight

Outputs left out keep their defaults (a potential: MSE with weights 100, 1, 100; a property model: L1 of
each standardised target, weight 1). ``energy_weight``, ``forces_weight``, ``stress_weight`` and ``loss``
(the loss function of every term) are shorthands for the same settings, kept for the command line; a
shorthand and a ``losses`` entry that set the same value are refused.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field

from .. import keys
from ..devices import resolve_device
from ..models.registry import get_architecture
from ..yaml_config import ConfigError, coerce, read_mapping, typed_builder_options, typed_fields
from .losses import (
    ENERGY_PER_ATOM,
    LOSS_FUNCTIONS,
    LossTerm,
    PotentialTask,
    PropertyTask,
    Task,
)
from .targets import HAS_FORCES, HAS_STRESS, TARGET_ENERGY_PER_ATOM, TARGET_FORCES, TARGET_STRESS

DEFAULT_LEARNING_RATE = 3e-3  # from scratch
DEFAULT_MODEL = {"cutoff": 5.0, "num_features": 64, "num_interactions": 3}  # a fresh potential's unset options
# What a field left unset means for each kind: potentials learn from hundreds of labelled frames (small batches,
# many epochs, a plateau schedule); property models from thousands of structures with one label each.
KIND_DEFAULTS = {
    "potential": {
        "architecture": "painn",
        "epochs": 300,
        "batch_size": 8,
        "scheduler": "plateau",
        "early_stopping_patience": 60,
    },
    "property": {
        "architecture": "cgcnn",
        "model": {"cutoff": 8.0, "num_features": 64, "num_interactions": 3},
        "epochs": 100,
        "batch_size": 64,
        "scheduler": "cosine",
        "early_stopping_patience": 25,
    },
}
# a potential's outputs: (target key, mask key, default weight); weights in the inverse square of the unit
POTENTIAL_OUTPUTS = {
    ENERGY_PER_ATOM: (TARGET_ENERGY_PER_ATOM, None, 100.0),  # eV/atom
    keys.FORCES: (TARGET_FORCES, HAS_FORCES, 1.0),  # eV/Å
    keys.STRESS: (TARGET_STRESS, HAS_STRESS, 100.0),  # eV/Å³
}
SHORTHANDS = {"energy_weight": ENERGY_PER_ATOM, "forces_weight": keys.FORCES, "stress_weight": keys.STRESS}
TERM_OPTIONS = {"loss": str, "weight": float, "huber_delta": float}


@dataclass
class TrainConfig:
    """Everything a training run needs, for a potential or a property model. Units: Å, eV, GPa.

    A potential's loss is ``Σ weight · MSE`` of E/N (eV/atom), F (eV/Å) and σ (eV/Å³), weights in the
    inverse squares of those units, so the loss is a pure number; a property model's is the mean absolute
    error of each target in units of its standard deviation on the training set. See the module docstring
    for the ``losses`` section.
    """

    data: list[str] = field(default_factory=list)
    # per-structure targets of a property model (e.g. log10_K_VRH_GPa); unset: the model is a potential
    targets: list[str] | None = None
    limit: int | None = None  # use only the first `limit` structures
    architecture: str | None = None  # default: painn for a potential, cgcnn for a property model
    # architecture options; those not given: the kind's defaults for a fresh model, the checkpoint's with init_from
    model: dict = field(default_factory=dict)
    max_neighbors: int = 12  # a property model's crystal graph: neighbours kept per atom
    elements: list[str] | None = None  # default: those in the data
    ensemble_size: int = 1  # property models from seeds seed, seed+1, …; their mean predicts, their spread errs
    epochs: int | None = None  # default: 300 for a potential, 100 for a property model
    batch_size: int | None = None  # default: 8 for a potential, 64 for a property model
    learning_rate: float | None = None  # default: 3e-3 from scratch, finetune_learning_rate with init_from
    min_learning_rate: float = 1e-5
    scheduler: str | None = None  # "plateau" or "cosine"; default: plateau for a potential, cosine for a property model
    scheduler_patience: int = 15
    scheduler_factor: float = 0.5
    weight_decay: float = 0.0
    # output → {loss, weight, huber_delta} or a weight alone; outputs left out keep their defaults
    losses: dict = field(default_factory=dict)
    # shorthand: the loss function ("mse", "l1", "huber", "bce") of every term not set in losses
    loss: str | None = None
    energy_weight: float | None = None  # shorthand: losses.energy_per_atom.weight, (eV/atom)^-2 (default 100)
    forces_weight: float | None = None  # shorthand: losses.forces.weight, (eV/Å)^-2 (default 1)
    stress_weight: float | None = None  # shorthand: losses.stress.weight, (eV/Å³)^-2 (default 100)
    val_fraction: float = 0.1
    early_stopping_patience: int | None = None  # default: 60 epochs for a potential, 25 for a property model
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
    max_minutes: float | None = None  # time budget of each model trained, stops it cleanly
    budget_clock: str = "wall"  # "wall" or "cpu" (process CPU time: same work however busy the machine)
    # training state beside the output (<output stem>.state.pt) every this many epochs, for --resume; 0: never
    checkpoint_every: int = 10
    threads: int | None = None  # torch.set_num_threads for the run; unset leaves torch's setting
    group_by: str | None = None  # k-fold CV of a property model: "formula" keeps every reduced formula in one fold
    # energy finish (MACE's stage two): the last finish_fraction of the run (by epochs or budget) uses the finish
    # energy weight and restarts the cosine from the finish learning rate; the best epoch is chosen within it
    finish_fraction: float = 0.0  # 0: no finish
    finish_energy_weight: float | None = None  # (eV/atom)^-2; default: 10 × the energy term's weight
    finish_learning_rate: float | None = None  # default: learning_rate / 10

    def __post_init__(self) -> None:
        # resolved here so that the run records the values it used
        for name, value in KIND_DEFAULTS[self.kind].items():
            if name == "model":
                self.model = {**value, **self.model}
            elif getattr(self, name) is None:
                setattr(self, name, value)
        if self.learning_rate is None:
            self.learning_rate = self.finetune_learning_rate if self.init_from else DEFAULT_LEARNING_RATE
        self.losses = self._resolved_losses()
        self.loss = self.energy_weight = self.forces_weight = self.stress_weight = None

    @property
    def kind(self) -> str:
        """ "potential" or "property", by whether ``targets`` are given."""
        return "potential" if self.targets is None else "property"

    def _default_terms(self) -> dict[str, dict]:
        if self.kind == "potential":
            return {
                name: {"loss": "mse", "weight": w, "huber_delta": 0.01} for name, (_, _, w) in POTENTIAL_OUTPUTS.items()
            }
        return {name: {"loss": "l1", "weight": 1.0, "huber_delta": 0.01} for name in self.targets}

    def _resolved_losses(self) -> dict[str, dict]:
        """``losses`` completed with the defaults and the shorthands; ConfigError for what does not fit."""
        if not isinstance(self.losses, dict):
            raise ConfigError(f"losses must be a mapping of outputs to terms, got {self.losses!r}")
        terms = self._default_terms()
        unknown = sorted(set(self.losses) - set(terms))
        if unknown:
            raise ConfigError(f"losses name unknown output(s) {unknown}; this {self.kind} has {sorted(terms)}")
        given = {}
        for name, spec in self.losses.items():
            spec = {"weight": spec} if not isinstance(spec, dict) else spec
            bad = sorted(set(spec) - set(TERM_OPTIONS))
            if bad:
                raise ConfigError(f"losses.{name}: unknown option(s) {bad}; known: {sorted(TERM_OPTIONS)}")
            given[name] = {k: coerce(v, TERM_OPTIONS[k], f"losses.{name}.{k}") for k, v in spec.items()}
        for shorthand, name in SHORTHANDS.items():
            value = getattr(self, shorthand)
            if value is None:
                continue
            if self.kind != "potential":
                raise ConfigError(f"{shorthand} weighs a potential's term; a property model sets losses per target")
            if "weight" in given.get(name, {}):
                raise ConfigError(f"{shorthand} and losses.{name}.weight both set the same weight; give one")
            given.setdefault(name, {})["weight"] = coerce(value, float, shorthand)
        for name, spec in terms.items():
            if self.loss is not None and "loss" not in given.get(name, {}):
                spec["loss"] = self.loss
            spec.update(given.get(name, {}))
        return terms

    def loss_terms(self) -> list[LossTerm]:
        """The terms of :attr:`losses` with their target and mask keys; ValueError for a bad function or weight."""
        terms = []
        for name, spec in self.losses.items():
            target, mask = (POTENTIAL_OUTPUTS[name][:2]) if self.kind == "potential" else (name, None)
            terms.append(LossTerm(name, target, spec["loss"], spec["weight"], mask, spec["huber_delta"]))
        return terms

    def task(self) -> Task:
        """The task this configuration trains: its loss terms on a potential or on a property model."""
        if self.kind == "potential":
            return PotentialTask(self.loss_terms())
        return PropertyTask(self.loss_terms(), self.targets)

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
        for name in ("epochs", "batch_size", "ensemble_size", "max_neighbors"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"limit must be >= 1 structures, got {self.limit}")
        if self.learning_rate <= 0 or self.finetune_learning_rate <= 0:
            raise ValueError(
                f"learning rates must be positive, got learning_rate={self.learning_rate}, "
                f"finetune_learning_rate={self.finetune_learning_rate}"
            )
        for term in self.losses.values():
            if term["loss"] not in LOSS_FUNCTIONS:
                raise ValueError(f"loss must be one of {LOSS_FUNCTIONS}, got {term['loss']!r}")
        self.loss_terms()  # weights and Huber widths
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
        if not 0 <= self.val_fraction < 1:
            raise ValueError(f"val_fraction must be in [0, 1), got {self.val_fraction}")
        if self.scheduler not in ("plateau", "cosine"):
            raise ValueError(f"scheduler must be 'plateau' or 'cosine', got {self.scheduler!r}")
        if self.group_by not in (None, "formula"):
            raise ValueError(f"group_by must be 'formula' or None, got {self.group_by!r}")
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"threads must be >= 1 (or unset), got {self.threads}")
        self._validate_kind()
        fixed = ("num_species",) if self.kind == "potential" else ("num_species", "elements", "num_outputs")
        self.model = typed_builder_options(get_architecture(self.architecture), self.model, "model", fixed=fixed)
        if "cutoff" in self.model and not self.model["cutoff"] > 0:
            raise ConfigError(f"model option 'cutoff' must be a positive radius in Å, got {self.model.get('cutoff')}")
        resolve_device(self.device)  # an unknown name, or CUDA where there is none, fails before any work

    def _validate_kind(self) -> None:
        """The options that only one kind of model takes."""
        if self.kind == "potential":
            if self.ensemble_size != 1:
                raise ConfigError("ensemble_size trains property models; committees of potentials: mlmat learn")
            if self.group_by is not None:
                raise ConfigError("group_by groups a property model's k-fold CV; a potential's folds are random")
            return
        if not self.targets or len(set(self.targets)) != len(self.targets):
            raise ConfigError(f"targets must be distinct per-structure target names, got {self.targets}")
        if self.init_from:
            raise ConfigError("init_from fine-tunes a potential; a property model trains from scratch")
        if len(self.data) > 1:
            raise ConfigError(f"a property model reads one pymatgen JSON file, got {len(self.data)}: {self.data}")
        if "cutoff" not in self.model:
            raise ConfigError("a property model's model options need a 'cutoff' radius in Å")

    @property
    def label_keys(self) -> dict[str, str]:
        """The label-key arguments of :func:`ase_mlmat.data.load_labelled`."""
        return {"energy_key": self.energy_key, "forces_key": self.forces_key, "stress_key": self.stress_key}

    def to_dict(self) -> dict:
        return asdict(self)
