"""Fitting one :class:`PropertyModel` to per-structure targets: mini-batches, AdamW, cosine, early stopping."""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm

from ..devices import module_device, resolve_device
from ..graph import collate, to_device
from ..models.property_model import PropertyModel
from .property_config import PropertyTrainConfig


@dataclass
class PropertyHistory:
    """Per-epoch record: losses on standardised targets, validation MAE per target (target units)."""

    epoch: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_mae: list[list[float]] = field(default_factory=list)
    learning_rate: list[float] = field(default_factory=list)
    best_epoch: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def batches(
    graphs: Sequence[dict], batch_size: int, order: Sequence[int] | None = None, device: torch.device | str = "cpu"
):
    """(indices, collated batch on ``device``) over ``graphs`` in ``order`` (default: as given)."""
    order = np.arange(len(graphs)) if order is None else np.asarray(order)
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        yield chunk, to_device(collate([graphs[k] for k in chunk]), device)


@torch.no_grad()
def predict_model(model: torch.nn.Module, graphs: Sequence[dict], batch_size: int = 256) -> np.ndarray:
    """Predictions (n, T) in target units of a model or an ensemble (its mean), in eval mode, on its device."""
    model.eval()
    if not graphs:
        return np.zeros((0, len(model.targets)))
    outputs = []
    for _, batch in batches(graphs, batch_size, device=module_device(model)):
        out = model(batch)
        outputs.append((out[0] if isinstance(out, tuple) else out).double().cpu().numpy())
    return np.concatenate(outputs)


def _loss(pred: torch.Tensor, target: torch.Tensor, kind: str) -> torch.Tensor:
    diff = pred - target
    return diff.abs().mean() if kind == "l1" else (diff * diff).mean()


def fit_property_model(
    model: PropertyModel,
    config: PropertyTrainConfig,
    train_graphs: Sequence[dict],
    train_targets: np.ndarray,
    val_graphs: Sequence[dict] = (),
    val_targets: np.ndarray | None = None,
    *,
    seed: int = 0,
) -> tuple[PropertyModel, PropertyHistory]:
    """Train ``model`` (its target_mean/std already set) on ``config.device``; return it with the
    best-validation weights (still on that device) and the history.

    Args:
        train_targets, val_targets: (n, T) in target units.
        seed: shuffling and initialisation differ between ensemble members through it.
    """
    rng = np.random.default_rng(seed)
    device = resolve_device(config.device)
    model = model.to(device)
    mean, std = model.target_mean, model.target_std
    y_train = (torch.as_tensor(train_targets, dtype=torch.float32, device=device) - mean) / std
    std = std.cpu()
    has_val = len(val_graphs) > 0
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    clock = time.process_time if config.budget_clock == "cpu" else time.perf_counter
    start_clock, start_wall = clock(), time.perf_counter()
    history = PropertyHistory()
    best_loss, best_state, stale = math.inf, None, 0
    bar = tqdm(range(1, config.epochs + 1), disable=not config.progress, desc="training", unit="epoch")
    for epoch in bar:
        model.train()
        total = 0.0
        for chunk, batch in batches(train_graphs, config.batch_size, rng.permutation(len(train_graphs)), device):
            if len(chunk) < 2:  # batch norm needs two structures
                continue
            optimizer.zero_grad(set_to_none=True)
            loss = _loss(model.normalized(batch), y_train[torch.as_tensor(chunk, device=device)], config.loss)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"training loss became {float(loss)} at epoch {epoch}")
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(chunk)
        train_loss = total / len(train_graphs)
        if has_val:
            pred = predict_model(model, val_graphs)
            errors = np.abs(pred - val_targets)
            val_mae = errors.mean(axis=0)
            val_loss = (
                float((errors / std.numpy()).mean())
                if config.loss == "l1"
                else float((((pred - val_targets) / std.numpy()) ** 2).mean())
            )
        else:
            val_mae, val_loss = np.full(len(model.targets), np.nan), train_loss
        elapsed = (clock() - start_clock) / 60
        progress = epoch / config.epochs
        if config.max_minutes:
            progress = max(progress, elapsed / config.max_minutes)
        lr = optimizer.param_groups[0]["lr"]
        low, high = config.min_learning_rate, config.learning_rate
        for group in optimizer.param_groups:
            group["lr"] = low + 0.5 * (high - low) * (1 + math.cos(math.pi * min(progress, 1.0)))
        history.epoch.append(epoch)
        history.train_loss.append(train_loss)
        history.val_loss.append(val_loss)
        history.val_mae.append([float(x) for x in val_mae])
        history.learning_rate.append(lr)
        if val_loss < best_loss:
            best_loss, stale, history.best_epoch = val_loss, 0, epoch
            best_state = copy.deepcopy(model.state_dict())
        else:
            stale += 1
        bar.set_postfix(train=f"{train_loss:.3g}", val=f"{val_loss:.3g}")
        if stale >= config.early_stopping_patience or progress >= 1.0:
            break
    history.seconds = time.perf_counter() - start_wall
    if best_state is not None:
        model.load_state_dict(best_state)
    return model.eval(), history
