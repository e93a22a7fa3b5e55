"""The one training loop: a model and its task's loss terms, mini-batches, AdamW, schedule, EMA, early stopping.

Potentials, property models and plugins' models (the glass network) train here alike; what differs is the
:class:`~.losses.Task` (which outputs, which targets, which loss terms). The trainer's whole state (weights,
EMA, optimiser, schedule, best epoch, history, random generators) is one plain payload,
:meth:`Trainer.state_dict`, written every ``checkpoint_every`` epochs and when SIGINT or SIGTERM stops a run,
so that training continues from it (``mlmat train --resume``).

Randomness: the order of the training structures, and the task's augmentation (:meth:`Task.augment`), come
from the trainer's own ``torch.Generator`` seeded with ``config.seed``; anything in the model that draws from
torch's global generator (dropout) draws from a copy seeded the same way, so a run repeats exactly and leaves
the caller's generator as it was.

Several processes (``torchrun``, :mod:`.distributed`): every process holds the same model, split and
generators; each global batch of ``batch_size`` structures is split between them, each process sums its
loss terms over its share and divides by the counts of the whole batch (summed over the processes), and the
gradients are summed over the processes. The step is then the one-process step on the same global batch, up
to rounding (DistributedDataParallel would average per-process means instead, which differ from the mean of
the batch when the shares hold different numbers of atoms or labels, and it does not support the double
backward of force training). Validation is split and summed likewise; the budget clock is the mean of the
processes', so every decision (schedule, best epoch, early stopping, a signal) is the same on all of them.
Only rank 0 writes the training state.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import math
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

from .._version import __version__
from ..checkpoint import write_checkpoint
from ..graph import to_device
from . import distributed
from .config import TrainConfig
from .losses import ENERGY_PER_ATOM, Task

STATE_FORMAT = "ase-mlmat-train-state/1"
CAUGHT_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def state_path(output: str | Path) -> Path:
    """The training-state file that belongs to the model file ``output``: ``<output stem>.state.pt``."""
    output = Path(output)
    return output.with_name(output.stem + ".state.pt")


class TrainingInterrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM stopped training after a completed optimiser step.

    A ``KeyboardInterrupt`` so that a script or notebook stops as it would on Ctrl-C without the trainer;
    ``train`` raises it after writing the best model so far and the training state.
    """

    def __init__(self, message: str, signal_number: int, result=None):
        super().__init__(message)
        self.signal_number = signal_number
        self.result = result  # the TrainResult of the best model so far, where there is one

    @property
    def signal_name(self) -> str:
        return signal.Signals(self.signal_number).name

    @property
    def exit_code(self) -> int:
        """The shell's code for death by this signal: 130 for SIGINT, 143 for SIGTERM."""
        return 128 + self.signal_number

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass
class History:
    """Per-epoch record of a training run."""

    epoch: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)  # the task's weighted loss, a pure number
    val_loss: list[float] = field(default_factory=list)
    learning_rate: list[float] = field(default_factory=list)
    best_epoch: int = 0
    seconds: float = 0.0
    stopped: str = ""  # why the run ended: "epochs", "early stopping", "time budget", "SIGINT" or "SIGTERM"
    val_metrics: dict = field(default_factory=dict)  # the task's errors of the returned model on validation
    finish_epoch: int = 0  # first epoch of the energy finish (0: none)

    def to_dict(self) -> dict:
        return copy.deepcopy(self.__dict__)


def _cpu(state: dict) -> dict:
    return {k: v.detach().cpu().clone() for k, v in state.items()}


