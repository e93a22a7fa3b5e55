"""Python API of property training: ``train_property`` (ensemble → checkpoint) and ``cross_validate_property``.

Graphs are built once per data set; k-fold CV keeps the out-of-fold predictions of every structure,
so a figure (parity, Ashby diagram) can be drawn from predictions no model saw during training.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from ase import Atoms

from .._version import __version__
from ..data import kfold_indices, train_val_split
from ..data.elastic import PropertyDataset, load_moduli_dataset
from ..data.splits import grouped_kfold_indices
from ..graph.nearest import crystal_graph
from ..model_store import save_model as save_property_model
from ..models.ensemble import Ensemble as PropertyEnsemble
from ..models.property_model import PropertyModel
from .property_config import PropertyTrainConfig
from .property_fit import PropertyHistory, fit_property_model, predict_model


@dataclass
class PropertyTrainResult:
    model: PropertyEnsemble
    histories: list[PropertyHistory]
    val_mae: dict[str, float]  # ensemble mean on the validation split, target units
    num_train: int
    num_val: int


@contextmanager
def torch_threads(threads: int | None):
    """Run the block with ``torch.set_num_threads(threads)``; restore afterwards."""
    if threads is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def elements_of(structures: Sequence[Atoms]) -> list[str]:
    """Chemical symbols present, ordered by atomic number."""
    from ase.data import atomic_numbers

    return sorted({s for atoms in structures for s in atoms.get_chemical_symbols()}, key=atomic_numbers.get)


def build_graphs(structures: Sequence[Atoms], config: PropertyTrainConfig, elements: Sequence[str]) -> list[dict]:
    """Crystal graphs of all structures (StructureError names the structure that fails)."""
    return [
        crystal_graph(atoms, config.model["cutoff"], elements, max_neighbors=config.max_neighbors)
        for atoms in structures
    ]


def _new_model(config: PropertyTrainConfig, elements, targets, train_targets: np.ndarray, seed: int) -> PropertyModel:
    torch.manual_seed(seed)
    std = np.maximum(train_targets.std(axis=0), 1e-6)
    return PropertyModel(
        config.architecture,
        config.model,
        elements,
        targets,
        train_targets.mean(axis=0),
        std,
        max_neighbors=config.max_neighbors,
    )


def fit_ensemble(
    config: PropertyTrainConfig, elements, targets, graphs, y: np.ndarray, train_idx, val_idx, seed: int
) -> tuple[PropertyEnsemble, list[PropertyHistory]]:
    """``config.ensemble_size`` models on ``train_idx``, selected on ``val_idx``; seeds seed, seed+1, …

    Members train on ``config.device``; the ensemble is returned on the CPU (as potentials are).
    """
    members, histories = [], []
    train_graphs, val_graphs = [graphs[i] for i in train_idx], [graphs[i] for i in val_idx]
    for member in range(config.ensemble_size):
        model = _new_model(config, elements, targets, y[train_idx], seed + member)
        model, history = fit_property_model(
            model, config, train_graphs, y[train_idx], val_graphs, y[val_idx], seed=seed + member
        )
        members.append(model.cpu())
        histories.append(history)
    return PropertyEnsemble(members).eval(), histories


def reduced_formula(atoms: Atoms) -> str:
    """The compound a structure belongs to: its reduced (empirical) formula, Hill order (e.g. "CSi")."""
    return atoms.get_chemical_formula(empirical=True)


def cv_partition(config: PropertyTrainConfig, dataset: PropertyDataset, k: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) index pairs of k-fold CV: random, or grouped by reduced formula (``config.group_by``)."""
    if config.group_by == "formula":
        return grouped_kfold_indices([reduced_formula(atoms) for atoms in dataset.structures], k, config.seed)
    return kfold_indices(len(dataset), k, config.seed)


def load_dataset(config: PropertyTrainConfig) -> PropertyDataset:
    if not config.data:
        raise ValueError("property training needs data: a pymatgen JSON list with moduli")
    dataset = load_moduli_dataset(config.data, config.limit)
    if config.targets is None:
        return dataset
    unknown = sorted(set(config.targets) - set(dataset.target_names))
    if unknown or not config.targets:
        raise ValueError(f"targets must be a non-empty subset of {list(dataset.target_names)}, got {config.targets}")
    columns = [dataset.target_names.index(name) for name in config.targets]
    dataset.targets = dataset.targets[:, columns]
    dataset.target_names = tuple(config.targets)
    return dataset


def train_property(config: PropertyTrainConfig, dataset: PropertyDataset | None = None) -> PropertyTrainResult:
    """Train an ensemble on ``config.data`` (or ``dataset``), save ``config.output`` and a JSON report."""
    with torch_threads(config.threads):
        dataset = dataset or load_dataset(config)
        elements = config.elements or elements_of(dataset.structures)
        graphs = build_graphs(dataset.structures, config, elements)
        train_idx, val_idx = train_val_split(len(dataset), config.val_fraction, config.seed)
        ensemble, histories = fit_ensemble(
            config, elements, dataset.target_names, graphs, dataset.targets, train_idx, val_idx, config.seed
        )
        val_graphs = [graphs[i] for i in val_idx]
        val_mae = {}
        if len(val_idx):
            mean = predict_model(ensemble, val_graphs)
            val_mae = dict(zip(dataset.target_names, np.abs(mean - dataset.targets[val_idx]).mean(axis=0).tolist()))
    result = PropertyTrainResult(ensemble, histories, val_mae, len(train_idx), len(val_idx))
    metadata = {
        "trained_with": __version__,
        "config": config.to_dict(),
        "num_train": len(train_idx),
        "num_val": len(val_idx),
        "dropped_non_positive": dataset.dropped,
        "val_mae": val_mae,
        "best_epochs": [h.best_epoch for h in histories],
        "epochs_run": [len(h.epoch) for h in histories],
        "seconds": [h.seconds for h in histories],
    }
    output = Path(config.output)
    save_property_model(ensemble, output, metadata)
    report = {**metadata, "histories": [h.to_dict() for h in histories]}
    output.with_suffix(".json").write_text(json.dumps(report, indent=1))
    if config.plots and len(val_idx):
        from .property_plots import parity_plot_targets

        mean = predict_model(ensemble, [graphs[i] for i in val_idx])
        parity_plot_targets(
            dataset.targets[val_idx], mean, dataset.target_names, output.with_name(output.stem + "_parity.png")
        )
    return result


