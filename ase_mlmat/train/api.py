"""Python API of training: ``train`` one potential, ``cross_validate`` with k folds, ``evaluate``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from ase import Atoms

from .._version import __version__
from ..calculator import load_model, resolve_dtype
from ..checkpoint import save_potential
from ..data import LabelCounts, Labels, kfold_indices, load_labelled, train_val_split
from ..devices import resolve_device
from ..models.potential import Potential
from .config import TrainConfig
from .metrics import error_metrics, predict_graphs
from .targets import fit_reference_energies, force_rms, labelled_graphs
from .trainer import History, Trainer


@dataclass
class TrainResult:
    model: Potential
    history: History
    val_metrics: dict[str, float]
    train_metrics: dict[str, float]


def _elements_of(structures: Sequence[Atoms]) -> list[str]:
    from ase.data import atomic_numbers

    symbols = {s for atoms in structures for s in atoms.get_chemical_symbols()}
    return sorted(symbols, key=lambda s: atomic_numbers[s])


def build_model(config: TrainConfig, structures: Sequence[Atoms], labels: Sequence[Labels]) -> Potential:
    """A fresh model normalised on the training set, or the ``init_from`` model to fine-tune."""
    if config.init_from:
        model = load_model(config.init_from)
        missing = sorted(set(_elements_of(structures)) - set(model.elements))
        if missing:
            raise ValueError(f"cannot fine-tune {config.init_from!r}: elements {missing} not in its {model.elements}")
        return model
    elements = config.elements or _elements_of(structures)
    missing = sorted(set(_elements_of(structures)) - set(elements))
    if missing:
        raise ValueError(f"data holds elements {missing} that are not in the configured elements {elements}")
    reference = fit_reference_energies(structures, labels, elements)
    torch.manual_seed(config.seed)
    return Potential(config.architecture, config.model, elements, reference, scale=force_rms(labels))


def fit(
    config: TrainConfig,
    structures: Sequence[Atoms],
    labels: Sequence[Labels],
    val_structures: Sequence[Atoms] = (),
    val_labels: Sequence[Labels] = (),
) -> TrainResult:
    """Train on given structures; validation set for early stopping and model selection."""
    device, dtype = resolve_device(config.device), resolve_dtype(config.dtype)
    torch.manual_seed(config.seed)
    model = build_model(config, structures, labels)
    train_graphs = labelled_graphs(structures, labels, model.elements, model.cutoff)
    val_graphs = labelled_graphs(val_structures, val_labels, model.elements, model.cutoff)
    trainer = Trainer(model, config, device, dtype)
    best = trainer.fit(train_graphs, val_graphs)
    val_metrics = error_metrics(predict_graphs(best, val_graphs, device=device, dtype=dtype)) if val_graphs else {}
    train_metrics = error_metrics(predict_graphs(best, train_graphs, device=device, dtype=dtype))
    return TrainResult(best.cpu().double(), trainer.history, val_metrics, train_metrics)


def _load(config: TrainConfig) -> tuple[list[Atoms], list[Labels]]:
    """The labelled data of ``config``; the label counts printed where progress is shown."""
    structures, labels = load_labelled(config.data, config.swap_stress_yz_xz, **config.label_keys)
    if config.progress:
        print(LabelCounts.of(labels), flush=True)
    return structures, labels


def train(config: TrainConfig) -> TrainResult:
    """Read ``config.data``, split, train, save ``config.output`` (+ plots and a JSON report)."""
    structures, labels = _load(config)
    train_idx, val_idx = train_val_split(len(structures), config.val_fraction, config.seed)
    result = fit(
        config,
        [structures[i] for i in train_idx],
        [labels[i] for i in train_idx],
        [structures[i] for i in val_idx],
        [labels[i] for i in val_idx],
    )
    metadata = {
        "trained_with": __version__,
        "config": config.to_dict(),
        "num_train": len(train_idx),
        "num_val": len(val_idx),
        "val_metrics": result.val_metrics,
        "train_metrics": result.train_metrics,
        "best_epoch": result.history.best_epoch,
        "epochs_run": len(result.history.epoch),
        "seconds": result.history.seconds,
    }
    output = Path(config.output)
    save_potential(result.model, output, metadata)
    output.with_suffix(".json").write_text(json.dumps({**metadata, "history": result.history.to_dict()}, indent=1))
    if config.plots:
        from .plots import learning_curve, parity_plot

        learning_curve(result.history, output.with_name(output.stem + "_learning_curve.png"))
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


def cross_validate(config: TrainConfig, k: int) -> dict:
    """k-fold CV: train on k-1 folds (with a validation split of them), test on the held-out fold.

    Returns per-fold test metrics and their mean and standard deviation.
    """
    structures, labels = _load(config)
    folds = []
    for fold, (train_idx, test_idx) in enumerate(kfold_indices(len(structures), k, config.seed)):
        inner_train, inner_val = train_val_split(len(train_idx), config.val_fraction, config.seed + fold)
        tr, va = train_idx[inner_train], train_idx[inner_val]
        result = fit(
            config,
            [structures[i] for i in tr],
            [labels[i] for i in tr],
            [structures[i] for i in va],
            [labels[i] for i in va],
        )
        test_graphs = labelled_graphs(
            [structures[i] for i in test_idx], [labels[i] for i in test_idx], result.model.elements, result.model.cutoff
        )
        metrics = error_metrics(predict_graphs(result.model, test_graphs, dtype=torch.float64))
        metrics["epochs_run"] = len(result.history.epoch)
        folds.append(metrics)
    names = [n for n in folds[0] if n != "epochs_run"]
    summary = {
        n: {"mean": float(np.mean([f[n] for f in folds])), "std": float(np.std([f[n] for f in folds]))} for n in names
    }
    return {"k": k, "folds": folds, "summary": summary}


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
    """Errors of a model (path, shipped name or Potential) on labelled data file(s).

    ``swap_stress_yz_xz``: config_types whose σ_yz/σ_xz labels are exchanged on reading (``"*"``: all).
    ``energy_key`` / ``forces_key`` / ``stress_key``: where the labels are (e.g. ``REF_energy``), as for
    :func:`ase_mlmat.data.load_labelled`.
    """
    model = load_model(model_spec).double()
    keys = {"energy_key": energy_key, "forces_key": forces_key, "stress_key": stress_key}
    structures, labels = load_labelled(data, swap_stress_yz_xz, **keys)
    graphs = labelled_graphs(structures, labels, model.elements, model.cutoff)
    metrics = error_metrics(predict_graphs(model, graphs, batch_size=batch_size, dtype=torch.float64))
    metrics["num_structures"] = len(structures)
    return metrics
