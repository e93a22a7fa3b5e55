"""Distillation: a universal "teacher" potential → a fast, specific ase-mlmat potential, by active learning.

From a few structures, :func:`exploration_set` builds what the potential must know: strained cells (each of the six
Voigt strains at ±``strain``, as an elastic-constant fit needs), a supercell, a vacancy in it and a slab of it (the
supercell with vacuum along its third cell vector). The strained cells are labelled first (the loop's seed data);
the loop (:class:`ase_mlmat.active.ActiveLearner`) rattles the supercell, vacancy and slab for more seed labels and
runs committee MD from each of them, asking the teacher where the committee disagrees, until ``budget`` teacher
calls are spent or MD stays calm. One PaiNN model is then refitted on all labels (:func:`ase_mlmat.train.fit`), and
checked on independent frames: Langevin MD with the distilled potential from the same starts, labelled by the
teacher afterwards (cheaper than teacher MD, and frames the potential itself visits).

Everything lives in one directory, so a rerun continues: the loop resumes from its ase.db, the refit is skipped
when the labels and settings are those of ``potential.pt``, and the independent frames are reused with it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from ase import Atoms, units
from ase.calculators.singlepoint import SinglePointCalculator
from ase.constraints import FixCom
from ase.io import read, write
from ase.md.langevin import Langevin
from ase.md.velocitydistribution import Stationary, thermalize_momenta
from ase.neighborlist import neighbor_list

from ..yaml_config import ConfigError, typed_fields

POTENTIAL = "potential.pt"
CARD = "card.json"
PARITY = "parity.png"
FRAMES = "independent.extxyz"  # the teacher-labelled frames of MD with the distilled potential
DB = "active.db"

# the refit's recipe, that of the shipped mlearn potentials (configs/mlearn-Cu.yaml) with a wider cutoff for any
# chemistry; keys are TrainConfig fields
REFIT = {
    "architecture": "painn",
    "model": {"cutoff": 5.0, "num_features": 48, "num_interactions": 3, "num_basis": 16},
    "batch_size": 4,
    "learning_rate": 2e-3,
    "scheduler": "cosine",
    "epochs": 200,
    "max_minutes": 10.0,
    "early_stopping_patience": 100000,
    "energy_weight": 100.0,
    "forces_weight": 1.0,
    "stress_weight": 10.0,
    "ema_decay": 0.99,
    "val_fraction": 0.1,
}


@dataclass
class DistillConfig:
    """A distillation run. Units: Å, K, fs.

    ``active`` holds :class:`~ase_mlmat.active.ActiveConfig` keys and sections that replace the loop's defaults
    (e.g. ``{"committee": {"size": 2}}``); ``refit`` holds :class:`~ase_mlmat.train.config.TrainConfig` fields
    over :data:`REFIT`.
    """

    teacher: str  # reference spec: "chgnet", "sevenn", "module:Class" or a checkpoint
    out: str  # directory of the run
    budget: int = 100  # teacher calls of the active learning (the independent frames come on top)
    temperatures_K: list[float] = field(default_factory=lambda: [300.0, 900.0])
    strain: float = 0.01  # magnitude of the normal and (engineering) shear strains of the strained cells
    # volume fractions (< 1) of isotropically compressed copies, labelled first: close contacts, the repulsive wall
    compressions: list[float] = field(default_factory=list)
    min_atoms: int = 32  # the supercell is repeated to at least this many atoms
    vacuum_A: float = 10.0  # vacuum gap of the slab, Å (wider than the cutoff: its two faces do not meet)
    test_frames: int = 12  # independent frames labelled by the teacher
    test_spacing: int = 20  # MD steps between two independent frames of one trajectory
    test_equilibration: int = 100  # MD steps before the first independent frame of a trajectory
    seed: int = 0
    device: str = "cpu"
    active: dict = field(default_factory=dict)
    refit: dict = field(default_factory=dict)

    def validate(self) -> None:
        if self.budget < 1 or self.test_frames < 1 or self.min_atoms < 1:
            raise ValueError(
                f"budget, test_frames and min_atoms must be >= 1, got {self.budget}, {self.test_frames}, "
                f"{self.min_atoms}"
            )
        if not self.temperatures_K or min(self.temperatures_K) <= 0:
            raise ValueError(f"temperatures_K must be positive K, got {self.temperatures_K}")
        if not 0 < self.strain < 0.1:
            raise ValueError(f"strain must be in (0, 0.1), got {self.strain}")
        if any(not 0.3 <= v < 1 for v in self.compressions):
            raise ValueError(f"compressions are volume fractions in [0.3, 1), got {self.compressions}")
        if self.test_spacing < 1 or self.test_equilibration < 0:
            raise ValueError("test_spacing must be >= 1 and test_equilibration >= 0 MD steps")
        unknown = {"db", "reference", "structure", "seed_data"} & set(self.active)
        if unknown:
            raise ConfigError(f"active: {sorted(unknown)} are set by the distillation itself")


@dataclass(frozen=True)
class ExplorationSet:
    """What the loop starts from: MD start structures and the seed structures labelled first."""

    starts: list[Atoms]
    seeds: list[Atoms]


def strained_cells(atoms: Atoms, strain: float) -> list[Atoms]:
    """``atoms`` under each Voigt strain (xx, yy, zz, yz, xz, xy) at +``strain`` and −``strain``.

    Shears are engineering strains: ε_yz = ε_zy = strain / 2, as in the Voigt notation of the elastic constants.
    """
    cells = []
    for component in range(6):
        for sign in (1.0, -1.0):
            eps = np.zeros((3, 3))
            if component < 3:
                eps[component, component] = sign * strain
            else:
                i, j = [(1, 2), (0, 2), (0, 1)][component - 3]
                eps[i, j] = eps[j, i] = sign * strain / 2
            copy = atoms.copy()
            copy.set_cell(atoms.cell.array @ (np.eye(3) + eps), scale_atoms=True)
            cells.append(copy)
    return cells


def supercell(atoms: Atoms, min_atoms: int) -> Atoms:
    """``atoms`` repeated along its shortest cell vector, again and again, until it holds ``min_atoms``."""
    repeat = np.ones(3, dtype=int)
    lengths = atoms.cell.lengths()
    while len(atoms) * repeat.prod() < min_atoms:
        repeat[np.argmin(lengths * repeat)] += 1
    return atoms * tuple(repeat)


def compressed_cells(atoms: Atoms, volume_fractions: Sequence[float]) -> list[Atoms]:
    """``atoms`` scaled isotropically (cell and positions) to each fraction of its volume."""
    cells = []
    for fraction in volume_fractions:
        copy = atoms.copy()
        copy.set_cell(atoms.cell.array * fraction ** (1 / 3), scale_atoms=True)
        cells.append(copy)
    return cells


def exploration_set(
    structures: Sequence[Atoms],
    *,
    strain: float = 0.01,
    min_atoms: int = 32,
    vacuum_A: float = 10.0,
    compressions: Sequence[float] = (),
) -> ExplorationSet:
    """Strained and compressed cells (seeds), and supercell, vacancy and slab (MD starts) of each periodic structure.

    A vacancy needs at least 4 atoms in the supercell, a slab at least 2; a structure not periodic in all three
    directions (a molecule, a cluster, a given slab) is an MD start as it is. Compressed cells (volume fractions
    ``compressions``) put close contacts into the labels, without which a potential may have no repulsive wall
    and collapse where MD or a relaxation goes beyond its data.
    """
    starts, seeds = [], []
    for given in structures:
        atoms = Atoms(numbers=given.numbers, positions=given.positions, cell=given.cell, pbc=given.pbc)
        if not atoms.pbc.all():
            starts.append(atoms)
            continue
        seeds += strained_cells(atoms, strain) + compressed_cells(atoms, compressions)
        bulk = supercell(atoms, min_atoms)
        starts.append(bulk)
        if len(bulk) >= 4:
            vacancy = bulk.copy()
            del vacancy[0]
            starts.append(vacancy)
        if len(bulk) >= 2:
            slab = bulk.copy()
            slab.center(vacuum=vacuum_A / 2, axis=2)
            starts.append(slab)
    return ExplorationSet(starts, seeds)


def active_config(config: DistillConfig):
    """The loop's :class:`~ase_mlmat.active.ActiveConfig`: teacher, budget, temperatures, then ``config.active``."""
    from ..active.config import SECTIONS, ActiveConfig

    raw = {
        "db": str(Path(config.out) / DB),
        "reference": config.teacher,
        "seed": config.seed,
        "device": config.device,
        "exploration": {"temperatures_K": list(config.temperatures_K)},
        "stopping": {"max_labels": config.budget},
    }
    for key, value in config.active.items():
        raw[key] = {**raw.get(key, {}), **value} if key in SECTIONS and isinstance(value, dict) else value
    return ActiveConfig.from_dict(raw)


