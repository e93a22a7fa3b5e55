"""The run around the training loop: EMA warm-up, SIGINT/SIGTERM, training state and --resume, k-fold report."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest
import torch
import yaml
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write

from ase_mlmat import load_potential
from ase_mlmat.data import load_labelled
from ase_mlmat.train import TrainConfig, cross_validate, train
from ase_mlmat.train.api import build_model, early_peak
from ase_mlmat.train.targets import labelled_graphs
from ase_mlmat.train.trainer import Trainer, TrainingInterrupted, state_path

TINY = {"cutoff": 3.5, "num_features": 8, "num_interactions": 1, "num_basis": 6}


def emt_copper(n: int, seed: int) -> list:
    """``n`` strained, rattled fcc Cu cells of 4 or 8 atoms labelled by EMT."""
    rng = np.random.default_rng(seed)
    frames = []
    for k in range(n):
        atoms = bulk("Cu", "fcc", a=3.61, cubic=True).repeat((1 + k % 2, 1, 1))
        atoms.set_cell(atoms.cell[:] @ (np.eye(3) + rng.uniform(-0.03, 0.03, (3, 3))), scale_atoms=True)
        atoms.rattle(0.08, seed=int(rng.integers(2**31)))
        atoms.calc = EMT()
        energy, forces, stress = atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress()
        atoms.calc = SinglePointCalculator(atoms, energy=energy, forces=forces, stress=stress)
        frames.append(atoms)
    return frames


@pytest.fixture(scope="module")
def copper(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "cu.extxyz"
    write(path, emt_copper(12, seed=3))
    return path


def _config(data, tmp_path, **kw) -> TrainConfig:
    base = dict(
        data=[str(data)],
        model=TINY,
        epochs=5,
        batch_size=4,
        learning_rate=5e-3,
        scheduler_patience=1,  # the plateau schedule acts within the run, so its state matters on resuming
        val_fraction=0.25,
        progress=False,
        plots=False,
        device="cpu",
        output=str(tmp_path / "model.pt"),
    )
    base.update(kw)
    return TrainConfig.from_dict(base)


def test_ema_warm_up_forgets_the_random_start(copper, tmp_path):
    """The random start's weight in the EMA after n steps is prod_t (1+t)/(10+t) = 1/C(n+9, 9), not 0.99^n."""
    config = _config(copper, tmp_path, batch_size=1, epochs=1, ema_decay=0.99, checkpoint_every=0)
    structures, labels = load_labelled(copper)
    structures, labels = structures[:5], labels[:5]  # 5 optimiser steps

    def trained_ema(start_offset: float) -> list[torch.Tensor]:
        torch.manual_seed(0)
        model = build_model(config, structures, labels)
        graphs = labelled_graphs(structures, labels, model.elements, model.cutoff)
        trainer = Trainer(model, config, torch.device("cpu"), torch.float64)
        with torch.no_grad():
            for p in trainer.ema.parameters():
                p.add_(start_offset)  # the model's path does not depend on the EMA, so this offset is all that differs
        trainer.fit(graphs, [])
        assert trainer.num_updates == 5
        return [p.detach().clone() for p in trainer.ema.parameters()]

    share = torch.cat([(b - a).ravel() for a, b in zip(trained_ema(0.0), trained_ema(1.0))])
    assert share.numpy() == pytest.approx(1 / math.comb(14, 9), rel=1e-6)  # 5.0e-4; 0.99**5 = 0.95 without warm-up


def test_resume_continues_as_if_never_interrupted(copper, tmp_path, monkeypatch):
    """SIGINT after the epoch-2 checkpoint, then resume: the same final model and metrics as one run."""
    whole = train(_config(copper, tmp_path, output=str(tmp_path / "whole.pt"), checkpoint_every=2))

    config = _config(copper, tmp_path, output=str(tmp_path / "parts.pt"), checkpoint_every=2)
    original = Trainer.save_state
    sent = []

    def save_then_interrupt(self):
        path = original(self)
        if not sent:
            sent.append(self.epoch)
            os.kill(os.getpid(), signal.SIGINT)  # reaches the trainer's handler, as Ctrl-C would
        return path

    monkeypatch.setattr(Trainer, "save_state", save_then_interrupt)
    handler_before = signal.getsignal(signal.SIGINT)
    with pytest.raises(TrainingInterrupted, match=r"resume=True") as stop:
        train(config)
    monkeypatch.undo()
    assert signal.getsignal(signal.SIGINT) is handler_before  # the caller's handler is back
    assert sent == [2] and stop.value.exit_code == 130
    assert stop.value.result.history.epoch == [1, 2] and stop.value.result.history.stopped == "SIGINT"
    assert load_potential(tmp_path / "parts.pt").metadata["stopped"] == "SIGINT"  # the best model so far is saved
    state = torch.load(state_path(config.output), weights_only=True)  # plain tensors and data only
    assert state["epoch"] == 2 and state["train_indices"].dtype == torch.int64

    resumed = train(config, resume=True)
    assert resumed.history.epoch == whole.history.epoch == [1, 2, 3, 4, 5]
    assert resumed.history.best_epoch == whole.history.best_epoch
    np.testing.assert_allclose(resumed.history.val_loss, whole.history.val_loss, rtol=1e-6)
    np.testing.assert_allclose(resumed.history.learning_rate, whole.history.learning_rate, rtol=1e-12)
    for name, value in whole.val_metrics.items():
        assert resumed.val_metrics[name] == pytest.approx(value, rel=1e-5), name