def _on_cpu(value):
    """``value`` with every tensor in its dicts, lists and tuples moved to the CPU (a state file loads anywhere)."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, dict):
        return {k: _on_cpu(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_on_cpu(v) for v in value)
    return value


@dataclass
class TrainResult:
    """A trained model (a potential, or an ensemble of property models), its history and its errors.

    ``histories`` holds one history per model trained (the members of an ensemble); ``history`` is the first.
    """

    model: nn.Module
    history: History
    val_metrics: dict[str, float]
    train_metrics: dict[str, float]
    histories: list[History] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.histories = self.histories or [self.history]


def early_peak(best_epoch: int, epochs_run: int) -> bool:
    """Whether a run peaked in its first epochs: at or before max(3, 10 % of the epochs run), with more run."""
    first = max(3, int(0.1 * epochs_run))
    return best_epoch <= first < epochs_run


def stopping_signal(history: History) -> int | None:
    """The number of the signal that stopped the run, or None if it ended by itself."""
    return int(signal.Signals[history.stopped]) if history.stopped.startswith("SIG") else None


def _has_batch_norm(model: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


class Trainer:
    """Trains ``model`` in place per ``config``; the best (lowest validation loss) EMA weights win.

    Args:
        model: a potential, a property model, any module the task can run.
        task: the outputs, targets and loss terms; default ``config.task()``.
        state_path: where the training state is written (every ``config.checkpoint_every`` epochs, at the
            end, and on SIGINT/SIGTERM); None: never.
        state_extra: plain data stored with the state (the caller's split, config, data size).
    """

    def __init__(
        self,
        model: nn.Module,
        config: TrainConfig,
        device: torch.device,
        dtype: torch.dtype,
        *,
        task: Task | None = None,
        state_path: str | Path | None = None,
        state_extra: dict | None = None,
    ):
        self.config = config
        self.task = config.task() if task is None else task
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
        self.generator = torch.Generator().manual_seed(config.seed)  # training order, augmentation
        self.torch_rng = torch.Generator().manual_seed(config.seed).get_state()  # the model's global draws
        self.world = distributed.init(device)  # number of training processes
        # batch norm cannot normalise over one structure: a last training batch of one (per process) is left out
        self.min_batch = 2 * self.world if _has_batch_norm(self.model) else 1
        self.epoch = 0  # epochs completed
        self.num_updates = 0  # optimiser steps taken, for the EMA warm-up
        self.best_loss = math.inf
        self.best_state: dict | None = None  # EMA weights at the best epoch (CPU)
        self.stale = 0  # epochs since the best one
        self.elapsed_minutes = 0.0  # on the budget clock, over all sessions of this run
        self.interrupted: int | None = None  # the signal that stopped the run
        self.loss_task = self.task  # the loss terms in use: the task's, or the energy finish's
        self.finish_start: float | None = None  # progress (0-1) at which the energy finish began
        self.state_path = None if state_path is None else Path(state_path)
        self.state_extra = dict(state_extra or {})
        self.signal_seen: int | None = None  # a signal this process caught, not yet agreed on by all processes

    @torch.no_grad()
    def _update_ema(self) -> None:
        # Warm-up as TensorFlow's ExponentialMovingAverage with num_updates: decay_t = min(decay, (1+t)/(10+t)).
        # The random start's share after n steps is 1/C(n+9, 9) (5e-4 after 5 steps) instead of decay^n
        # (0.37 after 100 steps at 0.99). A bias correction (start from zero, divide by 1 - decay^n) would
        # also remove the start, but would weigh every early step alike until n ~ 1/(1 - decay), early
        # weights that are far from the later ones; the ramp averages over the last ~n/9 steps instead.
        decay = min(self.config.ema_decay, (1.0 + self.num_updates) / (10.0 + self.num_updates))
        self.num_updates += 1
        for p_ema, p in zip(self.ema.parameters(), self.model.parameters()):
            p_ema.lerp_(p, 1.0 - decay)
        # buffers as timm's ModelEmaV2: running batch-norm statistics averaged like the weights they belong
        # to (left at their start, the averaged model would normalise with zero mean and unit variance)
        for b_ema, b in zip(self.ema.buffers(), self.model.buffers()):
            if b.is_floating_point():
                b_ema.lerp_(b, 1.0 - decay)
            else:
                b_ema.copy_(b)

    def _progress(self, epoch: int, elapsed_minutes: float) -> float:
        """Fraction of the run done: by epochs, or by wall-clock time when a budget is set."""
        progress = epoch / self.config.epochs
        if self.config.max_minutes:
            progress = max(progress, elapsed_minutes / self.config.max_minutes)
        return min(progress, 1.0)

    def _start_finish(self, progress: float) -> None:
        """Energy finish: larger energy weight, lower learning rate; the best epoch is chosen anew on its loss."""
        self.loss_task = self._finish_task()
        self.finish_start = progress
        self.best_loss, self.stale = math.inf, 0  # validation losses of the two stages are not comparable
        for group in self.optimizer.param_groups:
            group["lr"] = self._finish_learning_rate()

    def _finish_task(self):
        """The task with the energy term's weight raised (a task without an energy term is unchanged)."""
        weight = self.config.finish_energy_weight
        terms = [
            dataclasses.replace(term, weight=weight if weight is not None else 10 * term.weight)
            if term.output == ENERGY_PER_ATOM
            else term
            for term in self.task.terms
        ]
        task = copy.copy(self.task)
        task.terms = tuple(terms)
        return task

    def _finish_learning_rate(self) -> float:
        config = self.config
        return config.finish_learning_rate if config.finish_learning_rate is not None else config.learning_rate / 10

    def _set_cosine_lr(self, epoch: int, elapsed_minutes: float) -> None:
        lo, hi = self.config.min_learning_rate, self.config.learning_rate
        progress = self._progress(epoch, elapsed_minutes)
        if self.finish_start is not None:  # a fresh cosine over the finish
            hi = self._finish_learning_rate()
            progress = (progress - self.finish_start) / max(1.0 - self.finish_start, 1e-12)
        lr = lo + 0.5 * (hi - lo) * (1.0 + math.cos(math.pi * min(progress, 1.0)))
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def _validation_loss(self, graphs: Sequence[dict]) -> float:
        """Mean over structures of the batches' losses; several processes take every world-th batch and add up."""
        total, count = 0.0, 0
        self.ema.eval()
        starts = range(0, len(graphs), self.config.batch_size)
        for start in starts[distributed.rank() :: self.world] if self.world > 1 else starts:
            chunk = graphs[start : start + self.config.batch_size]
            batch = to_device(self.task.collate(chunk), self.device, self.dtype)
            loss = self.loss_task.loss(self.ema, batch, create_graph=False)
            total += float(loss.detach()) * len(chunk)
            count += len(chunk)
        if self.world > 1:
            total, count = self._agree(total, count)
        return total / max(count, 1)

    def _signal_flags(self) -> list[float]:
        return [float(self.signal_seen == sig) for sig in CAUGHT_SIGNALS]

    def _take_signals(self, flags: Sequence[float]) -> None:
        """A signal caught by any process stops all of them (SIGTERM before SIGINT)."""
        caught = [sig for sig, flag in zip(CAUGHT_SIGNALS, flags) if flag > 0]
        if caught:
            self.interrupted = signal.SIGTERM if signal.SIGTERM in caught else caught[0]

    def _agree(self, *values: float) -> list[float]:
        """``values`` summed over the processes (the same on each), with any signal caught taken by all."""
        flat = torch.tensor([*values, *self._signal_flags()], dtype=torch.float64, device=self.device)
        summed = distributed.all_reduce_sum(flat).tolist()
        self._take_signals(summed[len(values) :])
        return summed[: len(values)]

    def _clock(self) -> float:
        """Seconds on the clock the budget is counted in."""
        return time.process_time() if self.config.budget_clock == "cpu" else time.perf_counter()

    @contextlib.contextmanager
    def _signals_caught(self) -> Iterator[None]:
        """SIGINT/SIGTERM set :attr:`interrupted` (a second one stops at once); the old handlers come back after.

        Handlers can only be installed in the main thread; elsewhere the signals keep their handlers.
        """
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum, frame):
            if self.signal_seen is not None:
                raise KeyboardInterrupt
            self.signal_seen = signum
            if self.world == 1:  # several processes stop together, at the next sum over them
                self.interrupted = signum
            print(
                f"\n{signal.Signals(signum).name}: stopping after this step to save the best model so far "
                "(send it again to stop at once)",
                file=sys.stderr,
                flush=True,
            )

        previous = {sig: signal.signal(sig, handler) for sig in CAUGHT_SIGNALS}
        try:
            yield
        finally:
            for sig, old in previous.items():
                signal.signal(sig, signal.SIG_DFL if old is None else old)

    def _train_epoch(self, train: Sequence[dict], epoch: int) -> float:
        """One pass over ``train`` in a fresh order; returns the mean loss (of the steps taken, if interrupted)."""
        config = self.config
        self.model.train()
        order = torch.randperm(len(train), generator=self.generator).tolist()
        total, count = 0.0, 0
        for start in range(0, len(order), config.batch_size):
            chunk = [train[k] for k in order[start : start + config.batch_size]]
            if len(chunk) < self.min_batch:
                continue
            if self.world > 1:
                total += self._shared_step(chunk, epoch) * len(chunk)
                count += len(chunk)
                if self.interrupted is not None:
                    break
                continue
            batch = self.task.augment(to_device(self.task.collate(chunk), self.device, self.dtype), self.generator)
            self.optimizer.zero_grad(set_to_none=True)
            loss = self.loss_task.loss(self.model, batch, create_graph=True)
            if not torch.isfinite(loss):
                raise FloatingPointError(
                    f"training loss became {float(loss.detach())} at epoch {epoch}: lower learning_rate "
                    f"(now {self.optimizer.param_groups[0]['lr']:.3g}) or check the labels"
                )
            loss.backward()
            if config.gradient_clip:
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), config.gradient_clip)
            self.optimizer.step()
            self._update_ema()
            total += float(loss.detach()) * len(chunk)
            count += len(chunk)
            if self.interrupted is not None:
                break
        return total / max(count, 1)

    def _shared_step(self, chunk: Sequence[dict], epoch: int) -> float:
        """One optimiser step on the global batch ``chunk``, of which this process takes its share; returns
        the loss of the whole batch. Two sums over the processes: the label counts, then the gradients."""
        local = chunk[distributed.share(len(chunk))]
        self.optimizer.zero_grad(set_to_none=True)
        params = [p for p in self.model.parameters() if p.requires_grad]
        if local:
            batch = self.task.augment(to_device(self.task.collate(local), self.device, self.dtype), self.generator)
            sums, counts = self.loss_task.loss_sums(self.model, batch, create_graph=True)
            counts = distributed.all_reduce_sum(counts.detach().clone())
            loss = (sums / counts.clamp(min=1)).sum()  # this share's part of the batch's loss
            loss.backward()
        else:  # fewer structures than processes: this one adds nothing but joins the sums
            counts = torch.zeros(len(self.loss_task.terms), dtype=self.dtype, device=self.device)
            distributed.all_reduce_sum(counts)
            loss = torch.zeros((), dtype=self.dtype, device=self.device)
        if len(chunk) < self.world:  # the processes without a share drew nothing: take rank 0's generator
            state = self.generator.get_state().to(self.device)
            torch.distributed.broadcast(state, 0)
            self.generator.set_state(state.cpu())
        grads = [torch.zeros_like(p).reshape(-1) if p.grad is None else p.grad.reshape(-1) for p in params]
        has_grad = [float(p.grad is not None) for p in params]
        # batch-norm running statistics, gathered from each process's share: averaged, so the processes agree
        stats = [b for m in self.model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) for b in m.buffers()]
        stats = [b for b in stats if b.is_floating_point()]
        tail = torch.tensor([*has_grad, *self._signal_flags()], dtype=self.dtype, device=self.device)
        parts = [*grads, *(b.reshape(-1).to(self.dtype) for b in stats), loss.detach().reshape(1), tail]
        flat = distributed.all_reduce_sum(torch.cat(parts))
        n_grads = sum(g.numel() for g in grads)
        offset = n_grads
        for b in stats:
            b.copy_(flat[offset : offset + b.numel()].view_as(b) / self.world)
            offset += b.numel()
        global_loss, *rest = flat[offset:].tolist()  # one host round trip
        offset = 0
        for p, flag in zip(params, rest[: len(params)]):
            n = p.numel()
            p.grad = flat[offset : offset + n].view_as(p) if flag > 0 else None  # None: unused everywhere
            offset += n
        self._take_signals(rest[len(params) :])
        if not math.isfinite(global_loss):
            raise FloatingPointError(
                f"training loss became {global_loss} at epoch {epoch}: lower learning_rate "
                f"(now {self.optimizer.param_groups[0]['lr']:.3g}) or check the labels"
            )
        if self.config.gradient_clip:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.gradient_clip)
        self.optimizer.step()
        self._update_ema()
        return global_loss

    @contextlib.contextmanager
    def _own_global_rng(self) -> Iterator[None]:
        """The block draws from the trainer's copy of torch's global generator; the caller's is restored after."""
        devices = [self.device] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.set_rng_state(self.torch_rng)
            try:
                yield
            finally:
                self.torch_rng = torch.get_rng_state()

    def fit(self, train: Sequence[dict], val: Sequence[dict]) -> nn.Module:
        """Run the epochs; return the EMA model at the best validation epoch (or the last, without val).

        Continues after epoch :attr:`epoch` (non-zero after :meth:`load_state_dict`). SIGINT or SIGTERM
        stop the run after the current optimiser step (:attr:`interrupted` says which); an epoch cut short
        is repeated on resuming, with the weights it reached.
        """
        if len(train) < self.min_batch:
            raise ValueError(f"training needs at least {self.min_batch} structures, got {len(train)}")
        with self._own_global_rng():
            return self._fit(train, val)

    def _fit(self, train: Sequence[dict], val: Sequence[dict]) -> nn.Module:
        config = self.config
        start_time, start_clock = time.perf_counter(), self._clock()
        elapsed = self.elapsed_minutes
        self.interrupted = self.signal_seen = None
        bar = tqdm(
            range(self.epoch + 1, config.epochs + 1),
            initial=self.epoch,
            total=config.epochs,
            disable=not config.progress or not distributed.is_main(),
            desc="training",
            unit="epoch",
        )
        with self._signals_caught():
            self.history.stopped = "epochs"
            for epoch in bar:
                if self.interrupted is not None:  # arrived between epochs
                    break
                epoch_start_rng = self.generator.get_state()
                epoch_loss = self._train_epoch(train, epoch)
                if self.interrupted is not None:
                    self.generator.set_state(epoch_start_rng)  # the resumed run sees this epoch's order again
                    break
                val_loss = self._validation_loss(val) if val else epoch_loss
                lr = self.optimizer.param_groups[0]["lr"]
                elapsed = self.elapsed_minutes + (self._clock() - start_clock) / 60
                if self.world > 1:  # one clock for all processes, so that budget decisions agree
                    elapsed = self._agree(elapsed)[0] / self.world
                finish = self.finish_start is None and config.finish_fraction > 0
                finish = finish and self._progress(epoch, elapsed) >= 1 - config.finish_fraction
                if finish:  # from the next epoch on; this epoch is still judged on the first stage's loss
                    self.history.finish_epoch = epoch + 1
                elif self.scheduler is None:
                    self._set_cosine_lr(epoch, elapsed)
                else:
                    self.scheduler.step(val_loss)
                self.history.epoch.append(epoch)
                self.history.train_loss.append(epoch_loss)
                self.history.val_loss.append(val_loss)
                self.history.learning_rate.append(lr)
                if val_loss < self.best_loss:
                    self.best_loss, self.stale = val_loss, 0
                    self.best_state = _cpu(self.ema.state_dict())
                    self.history.best_epoch = epoch
                else:
                    self.stale += 1
                self.epoch = epoch
                if finish:
                    self._start_finish(self._progress(epoch, elapsed))
                bar.set_postfix(train=f"{epoch_loss:.3g}", val=f"{val_loss:.3g}", lr=f"{lr:.1e}")
                if self.stale >= config.early_stopping_patience:
                    self.history.stopped = "early stopping"
                    break
                if config.max_minutes is not None and elapsed > config.max_minutes:
                    self.history.stopped = "time budget"
                    break
                if config.checkpoint_every and epoch % config.checkpoint_every == 0 and epoch < config.epochs:
                    self._checkpoint(elapsed, time.perf_counter() - start_time)
        bar.close()
        if self.interrupted is not None:
            self.history.stopped = signal.Signals(self.interrupted).name
        self.elapsed_minutes = elapsed
        self.history.seconds += time.perf_counter() - start_time
        if self.interrupted is not None or config.checkpoint_every:
            self.save_state()
        if self.best_state is not None:
            self.ema.load_state_dict(self.best_state)
        self.history.val_metrics = self.task.metrics(self.ema, val, device=self.device, dtype=self.dtype)
        return self.ema.eval()

    def _checkpoint(self, elapsed_minutes: float, seconds: float) -> None:
        """Write the state mid-run, with the clocks as they stand."""
        kept = self.elapsed_minutes, self.history.seconds
        self.elapsed_minutes, self.history.seconds = elapsed_minutes, self.history.seconds + seconds
        try:
            self.save_state()
        finally:
            self.elapsed_minutes, self.history.seconds = kept

    def state_dict(self) -> dict:
        """Everything needed to continue this run, as tensors and plain data (``torch.load(weights_only=True)``)."""
        return {
            "epoch": self.epoch,
            "num_updates": self.num_updates,
            "model": _cpu(self.model.state_dict()),
            "ema": _cpu(self.ema.state_dict()),
            "optimizer": _on_cpu(self.optimizer.state_dict()),
            "scheduler": None if self.scheduler is None else self.scheduler.state_dict(),
            "best_loss": self.best_loss,
            "best_state": self.best_state,
            "stale": self.stale,
            "history": self.history.to_dict(),
            "elapsed_minutes": self.elapsed_minutes,
            "finish_start": self.finish_start,
            "shuffle_rng": self.generator.get_state(),  # uint8 tensor
            "torch_rng": self.torch_rng,  # uint8 tensor: the trainer's copy of torch's global generator
        }

    def load_state_dict(self, state: dict) -> None:
        """Continue from :meth:`state_dict`."""
        self.model.load_state_dict(state["model"])
        self.ema.load_state_dict(state["ema"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None and state["scheduler"] is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        self.epoch = int(state["epoch"])
        self.num_updates = int(state["num_updates"])
        self.best_loss = float(state["best_loss"])
        self.best_state = state["best_state"]
        self.stale = int(state["stale"])
        self.history = History(**state["history"])
        self.elapsed_minutes = float(state["elapsed_minutes"])
        self.finish_start = state.get("finish_start")
        if self.finish_start is not None:
            self.loss_task = self._finish_task()
        self.generator.set_state(state["shuffle_rng"])
        self.torch_rng = state["torch_rng"]

    def save_state(self) -> Path | None:
        """Write the training state to :attr:`state_path` atomically; returns the path (None: no path set, or a
        process other than rank 0)."""
        if self.state_path is None or not distributed.is_main():
            return None
        payload = {"format": STATE_FORMAT, "version": __version__, **self.state_extra, **self.state_dict()}
        return write_checkpoint(payload, self.state_path)
