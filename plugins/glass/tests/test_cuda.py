"""The glass network on CUDA against the CPU: prediction (plain and cube-symmetrised) and a short training run.

Each test runs where torch sees a CUDA device (a GPU machine); CI has none.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from mlmat_glass import GlassMobilityPredictor, load_sample
from mlmat_glass.glass_graph import cube_symmetries
from mlmat_glass.inputs import config_inputs, model_inputs
from mlmat_glass.training import predict_z, prepare, train_network

from ase_mlmat.devices import module_device

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def test_shipped_network_gives_the_cpu_numbers_on_cuda(shared_file):
    sample = load_sample(shared_file(10))
    cpu = GlassMobilityPredictor(device="cpu")
    gpu = GlassMobilityPredictor(device="cuda")
    assert module_device(gpu.network).type == "cuda"
    graph = model_inputs(sample.initial_positions, sample.types, sample.box, **config_inputs(cpu.network.config))
    np.testing.assert_allclose(predict_z(gpu.network, graph), predict_z(cpu.network, graph), atol=1e-4)
    symmetries = cube_symmetries()[::16]
    symmetrised = predict_z(gpu.network, graph, symmetries)
    np.testing.assert_allclose(symmetrised, predict_z(cpu.network, graph, symmetries), atol=1e-4)
    assert np.std(symmetrised) > 0.1  # per-particle contrast, not a constant


def test_network_trains_on_cuda_like_on_cpu(shared_file):
    items = prepare([load_sample(shared_file(i)) for i in (3, 4)])
    runs = {
        device: train_network(items, width=16, n_steps=2, epochs=3, learning_rate=5e-3, seed=0, log=None, device=device)
        for device in ("cpu", "cuda")
    }
    cpu_history, (gpu_model, gpu_history) = runs["cpu"][1], runs["cuda"]
    assert module_device(gpu_model).type == "cpu"  # returned on the CPU, as documented
    # same seeds, same rotations: the two devices follow one optimisation up to float32 rounding
    assert gpu_history[0]["loss"] == pytest.approx(cpu_history[0]["loss"], rel=1e-3)
    assert gpu_history[-1]["loss"] < gpu_history[0]["loss"]
