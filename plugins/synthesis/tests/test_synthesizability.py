"""PU bagging bookkeeping, volume-blindness, the predictor through the registry, and the model file."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ase import Atoms
from ase.build import bulk
from mlmat_synthesis import SynthesizabilityPredictor, bagging, reference_volume, volume_normalized
from mlmat_synthesis.model_io import DEFAULT_MODEL

from ase_mlmat.checkpoint import CheckpointError
from ase_mlmat.model_store import load_model, save_model, shipped
from ase_mlmat.models.ensemble import Ensemble
from ase_mlmat.properties import PredictionFailure, available, create

TINY = {"cutoff": 5.0, "num_features": 8, "num_interactions": 1, "gaussian_step": 0.5, "num_hidden": 8}
ROCKSALT = [("Na", "Cl"), ("K", "Cl"), ("Mg", "O"), ("Li", "F"), ("Na", "F"), ("K", "Br"), ("Ca", "O"), ("Ba", "O")]
ZINCBLENDE = [("Ga", "As"), ("Zn", "S"), ("In", "P"), ("Cd", "Te"), ("Al", "P"), ("Ga", "P")]
CSCL = [("Cs", "Cl"), ("Cs", "Br"), ("Tl", "Cl"), ("Cs", "I")]
ODD = [("Fe", "Xe"), ("Au", "He"), ("Ne", "Ar"), ("Pb", "Kr"), ("Hg", "Ne"), ("Ar", "W"), ("Kr", "Os"), ("Xe", "Pt")]


def binary(structure: str, pair: tuple[str, str], a: float = 5.0) -> Atoms:
    return bulk("".join(pair), structure, a=a)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def data():
    positives = [binary("rocksalt", p, 5.0 + 0.1 * k) for k, p in enumerate(ROCKSALT)]
    positives += [binary("zincblende", p, 5.6) for p in ZINCBLENDE] + [binary("cesiumchloride", p, 4.1) for p in CSCL]
    unlabelled = [binary(s, p, 4.5) for s in ("rocksalt", "zincblende", "cesiumchloride") for p in ODD]
    elements = sorted({e for a in positives + unlabelled for e in a.get_chemical_symbols()})
    return positives, unlabelled, elements


@pytest.fixture(scope="module")
def trained(data):
    positives, unlabelled, elements = data
    config = bagging.train_config(model=TINY, epochs=2, batch_size=8)
    pg = bagging.structure_graphs(positives, elements, TINY)
    ug = bagging.structure_graphs(unlabelled, elements, TINY)
    plan = bagging.plan_bags(len(pg), len(ug), bags=4, folds=2, seed=1)
    models = bagging.train_bags(config, elements, pg, ug, plan, log=lambda _: None)
    return Ensemble(models), plan, pg, ug


def test_bags_leave_out_their_fold_and_sample_as_many_unlabelled_as_positives():
    plan = bagging.plan_bags(20, 50, bags=6, folds=3, seed=0)
    folds = bagging.positive_folds(plan, 20)
    assert sorted(set(folds)) == [0, 1, 2]
    for bag in plan:
        assert bag.fold == bag.index % 3
        assert set(bag.positives) == set(np.flatnonzero(folds != bag.fold))  # the fold's positives left out
        assert len(bag.unlabelled) == len(bag.positives) == len(set(bag.unlabelled))  # without replacement
    one = bagging.plan_bags(20, 5, bags=2, folds=1)
    assert all(b.fold == -1 and len(b.positives) == 20 and len(b.unlabelled) == 5 for b in one)
    assert (bagging.positive_folds(one, 20) == -1).all()
    with pytest.raises(ValueError, match="too little data"):
        bagging.plan_bags(3, 10, bags=2, folds=2)


def test_an_unlabelled_structure_is_scored_only_by_the_bags_that_did_not_train_on_it():
    plan = bagging.plan_bags(10, 12, bags=5, folds=1, seed=3)
    probs = np.tile(np.arange(5.0)[:, None] / 10, (1, 12))  # bag r says r / 10 to everything
    scores, counts = bagging.out_of_bag_scores(probs, plan)
    for j in range(12):
        outside = [b.index for b in plan if j not in set(b.unlabelled)]
        assert counts[j] == len(outside)
        if outside:
            assert scores[j] == pytest.approx(np.mean(outside) / 10)
        else:
            assert np.isnan(scores[j])
    everything = bagging.plan_bags(10, 4, bags=2, folds=1)  # every bag samples all 4: no out-of-bag score
    assert np.isnan(bagging.out_of_bag_scores(np.full((2, 4), 0.5), everything)[0]).all()


def test_a_held_out_positive_is_scored_by_the_bags_of_its_fold_only():
    plan = bagging.plan_bags(12, 30, bags=4, folds=2, seed=0)  # bags 0, 2: fold 0; bags 1, 3: fold 1
    probs = np.array([[0.9], [0.1], [0.7], [0.3]]) * np.ones((4, 12))
    scores = bagging.held_out_scores(probs, plan, 12)
    folds = bagging.positive_folds(plan, 12)
    assert np.allclose(scores[folds == 0], 0.8) and np.allclose(scores[folds == 1], 0.2)
    tpr = bagging.true_positive_rates(scores, plan, 12)
    assert tpr["per_fold"] == {0: 1.0, 1: 0.0} and tpr["mean"] == pytest.approx(np.mean(folds == 0))


def test_unlabelled_pool_drops_polymorphs_of_known_compositions():
    known = [binary("rocksalt", ("Na", "Cl")), bulk("MgO", "rocksalt", a=4.2)]
    hypothetical = [
        binary("cesiumchloride", ("Na", "Cl"), 3.3),  # a polymorph of known NaCl: not unlabelled
        binary("rocksalt", ("K", "Cl")),  # a new composition
        bulk("MgO", "zincblende", a=4.5).repeat((2, 1, 1)),  # Mg2O2: reduced formula MgO, still known
        Atoms("Mg2O", positions=[[0, 0, 0], [1.5, 0, 0], [0, 1.5, 0]], cell=[4, 4, 4], pbc=True),  # new stoichiometry
    ]
    assert bagging.novel_composition(hypothetical, known).tolist() == [False, True, False, True]


def test_volume_normalisation_keeps_shape_and_positions_and_removes_the_volume():
    atoms = bulk("NaCl", "rocksalt", a=5.64)
    one, two = volume_normalized(atoms), volume_normalized(atoms * (1, 1, 1))
    stretched = atoms.copy()
    stretched.set_cell(atoms.cell * 1.3, scale_atoms=True)
    assert one.get_volume() == pytest.approx(reference_volume(atoms))
    assert np.allclose(volume_normalized(stretched).cell, one.cell)
    assert np.allclose(one.get_scaled_positions(), atoms.get_scaled_positions())
    assert two.get_volume() == pytest.approx(one.get_volume())
    with pytest.raises(ValueError, match="3D periodic"):
        volume_normalized(Atoms("NaCl", positions=[[0, 0, 0], [0, 0, 2.8]]))


def test_scores_are_probabilities_and_blind_to_the_volume(trained, data):
    bags, *_ = trained
    predictor = SynthesizabilityPredictor(bags)
    positives, unlabelled, _ = data
    for atoms in positives[:3] + unlabelled[:3]:
        result = predictor.predict(atoms)
        assert 0.0 <= result.synthesizability_score <= 1.0 and result.num_bags == 4
        for factor in (0.8, 1.25):
            scaled = atoms.copy()
            scaled.set_cell(atoms.cell * factor, scale_atoms=True)
            assert predictor.predict(scaled).synthesizability_score == pytest.approx(
                result.synthesizability_score, abs=1e-6
            )
    batch = predictor.predict_many([*positives[:4], Atoms("Na")], progress=False)  # batched = one by one
    assert [r.synthesizability_score for r in batch[:4]] == pytest.approx(
        [predictor.predict(a).synthesizability_score for a in positives[:4]], abs=1e-6
    )
    assert isinstance(batch[4], PredictionFailure) and "periodic" in batch[4].message


def test_predictor_through_the_registry_and_the_model_file(trained, data, tmp_path):
    bags, plan, _, ug = trained
    path = save_model(bags, tmp_path / "synth.pt", {"card": {"bags": len(plan)}})
    loaded = load_model(path, kind="property")
    assert isinstance(loaded, Ensemble) and len(loaded) == 4 and loaded.metadata["card"] == {"bags": 4}
    for before, after in zip(bags.members, loaded.members):
        assert np.array_equal(bagging.probabilities(before, ug), bagging.probabilities(after, ug))
    assert "synthesizability" in available()
    result = create("synthesizability", model=str(path)).predict(data[0][0])
    assert result.synthesizability_score == pytest.approx(
        SynthesizabilityPredictor(bags).predict(data[0][0]).synthesizability_score
    )
    assert set(result.as_row()) >= {"synthesizability_score", "synthesizability_std", "num_bags"}
    raw = path.read_bytes()
    path.write_bytes(raw.replace(b"synthesizability_logit", b"synthesizability_lagit"))  # edited
    with pytest.raises(CheckpointError):
        load_model(path)


def test_a_property_model_of_other_targets_is_refused(trained, data):
    from ase_mlmat.models.property_model import PropertyModel

    other = PropertyModel("cgcnn", TINY, data[2], ["log10_K_VRH_GPa"])
    with pytest.raises(ValueError, match="one output 'synthesizability_logit'"):
        SynthesizabilityPredictor(other)


def test_bags_on_disk_are_loaded_not_trained_again(trained, data, tmp_path, monkeypatch):
    _, plan, pg, ug = trained
    _, _, elements = data
    config = bagging.train_config(model=TINY, epochs=1, batch_size=8)
    first = bagging.train_bags(config, elements, pg, ug, plan[:2], directory=tmp_path, log=lambda _: None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bag-000.pt", "bag-001.pt"]

    def refuse(*args, **kwargs):
        raise AssertionError("a bag on disk was trained again")

    monkeypatch.setattr(bagging, "train_bag", refuse)
    again = bagging.train_bags(config, elements, pg, ug, plan[:2], directory=tmp_path, log=lambda _: None)
    for a, b in zip(first, again):
        assert np.array_equal(bagging.probabilities(a, pg), bagging.probabilities(b, pg))


def test_the_shipped_model_scores_a_known_crystal():
    if DEFAULT_MODEL not in shipped():
        pytest.skip("no shipped synthesizability model")
    try:
        predictor = SynthesizabilityPredictor()
    except FileNotFoundError:
        pytest.skip("the shipped synthesizability model is not built yet (scripts/build_synthesizability.py)")
    result = predictor.predict(bulk("NaCl", "rocksalt", a=5.64))
    assert 0.0 <= result.synthesizability_score <= 1.0 and result.num_bags > 1
    # a made compound above a noble-gas "compound" in the same structure
    assert result.synthesizability_score > predictor.predict(bulk("FeXe", "rocksalt", a=5.0)).synthesizability_score
