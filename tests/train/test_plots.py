"""Training plots: every axis names its unit, every title says what and in which unit."""

from __future__ import annotations

import re

import numpy as np
import pytest

from ase_mlmat.train.plots import learning_curve, learning_curve_figure, parity_figure, parity_plot
from ase_mlmat.train.property_plots import parity_figure_targets, parity_plot_targets, target_axis
from ase_mlmat.train.trainer import History

pytest.importorskip("matplotlib")

UNIT = re.compile(r"eV|Å|GPa|dex|\(passes over the training set\)")


def _labels(fig) -> list[tuple[str, str, str]]:
    return [(ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) for ax in fig.axes]


def _pred(rng, with_stress=True) -> dict[str, np.ndarray]:
    n = np.array([2, 4, 8])
    energy = rng.normal(size=3) * n
    forces = rng.normal(size=(14, 3))
    stress = rng.normal(size=(3, 6)) * 1e-3 if with_stress else np.zeros((0, 6))
    return {
        "num_atoms": n,
        "energy": energy + 0.004 * n,  # 4 meV/atom off
        "energy_ref": energy,
        "forces": forces + 0.1,
        "forces_ref": forces,
        "stress": stress,
        "stress_ref": stress,
    }


def test_learning_curve_names_its_units(tmp_path):
    history = History(epoch=[1, 2, 3], train_loss=[3.0, 2.0, 1.0], val_loss=[3.5, 2.5, 1.5], best_epoch=3)
    ((xlabel, ylabel, title),) = _labels(learning_curve_figure(history))
    assert "epoch" in xlabel and UNIT.search(xlabel)
    assert ylabel == "loss (dimensionless)"  # weights carry the inverse squared units
    assert "eV/atom" in title and "eV/Å" in title and "eV/Å³" in title
    assert learning_curve(history, tmp_path / "lc.png").stat().st_size > 0


def test_parity_plot_axes_and_titles_carry_units(tmp_path):
    pred = _pred(np.random.default_rng(0))
    labels = _labels(parity_figure(pred))
    units = ["eV/atom", "eV/Å", "GPa"]
    assert len(labels) == 3
    for (xlabel, ylabel, title), unit in zip(labels, units):
        assert xlabel.endswith(f"({unit})") and ylabel.endswith(f"({unit})")
        assert title.startswith(("energy per atom", "force components", "stress components")) and f"({unit})" in title
    assert labels[0][2].endswith("MAE 4 meV/atom")  # the energy MAE in meV/atom, as the metrics report it
    assert labels[1][2].endswith("MAE 0.1 eV/Å")
    assert labels[2][2].endswith("GPa")
    assert len(_labels(parity_figure(_pred(np.random.default_rng(1), with_stress=False)))) == 2
    assert parity_plot(pred, tmp_path / "parity.png").stat().st_size > 0


def test_property_parity_plot_names_log_units(tmp_path):
    rng = np.random.default_rng(0)
    true = rng.normal(2.0, 0.3, size=(20, 2))
    predicted = true + 0.1
    fig = parity_figure_targets(true, predicted, ["log10_K_VRH_GPa", "log10_G_VRH_GPa"])
    for (xlabel, ylabel, title), quantity in zip(_labels(fig), ["K_VRH", "G_VRH"]):
        assert xlabel == f"reference log10({quantity} / GPa)" and ylabel == f"predicted log10({quantity} / GPa)"
        assert title == f"log10({quantity} / GPa): MAE 0.100 dex (×1.26)"
    assert target_axis("band_gap_eV") == ("band_gap (eV)", "eV")
    assert target_axis("alpha_per_K") == ("alpha (1/K)", "1/K")
    assert target_axis("score") == ("score (unit of the data)", "(unit of the data)")
    path = parity_plot_targets(true, predicted, ["log10_K_VRH_GPa", "log10_G_VRH_GPa"], tmp_path / "p.png")
    assert path.stat().st_size > 0


def test_learning_curve_title_follows_the_loss_terms():
    from ase_mlmat.train import TrainConfig
    from ase_mlmat.train.plots import loss_title

    huber = TrainConfig(losses={"forces": {"loss": "huber"}})
    assert loss_title(huber.losses, huber.kind) == "Loss: Σ weight · HUBER/MSE of E/N (eV/atom), F (eV/Å), σ (eV/Å³)"
    prop = TrainConfig(targets=["log10_K_VRH_GPa"])
    assert loss_title(prop.losses, prop.kind) == "Loss: Σ weight · L1 of each target / its training-set std"
