"""``mlmat train CONFIG`` with ``kind: glass``: the core routes the file to this plugin's model kind, which trains a
glass network with the core's trainer and saves it to the model store."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
import torch
from mlmat_glass.network import GlassGraphNetwork
from mlmat_glass.storage import load_sample
from mlmat_glass.training import predict_z, prepare

from ase_mlmat.cli import main
from ase_mlmat.model_store import load_model
from ase_mlmat.train.trainer import Trainer, state_path


def test_mlmat_train_trains_a_glass_network_from_its_config(shared_file, tmp_path, capsys):
    output = tmp_path / "glass.pt"
    config = tmp_path / "glass.yaml"
    config.write_text(
        "kind: glass\n"
        f"data: [{shared_file(1)}, {shared_file(2)}]\n"
        f"validation: [{shared_file(3)}]\n"
        "width: 8\nn_steps: 1\nepochs: 2\nlearning_rate: 3e-3\n"
        f"output: {output}\n"
    )
    assert main(["train", str(config)]) == 0
    printed = capsys.readouterr().out
    assert f"saved {output}" in printed and "pearson" in printed
    model = load_model(output, kind="glass")
    assert isinstance(model, GlassGraphNetwork) and model.config["width"] == 8
    item = prepare([load_sample(shared_file(3))])[0]
    pearson = float(printed.split("pearson")[1].split()[0])
    mask = item.mask.numpy()
    assert abs(np.corrcoef(predict_z(model, item.graph)[mask], item.propensity[mask])[0, 1] - pearson) < 1e-3
    assert model.metadata["target_std"] > 0.0 and model.metadata["card"]["target"] == "mean_abs_displacement"

    assert main(["train", str(config), "--epochs", "3"]) == 2  # settings come from the file
    assert "do not apply: ['epochs']" in capsys.readouterr().err
    config.write_text("kind: potential\ndata: [x.extxyz]\n")
    assert main(["train", str(config)]) == 2
    assert "trainable kinds: ['glass']" in capsys.readouterr().err


def test_mlmat_train_glass_resumes_after_sigint_as_if_never_stopped(shared_file, tmp_path, capsys, monkeypatch):
    """SIGINT after the epoch-1 training state: the best network so far is saved, exit 130; ``--resume`` then
    finishes the run with the same network as one uninterrupted run."""

    def config(name: str) -> Path:
        path = tmp_path / f"{name}.yaml"
        path.write_text(
            f"kind: glass\ndata: [{shared_file(1)}, {shared_file(2)}]\nvalidation: [{shared_file(3)}]\n"
            f"width: 8\nn_steps: 1\nepochs: 3\nlearning_rate: 3e-3\noutput: {tmp_path / name}.pt\n"
        )
        return path

    assert main(["train", str(config("whole"))]) == 0
    original, sent = Trainer.save_state, []

    def save_then_interrupt(self):
        path = original(self)
        if not sent:
            sent.append(self.epoch)
            os.kill(os.getpid(), signal.SIGINT)  # reaches the trainer's handler, as Ctrl-C would
        return path

    monkeypatch.setattr(Trainer, "save_state", save_then_interrupt)
    capsys.readouterr()
    assert main(["train", str(config("parts"))]) == 130
    monkeypatch.undo()
    assert sent == [1] and "--resume" in capsys.readouterr().err
    assert load_model(tmp_path / "parts.pt", kind="glass").metadata["card"]["stopped"] == "SIGINT"
    assert torch.load(state_path(tmp_path / "parts.pt"), weights_only=True)["epoch"] == 1

    assert main(["train", str(config("parts")), "--resume"]) == 0
    whole, parts = (load_model(tmp_path / f"{n}.pt", kind="glass").state_dict() for n in ("whole", "parts"))
    for key, value in whole.items():
        torch.testing.assert_close(parts[key], value, rtol=1e-5, atol=1e-6, msg=key)

    assert main(["train", str(config("parts")), "--resume"]) == 2  # the run is complete
    assert "already finished all 3 epochs" in capsys.readouterr().err
