"""The one trainer: loss terms, the losses section, seeds through generators, property models through Trainer."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest
import torch
from ase.io import write

from ase_mlmat import keys
from ase_mlmat.data import get_labels, kfold_indices, train_val_split
from ase_mlmat.data.elastic import load_moduli_dataset
from ase_mlmat.data.splits import grouped_kfold_indices
from ase_mlmat.model_store import load_model
from ase_mlmat.train import LossTerm, TrainConfig, fit, train
from ase_mlmat.train.losses import ENERGY_PER_ATOM, PotentialTask, potential_terms
from ase_mlmat.train.property import train_property
from ase_mlmat.train.trainer import Trainer, TrainingInterrupted, state_path
from ase_mlmat.yaml_config import ConfigError

from ..conftest import DATA
from .test_training_run import TINY, emt_copper

MODULI = DATA / "elastic" / "mp-binary-pbe-elasticity-2025.1.json.gz"
TARGETS = ["log10_K_VRH_GPa", "log10_G_VRH_GPa"]
SMALL_CGCNN = {"cutoff": 6.0, "num_features": 16, "num_interactions": 1, "num_hidden": 16}


def _labelled(frames):
    return frames, [get_labels(atoms) for atoms in frames]


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_loss_terms_compute_their_functions_on_the_labelled_rows():
    batch = {
        "p": torch.tensor([0.0, 1.0, 3.0]),
        "t": torch.tensor([0.5, 0.0, 1.0]),
        "has": torch.tensor([True, False, True]),
    }
    out = {"p": batch["p"]}
    diff = np.array([-0.5, 2.0])  # rows 0 and 2
    assert float(LossTerm("p", "t", "mse", 2.0, "has")(out, batch, batch)) == pytest.approx(2 * np.mean(diff**2))
    assert float(LossTerm("p", "t", "l1", 1.0, "has")(out, batch, batch)) == pytest.approx(np.mean(np.abs(diff)))
    huber = np.where(np.abs(diff) < 1.0, 0.5 * diff**2, np.abs(diff) - 0.5)  # delta 1
    assert float(LossTerm("p", "t", "huber", 1.0, "has", 1.0)(out, batch, batch)) == pytest.approx(huber.mean())
    assert float(LossTerm("p", "t", "l1")(out, batch, batch)) == pytest.approx(np.mean([0.5, 1.0, 2.0]))
    none = {**batch, "has": torch.zeros(3, dtype=torch.bool)}
    assert LossTerm("p", "t", mask="has")(out, none, none) is None
    # a per-atom output takes the flag of its structure: atoms 0-1 in structure 0 (unlabelled), atom 2 in 1
    atoms = {"f": torch.tensor([[9.0], [9.0], [1.0]]), "ref": torch.zeros(3, 1), "has": torch.tensor([False, True])}
    atoms[keys.BATCH] = torch.tensor([0, 0, 1])
    assert float(LossTerm("f", "ref", "mse", mask="has")({"f": atoms["f"]}, atoms, atoms)) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="loss of 'p' must be one of"):
        LossTerm("p", "t", "hinge")
    with pytest.raises(ValueError, match="non-negative"):
        LossTerm("p", "t", weight=-1)


def test_bce_term_is_the_logistic_loss_of_logits_and_a_property_task_keeps_them_unstandardised():
    """A classifier's term: log(1 + e^-x) for label 1, log(1 + e^x) for label 0, on the output in target units."""
    from ase_mlmat.train.losses import PropertyTask
    from ase_mlmat.train.targets import PROPERTY_TARGETS

    logits, labels = torch.tensor([2.0, -1.0, 0.5]), torch.tensor([1.0, 0.0, 0.0])
    expected = np.mean([np.log1p(np.exp(-2.0)), np.log1p(np.exp(-1.0)), np.log1p(np.exp(0.5))])
    term = LossTerm("p", "t", "bce", 3.0)
    assert float(term({"p": logits}, {"t": labels}, {})) == pytest.approx(3 * expected)
    total, count = term.weighted_sum({"p": logits}, {"t": labels}, {})
    assert float(total / count) == pytest.approx(3 * expected)

    class Fake(torch.nn.Module):  # standardised output z; target units mean + std * z
        target_mean, target_std = torch.tensor([1.0, 10.0]), torch.tensor([2.0, 5.0])

        def normalized(self, batch):
            return batch["z"]

    batch = {"z": torch.tensor([[0.5, 1.0]]), PROPERTY_TARGETS: torch.tensor([[1.0, 20.0]])}
    task = PropertyTask([LossTerm("c", "c", "bce"), LossTerm("r", "r", "l1")], ["c", "r"])
    out, ref = task.outputs(Fake(), batch, create_graph=False), task.targets(Fake(), batch)
    assert float(out["c"][0]) == pytest.approx(2.0) and float(ref["c"][0]) == 1.0  # logit 1 + 2 * 0.5, label 1
    assert float(out["r"][0]) == 1.0 and float(ref["r"][0]) == pytest.approx(2.0)  # standardised: (20 - 10) / 5
    assert TrainConfig(targets=["c"], losses={"c": {"loss": "bce"}}).task().logits == {"c"}


