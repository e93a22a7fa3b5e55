"""Configuration of an active-learning run, in sections that mirror the loop.

A YAML config has top-level keys (where the data live, the reference, the device) and four
sections, each a small dataclass whose field names are the YAML keys::

    structure: Cu_vacancy.extxyz
    reference: ase.calculators.emt:EMT
    committee: {size: 3, model: {cutoff: 5.5, num_features: 16, num_interactions: 2, num_basis: 16}}
    exploration: {temperatures_K: [300, 600, 900, 1200], schedule: all, continue_md: true}
    selection: {rule: stratified, threshold: 5e-2, labels_per_iteration: 4}
    stopping: {max_labels: 64}

Values are typed by the fields (``threshold: 5e-2``, read by YAML 1.1 as a string, becomes 0.05).
A flat config of the earlier layout (``committee_size: 3``, ``threshold: 0.05`` at the top level) is
still read: each key moves to its section, with a :class:`DeprecationWarning` naming the new place.
"""

from __future__ import annotations

import importlib.util
import os
import warnings
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np

from ..devices import resolve_device
from ..yaml_config import ConfigError, config_from_mapping, read_mapping, typed_fields


def _small_painn() -> dict:
    # 16 Bessel functions, not 8: 8 waves over the cutoff resolve the steep nearest-neighbour
    # repulsion too coarsely for EMT Cu (a quarter higher force error at equal training).
    return {"cutoff": 4.5, "num_features": 32, "num_interactions": 2, "num_basis": 16}


@dataclass
class CommitteeConfig:
    """The committee whose force spread measures uncertainty (see :mod:`ase_mlmat.active.committee`)."""

    size: int = 4  # members; at least 2 to have a spread
    bootstrap: bool = True  # members train on bootstrap resamples; out-of-bag error is reported
    architecture: str = "painn"
    model: dict = field(default_factory=_small_painn)  # builder options; needs a cutoff, Å
    train_steps: int = 1000  # optimiser steps of a member trained from scratch (first committee)
    finetune_steps: int = 300  # optimiser steps of a warm-started member
    warm_start: bool = True  # start member m from member m of the previous iteration
    train_options: dict = field(default_factory=dict)  # TrainConfig fields (default: batch 4, lr 5e-3, weights 1)

    def validate(self) -> None:
        _positive(self, "committee", "train_steps", "finetune_steps")
        if self.size < 2:
            raise ValueError(f"committee.size must be >= 2 to measure a spread, got {self.size}")
        if "cutoff" not in self.model:
            raise ValueError("committee.model needs a 'cutoff' in Å")


