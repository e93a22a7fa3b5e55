"""Training the glass models on propensity of A particles, and evaluating them beside the baselines.

Target: for each A particle i and one time t of the data, the propensity p_i(t) = mean over the
iso-configurational runs of |r_i(t) − r_i(0)| in σ_AA (``target="mean_abs_displacement"``, the default),
or the mean of |r_i(t) − r_i(0)|² in σ_AA² (``target="mean_squared_displacement"``). B particles are
neither fitted nor scored. Targets are standardised *within each configuration* (z = (p − mean_A) / std_A):
the per-configuration level reflects how far that ensemble has relaxed at the stored time (mean |Δr| varies
≈ 0.43–0.70 σ across the shared T = 0.44 files), not local structure, and Pearson correlation — the metric
— ignores it. Predictions are mapped back to σ (σ²) with the training-set mean and spread of the A-particle
target (stored in the model).

The network trains with the one ase-mlmat trainer (:class:`~ase_mlmat.train.trainer.Trainer`) on a
:class:`GlassTask`: mean squared error on A particles; AdamW with a cosine-decaying learning rate and an
exponential moving average of the weights; each step sees one configuration whose edge vectors are
multiplied by a random orthogonal matrix (rotations and reflections) as augmentation.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from ase_mlmat.devices import module_device, resolve_device
from ase_mlmat.graph import to_device
from ase_mlmat.models.registry import seeded
from ase_mlmat.train import distributed
from ase_mlmat.train.config import TrainConfig
from ase_mlmat.train.losses import LossTerm, Task
from ase_mlmat.train.trainer import Trainer, TrainingInterrupted

from .baselines import BASELINES, LinearBaseline
from .glass_graph import EDGE_CUTOFF, Graph, random_orthogonal, transform_graph
from .inputs import model_inputs
from .linear_model import DescriptorLinearModel
from .metrics import pearson
from .network import GlassGraphNetwork
from .storage import GlassSample
from .timescales import DEFAULT_TARGET, check_target

OUTPUT = "propensity_z"  # (N,) network output, standardised units
TARGET = "target_z"  # (N,) per-configuration standardised target
A_PARTICLES = "a_particles"  # (N,) bool, the particles fitted and scored
DEFAULT_EMA_DECAY = 0.99


@dataclasses.dataclass
class TrainingItem:
    """One configuration prepared for training: its graph, standardised target (N,), A mask (N,), raw target
    (``propensity``, (N,) σ or σ² as ``target`` says)."""

    graph: Graph
    target: torch.Tensor
    mask: torch.Tensor
    propensity: np.ndarray
    sample: GlassSample
    descriptors: str | None = None
    cutoff: float = EDGE_CUTOFF
    graph_positions: str = "thermal"
    target_name: str = DEFAULT_TARGET
    time_index: int = -1


def prepare(
    samples: Sequence[GlassSample],
    *,
    time_index: int = -1,
    cutoff: float = EDGE_CUTOFF,
    descriptors: str | None = None,
    graph_positions: str = "thermal",
    target: str = DEFAULT_TARGET,
    inherent: Sequence[np.ndarray] | None = None,
) -> list[TrainingItem]:
    """Graphs (with node ``descriptors`` if named; edges from ``graph_positions``, see
    :func:`mlmat_glass.inputs.model_inputs`) and per-configuration standardised A-particle targets at
    ``time_index`` of each sample.

    ``target``: ``"mean_abs_displacement"`` (σ) or ``"mean_squared_displacement"`` (σ²), see
    :meth:`GlassSample.target`. ``inherent``: the samples' inherent structures if already computed.
    """
    check_target(target)
    items = []
    for k, sample in enumerate(samples):
        target_values = np.asarray(sample.target(target)[time_index], dtype=float)
        is_a = sample.types == 0
        z = (target_values - target_values[is_a].mean()) / target_values[is_a].std()
        graph = model_inputs(
            sample.initial_positions,
            sample.types,
            sample.box,
            descriptors=descriptors,
            graph_positions=graph_positions,
            cutoff=cutoff,
            inherent=None if inherent is None else inherent[k],
        )
        target_z = torch.as_tensor(z, dtype=torch.float32)
        items.append(
            TrainingItem(
                graph,
                target_z,
                torch.as_tensor(is_a),
                target_values,
                sample,
                descriptors,
                cutoff,
                graph_positions,
                target,
                time_index,
            )
        )
    return items


def with_time(items: Sequence[TrainingItem], time_index: int, target: str | None = None) -> list[TrainingItem]:
    """The same items (graphs shared, not recomputed) with targets at another ``time_index`` / ``target``."""
    out = []
    for item in items:
        name = target or item.target_name
        values = np.asarray(item.sample.target(name)[time_index], dtype=float)
        is_a = item.sample.types == 0
        z = (values - values[is_a].mean()) / values[is_a].std()
        out.append(
            dataclasses.replace(
                item,
                target=torch.as_tensor(z, dtype=torch.float32),
                propensity=values,
                target_name=name,
                time_index=time_index,
            )
        )
    return out


def target_scale(items: Sequence[TrainingItem]) -> tuple[float, float]:
    """Mean and standard deviation of the A-particle target over all items (σ, or σ² for mean |Δr|²)."""
    values = np.concatenate([item.propensity[item.sample.types == 0] for item in items])
    return float(values.mean()), float(values.std())


class GlassTask(Task):
    """Per-particle output of a glass model against the per-configuration standardised target, on A particles.

    Structures are dicts of :func:`training_graph` (a configuration's graph with ``target_z`` and
    ``a_particles``); several join into one batch with their particle indices offset. Training batches
    have their edge vectors multiplied by a random orthogonal matrix (rotations and reflections), drawn
    from the trainer's generator. Metrics: ``pearson``, the mean over configurations of the Pearson
    correlation on A particles (of the standardised target, hence of the propensity), and ``loss``.
    """

    def __init__(self, loss: str = "mse", weight: float = 1.0):
        super().__init__([LossTerm(OUTPUT, TARGET, loss, weight, mask=A_PARTICLES)])

    def collate(self, chunk: Sequence[dict]) -> dict:
        if len(chunk) == 1:
            return dict(chunk[0])
        offsets = np.cumsum([0] + [len(g["types"]) for g in chunk[:-1]])
        out = {key: torch.cat([g[key] for g in chunk]) for key in chunk[0] if key not in ("senders", "receivers")}
        for key in ("senders", "receivers"):
            out[key] = torch.cat([g[key] + int(o) for g, o in zip(chunk, offsets)])
        return out

    def augment(self, batch: dict, generator: torch.Generator) -> dict:
        return transform_graph(batch, random_orthogonal(generator).to(batch["vectors"].device))

    def outputs(self, model: torch.nn.Module, batch: dict, *, create_graph: bool) -> dict[str, torch.Tensor]:
        return {OUTPUT: model(batch)}

    @torch.no_grad()
    def metrics(self, model: torch.nn.Module, graphs: Sequence[dict], *, device="cpu", dtype=torch.float32) -> dict:
        if not graphs:
            return {}
        model.eval()
        scores, losses = [], []
        for graph in graphs:
            batch = to_device(graph, device, dtype)
            mask = batch[A_PARTICLES]
            scores.append(
                pearson(model(batch)[mask].double().cpu().numpy(), batch[TARGET][mask].double().cpu().numpy())
            )
            losses.append(float(self.loss(model, batch, create_graph=False)))
        return {"pearson": float(np.mean(scores)), "loss": float(np.mean(losses))}


def training_graph(item: TrainingItem) -> dict:
    """The dict :class:`GlassTask` trains on: the item's graph, its standardised target and its A mask."""
    return {**item.graph, TARGET: item.target, A_PARTICLES: item.mask}


