"""CGCNN property model: features, invariances, training beats the mean, checkpoint round trip, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ase import Atoms
from ase.build import bulk

from ase_mlmat.checkpoint import CheckpointError
from ase_mlmat.graph import StructureError, collate
from ase_mlmat.graph.nearest import crystal_graph, nearest_edges
from ase_mlmat.model_store import load_model, save_model
from ase_mlmat.models import AtomHead, Ensemble, available
from ase_mlmat.models.element_table import NUM_FEATURES, element_features
from ase_mlmat.models.property_model import PropertyModel
from ase_mlmat.properties.ml_moduli import MLModuli, predict_moduli

from .conftest import SMALL_MODEL


def _model(elements=("B", "C", "N", "Si"), seed=0):
    torch.manual_seed(seed)
    return PropertyModel(
        "cgcnn", SMALL_MODEL, list(elements), ["log10_K_VRH_GPa", "log10_G_VRH_GPa"], [2.0, 1.5], [0.4, 0.45]
    ).eval()


def _predict(model, structures):
    graphs = [crystal_graph(a, model.cutoff, model.elements, max_neighbors=model.max_neighbors) for a in structures]
    with torch.no_grad():
        return model(collate(graphs)).numpy()


def test_registered_and_element_features():
    assert "cgcnn" in available()
    carbon, silicon = element_features("C"), element_features("Si")
    assert carbon.shape == (NUM_FEATURES,) and set(np.unique(carbon)) <= {0.0, 1.0}
    assert carbon.sum() == 9 and not np.array_equal(carbon, silicon)  # one bit per property
    assert element_features("He").sum() == 8  # no electronegativity tabulated for helium
    with pytest.raises(KeyError, match="no tabulated atom features"):
        element_features("Og")


def test_nearest_edges_keeps_the_closest():
    centre = np.array([0, 0, 0, 1, 1])
    lengths = np.array([3.0, 1.0, 2.0, 5.0, 4.0])
    assert nearest_edges(centre, lengths, 2).tolist() == [1, 2, 3, 4]


def test_invariances_and_batching():
    model = _model()
    sic = bulk("SiC", "zincblende", a=4.36)
    rotated = sic.copy()
    rotated.rotate(37, (1, 2, 3), rotate_cell=True)
    shuffled = sic[[1, 0]]
    supercell = sic * (2, 2, 1)
    bn = bulk("BN", "zincblende", a=3.62)
    single = _predict(model, [sic])
    assert np.allclose(_predict(model, [rotated]), single, atol=1e-5)
    assert np.allclose(_predict(model, [shuffled]), single, atol=1e-5)
    assert np.allclose(_predict(model, [supercell]), single, atol=1e-5)
    batch = _predict(model, [sic, bn])
    assert np.allclose(batch[0], single[0], atol=1e-5) and np.allclose(batch[1], _predict(model, [bn])[0], atol=1e-5)
    assert not np.allclose(batch[0], batch[1])
    graph = crystal_graph(supercell, model.cutoff, model.elements)
    with torch.no_grad():
        head = AtomHead(model.net.num_features, 1, **model.net.head_defaults)
        per_atom = head(model.features(graph))  # a per-atom head: (N, 1), same for equivalent atoms
    assert per_atom.shape == (len(supercell), 1)
    assert torch.allclose(per_atom[0::2], per_atom[0].expand(4, 1), atol=1e-5)


def test_training_converges_and_beats_the_mean(trained_small, moduli_slice):
    result, _ = trained_small
    history = result.histories[0]
    assert history.val_loss[history.best_epoch - 1] < 0.6 * history.val_loss[0]
    from ase_mlmat.data import train_val_split

    train_idx, val_idx = train_val_split(len(moduli_slice), 0.2, 0)
    y = moduli_slice.targets
    baseline = np.abs(y[val_idx] - y[train_idx].mean(axis=0)).mean(axis=0)  # predicting the training mean
    model_mae = np.array([result.val_metrics["mae_log10_K_VRH_GPa"], result.val_metrics["mae_log10_G_VRH_GPa"]])
    print(f"validation MAE {model_mae} vs mean predictor {baseline}")
    assert np.all(model_mae < 0.75 * baseline)


def test_checkpoint_round_trip(trained_small, moduli_slice, tmp_path):
    result, path = trained_small
    loaded = load_model(path, kind="property")
    assert isinstance(loaded, Ensemble) and len(loaded) == 2
    assert loaded.elements == result.model.elements and loaded.targets == result.model.targets
    structures = moduli_slice.structures[:10]
    before, after = predict_moduli(result.model, structures), predict_moduli(loaded, structures)
    assert [b.as_row() for b in before] == [a.as_row() for a in after]
    assert all(b.log10_bulk_modulus_std > 0 for b in before)  # two members disagree somewhat
    assert loaded.metadata["num_train"] == 320 and loaded.metadata["dropped_non_positive"] == 0
    resaved = save_model(loaded, tmp_path / "again.pt")
    assert [p.as_row() for p in predict_moduli(load_model(resaved), structures)] == [a.as_row() for a in after]
    torch.save({"format": "ase-mlmat-property/1", "payload": Atoms()}, tmp_path / "evil.pt")
    with pytest.raises(CheckpointError, match="refused"):
        load_model(tmp_path / "evil.pt", kind="property")
    torch.save({"format": "ase-mlmat-potential/1"}, tmp_path / "potential.pt")
    with pytest.raises(CheckpointError, match="not an ase-mlmat property-model checkpoint"):
        load_model(tmp_path / "potential.pt", kind="property")


def test_unsupported_element_and_isolated_atom_are_refused(trained_small):
    model = trained_small[0].model
    unknown = next(e for e in ("Og", "Lr", "No", "Es", "Fm") if e not in model.elements)
    foreign = Atoms(f"{unknown}2", positions=[[0, 0, 0], [2.5, 0, 0]], cell=[5, 5, 5], pbc=True)
    element = model.elements[0]
    lonely = Atoms(f"{element}2", positions=[[0, 0, 0], [0, 0, 20.0]], cell=[30, 30, 30], pbc=True)
    with pytest.raises(StructureError, match="isolated atom"):
        crystal_graph(lonely, model.cutoff, model.elements)
    fine = Atoms(f"{element}2", positions=[[0, 0, 0], [1.2, 1.2, 1.2]], cell=[2.4, 2.4, 2.4], pbc=True)
    results = predict_moduli(model, [foreign, lonely, fine])
    assert isinstance(results[0], StructureError) and "not in the model" in str(results[0])
    assert isinstance(results[1], StructureError) and "isolated" in str(results[1])
    assert results[2].bulk_modulus_GPa > 0  # the run goes on after the failures
    with pytest.raises(StructureError):
        MLModuli(model)(lonely)


def test_config_targets_and_validation(tmp_path):
    from ase_mlmat.train.property import load_dataset

    from .conftest import small_config

    shear_only = load_dataset(small_config(tmp_path, limit=20, targets=["log10_G_VRH_GPa"]))
    assert shear_only.target_names == ("log10_G_VRH_GPa",) and shear_only.targets.shape == (20, 1)
    with pytest.raises(ValueError, match="subset"):
        load_dataset(small_config(tmp_path, limit=20, targets=["hardness"]))
    with pytest.raises(ValueError, match="loss must be one of"):
        small_config(tmp_path, loss="hinge")
    with pytest.raises(ValueError, match="unknown training option"):
        small_config(tmp_path, epoch=3)


def test_continuous_element_features(tmp_path):
    from ase_mlmat.models.element_table import NUM_CONTINUOUS, continuous_features, element_properties

    table = np.stack([continuous_features(e) for e in element_properties()])
    assert table.shape == (100, NUM_CONTINUOUS)
    assert np.allclose(table.mean(axis=0), 0, atol=0.05) and np.all(table.std(axis=0) > 0.8)  # standardised
    assert continuous_features("He")[3] == 0.0  # no electronegativity: the table mean
    both = element_features("Yb", continuous=True)
    assert both.shape == (NUM_FEATURES + NUM_CONTINUOUS,) and np.array_equal(
        both[:NUM_FEATURES], element_features("Yb")
    )
    # Yb sits closer to its neighbours Tm and Lu than to Si in the continuous part
    assert np.linalg.norm(continuous_features("Yb") - continuous_features("Tm")) < np.linalg.norm(
        continuous_features("Yb") - continuous_features("Si")
    )
    torch.manual_seed(0)
    options = {**SMALL_MODEL, "continuous_features": True}
    model = Ensemble([PropertyModel("cgcnn", options, ["Si", "C"], ["log10_K_VRH_GPa", "log10_G_VRH_GPa"])])
    assert model.first.net.atom_table.shape[1] == NUM_FEATURES + NUM_CONTINUOUS
    loaded = Ensemble([load_model(save_model(model.eval(), tmp_path / "continuous.pt"))])
    sic = bulk("SiC", "zincblende", a=4.36)
    assert predict_moduli(loaded, [sic])[0].as_row() == predict_moduli(model, [sic])[0].as_row()
