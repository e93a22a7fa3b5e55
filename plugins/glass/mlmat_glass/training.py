"""Training the glass models on propensity of A particles, and evaluating them beside the baselines.

Target: for each A particle i and one time t of the data, the propensity p_i(t) = mean over the
iso-configurational runs of |r_i(t) − r_i(0)| in σ_AA (``target="mean_abs_displacement"``, the default),
or the mean of |r_i(t) − r_i(0)|² in σ_AA² (``target="mean_squared_displacement"``). B particles are
neither fitted nor scored. Targets are standardised *within each configuration* (z = (p − mean_A) / std_A):
the per-configuration level reflects how far that ensemble has relaxed at the stored time (mean |Δr| varies
≈ 0.43–0.70 σ across the shared T = 0.44 files), not local structure, and Pearson correlation — the metric
— ignores it. Predictions are mapped back to σ (σ²) with the training-set mean and spread of the A-particle
target (stored in the model).

Loss: mean squared error on A particles; Adam with a cosine-decaying learning rate; each step sees one
configuration whose edge vectors are multiplied by a random orthogonal matrix (rotations and
reflections) as augmentation.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Sequence

import numpy as np
import torch

from ase_mlmat.devices import module_device, resolve_device
from ase_mlmat.graph import to_device

from .baselines import BASELINES, LinearBaseline
from .glass_graph import EDGE_CUTOFF, Graph, random_orthogonal, transform_graph
from .inputs import model_inputs
from .linear_model import DescriptorLinearModel
from .metrics import pearson
from .network import GlassGraphNetwork
from .storage import GlassSample
from .timescales import DEFAULT_TARGET, check_target


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
    evaluate: Callable[[GlassGraphNetwork, int], str] | None = None,
    linear_readout: bool = False,
    ridge: float = 0.03,
    weight_decay: float = 0.0,
    device: str | torch.device = "cpu",
) -> tuple[GlassGraphNetwork, list[dict]]:
    """Train a :class:`GlassGraphNetwork` on ``items``; returns the model and a per-epoch history.

    The cosine schedule runs over ``epochs``; with ``max_minutes`` training stops at the first epoch end
    past that wall-clock budget (the schedule is then stretched over the epochs the budget allows,
    estimated after the first epoch).

    ``linear_readout``: the network's output is a ridge model on the descriptors (fitted in closed form
    with ``ridge`` first, see :func:`fit_linear`) plus the graph network, whose last layer starts at zero —
    training starts from the linear model and learns a correction. ``weight_decay``: AdamW decay.
    ``device``: where the network trains ("cpu", "auto", "cuda", "cuda:N"); the model is returned on the CPU.
    The random rotations are drawn on the CPU, so a seed draws the same ones on every device.
    """
    device = resolve_device(device)
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    descriptors = items[0].graph.get("descriptors")
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
    model = model.to(device)
    on_device = [(to_device(item.graph, device), item.target.to(device), item.mask.to(device)) for item in items]
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=weight_decay)
    history: list[dict] = []
    start = time.perf_counter()
    total_epochs = epochs
    for epoch in range(1, epochs + 1):
        model.train()
        order = torch.randperm(len(items), generator=generator).tolist()
        losses = []
        for k, index in enumerate(order):
            progress = ((epoch - 1) + k / len(items)) / total_epochs
            cosine = 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
            lr = final_learning_rate + (learning_rate - final_learning_rate) * cosine
            for group in optimizer.param_groups:
                group["lr"] = lr
            graph, target, mask = on_device[index]
            graph = transform_graph(graph, random_orthogonal(generator).to(device))
            prediction = model(graph)
            loss = torch.mean((prediction[mask] - target[mask]) ** 2)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
        elapsed = time.perf_counter() - start
        record = {"epoch": epoch, "loss": float(np.mean(losses)), "minutes": elapsed / 60, "lr": lr}
        history.append(record)
        extra = evaluate(model, epoch) if evaluate is not None else ""
        if log is not None:
            log(f"epoch {epoch:3d}  loss {record['loss']:.4f}  lr {lr:.2e}  {elapsed / 60:6.2f} min  {extra}")
        if max_minutes is not None:
            if epoch == 1:
                total_epochs = max(1, min(epochs, int(max_minutes * 60 / max(elapsed, 1e-9))))
            if epoch >= total_epochs:
                break
    return model.cpu().eval(), history


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
