"""Training: converges on real DFT data, k-fold, fine-tuning, data formats, CLI, plots."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import read, write

from ase_mlmat import load_potential
from ase_mlmat.cli import main as mlmat
from ase_mlmat.data import DatasetError, kfold_indices, load_labelled, train_val_split
from ase_mlmat.train import TrainConfig, cross_validate, evaluate, fit, train

from ..conftest import MLEARN

TINY = {"cutoff": 3.5, "num_features": 16, "num_interactions": 2, "num_basis": 8}


@pytest.fixture(scope="module")
def si_small(tmp_path_factory):
    """The 24 smallest Si structures of the mlearn training set, as extxyz."""
    frames = read(MLEARN / "Si_train.extxyz", ":")
    frames = sorted(frames, key=len)[:24]
    path = tmp_path_factory.mktemp("data") / "si_small.extxyz"
    write(path, frames)
    return path


def _config(path, **kw):
    base = dict(
        data=[str(path)],
        model=TINY,
        epochs=40,
        batch_size=4,
        learning_rate=5e-3,
        scheduler="cosine",
        val_fraction=0.2,
        progress=False,
        device="cpu",
        plots=False,
    )
    base.update(kw)
    return TrainConfig.from_dict(base)


def test_training_beats_baseline(si_small):
    structures, labels = load_labelled(si_small)
    config = _config(si_small)
    before = fit(_config(si_small, epochs=1, learning_rate=1e-9), structures, labels)
    after = fit(config, structures, labels)
    # Zero-force baseline: the MAE of the reference forces themselves.
    zero_force_mae = np.mean(np.abs(np.concatenate([lab.forces.ravel() for lab in labels])))
    assert after.train_metrics["forces_mae_eV_per_A"] < 0.7 * zero_force_mae
    assert after.train_metrics["forces_mae_eV_per_A"] < 0.7 * before.train_metrics["forces_mae_eV_per_A"]
    assert after.train_metrics["energy_mae_meV_per_atom"] < before.train_metrics["energy_mae_meV_per_atom"]
    assert after.history.train_loss[-1] < after.history.train_loss[0]


def test_train_writes_checkpoint_plots_and_fine_tunes(si_small, tmp_path):
    out = tmp_path / "si.pt"
    result = train(_config(si_small, epochs=5, output=str(out), plots=True))
    assert out.exists() and (tmp_path / "si_parity.png").exists() and (tmp_path / "si_learning_curve.png").exists()
    model = load_potential(out)
    assert model.elements == ["Si"] and model.metadata["num_train"] + model.metadata["num_val"] == 24
    start = evaluate(out, si_small)
    assert start["energy_mae_meV_per_atom"] == pytest.approx(
        evaluate(result.model, si_small)["energy_mae_meV_per_atom"], rel=1e-6
    )
    tuned = train(_config(si_small, epochs=15, init_from=str(out), output=str(tmp_path / "tuned.pt")))
    assert tuned.model.config == model.config
    assert evaluate(tmp_path / "tuned.pt", si_small)["forces_mae_eV_per_A"] < start["forces_mae_eV_per_A"]


def test_kfold_partitions():
    folds = kfold_indices(23, 5, seed=1)
    tests = np.concatenate([test for _, test in folds])
    assert sorted(tests.tolist()) == list(range(23))
    for train_idx, test_idx in folds:
        assert not set(train_idx) & set(test_idx)
    tr, va = train_val_split(10, 0.2, seed=0)
    assert len(va) == 2 and not set(tr) & set(va)


def test_cross_validate_reports_mean_and_std(si_small):
    report = cross_validate(_config(si_small, epochs=2), k=3)
    assert len(report["folds"]) == 3
    summary = report["summary"]["forces_mae_eV_per_A"]
    assert summary["mean"] > 0 and summary["std"] >= 0


def test_ase_db_input_gives_same_labels(si_small, tmp_path):
    frames = read(si_small, ":")
    db = tmp_path / "train.db"
    for atoms in frames:
        write(db, atoms, append=True)
    s1, l1 = load_labelled(si_small)
    s2, l2 = load_labelled(db)
    assert len(s2) == len(s1)
    np.testing.assert_allclose([x.energy for x in l2], [x.energy for x in l1])
    np.testing.assert_allclose(l2[3].forces, l1[3].forces)
    np.testing.assert_allclose(l2[3].stress, l1[3].stress)


def test_dataset_errors(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        load_labelled(tmp_path / "missing.extxyz")
    corrupt = tmp_path / "corrupt.extxyz"
    corrupt.write_text("3\nnot a header\nSi 0 0\n")
    with pytest.raises(DatasetError, match="cannot read"):
        load_labelled(corrupt)
    from ase.build import bulk

    unlabelled = tmp_path / "unlabelled.extxyz"
    write(unlabelled, bulk("Si"))
    with pytest.raises(DatasetError, match="no energy"):
        load_labelled(unlabelled)
    nan = bulk("Si")
    nan.calc = SinglePointCalculator(nan, energy=float("nan"))
    write(tmp_path / "nan.extxyz", nan)
    with pytest.raises(DatasetError, match="non-finite energy"):
        load_labelled(tmp_path / "nan.extxyz")


def test_cli_train_and_eval(si_small, tmp_path, capsys):
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {"data": [str(si_small)], "model": TINY, "epochs": 2, "plots": False, "progress": False, "device": "cpu"}
        )
    )
    out = tmp_path / "cli.pt"
    assert mlmat(["train", "--config", str(config), "--output", str(out)]) == 0
    assert out.exists()
    assert mlmat(["eval", str(out), str(si_small)]) == 0
    printed = capsys.readouterr().out
    assert "energy MAE" in printed and "meV/atom" in printed and "force MAE" in printed
    assert mlmat(["train", "--config", str(config), "--epochs", "0"]) == 2  # validated, clear error
    assert "epochs must be >= 1" in capsys.readouterr().err


@pytest.mark.parametrize("clock", ["wall", "cpu"])
def test_time_budget_stops_training(si_small, clock):
    """A tiny budget ends the run after the first epoch on either clock; an unknown clock is refused."""
    structures, labels = load_labelled(si_small)
    result = fit(_config(si_small, epochs=500, max_minutes=1e-6, budget_clock=clock), structures, labels)
    assert len(result.history.epoch) == 1
    with pytest.raises(ValueError, match="budget_clock"):
        _config(si_small, budget_clock="sundial")


def test_file_at_index_picks_frames(si_small, tmp_path):
    from ase_mlmat.data import read_structures

    everything = read_structures(si_small)
    assert len(read_structures(f"{si_small}@0:3")) == 3
    last = read_structures(f"{si_small}@-1")
    assert len(last) == 1 and np.allclose(last[0].positions, everything[-1].positions)
    with pytest.raises(DatasetError, match=r"missing\.extxyz' does not exist"):
        read_structures(tmp_path / "missing.extxyz@0")
    with pytest.raises(DatasetError, match="holds no structures at '5:5'"):
        read_structures(f"{si_small}@5:5")


def test_energy_finish_switches_loss_and_learning_rate(si_small):
    """The last half of 8 epochs: energy weight ×10, learning rate restarts at 1/10, best epoch chosen within."""
    structures, labels = load_labelled(si_small)
    config = _config(si_small, epochs=8, finish_fraction=0.5, early_stopping_patience=100)
    result = fit(config, structures, labels)
    history = result.history
    assert history.finish_epoch == 5
    assert history.learning_rate[4] == pytest.approx(config.learning_rate / 10)  # first finish epoch
    assert history.learning_rate[3] > config.learning_rate / 10
    assert history.best_epoch >= history.finish_epoch
    without = fit(_config(si_small, epochs=8, early_stopping_patience=100), structures, labels)
    assert without.history.finish_epoch == 0
    assert without.history.learning_rate[4] != pytest.approx(config.learning_rate / 10)


def test_finish_fraction_is_validated(si_small):
    with pytest.raises(ValueError, match="finish_fraction"):
        _config(si_small, finish_fraction=1.0)


def test_energy_finish_raises_only_the_energy_weight(si_small):
    """The finish's task weighs E/N ×10 (or finish_energy_weight) and keeps the force and stress terms."""
    import torch

    from ase_mlmat.models.potential import Potential
    from ase_mlmat.train.trainer import Trainer

    model = Potential("painn", {"cutoff": 3.0, "num_features": 8, "num_interactions": 1}, ["Si"])
    for given, expected in ((None, 1000.0), (250.0, 250.0)):
        config = _config(si_small, finish_fraction=0.5, finish_energy_weight=given)
        trainer = Trainer(model, config, torch.device("cpu"), torch.float32)
        weights = {term.output: term.weight for term in trainer._finish_task().terms}
        before = {term.output: term.weight for term in trainer.task.terms}
        assert weights.pop("energy_per_atom") == pytest.approx(expected)
        assert before.pop("energy_per_atom") == pytest.approx(100.0)
        assert weights == before