def cross_validate_property(
    config: PropertyTrainConfig, k: int, dataset: PropertyDataset | None = None, folds: Sequence[int] | None = None
) -> dict:
    """k-fold CV: per fold an ensemble trained on the other folds (minus a validation split).

    Folds are random, or with ``config.group_by == "formula"`` keep each compound (reduced formula) in
    one fold, so no polymorph of a test compound is seen in training.

    Args:
        folds: run only these folds (e.g. ``[0]`` to compare settings cheaply); default all k.

    Returns per-fold MAE per target for the ensemble mean and for each member, their means over the
    folds run, and the out-of-fold predictions (ensemble mean and spread; NaN for folds not run).
    """
    with torch_threads(config.threads):
        dataset = dataset or load_dataset(config)
        elements = config.elements or elements_of(dataset.structures)
        graphs = build_graphs(dataset.structures, config, elements)
        y = dataset.targets
        oof_mean, oof_std = np.full_like(y, np.nan), np.full_like(y, np.nan)
        chosen = set(range(k) if folds is None else folds)
        results = []
        for fold, (train_idx, test_idx) in enumerate(cv_partition(config, dataset, k)):
            if fold not in chosen:
                continue
            inner_train, inner_val = train_val_split(len(train_idx), config.val_fraction, config.seed + fold)
            ensemble, histories = fit_ensemble(
                config,
                elements,
                dataset.target_names,
                graphs,
                y,
                train_idx[inner_train],
                train_idx[inner_val],
                config.seed + 100 * fold,
            )
            test_graphs = [graphs[i] for i in test_idx]
            member_pred = np.stack([predict_model(m, test_graphs) for m in ensemble.members])  # (M, n, T)
            oof_mean[test_idx] = member_pred.mean(axis=0)
            oof_std[test_idx] = member_pred.std(axis=0)
            results.append(
                {
                    "fold": fold,
                    "num_test": len(test_idx),
                    "mae_ensemble": np.abs(member_pred.mean(axis=0) - y[test_idx]).mean(axis=0).tolist(),
                    "mae_members": np.abs(member_pred - y[test_idx]).mean(axis=1).tolist(),  # (M, T)
                    "epochs_run": [len(h.epoch) for h in histories],
                    "best_epochs": [h.best_epoch for h in histories],
                    "seconds": [h.seconds for h in histories],
                }
            )
    names = dataset.target_names
    done = ~np.isnan(oof_mean[:, 0])
    summary = {
        "mae_ensemble": dict(zip(names, np.abs(oof_mean[done] - y[done]).mean(axis=0).tolist())),
        "mae_single_member": dict(
            zip(names, np.mean([np.mean(f["mae_members"], axis=0) for f in results], axis=0).tolist())
        ),
        "fold_std_ensemble": dict(zip(names, np.std([f["mae_ensemble"] for f in results], axis=0).tolist())),
    }
    return {
        "k": k,
        "group_by": config.group_by,
        "targets": list(names),
        "num_structures": len(dataset),
        "dropped_non_positive": dataset.dropped,
        "folds": results,
        "summary": summary,
        "ids": dataset.ids,
        "oof_mean": oof_mean.tolist(),
        "oof_std": oof_std.tolist(),
        "targets_true": y.tolist(),
    }


def leave_element_out(config: PropertyTrainConfig, element: str, dataset: PropertyDataset | None = None) -> dict:
    """Train on every structure without ``element`` (minus a validation split); test on those with it.

    Shows how far the element-property atom features carry a model to an element it never saw.
    Returns the test MAE per target (ensemble mean), the test ids and their predictions.
    """
    with torch_threads(config.threads):
        dataset = dataset or load_dataset(config)
        has = np.array([element in atoms.get_chemical_symbols() for atoms in dataset.structures])
        if not has.any():
            raise ValueError(f"no structure of the data set contains {element!r}")
        rest, test_idx = np.flatnonzero(~has), np.flatnonzero(has)
        elements = [e for e in (config.elements or elements_of(dataset.structures)) if e != element]
        rest_graphs = build_graphs([dataset.structures[i] for i in rest], config, elements)
        inner_train, inner_val = train_val_split(len(rest), config.val_fraction, config.seed)
        ensemble, histories = fit_ensemble(
            config,
            elements,
            dataset.target_names,
            rest_graphs,
            dataset.targets[rest],
            inner_train,
            inner_val,
            config.seed,
        )
        # the model appends every untrained tabulated element to its species list, ``element`` among them
        test_graphs = build_graphs([dataset.structures[i] for i in test_idx], config, ensemble.elements)
        pred = predict_model(ensemble, test_graphs)
    y = dataset.targets[test_idx]
    return {
        "element": element,
        "num_train": len(inner_train),
        "num_test": len(test_idx),
        "mae": dict(zip(dataset.target_names, np.abs(pred - y).mean(axis=0).tolist())),
        "ids": [dataset.ids[i] for i in test_idx],
        "predicted": pred.tolist(),
        "targets_true": y.tolist(),
        "best_epochs": [h.best_epoch for h in histories],
    }
