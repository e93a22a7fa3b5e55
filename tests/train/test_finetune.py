"""Fine-tuning a shipped potential on new labels: reference energies refitted, new elements, fixed options."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ase.build import bulk
from ase.calculators.emt import EMT

from ase_mlmat import load_potential
from ase_mlmat.calculator import load_model
from ase_mlmat.checkpoint import save_potential
from ase_mlmat.data import Labels
from ase_mlmat.models.potential import Potential
from ase_mlmat.train import TrainConfig, fit
from ase_mlmat.train.api import build_model
from ase_mlmat.train.metrics import error_metrics, predict_graphs
from ase_mlmat.train.targets import labelled_graphs
from ase_mlmat.yaml_config import ConfigError

PRETRAINED = "mlearn-Cu"  # PaiNN, cutoff 4 Å, 48 features, elements [Cu]


def _emt_set(count: int, seed: int, nickel: float = 0.0):
    """Rattled, strained 32-atom fcc cells labelled by EMT; a fraction ``nickel`` of the atoms made Ni."""
    rng = np.random.default_rng(seed)
    structures, labels = [], []
    for _ in range(count):
        atoms = bulk("Cu", "fcc", a=3.6, cubic=True).repeat(2)
        if nickel:
            symbols = np.array(atoms.get_chemical_symbols())
            symbols[rng.random(len(atoms)) < nickel] = "Ni"
            atoms.set_chemical_symbols(symbols)
        atoms.set_cell(atoms.cell * (1.0 + rng.normal(0.0, 0.015)), scale_atoms=True)
        atoms.rattle(0.08, seed=int(rng.integers(1 << 31)))
        atoms.calc = EMT()
        labels.append(Labels(atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress()))
        atoms.calc = None
        structures.append(atoms)
    return structures, labels


def _config(**kw) -> TrainConfig:
    base = dict(init_from=PRETRAINED, progress=False, plots=False, device="cpu", batch_size=4)
    return TrainConfig.from_dict({**base, **kw})


def _errors(model: Potential, structures, labels) -> dict[str, float]:
    graphs = labelled_graphs(structures, labels, model.elements, model.cutoff)
    return error_metrics(predict_graphs(model.double(), graphs, dtype=torch.float64))


def _predict(model: Potential, structures) -> tuple[np.ndarray, np.ndarray]:
    """Energies (B,) eV and forces (N, 3) eV/Å."""
    labels = [Labels(0.0, None, None) for _ in structures]
    pred = predict_graphs(
        model.double(), labelled_graphs(structures, labels, model.elements, model.cutoff), dtype=torch.float64
    )
    return pred["energy"], pred["forces"]


@pytest.fixture(scope="module")
def emt_copper():
    return _emt_set(12, seed=1)


def test_reference_energies_refitted_before_training(emt_copper):
    structures, labels = emt_copper
    pretrained = load_model(PRETRAINED).double()
    before = _errors(pretrained, structures, labels)
    model = build_model(_config(), structures, labels)
    after = _errors(model, structures, labels)
    # EMT's zero is ~4 eV/atom from DFT's: the kept references are eV/atom off, the refitted ones leave only
    # the network's own error (meV/atom); forces do not depend on the references.
    assert before["energy_mae_meV_per_atom"] > 1000.0
    assert after["energy_mae_meV_per_atom"] < 50.0
    assert after["forces_mae_eV_per_A"] == pytest.approx(before["forces_mae_eV_per_A"], rel=1e-9)
    # least squares: the residual left to the network is orthogonal to the atom counts (zero mean per atom)
    energies, _ = _predict(model, structures)
    residual = np.array([lab.energy for lab in labels]) - energies
    counts = np.array([len(a) for a in structures])
    assert abs(residual @ counts) < 1e-6 * np.abs(energies).sum()
    assert float(model.scale) == pytest.approx(float(pretrained.scale))  # the scale is kept


def test_fine_tuning_improves_on_zero_shot(emt_copper):
    structures, labels = emt_copper
    train_s, train_l, test_s, test_l = structures[:9], labels[:9], structures[9:], labels[9:]
    config = _config(epochs=3, ema_decay=0.0, scheduler="cosine")
    zero_shot = _errors(build_model(config, train_s, train_l), test_s, test_l)
    tuned = fit(config, train_s, train_l)
    after = _errors(tuned.model, test_s, test_l)
    assert after["forces_mae_eV_per_A"] < zero_shot["forces_mae_eV_per_A"]
    assert after["energy_mae_meV_per_atom"] < 50.0  # was eV/atom when the old references were kept


def test_learning_rate_default_depends_on_init_from():
    assert TrainConfig.from_dict({"data": "x.extxyz"}).learning_rate == pytest.approx(3e-3)
    tuned = TrainConfig.from_dict({"data": "x.extxyz", "init_from": PRETRAINED})
    assert tuned.learning_rate == pytest.approx(tuned.finetune_learning_rate) and tuned.learning_rate < 3e-3
    assert tuned.to_dict()["learning_rate"] == tuned.learning_rate  # the value used is recorded
    given = TrainConfig.from_dict({"data": "x.extxyz", "init_from": PRETRAINED, "learning_rate": 1e-3})
    assert given.learning_rate == pytest.approx(1e-3)
    with pytest.raises(ValueError, match="learning rates must be positive"):
        TrainConfig.from_dict({"data": "x.extxyz", "init_from": PRETRAINED, "finetune_learning_rate": 0})


def test_new_element_gets_a_row_and_a_reference_energy():
    copper, _ = _emt_set(3, seed=2)
    alloy, alloy_labels = _emt_set(6, seed=3, nickel=0.3)
    pretrained = load_model(PRETRAINED).double()
    model = build_model(_config(), alloy, alloy_labels).double()
    assert model.elements == ["Cu", "Ni"]  # the checkpoint's first, new ones appended
    emb = model.net.embedding.weight
    assert torch.equal(emb[0], pretrained.net.embedding.weight[0])
    assert torch.allclose(emb[1], pretrained.net.embedding.weight.mean(0))
    # Pure Cu: forces unchanged; energies shifted only by the refitted Cu reference energy.
    e_old, f_old = _predict(pretrained, copper)
    e_new, f_new = _predict(model, copper)
    np.testing.assert_allclose(f_new, f_old, atol=1e-10)
    delta = float(model.reference_energies[0] - pretrained.reference_energies[0])
    np.testing.assert_allclose(e_new - e_old, delta * np.array([len(a) for a in copper]), atol=1e-8)
    assert _errors(model, alloy, alloy_labels)["energy_mae_meV_per_atom"] < 100.0


@pytest.mark.parametrize("architecture", ["painn", "cgcnn"])
def test_adding_elements_leaves_predictions_unchanged(architecture, tmp_path):
    torch.manual_seed(0)
    model = Potential(architecture, {"cutoff": 4.0, "num_features": 8}, ["Cu"], [-3.5], scale=0.7).double()
    copper, _ = _emt_set(2, seed=4)
    e_old, f_old = _predict(model, copper)
    model.add_elements(["Ni", "Al"], reference_energies=[-4.0, -3.0])
    assert model.elements == ["Cu", "Ni", "Al"] and model.reference_energies.tolist() == [-3.5, -4.0, -3.0]
    e_new, f_new = _predict(model, copper)
    np.testing.assert_allclose(e_new, e_old, atol=1e-10)
    np.testing.assert_allclose(f_new, f_old, atol=1e-10)
    reloaded = load_potential(save_potential(model, tmp_path / "m.pt")).double()
    assert reloaded.elements == model.elements
    np.testing.assert_allclose(_predict(reloaded, copper)[0], e_old, atol=1e-10)
    with pytest.raises(ValueError, match="must be new"):
        model.add_elements(["Cu"])


def test_options_that_cannot_change_are_named(emt_copper):
    structures, labels = emt_copper
    with pytest.raises(ConfigError) as err:
        build_model(_config(model={"cutoff": 5.0, "num_features": 48, "num_basis": 8}), structures, labels)
    message = str(err.value)
    assert "\n" not in message and PRETRAINED in message
    assert "model.cutoff: checkpoint 4.0, given 5.0" in message
    assert "model.num_basis: checkpoint 16, given 8" in message
    assert "num_features" not in message  # equal values are fine
    with pytest.raises(ConfigError, match="architecture: checkpoint 'painn', given 'cgcnn'"):
        build_model(_config(architecture="cgcnn"), structures, labels)
    # keys that are equal, or absent, inherit the checkpoint's
    model = build_model(_config(model={"cutoff": 4}), structures, labels)
    assert model.config == load_model(PRETRAINED).config