def test_resume_refuses_what_cannot_continue(copper, tmp_path):
    config = _config(copper, tmp_path, epochs=2, checkpoint_every=1)
    with pytest.raises(FileNotFoundError, match=r"no training state .*model\.state\.pt"):
        train(config, resume=True)
    train(config)
    with pytest.raises(ValueError, match="already finished all 2 epochs; raise epochs"):
        train(config, resume=True)
    changed = _config(copper, tmp_path, epochs=3, seed=1, model={**TINY, "num_features": 12})
    with pytest.raises(ValueError, match=r"differs from that run's in model, seed \(they fix"):
        train(changed, resume=True)
    assert len(train(_config(copper, tmp_path, epochs=3), resume=True).history.epoch) == 3  # more epochs: goes on


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_cli_signal_saves_best_model_and_state(copper, tmp_path, signum, code):
    """``mlmat train`` stopped by a signal after its first epoch: a loadable model, the state, a resume hint."""
    out = tmp_path / "cli.pt"
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(
        yaml.safe_dump({**_config(copper, tmp_path, epochs=10000, checkpoint_every=1).to_dict(), "output": str(out)})
    )
    run = [sys.executable, "-c", "import sys; from ase_mlmat.cli import main; sys.exit(main())"]
    proc = subprocess.Popen(
        [*run, "train", "--config", str(cfg)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    deadline = time.monotonic() + 120
    while not state_path(out).exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == code, stderr
    assert "Traceback" not in stderr
    line = stderr.strip().splitlines()[-1]
    assert line.startswith(f"mlmat train: interrupted by {signal.Signals(signum).name} after epoch ")
    assert str(out) in line and str(state_path(out)) in line and "--resume" in line
    assert load_potential(out).elements == ["Cu"]
    state = torch.load(state_path(out), weights_only=True)
    assert state["epoch"] >= 1 and state["history"]["stopped"] == signal.Signals(signum).name


def test_early_peak():
    assert early_peak(1, 20) and early_peak(3, 20) and not early_peak(4, 20)
    assert early_peak(10, 100) and not early_peak(11, 100)
    assert not early_peak(2, 2) and not early_peak(3, 3)  # too short a run to tell


def test_kfold_prints_folds_and_warns_on_early_peaks(copper, tmp_path, capsys):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = cross_validate(_config(copper, tmp_path, epochs=6, checkpoint_every=0), k=3)
    printed = capsys.readouterr().out.splitlines()
    folds = report["folds"]
    assert [line.split(":")[0] for line in printed if line.startswith("fold")] == ["fold 1/3", "fold 2/3", "fold 3/3"]
    for fold, line in zip(folds, (line for line in printed if line.startswith("fold"))):
        assert f"best epoch {fold['best_epoch']} of {fold['epochs_run']}" in line and "force MAE" in line
    early = [
        f"fold {i + 1} of 3 had its best" for i, f in enumerate(folds) if early_peak(f["best_epoch"], f["epochs_run"])
    ]
    messages = [str(w.message) for w in caught if issubclass(w.category, UserWarning) and "fold" in str(w.message)]
    assert [m[: len(e)] for m, e in zip(messages, early)] == early and len(messages) == len(early)
    assert "best_epoch" not in report["summary"] and all(1 <= f["best_epoch"] <= 6 for f in folds)


def test_fit_in_a_worker_thread_leaves_signals_alone(copper, tmp_path):
    """Handlers can only be set in the main thread: elsewhere training runs with the signals as they were."""
    import threading

    from ase_mlmat.train import fit

    structures, labels = load_labelled(copper)
    config = _config(copper, tmp_path, epochs=1)
    outcome = []
    worker = threading.Thread(target=lambda: outcome.append(fit(config, structures[:4], labels[:4])))
    worker.start()
    worker.join()
    assert len(outcome) == 1 and outcome[0].history.stopped == "epochs"


def test_cli_diverged_run_is_one_line(copper, tmp_path, capsys):
    from ase_mlmat.cli import main as mlmat

    args = ["train", "--data", str(copper), "--epochs", "2", "--learning-rate", "1e6", "--no-plots", "--no-progress"]
    assert mlmat([*args, "--device", "cpu", "--output", str(tmp_path / "nan.pt")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mlmat train: error: training loss became ") and "lower learning_rate" in err
