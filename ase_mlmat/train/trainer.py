"""Fitting a :class:`Potential` to labelled graphs: mini-batches, Adam, schedule, EMA, early stopping."""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm

from .. import keys
from ..graph import collate, to_device
from ..models.potential import Potential
from .config import TrainConfig
from .metrics import error_metrics, predict_graphs
from .targets import HAS_FORCES, HAS_STRESS, TARGET_ENERGY, TARGET_FORCES, TARGET_STRESS


@dataclass
class History:
    """Per-epoch record of a training run."""

    epoch: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_energy_mae: list[float] = field(default_factory=list)  # meV/atom
    val_forces_mae: list[float] = field(default_factory=list)  # eV/Å
    learning_rate: list[float] = field(default_factory=list)
    best_epoch: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def batch_loss(model: Potential, batch: dict, config: TrainConfig, create_graph: bool) -> torch.Tensor:
    """Weighted MSE of energy per atom, force components and stress components."""
    pred = model(batch, forces=config.forces_weight > 0, stress=config.stress_weight > 0, create_graph=create_graph)
    n = batch[keys.NUM_ATOMS].to(pred[keys.ENERGY].dtype)
    loss = config.energy_weight * torch.mean(((pred[keys.ENERGY] - batch[TARGET_ENERGY]) / n) ** 2)
    if config.forces_weight > 0:
        atom_mask = batch[HAS_FORCES][batch[keys.BATCH]]
        if bool(atom_mask.any()):
            diff = (pred[keys.FORCES] - batch[TARGET_FORCES])[atom_mask]
            loss = loss + config.forces_weight * torch.mean(diff**2)
    if config.stress_weight > 0:
        mask = batch[HAS_STRESS]
        if bool(mask.any()):
            diff = (pred[keys.STRESS] - batch[TARGET_STRESS])[mask]
            loss = loss + config.stress_weight * torch.mean(diff**2)
    return loss


class Trainer:
    """Trains ``model`` in place per ``config``; the best (lowest validation loss) EMA weights win."""

    def __init__(self, model: Potential, config: TrainConfig, device: torch.device, dtype: torch.dtype):
        self.config = config
        self.device = device
        self.dtype = dtype
        self.model = model.to(device=device, dtype=dtype)
        self.ema = copy.deepcopy(self.model)
        self.optimizer = torch.optim.AdamW(
            self.model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay, amsgrad=True
        )
        if config.scheduler == "cosine":
            self.scheduler = None  # set per epoch from progress in epochs or wall-clock budget
        else:
            self.scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
                self.optimizer,
                factor=config.scheduler_factor,
                patience=config.scheduler_patience,
                min_lr=config.min_learning_rate,
            )
        self.history = History()

    @torch.no_grad()
    def _update_ema(self) -> None:
        decay = self.config.ema_decay
        for p_ema, p in zip(self.ema.parameters(), self.model.parameters()):
            p_ema.lerp_(p, 1.0 - decay)

    def _progress(self, epoch: int, elapsed_minutes: float) -> float:
        """Fraction of the run done: by epochs, or by wall-clock time when a budget is set."""
        progress = epoch / self.config.epochs
        if self.config.max_minutes:
            progress = max(progress, elapsed_minutes / self.config.max_minutes)
        return min(progress, 1.0)

    def _set_cosine_lr(self, epoch: int, elapsed_minutes: float) -> None:
        lo, hi = self.config.min_learning_rate, self.config.learning_rate
        lr = lo + 0.5 * (hi - lo) * (1.0 + math.cos(math.pi * self._progress(epoch, elapsed_minutes)))
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def _validation_loss(self, graphs: Sequence[dict]) -> float:
        total, count = 0.0, 0
        self.ema.eval()
        for start in range(0, len(graphs), self.config.batch_size):
            chunk = graphs[start : start + self.config.batch_size]
            batch = to_device(collate(chunk), self.device, self.dtype)
            loss = batch_loss(self.ema, batch, self.config, create_graph=False)
            total += float(loss.detach()) * len(chunk)
            count += len(chunk)
        return total / max(count, 1)

    def _clock(self) -> float:
        """Seconds on the clock the budget is counted in."""
        return time.process_time() if self.config.budget_clock == "cpu" else time.perf_counter()

    def fit(self, train: Sequence[dict], val: Sequence[dict]) -> Potential:
        """Run the epochs; return the EMA model at the best validation epoch (or the last, without val)."""
        config = self.config
        rng = np.random.default_rng(config.seed)
        best_loss, best_state, stale = math.inf, None, 0
        start_time, start_clock = time.perf_counter(), self._clock()
        bar = tqdm(range(1, config.epochs + 1), disable=not config.progress, desc="training", unit="epoch")
        for epoch in bar:
            self.model.train()
            order = rng.permutation(len(train))
            epoch_loss = 0.0
            for start in range(0, len(order), config.batch_size):
                chunk = [train[k] for k in order[start : start + config.batch_size]]
                batch = to_device(collate(chunk), self.device, self.dtype)
                self.optimizer.zero_grad(set_to_none=True)
                loss = batch_loss(self.model, batch, config, create_graph=True)
                if not torch.isfinite(loss):
                    raise FloatingPointError(f"training loss became {float(loss)} at epoch {epoch}")
                loss.backward()
                if config.gradient_clip:
                    torch.nn.utils.clip_grad_norm_(self.model.parameters(), config.gradient_clip)
                self.optimizer.step()
                self._update_ema()
                epoch_loss += float(loss.detach()) * len(chunk)
            epoch_loss /= len(train)
            val_loss = self._validation_loss(val) if val else epoch_loss
            lr = self.optimizer.param_groups[0]["lr"]
            elapsed = (self._clock() - start_clock) / 60
            if self.scheduler is None:
                self._set_cosine_lr(epoch, elapsed)
            else:
                self.scheduler.step(val_loss)
            self.history.epoch.append(epoch)
            self.history.train_loss.append(epoch_loss)
            self.history.val_loss.append(val_loss)
            self.history.learning_rate.append(lr)
            if val_loss < best_loss:
                best_loss, stale = val_loss, 0
                best_state = copy.deepcopy(self.ema.state_dict())
                self.history.best_epoch = epoch
            else:
                stale += 1
            bar.set_postfix(train=f"{epoch_loss:.3g}", val=f"{val_loss:.3g}", lr=f"{lr:.1e}")
            if stale >= config.early_stopping_patience:
                break
            if config.max_minutes is not None and elapsed > config.max_minutes:
                break
        self.history.seconds = time.perf_counter() - start_time
        if best_state is not None:
            self.ema.load_state_dict(best_state)
        if val:
            metrics = error_metrics(predict_graphs(self.ema, val, device=self.device, dtype=self.dtype))
            self.history.val_energy_mae.append(metrics["energy_mae_meV_per_atom"])
            self.history.val_forces_mae.append(metrics.get("forces_mae_eV_per_A", float("nan")))
        return self.ema.eval()