def train_network(
    items: Sequence[TrainingItem],
    *,
    width: int = 64,
    n_steps: int = 7,
    epochs: int = 10,
    learning_rate: float = 1e-3,
    final_learning_rate: float = 1e-5,
    max_minutes: float | None = None,
    seed: int = 0,
    log: Callable[[str], None] | None = print,
    validation: Sequence[TrainingItem] = (),
    linear_readout: bool = False,
    ridge: float = 0.03,
    weight_decay: float = 0.0,
    ema_decay: float = DEFAULT_EMA_DECAY,
    device: str | torch.device = "cpu",
    state_path: str | Path | None = None,
    state: dict | None = None,
    state_extra: dict | None = None,
    checkpoint_every: int = 0,
) -> tuple[GlassGraphNetwork, list[dict]]:
    """Train a :class:`GlassGraphNetwork` on ``items`` with the ase-mlmat :class:`~ase_mlmat.train.trainer.Trainer`
    and a :class:`GlassTask`; returns the model (on the CPU, eval mode) and a per-epoch history.

    One configuration per step; AdamW with a cosine from ``learning_rate`` to ``final_learning_rate`` over
    ``epochs`` (or over ``max_minutes`` of wall-clock time, whichever is reached first; training stops there);
    the weights returned are an exponential moving average (``ema_decay``, 0: none) at the epoch of lowest
    loss on ``validation`` (without it, on the training loss).

    ``linear_readout``: the network's output is a ridge model on the descriptors (fitted in closed form
    with ``ridge`` first, see :func:`fit_linear`) plus the graph network, whose last layer starts at zero —
    training starts from the linear model and learns a correction. ``weight_decay``: AdamW decay.
    ``device``: where the network trains ("cpu", "auto", "cuda", "cuda:N"). ``seed`` sets the initial weights,
    the order of the configurations and the random rotations (drawn on the CPU, so a seed draws the same
    ones on every device). ``log``: receives one line per epoch after training (None: silent).

    ``state_path``: where the trainer's state is written (every ``checkpoint_every`` epochs, at the end and
    on SIGINT/SIGTERM) with ``state_extra``; ``state``: such a state to continue from (the same items and
    settings), as if the run had never stopped.

    Raises:
        TrainingInterrupted: SIGINT or SIGTERM stopped training; its ``result`` is (model, history) of the
            best epoch so far, and the state is written.
    """
    device = distributed.local_device(resolve_device(device))  # under torchrun: this process's GPU
    descriptors = items[0].graph.get("descriptors")
    with seeded(seed):
        model = GlassGraphNetwork(
            width=width,
            n_steps=n_steps,
            cutoff=items[0].cutoff,
            descriptors=items[0].descriptors,
            n_descriptors=0 if descriptors is None else descriptors.shape[1],
            graph_positions=items[0].graph_positions,
            linear_readout=linear_readout,
        )
    if descriptors is not None:
        stacked = torch.cat([item.graph["descriptors"] for item in items])
        model.descriptor_mean.copy_(stacked.mean(0))
        model.descriptor_std.copy_(stacked.std(0).clamp(min=1e-6))
    if linear_readout:
        linear = fit_linear(items, ridge=ridge)
        with torch.no_grad():
            # the readout acts on inputs standardised with the network's statistics; re-express the fit
            scale = model.descriptor_std.double() / linear.descriptor_std.double()
            weights = linear.weights.double() * scale
            shift = (model.descriptor_mean.double() - linear.descriptor_mean.double()) / linear.descriptor_std.double()
            model.readout.weight.copy_(weights[None, :])
            model.readout.bias.copy_(linear.bias.double() + linear.weights.double() @ shift)
            model.decoder[-1].weight.zero_()
            model.decoder[-1].bias.zero_()
    config = TrainConfig(
        epochs=epochs,
        batch_size=1,
        learning_rate=learning_rate,
        min_learning_rate=final_learning_rate,
        scheduler="cosine",
        weight_decay=weight_decay,
        early_stopping_patience=epochs + 1,  # the cosine runs to its end
        ema_decay=ema_decay,
        gradient_clip=0.0,
        seed=seed,
        device=str(device),
        max_minutes=max_minutes,
        checkpoint_every=checkpoint_every,
        progress=False,
    )
    trainer = Trainer(
        model, config, device, torch.float32, task=GlassTask(), state_path=state_path, state_extra=state_extra
    )
    if state is not None:
        trainer.load_state_dict(state)
    trained = trainer.fit([training_graph(item) for item in items], [training_graph(item) for item in validation])
    history = trainer.history
    records = [
        {"epoch": e, "loss": loss, "val_loss": val if validation else None, "lr": lr}
        for e, loss, val, lr in zip(history.epoch, history.train_loss, history.val_loss, history.learning_rate)
    ]
    if log is not None:
        for r in records:
            val = f"  val {r['val_loss']:.4f}" if validation else ""
            log(f"epoch {r['epoch']:3d}  loss {r['loss']:.4f}{val}  lr {r['lr']:.2e}")
        log(
            f"best epoch {history.best_epoch}, stopped by {history.stopped}, {history.seconds / 60:.2f} min"
            + (f", validation {history.val_metrics}" if validation else "")
        )
    trained = trained.cpu().eval()
    if trainer.interrupted is not None:
        raise TrainingInterrupted(
            f"glass network training stopped by {history.stopped} after epoch {trainer.epoch}",
            trainer.interrupted,
            (trained, records),
        )
    return trained, records


