"""The glass network's task in the one trainer: batches of several configurations, rotation augmentation
from the trainer's generator, the metric, and seeded runs that repeat."""

from __future__ import annotations

import numpy as np
import torch
from mlmat_glass.metrics import pearson
from mlmat_glass.network import GlassGraphNetwork
from mlmat_glass.training import A_PARTICLES, TARGET, GlassTask, predict_z, prepare, train_network, training_graph


def _network(items) -> GlassGraphNetwork:
    torch.manual_seed(0)
    return GlassGraphNetwork(
        width=8, n_steps=2, descriptors="radial_energy", n_descriptors=items[0].graph["descriptors"].shape[1]
    ).eval()


def test_a_batch_of_configurations_predicts_each_as_alone(synthetic_samples):
    items = prepare(synthetic_samples[:2], descriptors="radial_energy")
    network, task = _network(items), GlassTask()
    batch = task.collate([training_graph(it) for it in items])
    joined = predict_z(network, batch)
    alone = np.concatenate([predict_z(network, it.graph) for it in items])
    np.testing.assert_allclose(joined, alone, atol=1e-5)
    assert torch.equal(batch[A_PARTICLES], torch.cat([it.mask for it in items]))


def test_augmentation_rotates_every_edge_vector_alike(synthetic_samples):
    item = prepare(synthetic_samples[:1])[0]
    batch = training_graph(item)
    generator = torch.Generator().manual_seed(3)
    rotated = GlassTask().augment(batch, generator)
    before, after = batch["vectors"].double(), rotated["vectors"].double()
    np.testing.assert_allclose(after.norm(dim=1), before.norm(dim=1), atol=1e-5)  # lengths kept
    np.testing.assert_allclose(after @ after.T, before @ before.T, atol=1e-4)  # and angles
    assert not torch.allclose(after, before, atol=1e-3)
    assert torch.equal(rotated[TARGET], batch[TARGET])


def test_metrics_are_the_mean_pearson_on_a_particles(synthetic_samples):
    items = prepare(synthetic_samples[:3], descriptors="radial_energy")
    network = _network(items)
    metrics = GlassTask().metrics(network, [training_graph(it) for it in items])
    expected = [pearson(predict_z(network, it.graph)[it.mask.numpy()], it.propensity[it.mask.numpy()]) for it in items]
    assert abs(metrics["pearson"] - np.mean(expected)) < 1e-5
    assert metrics["loss"] > 0


def test_seeded_training_repeats_and_validation_reports_pearson(synthetic_samples):
    items = prepare(synthetic_samples, descriptors="radial_energy")
    kw = dict(width=8, n_steps=1, epochs=3, learning_rate=3e-3, log=None, validation=items[3:])
    one, history = train_network(items[:3], seed=1, **kw)
    two, _ = train_network(items[:3], seed=1, **kw)
    other, _ = train_network(items[:3], seed=2, **kw)
    graph = items[3].graph
    np.testing.assert_array_equal(predict_z(one, graph), predict_z(two, graph))
    assert not np.allclose(predict_z(one, graph), predict_z(other, graph))
    assert [h["epoch"] for h in history] == [1, 2, 3] and all(h["val_loss"] > 0 for h in history)
    assert not one.training and next(one.parameters()).device.type == "cpu"