@dataclass
class ExplorationConfig:
    """Langevin MD with the committee, and the rattled seed copies of the start structures.

    With ``schedule="ramp"`` the temperatures are explored in turn, each done when ``calm_steps`` MD
    steps pass below the threshold (a committee stable at 300 K before it meets 1200 K); with ``"all"``
    every iteration runs one segment per start structure and temperature and selects from the pooled
    candidates. With ``continue_md`` each trajectory goes on from its last frame (positions and momenta,
    kept in the db) instead of restarting with fresh velocities. MD from a relaxed structure needs
    several thermostat times to reach its temperature, so every fresh start first runs
    ``equilibration_steps`` that give no candidates; ``candidate_spacing`` keeps the candidates of a
    segment that many MD steps apart, so they are not near-copies. ``engine: torchsim`` runs all segments of an
    iteration as one batched torch-sim MD run on the committee's device (:mod:`ase_mlmat.active.explore_torchsim`);
    ``friction_per_fs: 0`` makes either engine's MD NVE.
    """

    temperatures_K: list[float] = field(default_factory=lambda: [300.0, 600.0, 900.0, 1200.0])
    schedule: str = "ramp"  # "ramp": one temperature at a time; "all": every temperature each iteration
    timestep_fs: float = 2.0
    friction_per_fs: float = 0.01
    check_interval: int = 10  # MD steps between uncertainty checks
    continue_md: bool = False  # each trajectory goes on from its last frame instead of restarting
    equilibration_steps: int = 200  # MD steps after each fresh (thermalized) start that give no candidates
    candidate_spacing: int = 25  # fewest MD steps between two candidates of one segment (0: any check)
    min_distance_ratio: float = 0.7  # atoms closer than this x the start's shortest bond: unphysical frame
    max_temperature_ratio: float = 2.5  # hotter than this x the thermostat temperature: unphysical frame
    num_seed: int = 8  # rattled copies of the start structure(s), taken in turn, labelled first
    seed_rattle_A: float = 0.1  # standard deviation of the seed displacements, Å
    seed_strain: float = 0.01  # maximum random cell strain of the seed copies (periodic only)
    engine: str = "ase"  # "ase": one ASE MD run after another; "torchsim": all segments of an iteration in one batch

    def validate(self) -> None:
        _positive(self, "exploration", "timestep_fs", "check_interval")
        if not self.temperatures_K or min(self.temperatures_K) <= 0:
            raise ValueError(
                f"exploration.temperatures_K must be a non-empty list of positive K, got {self.temperatures_K}"
            )
        if self.schedule not in ("ramp", "all"):
            raise ValueError(f"exploration.schedule must be 'ramp' or 'all', got {self.schedule!r}")
        if not 0 <= self.min_distance_ratio < 1 or self.max_temperature_ratio <= 1:
            raise ValueError(
                f"need 0 <= min_distance_ratio < 1 and max_temperature_ratio > 1, got "
                f"{self.min_distance_ratio} and {self.max_temperature_ratio}"
            )
        if self.equilibration_steps < 0 or self.candidate_spacing < 0:
            raise ValueError(
                f"exploration.equilibration_steps and candidate_spacing must be >= 0 MD steps, got "
                f"{self.equilibration_steps} and {self.candidate_spacing}"
            )
        if self.num_seed < 0 or self.seed_rattle_A < 0 or self.seed_strain < 0:
            raise ValueError("exploration.num_seed, seed_rattle_A and seed_strain must be non-negative")
        if self.engine not in ("ase", "torchsim"):
            raise ValueError(f"exploration.engine must be 'ase' or 'torchsim', got {self.engine!r}")
        if self.engine == "torchsim" and importlib.util.find_spec("torch_sim") is None:
            raise ValueError(
                "exploration.engine: torchsim needs torch-sim, not installed here: pip install 'ase-mlmat[torchsim]'"
            )


@dataclass
class SelectionConfig:
    """Which MD frames become candidates, and which candidates are labelled.

    A frame whose force spread (max over atoms of |σ_F,i|, eV/Å) exceeds ``threshold`` (or whose energy
    spread per atom exceeds ``energy_threshold``) is a candidate; ``rule`` picks at most
    ``labels_per_iteration`` of them (:data:`ase_mlmat.active.selection.SELECTION_RULES`).
    """

    rule: str = "diverse"  # "diverse", "weighted", "d-optimal" or "stratified"
    threshold: float = 0.1  # force spread, eV/Å, above which a frame is a candidate
    energy_threshold: float | None = None  # energy spread, eV/atom, also making a candidate
    labels_per_iteration: int = 4
    max_candidates: int = 20  # candidates that end an MD segment

    def validate(self) -> None:
        from .selection import SELECTION_RULES

        _positive(self, "selection", "threshold", "labels_per_iteration", "max_candidates")
        if self.rule not in SELECTION_RULES:
            raise ValueError(f"selection.rule must be one of {sorted(SELECTION_RULES)}, got {self.rule!r}")
        if self.energy_threshold is not None and self.energy_threshold <= 0:
            raise ValueError(f"selection.energy_threshold must be positive, got {self.energy_threshold}")


@dataclass
class StoppingConfig:
    """When an MD segment, a temperature and the run end."""

    calm_steps: int = 1000  # MD steps below threshold that finish a temperature (also a segment's length)
    max_labels: int = 200  # budget of reference calls (seed included, failures included)
    max_iterations: int | None = None
    max_stalled: int = 3  # explorations in a row finding only known structures before giving up
    abort_threshold: float | None = None  # force spread, eV/Å, that stops MD (default 5 x selection.threshold)

    def validate(self) -> None:
        _positive(self, "stopping", "calm_steps", "max_labels", "max_stalled")
        if self.max_iterations is not None and self.max_iterations < 0:
            raise ValueError(f"stopping.max_iterations must be >= 0, got {self.max_iterations}")


SECTIONS = {
    "committee": CommitteeConfig,
    "exploration": ExplorationConfig,
    "selection": SelectionConfig,
    "stopping": StoppingConfig,
}

