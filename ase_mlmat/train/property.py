"""Property models through the one trainer: data, ensembles of seeds, k-fold CV, leave-element-out.

Graphs are built once per data set; each ensemble member is a :class:`~.trainer.Trainer` run with its own
seed. k-fold CV keeps the out-of-fold predictions of every structure, so a figure (parity, Ashby
diagram) can be drawn from predictions no model saw during training.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from ase import Atoms

from .._version import __version__
from ..calculator import resolve_dtype
from ..checkpoint import write_checkpoint
from ..data.elastic import PropertyDataset, load_moduli_dataset
from ..data.splits import grouped_kfold_indices, kfold_indices, train_val_split
from ..devices import resolve_device
from ..models.ensemble import Ensemble
from ..models.property_model import PropertyModel
from . import distributed
from .config import TrainConfig
from .losses import predict_targets
from .potential import elements_of
from .resume import run_metadata, run_split, save_run
from .targets import property_graphs
from .trainer import (
    STATE_FORMAT,
    History,
    Trainer,
    TrainResult,
    early_peak,
    state_path,
)


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


def load_dataset(config: TrainConfig) -> PropertyDataset:
    """The structures and ``config.targets`` columns of the pymatgen JSON list ``config.data``."""
    if not config.data:
        raise ValueError("a property model needs data: a pymatgen JSON list with moduli")
    dataset = load_moduli_dataset(config.data[0], config.limit)
    unknown = sorted(set(config.targets) - set(dataset.target_names))
    if unknown:
        raise ValueError(f"targets must be a non-empty subset of {list(dataset.target_names)}, got {config.targets}")
    columns = [dataset.target_names.index(name) for name in config.targets]
    dataset.targets = dataset.targets[:, columns]
    dataset.target_names = tuple(config.targets)
    return dataset


def build_graphs(config: TrainConfig, dataset: PropertyDataset, elements: Sequence[str]) -> list[dict]:
    """Crystal graphs of the data set with their targets (StructureError names the structure that fails)."""
    return property_graphs(dataset.structures, dataset.targets, elements, config.model["cutoff"], config.max_neighbors)


def reduced_formula(atoms: Atoms) -> str:
    """The compound a structure belongs to: its reduced (empirical) formula, Hill order (e.g. "CSi")."""
    return atoms.get_chemical_formula(empirical=True)


def cv_partition(config: TrainConfig, structures: Sequence[Atoms], k: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) index pairs of k-fold CV: random, or grouped by reduced formula (``config.group_by``)."""
    if config.group_by == "formula":
        return grouped_kfold_indices([reduced_formula(atoms) for atoms in structures], k, config.seed)
    return kfold_indices(len(structures), k, config.seed)


def new_model(config: TrainConfig, elements: Sequence[str], train_targets: np.ndarray, seed: int) -> PropertyModel:
    """A fresh property model standardised on ``train_targets`` (n, T); initial weights from ``seed``."""
    std = np.maximum(train_targets.std(axis=0), 1e-6)
    with torch.random.fork_rng(devices=[]):  # the caller's generator is left as it was
        torch.manual_seed(seed)
        return PropertyModel(
            config.architecture,
            config.model,
            elements,
            config.targets,
            train_targets.mean(axis=0),
            std,
            max_neighbors=config.max_neighbors,
        )


