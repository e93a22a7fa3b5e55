"""Device choice: "auto", explicit devices, clear errors, and models moved as copies, never under the caller."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ase_mlmat import MLCalculator
from ase_mlmat.devices import module_device, resolve_device
from ase_mlmat.models import Ensemble, PropertyModel
from ase_mlmat.properties.ml_moduli import load_moduli_model

HAS_CUDA = torch.cuda.is_available()


def test_auto_picks_cuda_exactly_when_torch_sees_it():
    assert resolve_device("auto").type == ("cuda" if HAS_CUDA else "cpu")
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")


def test_unknown_or_missing_devices_are_refused_clearly():
    with pytest.raises(ValueError, match="device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got 'gpu0'"):
        resolve_device("gpu0")
    with pytest.raises(ValueError, match="device must be"):
        MLCalculator("mlearn-Si", device="nonsense")
    if not HAS_CUDA:
        with pytest.raises(ValueError, match="torch sees no CUDA device"):
            resolve_device("cuda")
        with pytest.raises(ValueError, match="no CUDA"):
            MLCalculator("mlearn-Si", device="cuda:0")


def test_module_device_reads_parameters_then_buffers():
    assert module_device(nn.Linear(2, 2)).type == "cpu"
    assert module_device(nn.ReLU()).type == "cpu"  # no tensors at all
    holder = nn.Module()
    holder.register_buffer("scale", torch.ones(1, dtype=torch.float64))
    assert module_device(holder).type == "cpu"
    if HAS_CUDA:
        assert module_device(holder.cuda()).type == "cuda"


def test_moduli_model_on_its_device_is_used_as_given():
    member = PropertyModel(
        "cgcnn",
        {"cutoff": 5.0, "num_features": 8, "num_interactions": 1, "num_hidden": 8},
        ["Si", "C"],
        ["log10_K_VRH_GPa", "log10_G_VRH_GPa"],
    )
    ensemble = Ensemble([member])
    assert load_moduli_model(ensemble, "cpu") is ensemble
    if HAS_CUDA:
        moved = load_moduli_model(ensemble, "cuda")
        assert moved is not ensemble and module_device(moved).type == "cuda"
        assert module_device(ensemble).type == "cpu"  # the caller's model stayed where it was


def test_configs_check_their_device_before_any_work(tmp_path):
    from ase_mlmat.active.config import ActiveConfig
    from ase_mlmat.train import TrainConfig

    assert TrainConfig.from_dict({"data": "x.json", "targets": ["log10_K_VRH_GPa"]}).device == "auto"
    for make in (
        lambda d: TrainConfig.from_dict({"data": "x.json", "targets": ["log10_K_VRH_GPa"], "device": d}),
        lambda d: TrainConfig.from_dict({"data": ["x.extxyz"], "device": d}),
        lambda d: ActiveConfig.from_dict(
            {"db": str(tmp_path / "al.db"), "reference": "ase.calculators.emt:EMT", "device": d}
        ),
    ):
        with pytest.raises(ValueError, match="device must be"):
            make("gpu")
        if not HAS_CUDA:
            with pytest.raises(ValueError, match="no CUDA"):
                make("cuda")