# Keys of the earlier flat layout: old name -> (section, name there). Three were renamed; a string
# "selection: weighted" at the top level is the old rule, a mapping there is the section.
_RENAMED = {
    ("committee", "size"): "committee_size",
    ("exploration", "schedule"): "temperature_schedule",
    ("selection", "rule"): "selection",
}
FLAT_KEYS = {
    _RENAMED.get((section, f.name), f.name): (section, f.name) for section, cls in SECTIONS.items() for f in fields(cls)
}

# Keys that may change when a run resumes: they steer what comes next and leave what is stored valid.
# The rest fix the stored labels, committee checkpoints or MD tracks (start structures, reference,
# model, temperatures, random seed, ...).
RESUMABLE = frozenset(
    {
        *(f"stopping.{f.name}" for f in fields(StoppingConfig)),
        *(f"selection.{f.name}" for f in fields(SelectionConfig)),
        *(
            f"exploration.{name}"
            for name in (
                "schedule",
                "timestep_fs",
                "friction_per_fs",
                "check_interval",
                "continue_md",
                "equilibration_steps",
                "candidate_spacing",
                "min_distance_ratio",
                "max_temperature_ratio",
                "engine",
            )
        ),
        "committee.finetune_steps",
        "committee.warm_start",
        "committee.train_options",
        "test_data",
        "device",
        "dtype",
        "plot",
    }
)


@dataclass
class ActiveConfig:
    """Everything an active-learning run needs. Units: Å, eV, K, fs.

    The loop labels the seed set, trains a committee, runs Langevin MD with it and, every
    ``exploration.check_interval`` steps, measures the committee's spread. Frames above
    ``selection.threshold`` become candidates; ``selection.rule`` picks at most
    ``selection.labels_per_iteration`` of them to label with ``reference``, and the committee is
    retrained. Several start structures (a bulk cell, a slab, a cluster ...) each get their own
    trajectory at every temperature, and candidates from all of them compete for the labels. The run
    ends when the last (or every) temperature is calm, when ``stopping.max_labels`` reference calls have
    been spent, or after ``stopping.max_iterations``.
    """

    db: str = "active.db"  # ase.db file or URL holding labels, candidates and loop state
    reference: str = "ase.calculators.emt:EMT"  # "module:Class" or model name/checkpoint
    reference_options: dict = field(default_factory=dict)  # keyword arguments of the reference
    reference_dirs: list[str] = field(default_factory=list)  # searched first for the reference's module
    structure: str | list[str] | None = None  # start structure(s), FILE or FILE@INDEX (Python API: pass Atoms)
    seed_data: str | None = None  # extra seed structures; labelled ones are used as they are
    test_data: str | None = None  # labelled structures to report errors on (not trained on)
    seed: int = 0
    device: str = "cpu"
    dtype: str = "float32"
    committee_dir: str | None = None  # default: "<db stem>_committee" beside a db file
    plot: str | None = None  # progress PNG; default "<db stem>_progress.png" beside a db file
    committee: CommitteeConfig = field(default_factory=CommitteeConfig)
    exploration: ExplorationConfig = field(default_factory=ExplorationConfig)
    selection: SelectionConfig = field(default_factory=SelectionConfig)
    stopping: StoppingConfig = field(default_factory=StoppingConfig)

    @classmethod
    def from_yaml(cls, path: str | os.PathLike, overrides: dict | None = None) -> ActiveConfig:
        """The config in YAML file ``path``; the file's directory is searched first for the reference's module.

        Args:
            overrides: non-None values replacing the file's; keys are top-level names or "section.key".
        """
        raw = read_mapping(path, "an active-learning")
        raw = _nested(raw)
        for key, value in (overrides or {}).items():
            if value is not None:
                section, _, name = key.rpartition(".")
                (raw.setdefault(section, {}) if section else raw)[name] = value
        raw.setdefault("reference_dirs", [])
        raw["reference_dirs"] = [*raw["reference_dirs"], str(Path(path).resolve().parent)]
        return cls.from_dict(raw)

    @classmethod
    def from_dict(cls, raw: dict) -> ActiveConfig:
        """A validated config from a mapping (nested, or the earlier flat layout with a DeprecationWarning)."""
        config = cls(**typed_fields(cls, _built_sections(_nested(raw)), "active-learning"))
        config.validate()
        return config

    def validate(self) -> None:
        for name in SECTIONS:
            getattr(self, name).validate()
        resolve_device(self.device)  # an unknown name, or CUDA where there is none, fails before any work
        if self.stopping.abort_threshold is not None and self.stopping.abort_threshold <= self.selection.threshold:
            raise ValueError(
                f"stopping.abort_threshold ({self.stopping.abort_threshold}) must exceed selection.threshold "
                f"({self.selection.threshold})"
            )
        if self.committee_dir is None and "://" in self.db:
            raise ValueError(f"db {self.db!r} is a URL: give committee_dir, a directory for the committee checkpoints")

    @property
    def abort_at(self) -> float:
        """Force spread (eV/Å) that stops an MD segment."""
        abort = self.stopping.abort_threshold
        return abort if abort is not None else 5.0 * self.selection.threshold

    def _beside_db(self, suffix: str) -> Path:
        path = Path(self.db)
        return path.with_name(path.stem + suffix)

    @property
    def committee_path(self) -> Path:
        return Path(self.committee_dir) if self.committee_dir else self._beside_db("_committee")

    @property
    def plot_path(self) -> Path:
        if self.plot:
            return Path(self.plot)
        if "://" in self.db:
            return self.committee_path / "progress.png"
        return self._beside_db("_progress.png")

    def to_dict(self) -> dict:
        """The nested mapping ``from_dict`` reads back."""
        return asdict(self)


