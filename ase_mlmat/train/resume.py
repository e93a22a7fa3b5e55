"""A run's start and end for both kinds of model: the split (or the one a training state holds, checked against the
configuration and data of the run that continues it), and the saved model with its report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from .._version import __version__
from ..checkpoint import read_checkpoint
from ..data.splits import train_val_split
from ..model_store import save_model
from . import distributed
from .config import TrainConfig
from .trainer import STATE_FORMAT, TrainingInterrupted, TrainResult, stopping_signal

# Settings a resumed run must share with the run that wrote the state: they fix the model, data and split.
RESUME_FIXED = (
    "data",
    "targets",
    "limit",
    "architecture",
    "model",
    "max_neighbors",
    "elements",
    "ensemble_size",
    "init_from",
    "val_fraction",
    "seed",
    "swap_stress_yz_xz",
    "energy_key",
    "forces_key",
    "stress_key",
)


def read_training_state(path: str | Path, config, num_structures: int, fixed: tuple[str, ...] = RESUME_FIXED) -> dict:
    """The training state in ``path``, checked against ``config`` and the data size.

    ``config``: the run's settings (a :class:`TrainConfig`, or a plugin kind's config with ``epochs``);
    ``fixed``: its settings that must equal those of the run that wrote the state.

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
    differ = [key for key in fixed if saved.get(key) != getattr(config, key)]
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


def run_split(
    config: TrainConfig, num_structures: int, state_file: Path, resume: bool
) -> tuple[dict | None, np.ndarray, np.ndarray, dict]:
    """The training/validation split of a run: the saved state's when resuming, else a fresh seeded one.

    Returns the state (None for a fresh run), the two index arrays, and the entries every training state of
    this run must carry (config, data size and the split) so that a later ``--resume`` can be checked.
    """
    state = None
    if resume:
        state = read_training_state(state_file, config, num_structures)
        train_idx, val_idx = state["train_indices"].numpy(), state["val_indices"].numpy()
    else:
        train_idx, val_idx = train_val_split(num_structures, config.val_fraction, config.seed)
    extra = {
        "config": config.to_dict(),
        "num_structures": num_structures,
        "train_indices": torch.as_tensor(train_idx, dtype=torch.int64),
        "val_indices": torch.as_tensor(val_idx, dtype=torch.int64),
    }
    return state, train_idx, val_idx, extra


def run_metadata(config: TrainConfig, result: TrainResult, num_train: int, num_val: int) -> dict:
    """What every saved model records of its run: version, config, split sizes and errors."""
    return {
        "trained_with": __version__,
        "config": config.to_dict(),
        "num_train": num_train,
        "num_val": num_val,
        "val_metrics": result.val_metrics,
        "train_metrics": result.train_metrics,
    }


def save_run(result: TrainResult, output: Path, metadata: dict, histories: dict, interrupted: str) -> None:
    """Save ``result.model`` with ``metadata`` and the JSON report (``metadata`` and ``histories``) beside it
    (on rank 0 only, under torchrun).

    Raises:
        TrainingInterrupted: with the message ``interrupted``, when SIGINT or SIGTERM stopped the run (the best
            model so far is saved first).
    """
    if distributed.is_main():  # under torchrun every process has the same model; rank 0 writes it
        save_model(result.model, output, metadata)
        output.with_suffix(".json").write_text(json.dumps({**metadata, **histories}, indent=1))
    signum = stopping_signal(result.history)
    if signum is not None:
        raise TrainingInterrupted(interrupted, signum, result)
