"""Python API of training, potentials and property models alike: ``train``, ``fit``, ``cross_validate``, ``evaluate``.

``config.targets`` decides the kind (see :mod:`.config`): a potential learns energies, forces and stresses
of labelled structures; a property model (an ensemble of ``ensemble_size`` seeds) learns per-structure
targets. Both train through the same :class:`~.trainer.Trainer`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from ase import Atoms

from ..calculator import resolve_dtype
from ..data import LabelCounts, Labels, kfold_indices, load_labelled, train_val_split
from ..devices import resolve_device
from ..model_store import load_model
from . import distributed
from .config import TrainConfig
from .metrics import error_metrics, predict_graphs
from .potential import build_model, refit_reference_energies
from .resume import RESUME_FIXED, read_training_state, run_metadata, run_split, save_run
from .targets import labelled_graphs
from .trainer import Trainer, TrainingInterrupted, TrainResult, early_peak, state_path, stopping_signal

__all__ = [
    "RESUME_FIXED",
    "TrainResult",
    "build_model",
    "cross_validate",
    "early_peak",
    "evaluate",
    "fit",
    "read_training_state",
    "refit_reference_energies",
    "train",
]


def fit(
    config: TrainConfig,
    structures: Sequence[Atoms],
    labels: Sequence[Labels],
    val_structures: Sequence[Atoms] = (),
    val_labels: Sequence[Labels] = (),
) -> TrainResult:
    """Train on given structures; validation set for early stopping and model selection.

    Args:
        labels: a potential's :class:`~ase_mlmat.data.Labels` per structure, or a property model's row of
            ``config.targets`` per structure ((n, T), target units); ``val_labels`` likewise.

    Raises:
        TrainingInterrupted: SIGINT or SIGTERM stopped the run (its ``result`` holds the best model so far).
    """
    if config.kind == "property":
        from .property import fit_property

        result = fit_property(config, structures, labels, val_structures, val_labels)
    else:
        result = _fit(config, structures, labels, val_structures, val_labels)
    signum = stopping_signal(result.history)
    if signum is not None:
        raise TrainingInterrupted(f"training interrupted by {result.history.stopped}", signum, result)
    return result


def _fit(
    config: TrainConfig,
    structures: Sequence[Atoms],
    labels: Sequence[Labels],
    val_structures: Sequence[Atoms] = (),
    val_labels: Sequence[Labels] = (),
    *,
    state: dict | None = None,
    state_file: Path | None = None,
    state_extra: dict | None = None,
) -> TrainResult:
    """:func:`fit`, continuing from a training ``state`` and writing one to ``state_file``; no raise on signals."""
    device, dtype = distributed.local_device(resolve_device(config.device)), resolve_dtype(config.dtype)
    model = build_model(config, structures, labels)
    train_graphs = labelled_graphs(structures, labels, model.elements, model.cutoff)
    val_graphs = labelled_graphs(val_structures, val_labels, model.elements, model.cutoff)
    trainer = Trainer(model, config, device, dtype, state_path=state_file, state_extra=state_extra)
    if state is not None:
        trainer.load_state_dict(state)
    best = trainer.fit(train_graphs, val_graphs)
    val_metrics = trainer.history.val_metrics
    train_metrics = trainer.task.metrics(best, train_graphs, device=device, dtype=dtype)
    return TrainResult(best.cpu().double(), trainer.history, val_metrics, train_metrics)


def _load(config: TrainConfig) -> tuple[list[Atoms], list[Labels]]:
    """The labelled data of ``config``; the label counts printed where progress is shown."""
    structures, labels = load_labelled(config.data, config.swap_stress_yz_xz, **config.label_keys)
    if config.limit is not None:
        structures, labels = structures[: config.limit], labels[: config.limit]
    if config.progress:
        print(LabelCounts.of(labels), flush=True)
    return structures, labels


def train(config: TrainConfig, *, resume: bool = False) -> TrainResult:
    """Read ``config.data``, split, train, save ``config.output`` (+ plots and a JSON report).

    The training state goes to ``<output stem>.state.pt`` every ``config.checkpoint_every`` epochs, at the end
    and on SIGINT/SIGTERM; ``resume=True`` continues from it (same split, weights, optimiser and generators).
    The settings in :data:`RESUME_FIXED` must be those of the run that wrote it; others may change (more
    ``epochs``, say); the optimiser and the plateau schedule continue from the state.

    A property config trains an ensemble (:func:`.property.train_property`) the same way.

    Raises:
        TrainingInterrupted: after SIGINT or SIGTERM, once the best model so far and the state are written.
    """
    if config.kind == "property":
        from .property import train_property

        return train_property(config, resume=resume)
    if not distributed.is_main():  # under torchrun, rank 0 alone prints and writes
        config = replace(config, progress=False, plots=False)
    structures, labels = _load(config)
    output = Path(config.output)
    state_file = state_path(output)
    state, train_idx, val_idx, extra = run_split(config, len(structures), state_file, resume)
    result = _fit(
        config,
        [structures[i] for i in train_idx],
        [labels[i] for i in train_idx],
        [structures[i] for i in val_idx],
        [labels[i] for i in val_idx],
        state=state,
        state_file=state_file,
        state_extra=extra,
    )
    history = result.history
    metadata = {
        **run_metadata(config, result, len(train_idx), len(val_idx)),
        "best_epoch": history.best_epoch,
        "epochs_run": len(history.epoch),
        "stopped": history.stopped,
        "seconds": history.seconds,
    }
    save_run(
        result,
        output,
        metadata,
        {"history": history.to_dict()},
        f"training interrupted by {history.stopped} after epoch {max(history.epoch, default=0)}: the best model "
        f"so far (epoch {history.best_epoch}) is in {str(output)!r}, the training state in {str(state_file)!r}; "
        "continue with train(config, resume=True) or mlmat train --resume",
    )
    if config.plots:
        from .plots import learning_curve, loss_title, parity_plot

        title = loss_title(config.losses, config.kind)
        learning_curve(result.history, output.with_name(output.stem + "_learning_curve.png"), title)
        val_graphs = labelled_graphs(
            [structures[i] for i in val_idx] or structures,
            [labels[i] for i in val_idx] or labels,
            result.model.elements,
            result.model.cutoff,
        )
        parity_plot(
            predict_graphs(result.model, val_graphs, dtype=torch.float64), output.with_name(output.stem + "_parity.png")
        )
    return result


def cross_validate(config: TrainConfig, k: int, *, folds: Sequence[int] | None = None) -> dict:
    """k-fold CV: train on k-1 folds (with a validation split of them), test on the held-out fold.

    Prints each fold as it finishes (best epoch, test errors) and warns when a fold's validation loss
    was lowest in its first epochs. A potential's report: per-fold test metrics with ``best_epoch`` and
    ``epochs_run``, and their mean and standard deviation. A property model's: see
    :func:`.property.cross_validate_property` (``folds`` runs only those folds; ``group_by: formula``
    keeps each compound in one fold).
    """
    if config.kind == "property":
        from .property import cross_validate_property

        return cross_validate_property(config, k, folds=folds)
    if folds is not None:
        raise ValueError("folds= picks folds of a property model's CV; a potential's runs all k")
    structures, labels = _load(config)
    folds = []
    for fold, (train_idx, test_idx) in enumerate(kfold_indices(len(structures), k, config.seed)):
        inner_train, inner_val = train_val_split(len(train_idx), config.val_fraction, config.seed + fold)
        tr, va = train_idx[inner_train], train_idx[inner_val]
        try:
            result = fit(
                config,
                [structures[i] for i in tr],
                [labels[i] for i in tr],
                [structures[i] for i in va],
                [labels[i] for i in va],
            )
        except TrainingInterrupted as stop:
            raise TrainingInterrupted(
                f"k-fold interrupted by {stop.signal_name} in fold {fold + 1} of {k} ({len(folds)} finished); "
                "k-fold runs keep no training state",
                stop.signal_number,
            ) from None
        test_graphs = labelled_graphs(
            [structures[i] for i in test_idx], [labels[i] for i in test_idx], result.model.elements, result.model.cutoff
        )
        metrics = error_metrics(predict_graphs(result.model, test_graphs, dtype=torch.float64))
        metrics["best_epoch"] = result.history.best_epoch
        metrics["epochs_run"] = len(result.history.epoch)
        folds.append(metrics)
        print(f"fold {fold + 1}/{k}: {_fold_line(metrics)}", flush=True)
        if early_peak(metrics["best_epoch"], metrics["epochs_run"]):
            warnings.warn(
                f"fold {fold + 1} of {k} had its best validation loss at epoch {metrics['best_epoch']} of "
                f"{metrics['epochs_run']}: the learning rate, the EMA (ema_decay) or the epoch budget may be wrong",
                UserWarning,
                stacklevel=2,
            )
    names = [n for n in folds[0] if n not in ("best_epoch", "epochs_run")]
    summary = {
        n: {"mean": float(np.mean([f[n] for f in folds])), "std": float(np.std([f[n] for f in folds]))} for n in names
    }
    return {"k": k, "folds": folds, "summary": summary}


def _fold_line(metrics: dict) -> str:
    """One fold's best epoch and test errors, in the units people quote."""
    parts = [f"best epoch {metrics['best_epoch']} of {metrics['epochs_run']}"]
    parts.append(f"test energy MAE {metrics['energy_mae_meV_per_atom']:.3g} meV/atom")
    if "forces_mae_eV_per_A" in metrics:
        parts.append(f"force MAE {metrics['forces_mae_eV_per_A']:.3g} eV/Å")
    if "stress_mae_GPa" in metrics:
        parts.append(f"stress MAE {metrics['stress_mae_GPa']:.3g} GPa")
    return ", ".join(parts)


