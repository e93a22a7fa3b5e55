"""Ensemble weights chosen on validation: never below the best member on the predictions they are fitted to,
moved away from a member that is made worse, stored in the model file."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from mlmat_glass.ensemble import PropensityEnsemble, fit_weights, mean_pearson
from mlmat_glass.linear_model import DescriptorLinearModel
from mlmat_glass.model_io import load_model, save_model
from mlmat_glass.training import fit_linear, predict_z, prepare
from mlmat_glass.validation import out_of_fold, validated_ensemble


def _members(rng, target, noise):
    """Predictions (M, N) of members with independent errors of the given standard deviations."""
    return np.stack([target + s * rng.standard_normal(target.shape) for s in noise])


def test_fitted_weights_never_score_below_the_best_member():
    rng = np.random.default_rng(0)
    for trial in range(20):
        n_members = int(rng.integers(2, 5))
        noise = rng.uniform(0.3, 3.0, n_members)
        targets = [rng.standard_normal(200) for _ in range(4)]
        blocks = [_members(rng, t, noise) for t in targets]
        if trial % 2:  # correlated errors and a member with a different scale
            shared = [rng.standard_normal(200) for _ in targets]
            blocks = [b + s[None] for b, s in zip(blocks, shared)]
            blocks = [b * np.array([1.0] * (n_members - 1) + [5.0])[:, None] for b in blocks]
        weights = fit_weights(blocks, targets)
        assert weights.shape == (n_members,) and np.all(weights >= 0) and np.isclose(weights.sum(), 1.0)
        best_member = max(mean_pearson([b[m] for b in blocks], targets) for m in range(n_members))
        assert mean_pearson([weights @ b for b in blocks], targets) >= best_member - 1e-12


def test_weights_move_away_from_a_member_made_worse():
    rng = np.random.default_rng(1)
    targets = [rng.standard_normal(500) for _ in range(5)]
    errors = [rng.standard_normal((2, 500)) for _ in targets]
    before = fit_weights([t + 0.8 * e for t, e in zip(targets, errors)], targets)
    assert 0.3 < before[1] < 0.7  # two equally good members with independent errors share the weight
    worse = fit_weights([t + np.array([[0.8], [2.4]]) * e for t, e in zip(targets, errors)], targets)
    assert worse[1] < before[1] - 0.2 and worse[0] > before[0] + 0.2


def _noise_member(seed):
    def fit(items):
        model = DescriptorLinearModel(descriptors="radial_energy", n_descriptors=items[0].graph["descriptors"].shape[1])
        model.weights.copy_(torch.randn(model.weights.shape, generator=torch.Generator().manual_seed(seed)))
        return model.eval()

    return fit


def test_validated_ensemble_drops_a_useless_member_and_keeps_its_weights_on_disk(synthetic_samples, tmp_path):
    items = prepare(synthetic_samples, descriptors="radial_energy")
    fits = {"ridge": lambda train: fit_linear(train, ridge=0.01), "noise": _noise_member(3)}
    ensemble, report = validated_ensemble(fits, items, log=None)
    assert report["weights"]["ridge"] > 0.8
    assert report["validated_fitted"]["mean"] >= max(report["ridge"]["mean"], report["noise"]["mean"]) - 1e-12
    assert report["ridge"]["mean"] > 0.5 > report["noise"]["mean"]
    # leave-one-configuration-out predictions come from models that never saw the configuration
    oof = out_of_fold(fits["ridge"], items)
    full = predict_z(fit_linear(items, ridge=0.01), items[0].graph)
    assert not np.allclose(oof[0], full)
    np.testing.assert_allclose(oof[0], predict_z(fit_linear(items[1:], ridge=0.01), items[0].graph), atol=1e-6)
    two_folds = out_of_fold(fits["ridge"], items, n_folds=2)  # configurations {0, 1} and {2, 3} held out
    np.testing.assert_allclose(two_folds[1], predict_z(fit_linear(items[2:], ridge=0.01), items[1].graph), atol=1e-6)
    path = save_model(ensemble, tmp_path / "e.pt", target_mean=0.5, target_std=0.1)
    loaded, _ = load_model(path)
    np.testing.assert_allclose(loaded.weights.numpy(), ensemble.weights.numpy())
    np.testing.assert_allclose(predict_z(loaded, items[1].graph), predict_z(ensemble, items[1].graph), atol=1e-6)


def test_weighted_forward_and_files_without_weights(synthetic_samples, tmp_path):
    items = prepare(synthetic_samples[:2], descriptors="radial_energy")
    a, b = fit_linear(items, ridge=0.01), _noise_member(0)(items)
    ensemble = PropensityEnsemble([a, b], [0.25, 0.75])
    expected = 0.25 * predict_z(a, items[0].graph) + 0.75 * predict_z(b, items[0].graph)
    np.testing.assert_allclose(predict_z(ensemble, items[0].graph), expected, atol=1e-5)
    with pytest.raises(ValueError, match="summing to one"):
        ensemble.set_weights([0.5, 0.6])
    state = {k: v for k, v in ensemble.state_dict().items() if k != "weights"}  # an older file's state dict
    old = PropensityEnsemble([fit_linear(items, ridge=0.01), _noise_member(0)(items)])
    old.load_state_dict(state)
    np.testing.assert_allclose(old.weights.numpy(), [0.5, 0.5])
