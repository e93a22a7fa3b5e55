"""A small set trains end to end on real data and beats the single-descriptor baselines on a held-out
configuration.

Subsampled for CI: two T = 0.44 configurations of the shared BOTAN set for training, a third held out; a
small graph network (width 16, 2 message-passing steps, radial + energy node descriptors), 30 epochs on
one CPU thread (≈ 15 s). At this size the network reaches Pearson ≈ 0.39 and does *not* beat the linear
model on radial descriptors (≈ 0.44); that takes the shipped model's data and training (8 configurations,
15 CPU-minutes), and is asserted on held-out data in test_predictor.py.
"""

from __future__ import annotations

import numpy as np
from mlmat_glass.storage import load_sample
from mlmat_glass.training import evaluate_all, prepare, train_network


def test_small_model_trains_and_beats_baselines(shared_file):
    train = prepare([load_sample(shared_file(i)) for i in (3, 4)], descriptors="radial_energy")
    test = prepare([load_sample(shared_file(10))], descriptors="radial_energy")
    model, history = train_network(train, width=16, n_steps=2, epochs=30, learning_rate=5e-3, seed=0, log=None)
    scores = {name: values["mean"] for name, values in evaluate_all(model, train, test).items()}
    print("losses", [round(h["loss"], 3) for h in history])
    print("held-out Pearson", {k: round(v, 3) for k, v in scores.items()})
    assert np.mean([h["loss"] for h in history[-3:]]) < 0.9 * history[0]["loss"]
    for name in ("local_energy", "neighbour_count"):
        assert scores["graph_network"] > scores[name] + 0.1, (name, scores)
    assert scores["graph_network"] > 0.3