def test_potential_task_loss_is_the_weighted_sum_of_its_terms():
    """E/N, F and σ terms as before: 100 · MSE(ΔE/N) + 1 · MSE(ΔF) + 100 · MSE(Δσ) with the default config."""
    from ase_mlmat.graph import collate
    from ase_mlmat.train.potential import build_model
    from ase_mlmat.train.targets import labelled_graphs

    structures, labels = _labelled(emt_copper(3, seed=1))
    config = TrainConfig(model=TINY)
    model = build_model(config, structures, labels).double()
    batch = collate(labelled_graphs(structures, labels, model.elements, model.cutoff))
    loss = config.task().loss(model, batch, create_graph=False)
    pred = model(batch)
    n = batch[keys.NUM_ATOMS].double()
    e = torch.tensor([lab.energy for lab in labels], dtype=torch.float64)
    expected = (
        100 * torch.mean(((pred[keys.ENERGY] - e) / n) ** 2)
        + torch.mean((pred[keys.FORCES] - torch.as_tensor(np.concatenate([lab.forces for lab in labels]))) ** 2)
        + 100 * torch.mean((pred[keys.STRESS] - batch["target_stress"]) ** 2)
    )
    assert float(loss.detach()) == pytest.approx(float(expected.detach()), rel=1e-10)


def test_losses_section_defaults_shorthands_and_errors():
    default = TrainConfig()
    assert {n: t["weight"] for n, t in default.losses.items()} == {
        ENERGY_PER_ATOM: 100.0,
        "forces": 1.0,
        "stress": 100.0,
    }
    assert {t["loss"] for t in default.losses.values()} == {"mse"}
    assert isinstance(default.task(), PotentialTask)
    given = TrainConfig.from_dict({"losses": {"forces": {"weight": "2e1", "loss": "huber"}, "stress": "3"}})
    assert given.losses["forces"] == {"loss": "huber", "weight": 20.0, "huber_delta": 0.01}
    assert given.losses["stress"]["weight"] == 3.0 and given.losses[ENERGY_PER_ATOM]["weight"] == 100.0
    shorthand = TrainConfig(energy_weight=1.0, stress_weight=1.0, loss="l1")  # as the active committee writes it
    assert shorthand.losses[ENERGY_PER_ATOM] == {"loss": "l1", "weight": 1.0, "huber_delta": 0.01}
    assert shorthand.energy_weight is None and shorthand.loss is None  # folded into losses: one place
    assert TrainConfig.from_dict(shorthand.to_dict()).losses == shorthand.losses  # the recorded config reloads
    with pytest.raises(ConfigError, match=r"forces_weight and losses\.forces\.weight"):
        TrainConfig(forces_weight=2.0, losses={"forces": 3.0})
    with pytest.raises(ConfigError, match=r"unknown output\(s\) \['force'\]"):
        TrainConfig(losses={"force": 1.0})
    with pytest.raises(ConfigError, match=r"losses\.forces: unknown option"):
        TrainConfig(losses={"forces": {"wieght": 1.0}})
    with pytest.raises(ValueError, match="loss must be one of"):
        TrainConfig.from_dict({"loss": "hinge"})
    prop = TrainConfig.from_dict({"data": "x.json", "targets": TARGETS})
    assert prop.kind == "property" and prop.architecture == "cgcnn" and prop.batch_size == 64
    assert prop.losses == {name: {"loss": "l1", "weight": 1.0, "huber_delta": 0.01} for name in TARGETS}
    assert prop.budget_clock == default.budget_clock == "wall" and prop.scheduler == "cosine"
    with pytest.raises(ConfigError, match="energy_weight weighs a potential"):
        TrainConfig(targets=TARGETS, energy_weight=1.0)
    with pytest.raises(ConfigError, match="ensemble_size trains property models"):
        TrainConfig.from_dict({"ensemble_size": 2})
    with pytest.raises(ConfigError, match="init_from fine-tunes a potential"):
        TrainConfig.from_dict({"targets": TARGETS, "init_from": "mlearn-Cu"})


