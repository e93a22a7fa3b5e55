"""Positive-unlabelled learning by transductive bootstrap aggregating (Jang et al., JACS 142, 18836 (2020)).

Positives are known (synthesised) crystals; the unlabelled are hypothetical ones, most of them not
synthesisable, some perhaps. Each *bag* trains a binary classifier — a CGCNN property model of the engine
with one output, the logit of "synthesisable", and a logistic (``bce``) loss — on its positives (label 1)
against an equally large random sample of the unlabelled (label 0, provisional negatives). An unlabelled
structure is scored by the bags that did *not* sample it (out of bag), the mean of their probabilities
σ(logit): that is the transductive score, in [0, 1]. A new structure is scored by every bag.

Held-out positives: with ``folds`` = k > 1, bag b leaves out the positives of fold ``b mod k`` (a seeded
k-fold partition), so the bags of fold f together are a k-fold model for that fold, and the mean score of
its bags on the fold's positives gives the true-positive rate on positives no bag of it saw. The shipped
model is all the bags: every positive is then seen by (k − 1)/k of them, like the bootstrap of positives
of the paper.

Which hypothetical structures are unlabelled: :func:`novel_composition` keeps those whose reduced composition
is not among the positives'. A hypothetical polymorph of a known composition (NaCl in the CsCl type beside
rock-salt NaCl) shares the positive's elements and stoichiometry and differs only in its arrangement; as a
provisional negative it mostly teaches the classifier to doubt the known compound. Such polymorphs are still scored, by
every bag, like any new structure.

Every structure goes through :func:`~.volume.volume_normalized` before its graph is built, so no bag can
separate DFT-relaxed known cells from guessed hypothetical ones by their volume.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from ase import Atoms

from ase_mlmat.graph import collate
from ase_mlmat.graph.nearest import crystal_graph
from ase_mlmat.models.property_model import PropertyModel
from ase_mlmat.train.config import TrainConfig
from ase_mlmat.train.losses import LossTerm, PropertyTask
from ase_mlmat.train.targets import PROPERTY_TARGETS
from ase_mlmat.train.trainer import Trainer

from .volume import volume_normalized

TARGET = "synthesizability_logit"  # the model's one output: logit of P(synthesisable)
# a small CGCNN: one bag (~6,300 structures, 12 epochs) trains in about 1.5 minutes on one CPU thread
DEFAULT_MODEL = {
    "cutoff": 6.0,
    "num_features": 32,
    "num_interactions": 2,
    "gaussian_step": 0.25,
    "num_hidden": 32,
    "num_hidden_layers": 1,
    "continuous_features": True,  # the raw element properties too: +2.5 points of held-out TPR on one bag
}
MAX_NEIGHBORS = 12


@dataclass(frozen=True)
class Bag:
    """One classifier's training set: indices into the positives and into the unlabelled.

    ``fold`` is the fold of positives it leaves out (-1: none).
    """

    index: int
    fold: int
    positives: np.ndarray
    unlabelled: np.ndarray


def plan_bags(n_positive: int, n_unlabelled: int, *, bags: int, folds: int = 1, seed: int = 0) -> list[Bag]:
    """``bags`` training sets: the positives outside fold ``b mod folds`` against as many unlabelled, drawn
    without replacement for each bag (all of them where there are fewer).

    Raises:
        ValueError: no bags, fewer than 2 positives per fold, or no unlabelled.
    """
    if bags < 1 or folds < 1:
        raise ValueError(f"bags and folds must be >= 1, got bags={bags}, folds={folds}")
    if n_unlabelled < 1 or n_positive < 2 * folds:
        raise ValueError(f"too little data: {n_positive} positives for {folds} folds, {n_unlabelled} unlabelled")
    rng = np.random.default_rng(seed)
    fold_of = rng.permutation(n_positive) % folds if folds > 1 else np.zeros(n_positive, dtype=int)
    plan = []
    for b in range(bags):
        fold = b % folds if folds > 1 else -1
        positives = np.flatnonzero(fold_of != fold)
        size = min(len(positives), n_unlabelled)
        unlabelled = np.sort(rng.choice(n_unlabelled, size=size, replace=False))
        plan.append(Bag(b, fold, positives, unlabelled))
    return plan


def positive_folds(plan: Sequence[Bag], n_positive: int) -> np.ndarray:
    """Fold of each positive (n_positive,): the fold whose bags left it out; -1 where none did."""
    fold_of = np.full(n_positive, -1)
    for bag in plan:
        if bag.fold >= 0:
            held = np.setdiff1d(np.arange(n_positive), bag.positives)
            fold_of[held] = bag.fold
    return fold_of


def novel_composition(structures: Sequence[Atoms], known: Sequence[Atoms]) -> np.ndarray:
    """(n,) bool: the structure's reduced formula is none of ``known``'s (the unlabelled pool of a PU fit)."""
    formulas = {a.get_chemical_formula(empirical=True) for a in known}
    return np.array([a.get_chemical_formula(empirical=True) not in formulas for a in structures], dtype=bool)


def structure_graphs(structures: Sequence[Atoms], elements: Sequence[str], model_config: dict) -> list[dict]:
    """Crystal graphs of the volume-normalised structures (no labels)."""
    cutoff = float(model_config["cutoff"])
    return [crystal_graph(volume_normalized(a), cutoff, elements, max_neighbors=MAX_NEIGHBORS) for a in structures]


def labelled(graphs: Sequence[dict], label: float) -> list[dict]:
    """The graphs with ``label`` (1: positive, 0: provisional negative) as their one target."""
    target = torch.tensor([[float(label)]])
    return [{**g, PROPERTY_TARGETS: target} for g in graphs]


def new_classifier(elements: Sequence[str], model_config: dict, seed: int) -> PropertyModel:
    """An untrained one-output CGCNN whose output (in target units) is the logit itself (mean 0, std 1)."""
    return PropertyModel("cgcnn", model_config, elements, [TARGET], [0.0], [1.0], MAX_NEIGHBORS, seed=seed)


def train_config(**options) -> TrainConfig:
    """The training settings of a bag: a fixed number of epochs, no validation split (nothing is early-stopped
    on the provisional labels), one thread by default; ``options`` override any :class:`TrainConfig` field."""
    defaults = {
        "targets": [TARGET],
        "model": dict(DEFAULT_MODEL),
        "losses": {TARGET: {"loss": "bce"}},
        "epochs": 12,
        "batch_size": 64,
        "learning_rate": 3e-3,
        "val_fraction": 0.0,
        "early_stopping_patience": 1000,
        "checkpoint_every": 0,
        "threads": 1,
        "device": "cpu",
        "progress": False,
        "plots": False,
    }
    config = TrainConfig(**{**defaults, **options})
    config.validate()
    return config


def train_bag(
    config: TrainConfig,
    elements: Sequence[str],
    positive_graphs: Sequence[dict],
    unlabelled_graphs: Sequence[dict],
    bag: Bag,
    seed: int = 0,
) -> PropertyModel:
    """The classifier of ``bag``: its positives (label 1) against its unlabelled (label 0), trained on the CPU."""
    train = labelled([positive_graphs[i] for i in bag.positives], 1.0) + labelled(
        [unlabelled_graphs[i] for i in bag.unlabelled], 0.0
    )
    model = new_classifier(elements, config.model, seed + bag.index)
    task = PropertyTask([LossTerm(TARGET, TARGET, "bce")], [TARGET])
    before = torch.get_num_threads()
    if config.threads:
        torch.set_num_threads(config.threads)
    try:
        trainer = Trainer(model, replace(config, seed=seed + bag.index), torch.device("cpu"), torch.float32, task=task)
        return trainer.fit(train, []).cpu().eval()
    finally:
        torch.set_num_threads(before)


@torch.no_grad()
def probabilities(model: torch.nn.Module, graphs: Sequence[dict], batch_size: int = 512) -> np.ndarray:
    """σ(logit) of one classifier for each graph (n,), in eval mode."""
    model.eval()
    out = []
    for start in range(0, len(graphs), batch_size):
        logits = model(collate(graphs[start : start + batch_size]))[:, 0]
        out.append(torch.sigmoid(logits.double()).numpy())
    return np.concatenate(out) if out else np.zeros(0)


def out_of_bag_scores(unlabelled_probabilities: np.ndarray, plan: Sequence[Bag]) -> tuple[np.ndarray, np.ndarray]:
    """Mean probability of each unlabelled structure over the bags that did not train on it, and their number.

    Args:
        unlabelled_probabilities: (bags, n_unlabelled), every bag's σ(logit) on every unlabelled structure.

    Returns:
        scores (n_unlabelled,), NaN where every bag sampled the structure; counts (n_unlabelled,) of bags used.
    """
    probs = np.asarray(unlabelled_probabilities, dtype=float)
    outside = np.ones_like(probs, dtype=bool)
    for row, bag in enumerate(plan):
        outside[row, bag.unlabelled] = False
    counts = outside.sum(axis=0)
    with np.errstate(invalid="ignore"):
        scores = np.where(counts > 0, (probs * outside).sum(axis=0) / np.maximum(counts, 1), np.nan)
    return scores, counts


def held_out_scores(positive_probabilities: np.ndarray, plan: Sequence[Bag], n_positive: int) -> np.ndarray:
    """Mean probability of each positive over the bags of the fold that left it out (NaN: in no held-out fold).

    Args:
        positive_probabilities: (bags, n_positive), every bag's σ(logit) on every positive.
    """
    probs = np.asarray(positive_probabilities, dtype=float)
    fold_of = positive_folds(plan, n_positive)
    scores = np.full(n_positive, np.nan)
    for fold in sorted(set(fold_of) - {-1}):
        rows = [r for r, bag in enumerate(plan) if bag.fold == fold]
        members = fold_of == fold
        scores[members] = probs[np.ix_(rows, np.flatnonzero(members))].mean(axis=0)
    return scores


def true_positive_rates(scores: np.ndarray, plan: Sequence[Bag], n_positive: int, threshold: float = 0.5) -> dict:
    """TPR (fraction of held-out positives scored ≥ ``threshold``) per fold and over all held-out positives."""
    fold_of = positive_folds(plan, n_positive)
    per_fold = {int(f): float(np.mean(scores[fold_of == f] >= threshold)) for f in sorted(set(fold_of) - {-1})}
    held = fold_of >= 0
    return {"per_fold": per_fold, "mean": float(np.mean(scores[held] >= threshold)) if held.any() else float("nan")}


def train_bags(
    config: TrainConfig,
    elements: Sequence[str],
    positive_graphs: Sequence[dict],
    unlabelled_graphs: Sequence[dict],
    plan: Sequence[Bag],
    *,
    seed: int = 0,
    directory: str | Path | None = None,
    log=print,
) -> list[PropertyModel]:
    """Every bag's classifier; with ``directory`` each is saved there as ``bag-<b>.pt`` and one already there is
    loaded instead of trained again (resumable)."""
    from ase_mlmat.model_store import load_model, save_model

    models = []
    for bag in plan:
        path = None if directory is None else Path(directory) / f"bag-{bag.index:03d}.pt"
        if path is not None and path.is_file():
            models.append(load_model(path, kind="property"))
            continue
        start = time.perf_counter()
        model = train_bag(config, elements, positive_graphs, unlabelled_graphs, bag, seed)
        if path is not None:
            save_model(model, path, {"bag": bag.index, "fold": bag.fold, "seed": seed + bag.index})
        log(f"bag {bag.index} (fold {bag.fold}): {time.perf_counter() - start:.0f} s")
        models.append(model)
    return models
