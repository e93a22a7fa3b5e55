"""Representation + heads: PaiNN as a property model, old key layouts, architectures with their own readout."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ase.build import bulk
from torch import nn

from ase_mlmat import keys
from ase_mlmat.graph import atoms_to_graph, collate
from ase_mlmat.graph.nearest import crystal_graph
from ase_mlmat.model_store import load_model, model_path, save_model
from ase_mlmat.models import PaiNN, Potential, PropertyModel, registry
from ase_mlmat.models.gradients import edge_vectors, energy_forces_stress

TARGETS = ["log10_K_VRH_GPa", "log10_G_VRH_GPa"]
PAINN = {"cutoff": 4.5, "num_features": 16, "num_interactions": 2, "num_basis": 8}


def _painn_property_model(seed: int = 0) -> PropertyModel:
    # every neighbour within the cutoff: a cut inside a shell would pick among equidistant neighbours by index
    elements = ["Si", "C", "B", "N"]
    return PropertyModel("painn", PAINN, elements, TARGETS, [2.0, 1.5], [0.4, 0.45], 64, seed=seed).double()


def _predict(model: PropertyModel, structures) -> np.ndarray:
    graphs = [
        crystal_graph(a, model.cutoff, model.elements, max_neighbors=model.max_neighbors, dtype=torch.float64)
        for a in structures
    ]
    with torch.no_grad():
        return model(collate(graphs)).numpy()


def test_painn_property_model_predicts_invariant_targets():
    model = _painn_property_model().eval()
    sic = bulk("SiC", "zincblende", a=4.36)
    rotated = sic.copy()
    rotated.rotate(37, (1, 2, 3), rotate_cell=True)
    permuted = (sic * (2, 1, 1))[[3, 1, 0, 2]]
    single = _predict(model, [sic])
    assert single.shape == (1, 2) and np.all(np.isfinite(single))
    np.testing.assert_allclose(_predict(model, [rotated]), single, atol=1e-10)
    np.testing.assert_allclose(_predict(model, [permuted]), single, atol=1e-10)  # mean pooling: intensive
    both = _predict(model, [sic, bulk("BN", "zincblende", a=3.62)])
    np.testing.assert_allclose(both[0], single[0], atol=1e-10)
    assert not np.allclose(both[0], both[1])


def test_painn_property_model_learns():
    model = _painn_property_model(seed=1).train()
    structures = [bulk("SiC", "zincblende", a=4.36), bulk("BN", "zincblende", a=3.62), bulk("Si", "diamond", a=5.43)]
    batch = collate(
        [crystal_graph(a, model.cutoff, model.elements, max_neighbors=64, dtype=torch.float64) for a in structures]
    )
    target = torch.tensor([[2.3, 2.1], [2.6, 2.5], [1.99, 1.8]], dtype=torch.float64)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(20):
        optimiser.zero_grad()
        loss = ((model.normalized(batch) - (target - model.target_mean) / model.target_std) ** 2).mean()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert losses[-1] < 0.2 * losses[0]


def test_property_model_saves_and_loads(tmp_path):
    model = _painn_property_model().float().eval()
    loaded = load_model(save_model(model, tmp_path / "painn-kg.pt"), kind="property")
    structures = [bulk("SiC", "zincblende", a=4.36)]
    np.testing.assert_array_equal(_predict(model.double(), structures), _predict(loaded.double(), structures))


def test_seeded_build_is_reproducible_and_leaves_the_global_stream_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    first = Potential("painn", PAINN, ["Si"], seed=7).state_dict()
    after = torch.rand(3)
    second = Potential("painn", PAINN, ["Si"], seed=7).state_dict()
    assert torch.equal(after, expected)  # building with a seed drew nothing from the caller's generator
    assert all(torch.equal(first[k], second[k]) for k in first)
    other = Potential("painn", PAINN, ["Si"], seed=8).state_dict()
    assert not torch.equal(first["net.embedding.weight"], other["net.embedding.weight"])


def _old_painn_energy_and_forces(payload: dict, atoms) -> tuple[torch.Tensor, torch.Tensor]:
    """A shipped PaiNN potential evaluated straight from its file's old key layout (``net.readout.*``)."""
    state = {k: v.double() for k, v in payload["state_dict"].items()}
    net = registry.build_representation("painn", payload["config"], len(payload["elements"])).double()
    net.load_state_dict({k[4:]: v for k, v in state.items() if k.startswith("net.") and "readout" not in k})

    def atomic(graph):
        hidden = nn.functional.silu(
            nn.functional.linear(net.features(graph), state["net.readout.0.weight"], state["net.readout.0.bias"])
        )
        raw = nn.functional.linear(hidden, state["net.readout.2.weight"], state["net.readout.2.bias"]).squeeze(-1)
        return state["reference_energies"][graph[keys.SPECIES]] + state["shift"] + state["scale"] * raw

    graph = atoms_to_graph(atoms, payload["config"]["cutoff"], elements=payload["elements"], dtype=torch.float64)
    out = energy_forces_stress(atomic, graph, forces=True, stress=False)
    return out[keys.ENERGY].detach(), out[keys.FORCES]


