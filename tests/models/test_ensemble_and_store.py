"""One Ensemble for every kind of output; one model store for every kind of model."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ase.build import bulk

from ase_mlmat import MLCalculator, keys
from ase_mlmat.checkpoint import CheckpointError, write_checkpoint
from ase_mlmat.graph import atoms_to_graph, collate
from ase_mlmat.graph.nearest import crystal_graph
from ase_mlmat.model_store import FORMAT, load_model, model_path, save_model, shipped
from ase_mlmat.models import Ensemble, Potential, PropertyModel
from ase_mlmat.models.ensemble import mean_and_spread

from ..conftest import random_potential

TARGETS = ["log10_K_VRH_GPa", "log10_G_VRH_GPa"]
CGCNN = {"cutoff": 5.0, "num_features": 8, "num_interactions": 1, "num_hidden": 8}


def _committee() -> list[Potential]:
    return [random_potential(elements=("Si",), seed=seed) for seed in (0, 1, 2)]


def test_mean_and_spread_of_dicts_and_tensors():
    outputs = [
        {"a": torch.tensor([1.0, 2.0]), "b": torch.tensor(3.0)},
        {"a": torch.tensor([3.0, 2.0]), "b": torch.tensor(5.0)},
    ]
    mean, spread = mean_and_spread(outputs)
    torch.testing.assert_close(mean["a"], torch.tensor([2.0, 2.0]))
    torch.testing.assert_close(spread["a"], torch.tensor([1.0, 0.0]))  # population std: /M, not /(M-1)
    torch.testing.assert_close(spread["b"], torch.tensor(1.0))
    mean, spread = mean_and_spread([torch.ones(2, 3)])
    assert torch.equal(mean, torch.ones(2, 3)) and torch.equal(spread, torch.zeros(2, 3))


def test_ensemble_of_potentials_gives_mean_and_spread_of_every_output():
    members = _committee()
    atoms = bulk("Si", "diamond", a=5.43, cubic=True)
    atoms.rattle(0.05, seed=1)
    graph = atoms_to_graph(atoms, members[0].cutoff, elements=["Si"], dtype=torch.float64)
    mean, spread = Ensemble(members)(graph, forces=True, stress=True)
    single = [m(graph, forces=True, stress=True) for m in members]
    for key in (keys.ENERGY, keys.ATOMIC_ENERGIES, keys.FORCES, keys.STRESS):
        stacked = np.stack([s[key].detach().numpy() for s in single])
        np.testing.assert_allclose(mean[key].detach().numpy(), stacked.mean(0), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(spread[key].detach().numpy(), stacked.std(0), rtol=1e-10, atol=1e-12)
    assert float(spread[keys.ENERGY][0].detach()) > 0


def test_ensemble_of_property_models():
    torch.manual_seed(0)
    members = [PropertyModel("cgcnn", CGCNN, ["Si", "C"], TARGETS, seed=s).eval() for s in (0, 1)]
    ensemble = Ensemble(members)
    graph = collate([crystal_graph(a, 5.0, ensemble.elements) for a in (bulk("SiC", "zincblende", a=4.36),)])
    with torch.no_grad():
        mean, spread = ensemble(graph)
        outputs = torch.stack([m(graph) for m in members])
    assert mean.shape == (1, 2) and torch.equal(mean, outputs.mean(0))
    assert torch.equal(spread, outputs.std(0, unbiased=False))
    assert ensemble.targets == TARGETS and ensemble.max_neighbors == 12 and len(ensemble) == 2


def test_ensemble_members_must_agree():
    si, cu = random_potential(elements=("Si",)), random_potential(elements=("Cu",))
    with pytest.raises(ValueError, match="disagree on elements"):
        Ensemble([si, cu])
    with pytest.raises(ValueError, match="one kind"):
        Ensemble([si, PropertyModel("cgcnn", CGCNN, ["Si"], TARGETS)])
    with pytest.raises(ValueError, match="at least one member"):
        Ensemble([])
    other_cutoff = PropertyModel("cgcnn", {**CGCNN, "cutoff": 6.0}, ["Si"], TARGETS)
    with pytest.raises(ValueError, match="share the graph"):
        Ensemble([PropertyModel("cgcnn", CGCNN, ["Si"], TARGETS), other_cutoff])


def test_a_committee_file_is_a_calculator_committee(tmp_path):
    members = _committee()
    path = save_model(Ensemble(members), tmp_path / "committee.pt", {"note": "three seeds"})
    payload = torch.load(path, weights_only=True)
    assert payload["format"] == FORMAT and payload["kind"] == "potential" and len(payload["members"]) == 3
    loaded = load_model(path)
    assert isinstance(loaded, Ensemble) and loaded.metadata == {"note": "three seeds"}
    atoms = bulk("Si", "diamond", a=5.43, cubic=True)
    atoms.rattle(0.05, seed=1)
    results = []
    for spec in (path, members, loaded):
        calc = MLCalculator(spec, dtype="float64", device="cpu")
        calc.calculate(atoms, ["energy", "forces", "stress"])
        results.append(calc.results)
        assert "forces_std" in calc.implemented_properties and len(calc.models) == 3
    for other in results[1:]:
        for key in ("energy", "forces", "stress", "energy_std", "forces_std", "stress_std"):
            np.testing.assert_array_equal(other[key], results[0][key])


def test_store_round_trip_keeps_every_kind(tmp_path, potential, si_bulk):
    loaded = load_model(save_model(potential, tmp_path / "p.pt", {"a": 1}), kind="potential").double()
    assert isinstance(loaded, Potential) and loaded.metadata == {"a": 1}
    graph = atoms_to_graph(si_bulk, potential.cutoff, elements=potential.elements, dtype=torch.float64)
    assert torch.equal(loaded(graph)[keys.FORCES], potential(graph)[keys.FORCES])
    model = PropertyModel("cgcnn", CGCNN, ["Si", "C"], TARGETS, [2.0, 1.0], [0.5, 0.3]).eval()
    again = load_model(save_model(model, tmp_path / "kg.pt"), kind="property")
    assert again.elements == model.elements and torch.equal(again.target_std, model.target_std)
    assert all(torch.equal(a, b) for a, b in zip(again.state_dict().values(), model.state_dict().values()))


def test_store_refuses_clearly(tmp_path, potential):
    property_path = save_model(PropertyModel("cgcnn", CGCNN, ["Si"], TARGETS), tmp_path / "kg.pt")
    with pytest.raises(CheckpointError, match="not an ase-mlmat potential checkpoint: it holds an ase-mlmat property"):
        load_model(property_path, kind="potential")
    with pytest.raises(CheckpointError, match="not an ase-mlmat potential checkpoint: it holds an ase-mlmat property"):
        MLCalculator(property_path)
    with pytest.raises(TypeError, match="ase-mlmat property-model was expected"):
        load_model(potential, kind="property")
    with pytest.raises(FileNotFoundError, match="neither a checkpoint file nor a shipped model"):
        load_model(tmp_path / "missing.pt")
    write_checkpoint({"format": FORMAT, "kind": "quantum", "spec": {}, "members": []}, tmp_path / "q.pt")
    with pytest.raises(CheckpointError, match="kind 'quantum', which no installed package provides"):
        load_model(tmp_path / "q.pt")
    with pytest.raises(ValueError, match="unknown model kind"):
        load_model(property_path, kind="quantum")
    with pytest.raises(TypeError, match="no model kind stores"):
        save_model(torch.nn.Linear(2, 2), tmp_path / "linear.pt")


def test_shipped_names_resolve_in_one_place():
    names = shipped()
    assert {"mlearn-Si", "mp-binary-kg"} <= set(names)
    assert isinstance(load_model("mlearn-Si"), Potential)
    assert isinstance(load_model("mp-binary-kg", kind="property"), Ensemble)
    assert model_path("mlearn-Si").name == "mlearn-Si.pt"


def test_a_plugin_model_loads_by_its_shipped_name():
    pytest.importorskip("mlmat_glass")
    assert "ka-T0.44-botan" in shipped()
    model = load_model("ka-T0.44-botan", kind="glass")
    assert model.metadata["target_std"] > 0 and model.config["kind"] == "timescales"
