"""Python API of training: ``train`` one potential, ``cross_validate`` with k folds, ``evaluate``."""

from __future__ import annotations

import copy
import inspect
import json
import signal
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from ase import Atoms

from .. import keys
from .._version import __version__
from ..calculator import resolve_dtype
from ..checkpoint import read_checkpoint
from ..data import LabelCounts, Labels, kfold_indices, load_labelled, train_val_split
from ..devices import resolve_device
from ..graph import collate, to_device
from ..model_store import load_model, save_potential
from ..models.potential import Potential
from ..models.registry import get_architecture
from ..yaml_config import ConfigError
from .config import DEFAULT_MODEL, TrainConfig
from .metrics import error_metrics, predict_graphs
from .targets import fit_reference_energies, force_rms, labelled_graphs
from .trainer import STATE_FORMAT, History, Trainer, TrainingInterrupted, state_path


@dataclass
class TrainResult:
    model: Potential
    history: History
    val_metrics: dict[str, float]
    train_metrics: dict[str, float]


def _elements_of(structures: Sequence[Atoms]) -> list[str]:
    """The chemical symbols in ``structures``, in order of atomic number."""
    return _by_atomic_number({s for atoms in structures for s in atoms.get_chemical_symbols()})


def _by_atomic_number(symbols) -> list[str]:
    from ase.data import atomic_numbers

    return sorted(set(symbols), key=lambda s: atomic_numbers[s])


def build_model(config: TrainConfig, structures: Sequence[Atoms], labels: Sequence[Labels]) -> Potential:
    """A fresh model normalised on the training set, or the ``init_from`` model prepared for fine-tuning.

    Element order: a fresh model takes ``config.elements``, else those of the data by atomic number. A
    fine-tuned model keeps the checkpoint's elements in their order and appends new ones (from
    ``config.elements``, else the data) by atomic number.
    """
    if config.init_from:
        return _finetune_start(config, structures, labels)
    elements = config.elements or _elements_of(structures)
    missing = sorted(set(_elements_of(structures)) - set(elements))
    if missing:
        raise ValueError(f"data holds elements {missing} that are not in the configured elements {elements}")
    reference = fit_reference_energies(structures, labels, elements)
    torch.manual_seed(config.seed)
    options = {**DEFAULT_MODEL, **config.model}
    return Potential(config.architecture, options, elements, reference, scale=force_rms(labels))


def _check_unchangeable(config: TrainConfig, model: Potential) -> None:
    """ConfigError naming each architecture or ``model:`` option of ``config`` that differs from the checkpoint's."""
    differ = []
    if config.architecture != model.architecture:
        differ.append(f"architecture: checkpoint {model.architecture!r}, given {config.architecture!r}")
    else:
        defaults = {
            name: p.default
            for name, p in inspect.signature(get_architecture(model.architecture).__init__).parameters.items()
            if p.default is not inspect.Parameter.empty
        }
        for key, given in config.model.items():
            held = model.config.get(key, defaults.get(key))
            if given != held:
                differ.append(f"model.{key}: checkpoint {held!r}, given {given!r}")
    if differ:
        raise ConfigError(
            f"init_from {config.init_from!r} fixes the architecture; cannot change {'; '.join(differ)} "
            "(leave these keys out to inherit the checkpoint's)"
        )


def refit_reference_energies(model: Potential, structures: Sequence[Atoms], labels: Sequence[Labels]) -> None:
    """Set ``model``'s reference energies to the least-squares fit of the energy labels minus the network's part.

    The network part (Σ_i shift + scale · net_i, eV per structure) is what the model predicts besides the
    reference energies; fitting the rest per element leaves the network a zero-mean residual on these labels.
    The per-atom ``shift`` is collinear with the reference energies and is kept; ``scale`` is kept. In place.
    """
    graphs = labelled_graphs(structures, labels, model.elements, model.cutoff)
    reference = model.reference_energies
    exact = copy.deepcopy(model).to(device="cpu", dtype=torch.float64).eval()  # float32 sums would bias the fit
    predicted = []
    with torch.no_grad():
        for start in range(0, len(graphs), 16):
            batch = to_device(collate(graphs[start : start + 16]), "cpu", torch.float64)
            predicted.append(exact(batch, forces=False, stress=False)[keys.ENERGY])  # (B,) eV
    index = {symbol: k for k, symbol in enumerate(model.elements)}
    old = reference.double().cpu().numpy()
    offsets = torch.cat(predicted).numpy() - [sum(old[index[s]] for s in a.get_chemical_symbols()) for a in structures]
    residual = [replace(label, energy=label.energy - offset) for label, offset in zip(labels, offsets)]
    fitted = fit_reference_energies(structures, residual, model.elements)
    model.reference_energies = torch.as_tensor(fitted, dtype=reference.dtype, device=reference.device)


