"""The graph network: permutation invariance (exact), invariance to the cube's symmetry operations when
symmetrised (exact), and safe checkpoints."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from mlmat_glass.dynamics import equilibrate, lattice_start
from mlmat_glass.glass_graph import cube_symmetries, glass_graph, random_orthogonal, transform_graph
from mlmat_glass.model_io import GlassModelError, load_model, save_model
from mlmat_glass.network import GlassGraphNetwork
from mlmat_glass.storage import GlassSample
from mlmat_glass.training import predict_z, prepare


@pytest.fixture(scope="module")
def liquid():
    rng = np.random.default_rng(4)
    return equilibrate(lattice_start(300, 1.0, rng), 1.0, 0.3, rng=rng)


@pytest.fixture(scope="module")
def network():
    torch.manual_seed(0)
    return GlassGraphNetwork(width=16, n_steps=3).eval()


def test_output_is_permutation_equivariant(liquid, network):
    order = np.random.default_rng(0).permutation(len(liquid.types))
    direct = predict_z(network, glass_graph(liquid.positions, liquid.types, liquid.box))
    permuted = predict_z(network, glass_graph(liquid.positions[order], liquid.types[order], liquid.box))
    np.testing.assert_allclose(permuted, direct[order], atol=1e-5)


def test_translation_and_wrapping_do_not_matter(liquid, network):
    direct = predict_z(network, glass_graph(liquid.positions, liquid.types, liquid.box))
    moved = predict_z(network, glass_graph(liquid.positions + np.array([3.3, -7.1, 20.0]), liquid.types, liquid.box))
    np.testing.assert_allclose(moved, direct, atol=1e-5)


def test_symmetrised_output_is_invariant_to_cube_operations(liquid, network):
    """Rotating/reflecting a periodic cubic configuration by a symmetry of the cube (the rotations that map
    the box onto itself) leaves the symmetrised prediction unchanged; the raw network is not exactly invariant."""
    ops = cube_symmetries()
    graph = glass_graph(liquid.positions, liquid.types, liquid.box)
    reference = predict_z(network, graph, ops)
    for op in ops[[5, 17, 40]]:
        rotated_positions = liquid.positions @ op.double().numpy().T
        rotated = predict_z(network, glass_graph(rotated_positions, liquid.types, liquid.box), ops)
        np.testing.assert_allclose(rotated, reference, atol=1e-5)
    raw = predict_z(network, graph)
    raw_rotated = predict_z(network, transform_graph(graph, random_orthogonal(torch.Generator().manual_seed(1))))
    assert not np.allclose(raw, raw_rotated, atol=1e-5)


def test_descriptor_network_round_trips_through_checkpoint(tmp_path, liquid):
    sample = GlassSample(
        liquid.positions,
        liquid.types,
        liquid.box,
        1.0,
        [1.0],
        np.random.default_rng(0).random((1, len(liquid.types))),
        [0.5],
    )
    item = prepare([sample], descriptors="radial_energy")[0]
    model = GlassGraphNetwork(
        width=8, n_steps=2, descriptors="radial_energy", n_descriptors=item.graph["descriptors"].shape[1]
    ).eval()
    model.descriptor_mean.fill_(0.5)
    path = save_model(model, tmp_path / "m.pt", target_mean=0.5, target_std=0.2, card={"temperature": 1.0})
    loaded, info = load_model(path)
    assert info["card"]["temperature"] == 1.0 and info["target_std"] == 0.2
    np.testing.assert_allclose(predict_z(loaded, item.graph), predict_z(model, item.graph), atol=1e-6)


class _Exploit:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_checkpoint_with_code_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"format": "mlmat-glass-model/1", "config": _Exploit()}, path)
    with pytest.raises(GlassModelError, match="refused"):
        load_model(path)
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(GlassModelError, match="corrupt"):
        load_model(tmp_path / "junk.pt")


def test_save_model_writes_on_rank_0_only(tmp_path, monkeypatch):
    """Under torchrun every process holds the trained network; only rank 0 writes it."""
    from ase_mlmat.train import distributed

    model = GlassGraphNetwork(width=8, n_steps=1)
    monkeypatch.setattr(distributed, "rank", lambda: 1)
    assert save_model(model, tmp_path / "m.pt", target_mean=0.5, target_std=0.2) == tmp_path / "m.pt"
    assert not (tmp_path / "m.pt").exists()
    monkeypatch.setattr(distributed, "rank", lambda: 0)
    save_model(model, tmp_path / "m.pt", target_mean=0.5, target_std=0.2)
    assert (tmp_path / "m.pt").exists()
