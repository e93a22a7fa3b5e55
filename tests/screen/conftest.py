"""Fixtures of the screening tests: a slice of the MP moduli data and a small CGCNN trained on it."""

from __future__ import annotations

import pytest
import torch

from ase_mlmat.data.elastic import load_moduli_dataset
from ase_mlmat.train import TrainConfig
from ase_mlmat.train.property import train_property

from ..conftest import DATA

MODULI_DATA = DATA / "elastic" / "mp-binary-pbe-elasticity-2025.1.json.gz"
SMALL_MODEL = {"cutoff": 6.0, "num_features": 24, "num_interactions": 2, "num_hidden": 32}


@pytest.fixture(autouse=True)
def one_thread():
    """The machine is shared: every test runs torch on one thread."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def moduli_slice():
    """The first 400 structures of the MP binary elasticity set (log10 K, G targets)."""
    return load_moduli_dataset(MODULI_DATA, limit=400)


TARGETS = ["log10_K_VRH_GPa", "log10_G_VRH_GPa"]


def small_config(tmp_path, **overrides) -> TrainConfig:
    base = dict(
        data=str(MODULI_DATA),
        targets=TARGETS,
        limit=400,
        model=SMALL_MODEL,
        max_neighbors=8,
        epochs=30,
        batch_size=32,
        learning_rate=5e-3,
        val_fraction=0.2,
        early_stopping_patience=30,
        progress=False,
        plots=False,
        output=str(tmp_path / "small.pt"),
    )
    base.update(overrides)
    return TrainConfig.from_dict(base)


@pytest.fixture(scope="session")
def trained_small(tmp_path_factory, moduli_slice):
    """A two-member ensemble trained on the slice, saved to a checkpoint; (result, path)."""
    tmp = tmp_path_factory.mktemp("model")
    config = small_config(tmp, ensemble_size=2)
    return train_property(config, moduli_slice), tmp / "small.pt"