def _finetune_start(config: TrainConfig, structures: Sequence[Atoms], labels: Sequence[Labels]) -> Potential:
    """The ``init_from`` model with the new elements appended and its reference energies refitted on the data."""
    model = copy.deepcopy(load_model(config.init_from))  # a Potential given by the caller is left untouched
    _check_unchangeable(config, model)
    wanted = config.elements or _elements_of(structures)
    added = [s for s in _by_atomic_number(wanted) if s not in model.elements]
    missing = sorted(set(_elements_of(structures)) - set(model.elements) - set(added))
    if missing:
        raise ValueError(f"data holds elements {missing} that are not in the configured elements {wanted}")
    model.add_elements(added)
    before = model.reference_energies.clone()
    refit_reference_energies(model, structures, labels)
    if config.progress:
        shifts = ", ".join(
            f"{s} {b:+.3f} → {a:+.3f}" if s not in added else f"{s} (new) {a:+.3f}"
            for s, b, a in zip(model.elements, before.tolist(), model.reference_energies.tolist())
        )
        print(
            f"fine-tuning {config.init_from}: reference energies refitted (eV/atom): {shifts}; "
            f"learning rate {config.learning_rate:g}",
            flush=True,
        )
    return model


def fit(
    config: TrainConfig,
    structures: Sequence[Atoms],
    labels: Sequence[Labels],
    val_structures: Sequence[Atoms] = (),
    val_labels: Sequence[Labels] = (),
) -> TrainResult:
    """Train on given structures; validation set for early stopping and model selection.

    Raises:
        TrainingInterrupted: SIGINT or SIGTERM stopped the run (its ``result`` holds the best model so far).
    """
    result = _fit(config, structures, labels, val_structures, val_labels)
    signum = _stopping_signal(result.history)
    if signum is not None:
        raise TrainingInterrupted(f"training interrupted by {result.history.stopped}", signum, result)
    return result


def _stopping_signal(history: History) -> int | None:
    """The number of the signal that stopped the run, or None if it ended by itself."""
    return int(signal.Signals[history.stopped]) if history.stopped.startswith("SIG") else None


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
    device, dtype = resolve_device(config.device), resolve_dtype(config.dtype)
    torch.manual_seed(config.seed)
    model = build_model(config, structures, labels)
    train_graphs = labelled_graphs(structures, labels, model.elements, model.cutoff)
    val_graphs = labelled_graphs(val_structures, val_labels, model.elements, model.cutoff)
    trainer = Trainer(model, config, device, dtype, state_path=state_file, state_extra=state_extra)
    if state is not None:
        trainer.load_state_dict(state)
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


# Settings a resumed run must share with the run that wrote the state: they fix the model, data and split.
RESUME_FIXED = (
    "data",
    "architecture",
    "model",
    "elements",
    "init_from",
    "val_fraction",
    "seed",
    "swap_stress_yz_xz",
    "energy_key",
    "forces_key",
    "stress_key",
)