def train_config(config: DistillConfig):
    """The refit's :class:`~ase_mlmat.train.config.TrainConfig`: :data:`REFIT` with ``config.refit`` over it."""
    from ..train.config import TrainConfig

    options = {**REFIT, **config.refit}
    options["model"] = {**REFIT["model"], **config.refit.get("model", {})}
    options.update(output=str(Path(config.out) / POTENTIAL), device=config.device, seed=config.seed)
    options.update(plots=False, progress=False)
    return TrainConfig.from_dict(options)


def _digest(uids: Sequence[str], settings: dict) -> str:
    """What a refit depends on: the labelled structures and the training settings."""
    text = json.dumps({"uids": list(uids), "settings": settings}, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def _shortest_bond(atoms: Atoms) -> float:
    distances = neighbor_list("d", atoms, 6.0)
    return float(distances.min()) if len(distances) else 0.0


def independent_frames(
    starts: Sequence[Atoms], calculator, config: DistillConfig, timestep_fs: float, friction_per_fs: float
) -> list[Atoms]:
    """``config.test_frames`` frames of Langevin MD with ``calculator``, taken in turn from each (start, T) track.

    A track whose atoms come closer than half the start's shortest bond has left physics and gives no more frames.
    """
    tracks = [(s, t) for t in config.temperatures_K for s in range(len(starts))]
    per_track = -(-config.test_frames // len(tracks))
    frames: list[Atoms] = []
    for k, (s, temperature) in enumerate(tracks):
        rng = np.random.default_rng([config.seed, 11, k])
        atoms = starts[s].copy()
        atoms.calc = calculator
        floor = 0.5 * _shortest_bond(starts[s])
        thermalize_momenta(atoms, temperature, rng=rng)
        Stationary(atoms)
        atoms.set_constraint(FixCom())  # the thermostat's random forces would move the centre of mass
        dt, friction = timestep_fs * units.fs, friction_per_fs / units.fs
        dyn = Langevin(atoms, dt, temperature_K=temperature, friction=friction, fixcm=False, rng=rng)
        dyn.run(config.test_equilibration)
        for _ in range(min(per_track, config.test_frames - len(frames))):
            dyn.run(config.test_spacing)
            if len(atoms) > 1 and _shortest_bond(atoms) < floor:
                break
            frames.append(Atoms(numbers=atoms.numbers, positions=atoms.positions, cell=atoms.cell, pbc=atoms.pbc))
    return frames


def _refit(store, config: DistillConfig, *, log: Callable[[str], None]) -> tuple[str, dict]:
    """Train ``potential.pt`` on every label of ``store``, unless it already holds this refit; (digest, record)."""
    from ..data import train_val_split
    from ..model_store import load_model, save_model
    from ..train.api import fit

    train = train_config(config)
    # where it runs and what it prints leave the refit the same
    settings = {k: v for k, v in train.to_dict().items() if k not in ("output", "progress", "plots", "device")}
    structures, labels, uids = store.labelled()
    digest = _digest(uids, settings)
    path = Path(config.out) / POTENTIAL
    previous = load_model(path).metadata.get("distill", {}) if path.exists() else {}
    if previous.get("digest") == digest:
        log(f"[distill] {path} is the refit of these {len(uids)} labels; kept")
        return digest, previous["refit"]
    train_idx, val_idx = train_val_split(len(structures), train.val_fraction, train.seed)
    log(f"[distill] refit on {len(train_idx)} structures ({len(val_idx)} for validation)")
    result = fit(
        train,
        [structures[i] for i in train_idx],
        [labels[i] for i in train_idx],
        [structures[i] for i in val_idx],
        [labels[i] for i in val_idx],
    )
    refit = {
        "settings": {k: settings[k] for k in (*REFIT, "losses") if settings.get(k) is not None},
        "num_train": len(train_idx),
        "num_val": len(val_idx),
        "epochs_run": len(result.history.epoch),
        "best_epoch": result.history.best_epoch,
        "seconds": result.history.seconds,
        "train_metrics": result.train_metrics,
        "val_metrics": result.val_metrics,
    }
    save_model(result.model, path, {"distill": {"digest": digest, "teacher": config.teacher, "refit": refit}})
    return digest, refit


def _independent(store, active, config: DistillConfig, digest: str, *, log: Callable[[str], None]) -> tuple[Path, int]:
    """The teacher-labelled frames of MD with the refit ``digest``, drawn anew unless on file; (path, teacher calls)."""
    from ..active.labelling import label_structures, resolve_reference
    from ..calculator import MLCalculator

    path = Path(config.out) / FRAMES
    frames = read(path, ":") if path.exists() else []
    if frames and all(f.info.get("distill_digest") == digest for f in frames):
        return path, 0
    md = active.exploration
    calculator = MLCalculator(str(Path(config.out) / POTENTIAL), device=config.device)
    unlabelled = independent_frames(store.start_structures(), calculator, config, md.timestep_fs, md.friction_per_fs)
    teacher = resolve_reference(active.reference, active.reference_options, active.reference_dirs)
    frames = []
    for atoms, label in zip(unlabelled, label_structures(unlabelled, teacher), strict=True):
        if label.ok:
            atoms.calc = SinglePointCalculator(atoms, energy=label.energy, forces=label.forces, stress=label.stress)
            atoms.info["distill_digest"] = digest
            frames.append(atoms)
    if not frames:
        raise RuntimeError(f"the teacher labelled none of the {len(unlabelled)} independent frames")
    write(path, frames)
    log(f"[distill] {len(frames)} independent frames labelled by the teacher ({len(unlabelled)} calls)")
    return path, len(unlabelled)


@dataclass(frozen=True)
class DistillResult:
    """Where the run's files are, and its model card (:func:`distill` documents the fields)."""

    potential: Path
    card_path: Path
    parity: Path
    card: dict


def distill(
    structures: Sequence[Atoms], config: DistillConfig, *, log: Callable[[str], None] | None = print
) -> DistillResult:
    """Run (or continue) a distillation into ``config.out``; see the module docstring for the steps.

    Writes ``potential.pt`` (an :class:`~ase_mlmat.MLCalculator` checkpoint), ``card.json``, ``parity.png`` (the
    distilled potential against the teacher on the independent frames), ``independent.extxyz`` (those frames with
    the teacher's labels) and the loop's ``active.db`` with its committee and progress plot.

    Card fields: ``teacher``; ``teacher_calls`` (the loop's, failures included), ``labels``, ``failed``;
    ``independent_teacher_calls``; ``active_learning`` (why it stopped, iterations, MD steps); ``refit`` (settings,
    training and validation errors, seconds); ``independent`` (frames and their energy meV/atom, force eV/Å and
    stress GPa MAE and RMSE against the teacher). Errors of the refit are on its own training/validation split.
    """
    import torch

    from ..active.loop import ActiveLearner
    from ..active.store import FAILED, LABELLED
    from ..data import load_labelled
    from ..model_store import load_model
    from ..train.metrics import error_metrics, predict_graphs
    from ..train.plots import parity_plot
    from ..train.targets import labelled_graphs

    config.validate()
    say = log or (lambda message: None)
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    exploration = exploration_set(
        structures,
        strain=config.strain,
        min_atoms=config.min_atoms,
        vacuum_A=config.vacuum_A,
        compressions=config.compressions,
    )
    active = active_config(config)
    learner = ActiveLearner(active, structure=exploration.starts, seed_structures=exploration.seeds, log=log)
    learned = learner.run()
    store = learner.store

    digest, refit = _refit(store, config, log=say)
    path = out / POTENTIAL
    frames_path, independent_calls = _independent(store, active, config, digest, log=say)
    model = load_model(path).double()
    graphs = labelled_graphs(*load_labelled(frames_path), model.elements, model.cutoff)
    predicted = predict_graphs(model, graphs, dtype=torch.float64)
    errors = {"frames": len(graphs), **error_metrics(predicted)}
    parity_plot(predicted, out / PARITY)

    card = {
        "teacher": config.teacher,
        "teacher_options": active.reference_options,
        "structures": [a.get_chemical_formula() for a in structures],
        "potential": POTENTIAL,
        "teacher_calls": store.reference_calls(),
        "labels": store.count(LABELLED),
        "failed": store.count(FAILED),
        "independent_teacher_calls": independent_calls,
        "budget": config.budget,
        "active_learning": {
            "stopped": learned.reason,
            "iterations": learned.iteration,
            "md_steps": learned.md_steps,
            "starts": [f"{a.get_chemical_formula()} ({len(a)} atoms)" for a in store.start_structures()],
        },
        "refit": refit,
        "independent": {
            "source": "Langevin MD with the distilled potential, labelled by the teacher",
            "temperatures_K": list(config.temperatures_K),
            **errors,
        },
        "parity_plot": PARITY,
    }
    card_path = out / CARD
    card_path.write_text(json.dumps(card, indent=1, default=_plain))
    say(
        f"[distill] {path}: {card['labels']} labels from {card['teacher_calls']} teacher calls; independent "
        f"frames: force MAE {errors.get('forces_mae_eV_per_A', float('nan')):.4f} eV/Å, energy MAE "
        f"{errors['energy_mae_meV_per_atom']:.2f} meV/atom"
    )
    return DistillResult(path, card_path, out / PARITY, card)


def _plain(value):
    """JSON for numpy scalars and arrays in the card."""
    return value.tolist() if hasattr(value, "tolist") else str(value)


def config_from_options(teacher: str, out: str, options: dict) -> DistillConfig:
    """A :class:`DistillConfig` from the command line's or a YAML file's values (typed by the fields)."""
    raw = {"teacher": teacher, "out": out, **{k: v for k, v in options.items() if v is not None}}
    return DistillConfig(**typed_fields(DistillConfig, raw, "distillation"))


__all__ = [
    "REFIT",
    "DistillConfig",
    "DistillResult",
    "ExplorationSet",
    "active_config",
    "compressed_cells",
    "config_from_options",
    "distill",
    "exploration_set",
    "independent_frames",
    "strained_cells",
    "supercell",
    "train_config",
]
