"""Inherent structures, coarse-grained descriptors and the linear propensity model."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from mlmat_glass.descriptors import coarse_grained, descriptor_size, node_descriptors
from mlmat_glass.dynamics import equilibrate, lattice_start
from mlmat_glass.inherent import MinimisationError, inherent_structure
from mlmat_glass.inputs import model_inputs
from mlmat_glass.kob_andersen import kob_andersen_forces
from mlmat_glass.linear_model import DescriptorLinearModel
from mlmat_glass.model_io import load_model, save_model


@pytest.fixture(scope="module")
def liquid():
    rng = np.random.default_rng(11)
    return equilibrate(lattice_start(300, 0.8, rng), 0.8, 0.3, rng=rng)


@pytest.fixture(scope="module")
def minimum(liquid):
    return inherent_structure(liquid.positions, liquid.types, liquid.box)


def test_inherent_structure_is_a_force_free_minimum_below_the_liquid(liquid, minimum):
    start = kob_andersen_forces(liquid.positions, liquid.types, liquid.box)
    end = kob_andersen_forces(minimum, liquid.types, liquid.box)
    assert np.abs(end.forces).max() < 1e-3
    assert end.energy < start.energy - 0.3 * len(liquid.types)  # thermal energy ~ 3/2 T per particle is removed
    # a local minimum: random small displacements raise the energy
    rng = np.random.default_rng(0)
    for _ in range(3):
        nudged = minimum + 1e-3 * rng.standard_normal(minimum.shape)
        assert kob_andersen_forces(nudged, liquid.types, liquid.box).energy > end.energy
    # particles stay near their thermal positions: no wrapping jumps, moves of a vibration amplitude
    assert np.linalg.norm(minimum - liquid.positions, axis=1).mean() < 0.5


def test_inherent_structure_follows_particle_order(liquid, minimum):
    order = np.random.default_rng(3).permutation(len(liquid.types))
    permuted = inherent_structure(liquid.positions[order], liquid.types[order], liquid.box)
    np.testing.assert_allclose(permuted, minimum[order], atol=1e-3)


def test_unconverged_minimisation_is_an_error(liquid):
    with pytest.raises(MinimisationError, match="largest force"):
        inherent_structure(liquid.positions, liquid.types, liquid.box, max_iterations=3)


def test_coarse_graining_averages_over_the_neighbourhood(liquid):
    n = len(liquid.types)
    constant = np.full((n, 2), 3.0)
    np.testing.assert_allclose(coarse_grained(constant, liquid.positions, liquid.box, 2.0), 3.0)
    # a single marked particle spreads 1/(1 + neighbours) to each neighbour within the radius
    spike = np.zeros((n, 1))
    spike[5] = 1.0
    smooth = coarse_grained(spike, liquid.positions, liquid.box, 1.5)[:, 0]
    distances = np.linalg.norm(
        (liquid.positions - liquid.positions[5] + liquid.box / 2) % liquid.box - liquid.box / 2, axis=1
    )
    assert np.all(smooth[distances > 1.5] == 0.0)
    assert np.all(smooth[distances < 1.5] > 0.0)


def test_descriptor_sets_have_their_documented_sizes(liquid, minimum):
    assert descriptor_size("radial_energy") == 57
    assert descriptor_size("inherent_radial") == 115
    assert descriptor_size("inherent_radial_cg") == 460
    features = node_descriptors("inherent_radial", liquid.positions, liquid.types, liquid.box, inherent=minimum)
    distance_to_minimum = np.linalg.norm(liquid.positions - minimum, axis=1)
    np.testing.assert_allclose(features[:, 57], distance_to_minimum, rtol=1e-5)
    with pytest.raises(ValueError, match="unknown node descriptors"):
        node_descriptors("bond_angles", liquid.positions, liquid.types, liquid.box)


def test_linear_model_recovers_a_linear_target_and_round_trips(tmp_path, liquid, minimum):
    graph = model_inputs(
        liquid.positions, liquid.types, liquid.box, descriptors="inherent_radial", graph_positions="inherent"
    )
    x = graph["descriptors"].numpy().astype(np.float64)
    coefficients = np.random.default_rng(1).standard_normal(x.shape[1])
    target = ((x - x.mean(0)) / (x.std(0) + 1e-12)) @ coefficients
    model = DescriptorLinearModel(descriptors="inherent_radial", n_descriptors=x.shape[1], graph_positions="inherent")
    model.fit([x], [target], ridge=1e-8)
    with torch.no_grad():
        prediction = model(graph).numpy()
    assert np.corrcoef(prediction, target)[0, 1] > 0.999
    path = save_model(model, tmp_path / "linear.pt", target_mean=0.5, target_std=0.2, card={"name": "linear"})
    loaded, info = load_model(path)
    assert isinstance(loaded, DescriptorLinearModel) and info["config"]["kind"] == "linear"
    with torch.no_grad():
        np.testing.assert_allclose(loaded(graph).numpy(), prediction, rtol=1e-6, atol=1e-6)


def test_linear_readout_network_starts_as_the_ridge_model(liquid):
    from mlmat_glass.storage import GlassSample
    from mlmat_glass.training import fit_linear, predict_z, prepare, train_network

    rng = np.random.default_rng(2)
    sample = GlassSample(
        liquid.positions,
        liquid.types,
        liquid.box,
        0.8,
        np.array([1.0]),
        rng.random((1, len(liquid.types))).astype(np.float32),
        np.array([0.5]),
    )
    items = prepare([sample], descriptors="inherent_radial", graph_positions="inherent")
    network, _ = train_network(
        items, width=8, n_steps=1, epochs=1, learning_rate=0.0, linear_readout=True, ridge=0.03, log=None
    )
    linear = fit_linear(items, ridge=0.03)
    np.testing.assert_allclose(predict_z(network, items[0].graph), predict_z(linear, items[0].graph), atol=1e-4)


def test_ensemble_averages_members_and_round_trips(tmp_path, liquid):
    from mlmat_glass.ensemble import PropensityEnsemble
    from mlmat_glass.network import GlassGraphNetwork

    graph = model_inputs(
        liquid.positions, liquid.types, liquid.box, descriptors="inherent_radial", graph_positions="inherent"
    )
    torch.manual_seed(0)
    network = GlassGraphNetwork(
        width=8, n_steps=1, descriptors="inherent_radial", n_descriptors=115, graph_positions="inherent"
    ).eval()
    linear = DescriptorLinearModel(descriptors="inherent_radial", n_descriptors=115, graph_positions="inherent")
    x = graph["descriptors"].numpy()
    linear.fit([x], [x[:, 0]])
    ensemble = PropensityEnsemble([network, linear]).eval()
    with torch.no_grad():
        expected = 0.5 * (network(graph) + linear(graph))
        np.testing.assert_allclose(ensemble(graph).numpy(), expected.numpy(), atol=1e-6)
    loaded, _ = load_model(save_model(ensemble, tmp_path / "ensemble.pt", target_mean=0.5, target_std=0.2))
    with torch.no_grad():
        np.testing.assert_allclose(loaded(graph).numpy(), expected.numpy(), atol=1e-6)
    thermal = GlassGraphNetwork(width=8, n_steps=1, descriptors="inherent_radial", n_descriptors=115)
    with pytest.raises(ValueError, match="same inputs"):
        PropensityEnsemble([network, thermal])