def fit_linear(items: Sequence[TrainingItem], *, ridge: float = 1e-3) -> DescriptorLinearModel:
    """Ridge model on the items' node descriptors, fitted to their standardised A-particle targets."""
    if items[0].descriptors is None:
        raise ValueError("a linear model needs node descriptors: prepare the items with descriptors=...")
    model = DescriptorLinearModel(
        descriptors=items[0].descriptors,
        n_descriptors=items[0].graph["descriptors"].shape[1],
        cutoff=items[0].cutoff,
        graph_positions=items[0].graph_positions,
    )
    features = [it.graph["descriptors"].numpy()[it.mask.numpy()] for it in items]
    targets = [it.target.numpy()[it.mask.numpy()] for it in items]
    return model.fit(features, targets, ridge=ridge).eval()


@torch.no_grad()
def predict_z(model: torch.nn.Module, graph: Graph, symmetries: torch.Tensor | None = None) -> np.ndarray:
    """Network output (N,), averaged over ``symmetries`` (S, 3, 3) applied to the edge vectors if given.

    Runs on the model's device; the result is on the CPU.
    """
    model.eval()
    device = module_device(model)
    graph = to_device(graph, device)
    if symmetries is None:
        return model(graph).cpu().numpy()
    symmetries = symmetries.to(device)
    return torch.stack([model(transform_graph(graph, m)) for m in symmetries]).mean(0).cpu().numpy()