def evaluate(
    model_spec,
    data,
    batch_size: int = 16,
    swap_stress_yz_xz: Sequence[str] = (),
    *,
    energy_key: str = "energy",
    forces_key: str = "forces",
    stress_key: str = "stress",
) -> dict[str, float]:
    """Errors of a model (path, shipped name or instance) on labelled data file(s).

    A potential: energy (meV/atom), force (eV/Å), stress (GPa) errors on labelled structures.
    ``swap_stress_yz_xz``: config_types whose σ_yz/σ_xz labels are exchanged on reading (``"*"``: all).
    ``energy_key`` / ``forces_key`` / ``stress_key``: where the labels are (e.g. ``REF_energy``), as for
    :func:`ase_mlmat.data.load_labelled`.

    A property model (ensemble): ``mae_<target>`` of its mean on a pymatgen JSON list (``data``, one file),
    in the units of each target.
    """
    model = load_model(model_spec)
    if hasattr(model, "targets"):  # a property model or ensemble
        from .property import build_graphs, load_dataset

        config = TrainConfig(
            data=[str(data)] if isinstance(data, (str, Path)) else list(data),
            targets=list(model.targets),
            model={"cutoff": model.cutoff},
            max_neighbors=model.max_neighbors,
        )
        dataset = load_dataset(config)
        graphs = build_graphs(config, dataset, model.elements)
        metrics = config.task().metrics(model, graphs)
        metrics["num_structures"] = len(dataset)
        return metrics
    model = load_model(model).double()
    keys = {"energy_key": energy_key, "forces_key": forces_key, "stress_key": stress_key}
    structures, labels = load_labelled(data, swap_stress_yz_xz, **keys)
    graphs = labelled_graphs(structures, labels, model.elements, model.cutoff)
    metrics = error_metrics(predict_graphs(model, graphs, batch_size=batch_size, dtype=torch.float64))
    metrics["num_structures"] = len(structures)
    return metrics
