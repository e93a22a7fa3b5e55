"""Training a committee of potentials whose spread measures uncertainty.

Member m of iteration k trains with its own seed on a bootstrap resample of the labelled
set (``bootstrap=True``), optionally warm-started from member m of iteration k-1. The
structures a member never saw (out of bag) give an honest error estimate for free:
each labelled structure is predicted by the members that did not train on it.
Checkpoints are ``<directory>/iter-<k>-member-<m>.pt``; each records a hash of its
training set, so an interrupted run reuses the members it had already finished.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from ase import Atoms

from .. import keys
from ..calculator import MLCalculator
from ..checkpoint import CheckpointError
from ..data import Labels
from ..model_store import load_potential, save_potential
from ..models.potential import Potential
from ..train import TrainConfig, fit
from ..train.metrics import error_metrics, predict_graphs
from ..train.targets import labelled_graphs
from .config import ActiveConfig

# Energy, stress and forces weigh 1 each (the library default weighs energy and stress 100): the
# committee's job is forces and their spread, and on small sets of MD frames weights of 100 hold
# the force error several times above what the data allow.
_TRAIN_DEFAULTS = {
    "batch_size": 4,
    "learning_rate": 5e-3,
    "scheduler": "cosine",
    "energy_weight": 1.0,
    "stress_weight": 1.0,
}


@dataclass
class Committee:
    """Members of one iteration, their checkpoint paths and training errors."""

    iteration: int
    models: list[Potential]
    paths: list[Path]
    metrics: dict[str, float] = field(default_factory=dict)  # out-of-bag or training errors of the mean
    seconds: float = 0.0

    def calculator(self, device: str = "cpu", dtype: str = "float32") -> MLCalculator:
        return MLCalculator(self.models, device=device, dtype=dtype)


def member_path(directory: str | Path, iteration: int, member: int) -> Path:
    return Path(directory) / f"iter-{iteration}-member-{member}.pt"


def dataset_hash(uids: Sequence[str]) -> str:
    return hashlib.sha1("\n".join(sorted(uids)).encode()).hexdigest()[:16]


def member_config(
    config: ActiveConfig,
    *,
    member_seed: int,
    steps: int,
    num_train: int,
    elements: Sequence[str],
    init_from: str | None,
) -> TrainConfig:
    """The TrainConfig of one member: the committee's model and options, its own seed.

    Training length is set in optimiser steps, not epochs, so that the cost of an iteration does
    not grow with the labelled set and a handful of seed structures still get enough updates.
    """
    committee = config.committee
    options = {**_TRAIN_DEFAULTS, **committee.train_options}
    epochs = math.ceil(steps / math.ceil(num_train / options["batch_size"]))
    return TrainConfig.from_dict(
        {
            **options,
            "architecture": committee.architecture,
            "model": dict(committee.model),
            "elements": list(elements),
            "epochs": epochs,
            "seed": member_seed,
            "init_from": init_from,
            "device": config.device,
            "dtype": config.dtype,
            "progress": False,
            "plots": False,
        }
    )


def bootstrap_indices(n: int, seed: Sequence[int], bootstrap: bool) -> np.ndarray:
    """Indices of one member's training set: a resample with replacement of ``range(n)``, or all of it."""
    if not bootstrap or n < 2:
        return np.arange(n)
    return np.sort(np.random.default_rng(list(seed)).integers(0, n, n))


def committee_predictions(models: Sequence[Potential], graphs: Sequence[dict]) -> list[dict[str, np.ndarray]]:
    return [predict_graphs(m.double(), graphs, dtype=torch.float64) for m in models]


def mean_errors(predictions: Sequence[dict[str, np.ndarray]]) -> dict[str, float]:
    """Errors (meV/atom, eV/Å, GPa) of the committee mean against the targets."""
    mean = dict(predictions[0])
    for key in ("energy", "forces", "stress"):
        mean[key] = np.mean([p[key] for p in predictions], axis=0)
    return error_metrics(mean)


def committee_errors(models: Sequence[Potential], structures: Sequence[Atoms], labels: Sequence[Labels]) -> dict:
    """Errors of the committee mean on labelled structures (e.g. a held-out test set)."""
    graphs = labelled_graphs(structures, labels, models[0].elements, models[0].cutoff)
    return mean_errors(committee_predictions(models, graphs))