def baseline_features(items: Sequence[TrainingItem]) -> dict[str, list[np.ndarray]]:
    """Features of every baseline for every item, computed once."""
    return {
        name: [build(it.sample.initial_positions, it.sample.types, it.sample.box) for it in items]
        for name, build in BASELINES.items()
    }


def evaluate_all(
    model: torch.nn.Module | None,
    train: Sequence[TrainingItem],
    test: Sequence[TrainingItem],
    *,
    symmetries: torch.Tensor | None = None,
    model_name: str = "graph_network",
) -> dict[str, dict[str, float]]:
    """Pearson on A particles of each test configuration (and their mean) for the network and baselines.

    Baselines are fitted on the training items' A particles (standardised targets, as the network).
    """
    results: dict[str, dict[str, float]] = {}
    train_features = baseline_features(train)
    test_features = baseline_features(test)
    predictions: dict[str, list[np.ndarray]] = {}
    for name in BASELINES:
        x = np.concatenate([f[it.mask.numpy()] for f, it in zip(train_features[name], train)])
        y = np.concatenate([it.target.numpy()[it.mask.numpy()] for it in train])
        fit = LinearBaseline().fit(x, y)
        predictions[name] = [fit.predict(f) for f in test_features[name]]
    if model is not None:
        predictions[model_name] = [predict_z(model, it.graph, symmetries) for it in test]
    for name, values in predictions.items():
        per_config = [pearson(p[it.mask.numpy()], it.propensity[it.mask.numpy()]) for p, it in zip(values, test)]
        results[name] = {"mean": float(np.mean(per_config)), **{f"config_{k}": v for k, v in enumerate(per_config)}}
    return results