# The shipped files still written in the old layout (mlearn-Cu was retrained and saved as ase-mlmat-model/2).
@pytest.mark.parametrize("element", ["Ge", "Li", "Mo", "Ni", "Si"])
def test_shipped_potential_predicts_as_its_old_layout(element, tmp_path):
    path = model_path(f"mlearn-{element}")
    payload = torch.load(path, weights_only=True)
    assert payload["format"] == "ase-mlmat-potential/1" and "net.readout.0.weight" in payload["state_dict"]
    atoms = bulk(element, "fcc", a=4.0, cubic=True) * (2, 1, 1)
    atoms.rattle(0.05, seed=2)
    energy, forces = _old_painn_energy_and_forces(payload, atoms)
    model = load_model(path, kind="potential").double()
    resaved = load_model(save_model(model, tmp_path / "new.pt"), kind="potential").double()  # new key layout
    for m in (model, resaved):
        graph = atoms_to_graph(atoms, m.cutoff, elements=m.elements, dtype=torch.float64)
        out = m(graph, forces=True, stress=False)
        assert torch.equal(out[keys.ENERGY].detach(), energy)
        assert torch.equal(out[keys.FORCES], forces)


def test_shipped_property_model_predicts_as_its_old_layout():
    path = model_path("mp-binary-kg")
    payload = torch.load(path, weights_only=True)
    structures = [bulk("SiC", "zincblende", a=4.38), bulk("NaCl", "rocksalt", a=5.69)]
    ensemble = load_model(path, kind="property")
    graph = collate([crystal_graph(a, ensemble.cutoff, ensemble.elements) for a in structures])
    with torch.no_grad():
        mean, _ = ensemble(graph)
        outputs = []
        for member, state in zip(ensemble, payload["members"], strict=True):
            crystal = torch.zeros(2, member.net.num_features).index_add_(0, graph[keys.BATCH], member.net(graph))
            crystal = crystal / graph[keys.NUM_ATOMS].unsqueeze(-1)
            hidden = nn.functional.softplus(
                nn.functional.linear(crystal, state["net.head.0.weight"], state["net.head.0.bias"])
            )
            out = nn.functional.linear(hidden, state["net.head.2.weight"], state["net.head.2.bias"])
            outputs.append(out * state["target_std"] + state["target_mean"])
    np.testing.assert_allclose(mean.numpy(), torch.stack(outputs).mean(0).numpy(), rtol=0, atol=1e-6)


class _ReadoutOnly(nn.Module):
    """An architecture of the older contract: ``forward`` gives (N, 1) per-atom outputs, no ``features``."""

    def __init__(self, *, num_species: int, cutoff: float):
        super().__init__()
        self.cutoff = cutoff
        self.weight = nn.Parameter(torch.linspace(0.5, 1.5, num_species))

    def forward(self, graph):
        lengths = torch.linalg.norm(graph[keys.EDGE_VECTORS], dim=-1)
        pair = torch.exp(-lengths) * self.weight[graph[keys.SPECIES]][graph[keys.EDGE_INDEX][0]]
        return torch.zeros(len(graph[keys.SPECIES]), dtype=pair.dtype).index_add_(0, graph[keys.EDGE_INDEX][0], pair)[
            :, None
        ]


def test_an_architecture_with_its_own_readout_is_a_potential_but_not_a_property_model(monkeypatch, tmp_path):
    builtin = registry._builtin()
    monkeypatch.setattr(registry, "_builtin", lambda: {**builtin, "readout_only": _ReadoutOnly})
    model = Potential("readout_only", {"cutoff": 3.0}, ["Cu"], reference_energies=[-2.0], scale=0.5).double()
    atoms = bulk("Cu", "fcc", a=3.6)
    graph = atoms_to_graph(atoms, 3.0, elements=["Cu"], dtype=torch.float64)
    energy = model(graph, forces=False, stress=False)[keys.ENERGY]
    graph[keys.EDGE_VECTORS] = edge_vectors(graph)
    torch.testing.assert_close(energy[0], -2.0 + 0.5 * model.net(graph).sum().detach())
    loaded = load_model(save_model(model, tmp_path / "old-contract.pt"), kind="potential")
    assert torch.equal(loaded.net.weight, model.net.weight.float())
    with pytest.raises(ValueError, match="gives no per-atom features"):
        PropertyModel("readout_only", {"cutoff": 3.0}, ["Cu"], TARGETS)


class _PaiNNWithReadout(PaiNN):
    """A representation that still carries a readout of its own (left unused by the heads)."""

    def __init__(self, *, num_outputs: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.readout = nn.Sequential(nn.Linear(self.num_features, 4), nn.SiLU(), nn.Linear(4, num_outputs))


def test_a_representation_with_its_own_readout_round_trips(monkeypatch, tmp_path, si_bulk):
    builtin = registry._builtin()
    monkeypatch.setattr(registry, "_builtin", lambda: {**builtin, "painn_readout": _PaiNNWithReadout})
    model = Potential("painn_readout", PAINN, ["Si"], reference_energies=[-3.0], scale=0.7, seed=0).double()
    assert {"net.readout.0.weight", "head.mlp.0.weight"} <= set(model.state_dict())
    loaded = load_model(save_model(model, tmp_path / "m.pt"), kind="potential").double()
    graph = atoms_to_graph(si_bulk, model.cutoff, elements=["Si"], dtype=torch.float64)
    assert torch.equal(loaded(graph)[keys.FORCES], model(graph)[keys.FORCES])  # the head kept its own weights