def out_of_bag_errors(
    predictions: Sequence[dict[str, np.ndarray]], bags: Sequence[np.ndarray], graphs: Sequence[dict]
) -> dict:
    """Force and energy MAE of each structure predicted by the members that did not train on it.

    Args:
        predictions: one :func:`committee_predictions` entry per member, on ``graphs`` (all with forces).
        bags: training-set indices of each member.
    """
    sizes = np.array([int(g[keys.NUM_ATOMS][0]) for g in graphs])
    starts = np.concatenate([[0], np.cumsum(sizes)])
    force_err, energy_err = [], []
    for s in range(len(graphs)):
        outside = [m for m, bag in enumerate(bags) if s not in set(bag.tolist())]
        if not outside:
            continue
        atoms = slice(starts[s], starts[s + 1])
        forces = np.mean([predictions[m]["forces"][atoms] for m in outside], axis=0)
        energy = np.mean([predictions[m]["energy"][s] for m in outside])
        force_err.append(np.abs(forces - predictions[0]["forces_ref"][atoms]).ravel())
        energy_err.append(abs(energy - predictions[0]["energy_ref"][s]) / sizes[s] * 1000.0)
    if not force_err:
        return {}
    return {
        "oob_forces_mae_eV_per_A": float(np.mean(np.concatenate(force_err))),
        "oob_energy_mae_meV_per_atom": float(np.mean(energy_err)),
        "oob_structures": len(force_err),
    }


def train_committee(
    structures: Sequence[Atoms],
    labels: Sequence[Labels],
    uids: Sequence[str],
    config: ActiveConfig,
    *,
    iteration: int,
    elements: Sequence[str],
    previous: Sequence[str | Path] | None = None,
    log: Callable[[str], None] | None = None,
) -> Committee:
    """Train (or reuse, after an interruption) the ``config.committee.size`` members of ``iteration``.

    Args:
        structures, labels, uids: the labelled set, in a fixed order.
        elements: chemical symbols the models know.
        previous: checkpoints of the previous iteration's members, to warm-start from.
    """
    start = time.perf_counter()
    directory = config.committee_path
    directory.mkdir(parents=True, exist_ok=True)
    data_id = dataset_hash(uids)
    models, paths, bags = [], [], []
    settings = config.committee
    for m in range(settings.size):
        path = member_path(directory, iteration, m)
        bag = bootstrap_indices(len(structures), (config.seed, iteration, m), settings.bootstrap)
        model = _reusable(path, data_id)
        if model is None:
            init_from = str(previous[m]) if previous and settings.warm_start else None
            train_config = member_config(
                config,
                member_seed=config.seed * 1000 + 97 * iteration + m,
                steps=settings.finetune_steps if init_from else settings.train_steps,
                num_train=len(bag),
                elements=elements,
                init_from=init_from,
            )
            result = fit(train_config, [structures[i] for i in bag], [labels[i] for i in bag])
            model = result.model
            save_potential(
                model,
                path,
                {
                    "iteration": iteration,
                    "member": m,
                    "data_id": data_id,
                    "num_train": len(structures),
                    "init_from": init_from,
                },
            )
            if log:
                log(
                    f"  member {m}: {len(set(bag.tolist()))} distinct structures, "
                    f"{len(result.history.epoch)} epochs, {result.history.seconds:.1f} s"
                )
        models.append(model.eval())
        paths.append(path)
        bags.append(bag)
    graphs = labelled_graphs(structures, labels, models[0].elements, models[0].cutoff)
    predictions = committee_predictions(models, graphs)
    all_forces = all(label.forces is not None for label in labels)
    metrics = out_of_bag_errors(predictions, bags, graphs) if settings.bootstrap and all_forces else {}
    train = mean_errors(predictions)
    metrics.update(
        {
            "train_forces_mae_eV_per_A": train.get("forces_mae_eV_per_A", float("nan")),
            "train_energy_mae_meV_per_atom": train["energy_mae_meV_per_atom"],
        }
    )
    return Committee(iteration, models, paths, metrics, time.perf_counter() - start)


def _reusable(path: Path, data_id: str) -> Potential | None:
    """The member at ``path`` if it exists and was trained on the same data."""
    if not path.exists():
        return None
    try:
        model = load_potential(path)
    except CheckpointError:
        return None
    return model if model.metadata.get("data_id") == data_id else None


def load_committee(config: ActiveConfig, iteration: int) -> Committee:
    """The saved members of ``iteration``."""
    paths = [member_path(config.committee_path, iteration, m) for m in range(config.committee.size)]
    return Committee(iteration, [load_potential(p) for p in paths], paths)