def fit_ensemble(
    config: TrainConfig,
    elements: Sequence[str],
    graphs: Sequence[dict],
    y: np.ndarray,
    train_idx: np.ndarray,
    val_idx: np.ndarray,
    seed: int,
    *,
    state: dict | None = None,
    state_file: Path | None = None,
    state_extra: dict | None = None,
) -> tuple[Ensemble, list[History]]:
    """``config.ensemble_size`` models on ``train_idx``, each selected on ``val_idx``; seeds seed, seed+1, …

    Members train on ``config.device`` and come back on the CPU. With a ``state_file`` each member's
    trainer writes its state there, with the members finished before it, so that :func:`train_property`
    can resume; SIGINT or SIGTERM end the ensemble after the member they stop (its ``stopped`` says so).
    """
    device, dtype = distributed.local_device(resolve_device(config.device)), resolve_dtype(config.dtype)
    train_graphs, val_graphs = [graphs[i] for i in train_idx], [graphs[i] for i in val_idx]
    members, histories = [], []
    first = 0
    if state is not None:
        first = int(state["member"])
        for k, weights in enumerate(state["members_done"]):
            member = new_model(config, elements, y[train_idx], seed + k)
            member.load_state_dict(weights)
            members.append(member.eval())
        histories = [History(**h) for h in state["histories_done"]]
    for k in range(first, config.ensemble_size):
        model = new_model(config, elements, y[train_idx], seed + k)
        extra = {
            **(state_extra or {}),
            "member": k,
            "members_done": [m.state_dict() for m in members],
            "histories_done": [h.to_dict() for h in histories],
        }
        trainer = Trainer(
            model, replace(config, seed=seed + k), device, dtype, state_path=state_file, state_extra=extra
        )
        if state is not None and k == first and "model" in state:
            trainer.load_state_dict(state)
        best = trainer.fit(train_graphs, val_graphs)
        histories.append(trainer.history)
        interrupted = trainer.history.stopped.startswith("SIG")
        if trainer.history.best_epoch or not interrupted:  # a member stopped in its first epoch has no best
            members.append(best.cpu().eval())
        if interrupted:
            break
        # resume starts the next member afresh (rank 0 writes the state under torchrun)
        if state_file is not None and k + 1 < config.ensemble_size and distributed.is_main():
            between = {**extra, "member": k + 1, "members_done": [m.state_dict() for m in members]}
            between["histories_done"] = [h.to_dict() for h in histories]
            write_checkpoint(
                {"format": STATE_FORMAT, "version": __version__, **between, "epoch": 0, "history": History().to_dict()},
                state_file,
            )
    if not members:
        raise ValueError("training stopped before any model of the ensemble had a validated epoch")
    return Ensemble(members).eval(), histories


def _fit_on_graphs(
    config: TrainConfig,
    elements: Sequence[str],
    graphs: Sequence[dict],
    y: np.ndarray,
    train_idx: np.ndarray,
    val_idx: np.ndarray,
    **state,
) -> TrainResult:
    """An ensemble on ``graphs[train_idx]`` selected on ``graphs[val_idx]``, with its errors (target units)."""
    with torch_threads(config.threads):
        ensemble, histories = fit_ensemble(config, elements, graphs, y, train_idx, val_idx, config.seed, **state)
        task = config.task()
        val_metrics = task.metrics(ensemble, [graphs[i] for i in val_idx])
        train_metrics = task.metrics(ensemble, [graphs[i] for i in train_idx])
    return TrainResult(ensemble, histories[-1], val_metrics, train_metrics, histories)


def fit_property(
    config: TrainConfig,
    structures: Sequence[Atoms],
    targets,
    val_structures: Sequence[Atoms] = (),
    val_targets=(),
) -> TrainResult:
    """The property-model case of :func:`ase_mlmat.train.fit`: ``targets`` (n, T) in the units of ``config.targets``."""
    y = np.asarray(targets, dtype=float).reshape(len(structures), len(config.targets))
    y_val = np.asarray(val_targets, dtype=float).reshape(len(val_structures), len(config.targets))
    everything = PropertyDataset([*structures, *val_structures], np.concatenate([y, y_val]), tuple(config.targets), [])
    elements = config.elements or elements_of(everything.structures)
    graphs = build_graphs(config, everything, elements)
    n = len(structures)
    return _fit_on_graphs(config, elements, graphs, everything.targets, np.arange(n), np.arange(n, len(graphs)))


def train_property(config: TrainConfig, dataset: PropertyDataset | None = None, *, resume: bool = False) -> TrainResult:
    """Train an ensemble on ``config.data`` (or ``dataset``); save ``config.output``, a JSON report and a parity plot.

    The training state goes to ``<output stem>.state.pt`` as for a potential (with the members finished so
    far); ``resume=True`` continues from it.

    Raises:
        TrainingInterrupted: after SIGINT or SIGTERM, once the ensemble so far and the state are written.
    """
    dataset = dataset or load_dataset(config)
    elements = config.elements or elements_of(dataset.structures)
    graphs = build_graphs(config, dataset, elements)
    output = Path(config.output)
    state_file = state_path(output)
    state, train_idx, val_idx, extra = run_split(config, len(dataset), state_file, resume)
    result = _fit_on_graphs(
        config,
        elements,
        graphs,
        dataset.targets,
        train_idx,
        val_idx,
        state=state,
        state_file=state_file,
        state_extra=extra,
    )
    histories = result.histories
    metadata = {
        **run_metadata(config, result, len(train_idx), len(val_idx)),
        "dropped_non_positive": dataset.dropped,
        "ensemble_size": len(result.model),
        "best_epochs": [h.best_epoch for h in histories],
        "epochs_run": [len(h.epoch) for h in histories],
        "stopped": [h.stopped for h in histories],
        "seconds": [h.seconds for h in histories],
    }
    save_run(
        result,
        output,
        metadata,
        {"histories": [h.to_dict() for h in histories]},
        f"training interrupted by {result.history.stopped} in member {len(histories)} of {config.ensemble_size}: "
        f"the {len(result.model)} model(s) so far are in {str(output)!r}, the training state in "
        f"{str(state_file)!r}; continue with train(config, resume=True) or mlmat train --resume",
    )
    if config.plots and len(val_idx) and distributed.is_main():
        from .plots import learning_curve, loss_title
        from .property_plots import parity_plot_targets

        title = loss_title(config.losses, config.kind)
        learning_curve(result.history, output.with_name(output.stem + "_learning_curve.png"), title)
        mean = predict_targets(result.model, [graphs[i] for i in val_idx])
        parity_plot_targets(
            dataset.targets[val_idx], mean, dataset.target_names, output.with_name(output.stem + "_parity.png")
        )
    return result