def test_splits_come_from_their_own_generator():
    np.random.seed(5)
    torch.manual_seed(5)
    before_np, before_torch = np.random.get_state()[1].copy(), torch.get_rng_state()
    first = train_val_split(50, 0.2, 3), kfold_indices(50, 5, 3), grouped_kfold_indices(list("aabbccddeeff"), 3, 3)
    again = train_val_split(50, 0.2, 3), kfold_indices(50, 5, 3), grouped_kfold_indices(list("aabbccddeeff"), 3, 3)
    assert np.array_equal(np.random.get_state()[1], before_np) and torch.equal(torch.get_rng_state(), before_torch)
    assert all(np.array_equal(a, b) for a, b in zip(first[0], again[0]))
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(first[1], again[1]))
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(first[2], again[2]))
    assert not np.array_equal(train_val_split(50, 0.2, 4)[1], first[0][1])


def _weights(model) -> torch.Tensor:
    return torch.cat([p.detach().double().ravel() for p in model.state_dict().values() if p.is_floating_point()])


def test_same_seed_same_potential_and_the_callers_generator_untouched(tmp_path):
    structures, labels = _labelled(emt_copper(6, seed=2))
    config = TrainConfig.from_dict(
        {"model": TINY, "epochs": 2, "batch_size": 2, "progress": False, "plots": False, "device": "cpu"}
    )
    torch.manual_seed(123)
    caller = torch.get_rng_state()
    one = fit(config, structures[:4], labels[:4], structures[4:], labels[4:])
    assert torch.equal(torch.get_rng_state(), caller)  # neither model init nor shuffling drew from it
    torch.manual_seed(999)  # a different global state does not change the run
    two = fit(config, structures[:4], labels[:4], structures[4:], labels[4:])
    assert torch.equal(_weights(one.model), _weights(two.model))
    assert one.history.train_loss == two.history.train_loss
    other = fit(TrainConfig(**{**config.to_dict(), "seed": 1}), structures[:4], labels[:4], structures[4:], labels[4:])
    assert not torch.equal(_weights(one.model), _weights(other.model))


@pytest.fixture(scope="module")
def moduli():
    return load_moduli_dataset(MODULI, limit=60)


def _property_config(tmp_path, **kw) -> TrainConfig:
    base = dict(
        data=str(MODULI),
        targets=TARGETS,
        limit=60,
        model=SMALL_CGCNN,
        max_neighbors=6,
        epochs=4,
        batch_size=16,
        val_fraction=0.2,
        ensemble_size=2,
        progress=False,
        plots=False,
        device="cpu",
        checkpoint_every=1,
        output=str(tmp_path / "kg.pt"),
    )
    base.update(kw)
    return TrainConfig.from_dict(base)


