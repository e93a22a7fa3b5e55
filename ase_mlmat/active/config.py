"""Configuration of an active-learning run; YAML keys are the field names."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..devices import resolve_device
from ..yaml_config import check_known_keys, read_mapping


def _small_painn() -> dict:
    # 16 Bessel functions, not 8: 8 waves over the cutoff resolve the steep nearest-neighbour
    # repulsion too coarsely (EMT Cu, 16-feature PaiNN, 32 MD frames, 4000 steps: force MAE
    # 0.0089 vs 0.0096 eV/Å at a 4.5 Å cutoff, 0.0083 vs 0.0140 at 5.5 Å; scripts/refit_convergence.py).
    return {"cutoff": 4.5, "num_features": 32, "num_interactions": 2, "num_basis": 16}


@dataclass
class ActiveConfig:
    """Everything an active-learning run needs. Units: Å, eV, K, fs.

    The loop labels the seed set, trains a committee, runs Langevin MD with it at
    ``temperatures_K[t]`` and, every ``check_interval`` steps, measures the spread of the
    committee. Frames whose force spread (max over atoms of |σ_F,i|, eV/Å) exceeds
    ``threshold`` become candidates; a diverse subset of at most ``labels_per_iteration`` is
    labelled with ``reference`` and the committee retrained. With ``temperature_schedule="ramp"``
    the temperatures are explored in turn, each done when ``calm_steps`` MD steps pass below the
    threshold (a committee stable at 300 K before it meets 1200 K); with ``"all"`` every iteration
    runs one segment per temperature and selects from the pooled candidates (labels spread over
    the whole range at once). Several start structures (a bulk cell, a slab, a cluster ...) each get
    their own trajectory at every temperature, and candidates from all of them compete for the
    labels. ``selection="weighted"`` picks candidates by force spread x descriptor
    distance to those chosen and labelled (batch query-by-committee), so labels go where the
    committee disagrees most, e.g. to the hotter temperatures; ``"d-optimal"`` picks, among the
    frames the committee flagged, those that most enlarge the D-optimal active set of member 0's
    last-layer features (:mod:`ase_mlmat.active.extrapolation`); ``"stratified"`` first shares the
    labels over the MD segments (start x temperature) by each one's mean per-atom spread x atoms, an
    estimate of its share of the error (target share ∝ estimate^0.75, counting every label the segment
    already has), then picks within a segment by spread x distance. With ``continue_md`` each
    temperature's trajectory goes on from its last frame (positions and momenta, kept in the db)
    instead of restarting from the start structure with fresh velocities, so candidates come from
    equilibrated MD rather than from the first few hundred steps after a cold start. Every fresh start
    (the first segment, or one after the MD went wrong) first runs ``equilibration_steps`` that give
    no candidates, since MD from a relaxed structure needs several thermostat times to reach its
    temperature; ``candidate_spacing`` keeps the candidates of a segment that many MD steps apart. The run ends
    when the last (or every) temperature is calm, when
    ``max_labels`` reference calls have been spent, or after ``max_iterations``.
    """

    db: str = "active.db"  # ase.db file or URL holding labels, candidates and loop state
    reference: str = "ase.calculators.emt:EMT"  # "module:Class" or model name/checkpoint
    reference_options: dict = field(default_factory=dict)  # keyword arguments of the reference
    structure: str | list[str] | None = None  # start structure(s), FILE or FILE@INDEX (Python API: pass Atoms)
    seed_data: str | None = None  # extra seed structures; labelled ones are used as they are
    num_seed: int = 8  # rattled copies of the start structure(s), taken in turn, labelled first
    seed_rattle_A: float = 0.1  # standard deviation of the seed displacements, Å
    seed_strain: float = 0.01  # maximum random cell strain of the seed copies (periodic only)
    committee_size: int = 4
    bootstrap: bool = True  # members train on bootstrap resamples; out-of-bag error is reported
    architecture: str = "painn"
    model: dict = field(default_factory=_small_painn)
    train_steps: int = 1000  # optimiser steps of a member trained from scratch (first committee)
    finetune_steps: int = 300  # optimiser steps of a warm-started member
    warm_start: bool = True  # start member m from member m of the previous iteration
    train_options: dict = field(default_factory=dict)  # TrainConfig fields (default: batch 4, lr 5e-3, weights 1)
    temperatures_K: list[float] = field(default_factory=lambda: [300.0, 600.0, 900.0, 1200.0])
    temperature_schedule: str = "ramp"  # "ramp": one temperature at a time; "all": every temperature each iteration
    timestep_fs: float = 2.0
    friction_per_fs: float = 0.01
    calm_steps: int = 1000  # MD steps below threshold that finish a temperature
    check_interval: int = 10  # MD steps between uncertainty checks
    threshold: float = 0.1  # force spread, eV/Å, above which a frame is a candidate
    energy_threshold: float | None = None  # energy spread, eV/atom, also making a candidate
    abort_threshold: float | None = None  # force spread, eV/Å, that stops MD (default 5 x threshold)
    max_candidates: int = 20  # candidates that end an MD segment
    min_distance_ratio: float = 0.7  # MD frames with atoms closer than this x the start's shortest bond are unphysical
    max_temperature_ratio: float = 2.5  # MD frames hotter than this x the thermostat temperature are unphysical
    labels_per_iteration: int = 4
    selection: str = "diverse"  # "diverse": most uncertain, then farthest-point; "weighted": uncertainty x distance;
    # "d-optimal": largest extrapolation grade of member 0, the active set updated after each pick;
    # "stratified": labels shared over MD segments by their mean spread, then "weighted" within one
    continue_md: bool = False  # each temperature's MD goes on from its last frame instead of restarting from the start
    equilibration_steps: int = 200  # MD steps after each fresh (thermalized) start that give no candidates
    candidate_spacing: int = 25  # fewest MD steps between two candidates of one segment (0: any check)
    max_labels: int = 200  # budget of reference calls (seed included, failures included)
    max_iterations: int | None = None
    max_stalled: int = 3  # explorations in a row finding only known structures before giving up
    test_data: str | None = None  # labelled structures to report errors on (not trained on)
    seed: int = 0
    device: str = "cpu"
    dtype: str = "float32"
    committee_dir: str | None = None  # default: "<db stem>_committee" beside a db file
    plot: str | None = None  # progress PNG; default "<db stem>_progress.png" beside a db file

    @classmethod
    def from_yaml(cls, path: str | os.PathLike, **overrides) -> ActiveConfig:
        return cls.from_dict(read_mapping(path, "an active-learning", overrides))

    @classmethod
    def from_dict(cls, raw: dict) -> ActiveConfig:
        check_known_keys(cls, raw, "active-learning")
        config = cls(**raw)
        config.validate()
        return config

    def validate(self) -> None:
        positive = {
            "committee_size": self.committee_size,
            "train_steps": self.train_steps,
            "finetune_steps": self.finetune_steps,
            "timestep_fs": self.timestep_fs,
            "calm_steps": self.calm_steps,
            "check_interval": self.check_interval,
            "threshold": self.threshold,
            "max_candidates": self.max_candidates,
            "labels_per_iteration": self.labels_per_iteration,
            "max_labels": self.max_labels,
            "max_stalled": self.max_stalled,
        }
        for name, value in positive.items():
            if not value > 0:
                raise ValueError(f"{name} must be positive, got {value}")
        if self.committee_size < 2:
            raise ValueError(f"committee_size must be >= 2 to measure a spread, got {self.committee_size}")
        if not 0 <= self.min_distance_ratio < 1 or self.max_temperature_ratio <= 1:
            raise ValueError(
                f"need 0 <= min_distance_ratio < 1 and max_temperature_ratio > 1, got "
                f"{self.min_distance_ratio} and {self.max_temperature_ratio}"
            )
        if self.equilibration_steps < 0 or self.candidate_spacing < 0:
            raise ValueError(
                f"equilibration_steps and candidate_spacing must be >= 0 MD steps, got "
                f"{self.equilibration_steps} and {self.candidate_spacing}"
            )
        if self.num_seed < 0 or self.seed_rattle_A < 0 or self.seed_strain < 0:
            raise ValueError("num_seed, seed_rattle_A and seed_strain must be non-negative")
        if not self.temperatures_K or min(self.temperatures_K) <= 0:
            raise ValueError(f"temperatures_K must be a non-empty list of positive K, got {self.temperatures_K}")
        if self.selection not in ("diverse", "weighted", "d-optimal", "stratified"):
            raise ValueError(
                f"selection must be 'diverse', 'weighted', 'd-optimal' or 'stratified', got {self.selection!r}"
            )
        resolve_device(self.device)  # an unknown name, or CUDA where there is none, fails before any work
        if self.temperature_schedule not in ("ramp", "all"):
            raise ValueError(f"temperature_schedule must be 'ramp' or 'all', got {self.temperature_schedule!r}")
        if self.abort_threshold is not None and self.abort_threshold <= self.threshold:
            raise ValueError(f"abort_threshold ({self.abort_threshold}) must exceed threshold ({self.threshold})")
        if self.energy_threshold is not None and self.energy_threshold <= 0:
            raise ValueError(f"energy_threshold must be positive, got {self.energy_threshold}")
        if self.max_iterations is not None and self.max_iterations < 0:
            raise ValueError(f"max_iterations must be >= 0, got {self.max_iterations}")
        if "cutoff" not in self.model:
            raise ValueError("model needs a 'cutoff' in Å")
        if self.committee_dir is None and "://" in self.db:
            raise ValueError(f"db {self.db!r} is a URL: give committee_dir, a directory for the committee checkpoints")

    @property
    def abort_at(self) -> float:
        """Force spread (eV/Å) that stops an MD segment."""
        return self.abort_threshold if self.abort_threshold is not None else 5.0 * self.threshold

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
        return asdict(self)
