"""``mlmat train CONFIG`` with ``kind: glass``: the core routes the file to this plugin's model kind, which trains a
glass network with the core's trainer and saves it to the model store."""

from __future__ import annotations

import numpy as np
from mlmat_glass.network import GlassGraphNetwork
from mlmat_glass.storage import load_sample
from mlmat_glass.training import predict_z, prepare

from ase_mlmat.cli import main
from ase_mlmat.model_store import load_model


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