def read_training_state(path: str | Path, config: TrainConfig, num_structures: int) -> dict:
    """The training state in ``path``, checked against ``config`` and the data size.

    Raises:
        FileNotFoundError: there is no state to resume from.
        ValueError: the state cannot continue under ``config`` (its fixed settings, data or epochs differ).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"cannot resume: there is no training state {str(path)!r} (written every checkpoint_every epochs and "
            "on Ctrl-C beside the output); train without --resume to start afresh"
        )
    state = read_checkpoint(path, STATE_FORMAT, "ase-mlmat training-state")
    saved = state["config"]
    differ = [key for key in RESUME_FIXED if saved.get(key) != getattr(config, key)]
    if differ:
        raise ValueError(
            f"cannot resume from {str(path)!r}: the config differs from that run's in {', '.join(differ)} "
            "(they fix the model, data and split); restore them or train without --resume"
        )
    if state["num_structures"] != num_structures:
        raise ValueError(
            f"cannot resume from {str(path)!r}: the data now hold {num_structures} structures, "
            f"the interrupted run had {state['num_structures']}"
        )
    stopped, epoch = state["history"]["stopped"], int(state["epoch"])
    if stopped in ("early stopping", "time budget"):
        raise ValueError(f"cannot resume from {str(path)!r}: that run already finished ({stopped} at epoch {epoch})")
    if stopped == "epochs" and epoch >= config.epochs:
        raise ValueError(
            f"cannot resume from {str(path)!r}: that run already finished all {epoch} epochs; raise epochs to go on"
        )
    return state


def train(config: TrainConfig, *, resume: bool = False) -> TrainResult:
    """Read ``config.data``, split, train, save ``config.output`` (+ plots and a JSON report).

    The training state goes to ``<output stem>.state.pt`` every ``config.checkpoint_every`` epochs, at the end
    and on SIGINT/SIGTERM; ``resume=True`` continues from it (same split, weights, optimiser and generators).
    The settings in :data:`RESUME_FIXED` must be those of the run that wrote it; others may change (more
    ``epochs``, say); the optimiser and the plateau schedule continue from the state.

    Raises:
        TrainingInterrupted: after SIGINT or SIGTERM, once the best model so far and the state are written.
    """
    structures, labels = _load(config)
    output = Path(config.output)
    state_file = state_path(output)
    state = None
    if resume:
        state = read_training_state(state_file, config, len(structures))
        train_idx, val_idx = state["train_indices"].numpy(), state["val_indices"].numpy()
    else:
        train_idx, val_idx = train_val_split(len(structures), config.val_fraction, config.seed)
    extra = {
        "config": config.to_dict(),
        "num_structures": len(structures),
        "train_indices": torch.as_tensor(train_idx, dtype=torch.int64),
        "val_indices": torch.as_tensor(val_idx, dtype=torch.int64),
    }
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
    metadata = {
        "trained_with": __version__,
        "config": config.to_dict(),
        "num_train": len(train_idx),
        "num_val": len(val_idx),
        "val_metrics": result.val_metrics,
        "train_metrics": result.train_metrics,
        "best_epoch": result.history.best_epoch,
        "epochs_run": len(result.history.epoch),
        "stopped": result.history.stopped,
        "seconds": result.history.seconds,
    }
    save_potential(result.model, output, metadata)
    output.with_suffix(".json").write_text(json.dumps({**metadata, "history": result.history.to_dict()}, indent=1))
    signum = _stopping_signal(result.history)
    if signum is not None:
        raise TrainingInterrupted(
            f"training interrupted by {result.history.stopped} after epoch {max(result.history.epoch, default=0)}: "
            f"the best model so far (epoch {result.history.best_epoch}) is in {str(output)!r}, the training state "
            f"in {str(state_file)!r}; continue with train(config, resume=True) or mlmat train --resume",
            signum,
            result,
        )
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


def early_peak(best_epoch: int, epochs_run: int) -> bool:
    """Whether a run peaked in its first epochs: at or before max(3, 10 % of the epochs run), with more run."""
    first = max(3, int(0.1 * epochs_run))
    return best_epoch <= first < epochs_run


def cross_validate(config: TrainConfig, k: int) -> dict:
    """k-fold CV: train on k-1 folds (with a validation split of them), test on the held-out fold.

    Prints each fold as it finishes (best epoch, test errors) and warns when a fold's validation loss
    was lowest in its first epochs. Returns per-fold test metrics with ``best_epoch`` and ``epochs_run``,
    and their mean and standard deviation.
    """
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