def _positive(section, name: str, *keys: str) -> None:
    for key in keys:
        value = getattr(section, key)
        if not value > 0:
            raise ValueError(f"{name}.{key} must be positive, got {value}")


def _nested(raw: dict, *, warn: bool = True) -> dict:
    """``raw`` with keys of the earlier flat layout moved into their sections (a DeprecationWarning names them)."""
    raw = dict(raw)
    old = [key for key in raw if key in FLAT_KEYS and (key != "selection" or isinstance(raw[key], str))]
    moved, flat = [], {key: raw.pop(key) for key in old}
    for key, value in flat.items():
        section, name = FLAT_KEYS[key]
        target = raw.get(section, {})
        if not isinstance(target, dict):  # a section object (Python API): the flat key cannot go in it
            raise ConfigError(f"active-learning option {key!r} belongs in {section}.{name}")
        if name in target:
            raise ConfigError(f"active-learning option {key!r} is given twice: at the top level and in {section}")
        raw[section] = {**target, name: value}
        moved.append(f"{key} → {section}.{name}")
    if moved and warn:
        warnings.warn(
            "flat active-learning keys are deprecated; nest them in their sections: " + ", ".join(moved),
            DeprecationWarning,
            stacklevel=3,
        )
    return raw


def _built_sections(raw: dict) -> dict:
    """``raw`` with each section mapping turned into its dataclass (values typed by its fields)."""
    raw = dict(raw)
    for name, cls in SECTIONS.items():
        value = raw.get(name)
        if isinstance(value, dict):
            raw[name] = config_from_mapping(cls, value, f"active-learning {name}")
        elif value is not None and not isinstance(value, cls):
            raise ConfigError(f"active-learning section {name!r} = {value!r}: expected a mapping of its options")
    return raw


def _plain(value):
    """JSON-like plain Python: numpy arrays and scalars (as ase.db returns them) become lists and numbers."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def flat_settings(config: dict) -> dict[str, object]:
    """A stored config mapping (either layout) as {"section.key" or "key": value}, unknown keys dropped."""
    raw = _nested(_plain(config), warn=False)
    out: dict[str, object] = {}
    top = {f.name for f in fields(ActiveConfig)} - set(SECTIONS)
    for key, value in raw.items():
        if key in SECTIONS and isinstance(value, dict):
            known = {f.name for f in fields(SECTIONS[key])}
            out.update({f"{key}.{k}": v for k, v in value.items() if k in known})
        elif key in top:
            out[key] = value
    return out


def config_changes(stored: dict, current: ActiveConfig) -> dict[str, tuple[object, object]]:
    """{key: (stored value, current value)} for every setting that differs.

    ``db`` (where the run was found) and ``reference_dirs`` (where the config file lies) are not compared.

    Settings a stored config lacks (written by an earlier version) are taken at their defaults.
    """
    defaults = flat_settings(ActiveConfig().to_dict())
    old = {**defaults, **flat_settings(stored)}
    new = flat_settings(current.to_dict())
    return {
        key: (old.get(key), new[key])
        for key in new
        if key not in ("db", "reference_dirs") and not _same(old.get(key), new[key])
    }


def _same(a, b) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        return float(a) == float(b)
    return a == b