def test_property_model_trains_through_the_trainer(tmp_path, moduli):
    """EMA with warm-up, batch-norm statistics in the EMA, fit() of a property config, same seed same model."""
    config = _property_config(tmp_path, ensemble_size=1)
    y = moduli.targets
    torch.manual_seed(7)
    caller = torch.get_rng_state()
    result = fit(config, moduli.structures[:48], y[:48], moduli.structures[48:], y[48:])
    assert torch.equal(torch.get_rng_state(), caller)
    again = fit(config, moduli.structures[:48], y[:48], moduli.structures[48:], y[48:])
    assert torch.equal(_weights(result.model), _weights(again.model))
    assert set(result.val_metrics) == {f"mae_{name}" for name in TARGETS}
    member = result.model.members[0]
    norms = [m for m in member.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    assert norms and all(not torch.allclose(m.running_var, torch.ones_like(m.running_var)) for m in norms)
    assert len(result.history.epoch) == 4 and result.history.best_epoch >= 1


def test_property_ensemble_interrupted_and_resumed_equals_one_run(tmp_path, moduli, monkeypatch):
    """SIGINT in the second member after its first epoch: the first member is saved; resume gives one run's model."""
    whole = train_property(_property_config(tmp_path, output=str(tmp_path / "whole.pt")), moduli)
    config = _property_config(tmp_path, output=str(tmp_path / "parts.pt"))
    original = Trainer.save_state
    sent = []

    def save_then_interrupt(self):
        path = original(self)
        if not sent and self.state_extra.get("member") == 1 and self.epoch == 1:
            sent.append(self.epoch)
            os.kill(os.getpid(), signal.SIGINT)
        return path

    monkeypatch.setattr(Trainer, "save_state", save_then_interrupt)
    with pytest.raises(TrainingInterrupted, match="member 2 of 2") as stop:
        train(config)
    monkeypatch.undo()
    assert sent == [1] and stop.value.exit_code == 130
    saved = load_model(tmp_path / "parts.pt")
    assert len(saved) == 2 and saved.metadata["stopped"] == ["epochs", "SIGINT"]  # member 1 and member 2 so far
    state = torch.load(state_path(config.output), weights_only=True)
    assert state["member"] == 1 and len(state["members_done"]) == 1
    resumed = train(config, resume=True)
    assert [h.epoch for h in resumed.histories] == [h.epoch for h in whole.histories]
    assert torch.equal(_weights(resumed.model), _weights(whole.model))
    with pytest.raises(ValueError, match="already finished"):
        train(config, resume=True)


def test_mlmat_train_config_trains_a_property_ensemble(tmp_path, capsys):
    import yaml

    from ase_mlmat.cli import main

    path = tmp_path / "kg.yaml"
    config = _property_config(tmp_path, epochs=2, limit=40).to_dict()
    config.update(output=str(tmp_path / "cli.pt"))
    path.write_text(yaml.safe_dump(config))
    assert main(["train", str(path)]) == 0
    out = capsys.readouterr().out
    assert "ensemble of 2" in out and "validation mae_log10_G_VRH_GPa" in out
    model = load_model(tmp_path / "cli.pt")
    assert len(model) == 2
    import gzip
    import json

    from ase_mlmat.train import evaluate
    from ase_mlmat.train.losses import predict_targets
    from ase_mlmat.train.property import build_graphs, load_dataset

    with gzip.open(MODULI, "rt") as handle:
        (tmp_path / "few.json").write_text(json.dumps(json.load(handle)[:12]))
    assert main(["eval", str(tmp_path / "cli.pt"), str(tmp_path / "few.json")]) == 0
    assert "MAE log10_K_VRH_GPa" in capsys.readouterr().out
    few = TrainConfig(data=[str(tmp_path / "few.json")], targets=TARGETS, model=SMALL_CGCNN, max_neighbors=6)
    dataset = load_dataset(few)
    pred = predict_targets(model, build_graphs(few, dataset, model.elements))
    mae = np.abs(pred - dataset.targets).mean(axis=0)
    metrics = evaluate(tmp_path / "cli.pt", tmp_path / "few.json")
    assert [metrics[f"mae_{name}"] for name in TARGETS] == pytest.approx(mae.tolist(), rel=1e-6)
    with pytest.raises(SystemExit):
        main(["train-property", "--config", str(path)])
    assert "invalid choice: 'train-property'" in capsys.readouterr().err


def test_a_huber_potential_trains(tmp_path):
    path = tmp_path / "cu.extxyz"
    write(path, emt_copper(6, seed=4))
    config = TrainConfig.from_dict(
        {
            "data": str(path),
            "model": TINY,
            "epochs": 3,
            "batch_size": 2,
            "losses": {"forces": {"loss": "huber", "huber_delta": 0.05}},
            "progress": False,
            "plots": False,
            "device": "cpu",
            "checkpoint_every": 0,
            "output": str(tmp_path / "m.pt"),
        }
    )
    result = train(config)
    assert np.isfinite(result.history.train_loss).all() and result.history.train_loss[-1] < result.history.train_loss[0]


class _DrawingTask(PotentialTask):
    """A potential task whose augmentation only records a draw from the generator it is given."""

    def __init__(self):
        super().__init__(potential_terms())
        self.draws: list[float] = []
        self.collated = 0

    def collate(self, chunk):
        self.collated += 1
        return super().collate(chunk)

    def augment(self, batch, generator):
        self.draws.append(float(torch.rand((), generator=generator)))
        return batch


def test_task_collates_every_batch_and_augments_training_steps_from_the_trainers_generator():
    from ase_mlmat.train.potential import build_model
    from ase_mlmat.train.targets import labelled_graphs

    structures, labels = _labelled(emt_copper(5, seed=3))
    config = TrainConfig(model=TINY, epochs=3, batch_size=2, progress=False, plots=False, device="cpu", seed=4)
    runs = []
    for _ in range(2):
        model = build_model(config, structures, labels)
        graphs = labelled_graphs(structures, labels, model.elements, model.cutoff)
        task = _DrawingTask()
        trainer = Trainer(model, config, torch.device("cpu"), torch.float32, task=task)
        trainer.fit(graphs[:4], graphs[4:])
        runs.append((task, _weights(trainer.model)))
    task = runs[0][0]
    assert len(task.draws) == 3 * 2  # one per training step (2 batches of 2), none in validation
    assert task.collated == 3 * (2 + 1)  # training and validation batches
    assert runs[1][0].draws == task.draws  # the trainer's generator: a seed repeats them
    assert torch.equal(runs[0][1], runs[1][1])