def cross_validate_property(
    config: TrainConfig, k: int, dataset: PropertyDataset | None = None, folds: Sequence[int] | None = None
) -> dict:
    """k-fold CV: per fold an ensemble trained on the other folds (minus a validation split).

    Folds are random, or with ``config.group_by == "formula"`` keep each compound (reduced formula) in
    one fold, so no polymorph of a test compound is seen in training. Prints each fold as it finishes and
    warns where a member's validation loss was lowest in its first epochs.

    Args:
        folds: run only these folds (e.g. ``[0]`` to compare settings cheaply); default all k.

    Returns per-fold MAE per target for the ensemble mean and for each member, their means over the
    folds run, and the out-of-fold predictions (ensemble mean and spread; NaN for folds not run).
    """
    with torch_threads(config.threads):
        dataset = dataset or load_dataset(config)
        elements = config.elements or elements_of(dataset.structures)
        graphs = build_graphs(config, dataset, elements)
        y = dataset.targets
        oof_mean, oof_std = np.full_like(y, np.nan), np.full_like(y, np.nan)
        chosen = set(range(k) if folds is None else folds)
        results = []
        for fold, (train_idx, test_idx) in enumerate(cv_partition(config, dataset.structures, k)):
            if fold not in chosen:
                continue
            inner_train, inner_val = train_val_split(len(train_idx), config.val_fraction, config.seed + fold)
            ensemble, histories = fit_ensemble(
                config, elements, graphs, y, train_idx[inner_train], train_idx[inner_val], config.seed + 100 * fold
            )
            test_graphs = [graphs[i] for i in test_idx]
            member_pred = np.stack([predict_targets(m, test_graphs) for m in ensemble.members])  # (M, n, T)
            oof_mean[test_idx] = member_pred.mean(axis=0)
            oof_std[test_idx] = member_pred.std(axis=0)
            result = {
                "fold": fold,
                "num_test": len(test_idx),
                "mae_ensemble": np.abs(member_pred.mean(axis=0) - y[test_idx]).mean(axis=0).tolist(),
                "mae_members": np.abs(member_pred - y[test_idx]).mean(axis=1).tolist(),  # (M, T)
                "epochs_run": [len(h.epoch) for h in histories],
                "best_epochs": [h.best_epoch for h in histories],
                "seconds": [h.seconds for h in histories],
            }
            results.append(result)
            maes = ", ".join(f"{n} {m:.4g}" for n, m in zip(dataset.target_names, result["mae_ensemble"]))
            bests = ", ".join(f"{b} of {e}" for b, e in zip(result["best_epochs"], result["epochs_run"]))
            print(f"fold {fold + 1}/{k}: best epoch {bests}, test MAE {maes}", flush=True)
            for b, e in zip(result["best_epochs"], result["epochs_run"]):
                if early_peak(b, e):
                    warnings.warn(
                        f"fold {fold + 1} of {k} had its best validation loss at epoch {b} of {e}: the learning "
                        "rate, the EMA (ema_decay) or the epoch budget may be wrong",
                        UserWarning,
                        stacklevel=2,
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


def leave_element_out(config: TrainConfig, element: str, dataset: PropertyDataset | None = None) -> dict:
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
        rest_graphs = build_graphs(config, dataset.subset(rest), elements)
        inner_train, inner_val = train_val_split(len(rest), config.val_fraction, config.seed)
        ensemble, histories = fit_ensemble(
            config, elements, rest_graphs, dataset.targets[rest], inner_train, inner_val, config.seed
        )
        # the model appends every untrained tabulated element to its species list, ``element`` among them
        test_graphs = build_graphs(config, dataset.subset(test_idx), ensemble.elements)
        pred = predict_targets(ensemble, test_graphs)
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
