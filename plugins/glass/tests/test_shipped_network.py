"""The shipped model predicts as it did when it was built: its network member (now a representation with a
per-particle head) and the whole ensemble on BOTAN configuration 1, against values recorded before the
network was restructured (first 512 particles, ``tests/data/ka-T0.44-botan_config1_z.npz``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from mlmat_glass.inputs import config_inputs, model_inputs
from mlmat_glass.model_io import load_model, shipped_path
from mlmat_glass.network import GlassGraphNetwork
from mlmat_glass.storage import load_sample
from mlmat_glass.training import predict_z

RECORDED = Path(__file__).parent / "data" / "ka-T0.44-botan_config1_z.npz"


def test_shipped_model_predicts_as_recorded(shared_file):
    model, _ = load_model(shipped_path("ka-T0.44-botan"))
    ensemble = model.models[0]
    network = next(m for m in ensemble.members if isinstance(m, GlassGraphNetwork))
    sample = load_sample(shared_file(1))
    graph = model_inputs(sample.initial_positions, sample.types, sample.box, **config_inputs(ensemble.config))
    recorded = np.load(RECORDED)
    np.testing.assert_allclose(predict_z(network, graph)[:512], recorded["network"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(predict_z(ensemble, graph)[:512], recorded["ensemble"], rtol=0, atol=1e-6)
    # the representation: decoder on the features is the network's output
    features = network.features(graph)
    assert features.shape == (len(sample.types), network.num_features)
    np.testing.assert_array_equal(network.decoder(features).squeeze(-1).detach().numpy(), predict_z(network, graph))
