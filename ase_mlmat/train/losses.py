"""What a model is trained on: loss terms, and tasks that pair a model's outputs with their targets.

A :class:`LossTerm` compares one model output with one target (loss function, weight, optional mask of the
structures that carry the label), as SchNetPack's ``ModelOutput`` and MACE's ``loss_fn`` do. A
:class:`Task` knows how to run one kind of model on a batch and where its targets are; the trainer sums
the weighted terms, whatever the model.

- :class:`PotentialTask`: energy per atom (eV/atom), forces (eV/Å) and stress (eV/Å³) of a :class:`Potential`.
- :class:`PropertyTask`: per-structure targets of a :class:`PropertyModel`, compared standardised
  (``(y − mean) / std`` with the model's training statistics), so that targets of different units and
  spreads weigh alike; a classifier's ``bce`` term compares the output in target units (a logit) with the
  label itself (0 or 1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .. import keys
from ..devices import module_device
from ..graph import collate, to_device
from .targets import (
    HAS_FORCES,
    HAS_STRESS,
    PROPERTY_TARGETS,
    TARGET_ENERGY_PER_ATOM,
    TARGET_FORCES,
    TARGET_STRESS,
)

LOSS_FUNCTIONS = ("mse", "l1", "huber", "bce")
ENERGY_PER_ATOM = "energy_per_atom"  # output key of a potential: (B,) eV/atom


@dataclass(frozen=True)
class LossTerm:
    """``weight · mean(loss(output − target))`` over the labelled rows of a batch.

    Args:
        output: key of the model output (a task's :meth:`Task.outputs`).
        target: key of the reference value (a task's :meth:`Task.targets`), same shape as the output.
        loss: "mse", "l1", "huber" (quadratic below ``huber_delta``, linear above) or "bce" (logistic loss of a
            logit output against a label in [0, 1]: log(1 + e^−x) for label 1, log(1 + e^x) for label 0).
        weight: multiplies the mean; in the inverse unit of the loss (e.g. (eV/atom)⁻² for an MSE of eV/atom).
        mask: key of a (B,) bool tensor of the batch, True for structures that carry this label; a
            per-atom output is masked by the structure of each atom. None: every row counts.
        huber_delta: where the Huber loss turns linear, in the units of the compared values.
    """

    output: str
    target: str
    loss: str = "mse"
    weight: float = 1.0
    mask: str | None = None
    huber_delta: float = 0.01

    def __post_init__(self) -> None:
        if self.loss not in LOSS_FUNCTIONS:
            raise ValueError(f"loss of {self.output!r} must be one of {LOSS_FUNCTIONS}, got {self.loss!r}")
        if not self.weight >= 0:
            raise ValueError(f"loss weight of {self.output!r} must be non-negative, got {self.weight}")
        if not self.huber_delta > 0:
            raise ValueError(f"huber_delta of {self.output!r} must be positive, got {self.huber_delta}")

    def __call__(self, outputs: dict, targets: dict, batch: dict) -> torch.Tensor | None:
        """The weighted term on this batch; None when no row of the batch carries the label."""
        pred, ref = outputs[self.output], targets[self.target].to(outputs[self.output].dtype)
        if self.mask is not None:
            rows = batch[self.mask]  # (B,)
            if pred.shape[0] != rows.shape[0]:  # per-atom values: each atom takes its structure's flag
                rows = rows[batch[keys.BATCH]]
            if not bool(rows.any()):
                return None
            pred, ref = pred[rows], ref[rows]
        diff = pred - ref
        if self.loss == "mse":
            value = torch.mean(diff * diff)
        elif self.loss == "l1":
            value = torch.mean(diff.abs())
        elif self.loss == "bce":
            value = nn.functional.binary_cross_entropy_with_logits(pred, ref)
        else:
            value = nn.functional.huber_loss(pred, ref, delta=self.huber_delta)
        return self.weight * value

    def weighted_sum(self, outputs: dict, targets: dict, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """``weight · Σ loss`` over the labelled elements of this batch, and how many there are (a float tensor).

        The two parts of :meth:`__call__`'s mean (sum / count), for a mean over a batch split between processes:
        the counts are summed over the processes first. No host round trip (masks multiply, they do not index).
        """
        pred, ref = outputs[self.output], targets[self.target].to(outputs[self.output].dtype)
        if self.loss == "mse":
            elements = (pred - ref) ** 2
        elif self.loss == "l1":
            elements = (pred - ref).abs()
        elif self.loss == "bce":
            elements = nn.functional.binary_cross_entropy_with_logits(pred, ref, reduction="none")
        else:
            elements = nn.functional.huber_loss(pred, ref, delta=self.huber_delta, reduction="none")
        if self.mask is None:
            return self.weight * elements.sum(), torch.full((), elements.numel(), dtype=pred.dtype, device=pred.device)
        rows = batch[self.mask]  # (B,)
        if pred.shape[0] != rows.shape[0]:  # per-atom values: each atom takes its structure's flag
            rows = rows[batch[keys.BATCH]]
        rows = rows.to(pred.dtype).reshape(-1, *([1] * (pred.dim() - 1)))  # broadcasts over a row's elements
        per_row = elements[0].numel() if elements.shape[0] else 0
        return self.weight * (elements * rows).sum(), rows.sum() * per_row


class Task:
    """A kind of model and the loss terms it is trained with.

    Subclasses say how the model runs on a batch (:meth:`outputs`), where the targets are (:meth:`targets`)
    and which errors are reported (:meth:`metrics`); a task whose structures are not atom graphs, or that
    augments its training data, also overrides :meth:`collate` and :meth:`augment`.
    """

    def __init__(self, terms: Sequence[LossTerm]):
        if not terms:
            raise ValueError("a task needs at least one loss term")
        self.terms = tuple(terms)

    def collate(self, chunk: Sequence[dict]) -> dict:
        """One batch of the structures in ``chunk`` (on the CPU); by default the atom graphs' :func:`collate`."""
        return collate(chunk)

    def augment(self, batch: dict, generator: torch.Generator) -> dict:
        """A training batch transformed at random (e.g. rotated), drawing from ``generator`` (the trainer's, on
        the CPU, so a seed repeats and a resumed run continues the stream); by default the batch unchanged.
        Called in training steps only, after the batch is on the training device. Under several processes each
        augments its share of the batch with the same draws, so draw a fixed number per batch (not per structure)."""
        return batch

    def outputs(self, model: nn.Module, batch: dict, *, create_graph: bool) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def targets(self, model: nn.Module, batch: dict) -> dict[str, torch.Tensor]:
        """The reference values the terms name; by default the batch's own entries."""
        return batch

    def loss(self, model: nn.Module, batch: dict, *, create_graph: bool) -> torch.Tensor:
        """Σ of the weighted terms (a pure number); terms without labels in the batch add nothing."""
        outputs = self.outputs(model, batch, create_graph=create_graph)
        targets = self.targets(model, batch)
        parts = [part for term in self.terms if (part := term(outputs, targets, batch)) is not None]
        return torch.stack(parts).sum() if parts else outputs[self.terms[0].output].sum() * 0.0

    def loss_sums(self, model: nn.Module, batch: dict, *, create_graph: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """Each term's weighted sum and element count on ``batch``, (terms,) each; :meth:`loss` is
        Σ sums / counts over the terms with a count. Several processes add their counts before dividing."""
        outputs = self.outputs(model, batch, create_graph=create_graph)
        targets = self.targets(model, batch)
        sums, counts = zip(*(term.weighted_sum(outputs, targets, batch) for term in self.terms))
        return torch.stack(sums), torch.stack(counts)

    def metrics(self, model: nn.Module, graphs: Sequence[dict], *, device="cpu", dtype=torch.float32) -> dict:
        raise NotImplementedError


class PotentialTask(Task):
    """Energy per atom, forces and stress of a :class:`~ase_mlmat.models.potential.Potential`."""

    def outputs(self, model: nn.Module, batch: dict, *, create_graph: bool) -> dict[str, torch.Tensor]:
        wanted = {term.output for term in self.terms if term.weight > 0}
        pred = model(batch, forces=keys.FORCES in wanted, stress=keys.STRESS in wanted, create_graph=create_graph)
        pred[ENERGY_PER_ATOM] = pred[keys.ENERGY] / batch[keys.NUM_ATOMS].to(pred[keys.ENERGY].dtype)
        return pred

    def metrics(self, model: nn.Module, graphs: Sequence[dict], *, device="cpu", dtype=torch.float32) -> dict:
        """Energy (meV/atom), force (eV/Å) and stress (GPa) MAE and RMSE; see :func:`error_metrics`."""
        from .metrics import error_metrics, predict_graphs

        return error_metrics(predict_graphs(model, graphs, device=device, dtype=dtype)) if graphs else {}


def potential_terms(
    energy_weight: float = 100.0, forces_weight: float = 1.0, stress_weight: float = 100.0, loss: str = "mse"
) -> list[LossTerm]:
    """The three terms of a potential: E/N (eV/atom), F (eV/Å), σ (eV/Å³); weights in their inverse squares."""
    return [
        LossTerm(ENERGY_PER_ATOM, TARGET_ENERGY_PER_ATOM, loss, energy_weight),
        LossTerm(keys.FORCES, TARGET_FORCES, loss, forces_weight, mask=HAS_FORCES),
        LossTerm(keys.STRESS, TARGET_STRESS, loss, stress_weight, mask=HAS_STRESS),
    ]


class PropertyTask(Task):
    """Per-structure targets of a :class:`~ase_mlmat.models.property_model.PropertyModel`.

    Output and target keys are the target names (e.g. ``log10_K_VRH_GPa``); both are standardised with the
    model's ``target_mean`` and ``target_std``, so a loss is in units of the target's spread. A target with a
    ``bce`` term is a classifier's: its output is compared in target units (a logit), its label as it is (0 or 1).
    """

    def __init__(self, terms: Sequence[LossTerm], names: Sequence[str]):
        super().__init__(terms)
        self.names = list(names)
        unknown = sorted({t.output for t in self.terms} - set(self.names))
        if unknown:
            raise ValueError(f"loss terms name outputs {unknown} that are not targets of the model {self.names}")
        self.logits = {t.output for t in self.terms if t.loss == "bce"}  # compared in target units

    def outputs(self, model: nn.Module, batch: dict, *, create_graph: bool) -> dict[str, torch.Tensor]:
        standardised = model.normalized(batch)  # (B, T)
        out = {}
        for k, name in enumerate(self.names):
            if name in self.logits:
                out[name] = model.target_mean[k] + model.target_std[k] * standardised[:, k]
            else:
                out[name] = standardised[:, k]
        return out

    def targets(self, model: nn.Module, batch: dict) -> dict[str, torch.Tensor]:
        y = batch[PROPERTY_TARGETS]  # (B, T), target units
        standardised = (y - model.target_mean.to(y.dtype)) / model.target_std.to(y.dtype)
        return {name: y[:, k] if name in self.logits else standardised[:, k] for k, name in enumerate(self.names)}

    def metrics(self, model: nn.Module, graphs: Sequence[dict], *, device=None, dtype=None) -> dict:
        """MAE of each target in its units, ``mae_<name>``; for a ``bce`` target the accuracy, ``accuracy_<name>``
        (logit > 0 against label > 0.5)."""
        if not graphs:
            return {}
        pred = predict_targets(model, graphs, device=device, dtype=dtype)
        true = torch.cat([g[PROPERTY_TARGETS] for g in graphs]).double().numpy()
        out = {}
        for k, name in enumerate(self.names):
            if name in self.logits:
                out[f"accuracy_{name}"] = float(np.mean((pred[:, k] > 0) == (true[:, k] > 0.5)))
            else:
                out[f"mae_{name}"] = float(np.mean(np.abs(pred[:, k] - true[:, k])))
        return out


def property_terms(names: Sequence[str], loss: str = "l1", weight: float = 1.0) -> list[LossTerm]:
    """One term per target name, each on the standardised target."""
    return [LossTerm(name, name, loss, weight) for name in names]


@torch.no_grad()
def predict_targets(
    model: nn.Module, graphs: Sequence[dict], batch_size: int = 256, *, device=None, dtype=None
) -> np.ndarray:
    """(n, T) predictions in target units of a property model, or the mean of an ensemble, in eval mode.

    Args:
        device, dtype: where the batches go and their float type (default: the model's device, the graphs' dtype).
    """
    model.eval()
    if not graphs:
        return np.zeros((0, len(model.targets)))
    device = module_device(model) if device is None else device
    outputs = []
    for start in range(0, len(graphs), batch_size):
        out = model(to_device(collate(graphs[start : start + batch_size]), device, dtype))
        outputs.append((out[0] if isinstance(out, tuple) else out).double().cpu().numpy())
    return np.concatenate(outputs)
