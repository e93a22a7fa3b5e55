"""Glass models in the ase-mlmat model store (kind ``"glass"``): what is glass-specific about storing them.

A glass model's ``config`` says what it is — ``kind`` ``"graph_network"``
(:class:`~mlmat_glass.network.GlassGraphNetwork`, the default for configs without it), ``"linear"``
(:class:`~mlmat_glass.linear_model.DescriptorLinearModel`) or ``"ensemble"``
(:class:`~mlmat_glass.ensemble.PropensityEnsemble`, members' configs under ``members``) or ``"timescales"``
(:class:`~mlmat_glass.timescales.PropensityTimescales`, one model per timescale, their configs under ``models``) —
and holds the builder arguments. The file's metadata holds the output scaling ``target_mean`` / ``target_std``
(propensity of A particles in the training data, σ: output = mean + std · network) and the model card ``card``.
Reading, writing, checksums and the refusal of anything else are :mod:`ase_mlmat.model_store`'s; files of the format
before it (``mlmat-glass-model/1``) still load. Shipped models are registered by name in the entry-point group
``ase_mlmat.pretrained`` (:func:`shipped_path`), so ``ase_mlmat.model_store.load_model("ka-T0.44-botan")`` finds
them.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from torch import nn

from ase_mlmat import model_store
from ase_mlmat.checkpoint import CheckpointError
from ase_mlmat.train import distributed

from .ensemble import PropensityEnsemble
from .linear_model import DescriptorLinearModel
from .network import GlassGraphNetwork
from .timescales import PropensityTimescales

MODEL_KINDS = {
    "graph_network": GlassGraphNetwork,
    "linear": DescriptorLinearModel,
    "ensemble": PropensityEnsemble,
    "timescales": PropensityTimescales,
}
LEGACY_FORMAT = "mlmat-glass-model/1"
SCALING = ("target_mean", "target_std", "card")  # metadata entries a glass model needs


def build_model(config: dict) -> nn.Module:
    """An untrained model of the kind and architecture ``config`` describes (the inverse of ``model.config``)."""
    config = dict(config)
    kind = config.pop("kind", "graph_network")
    if kind not in MODEL_KINDS:
        raise ValueError(f"unknown model kind {kind!r} (known: {sorted(MODEL_KINDS)})")
    if kind == "ensemble":
        return PropensityEnsemble([build_model(member) for member in config["members"]])
    if kind == "timescales":
        models = [build_model(member) for member in config["models"]]
        return PropensityTimescales(models, times=config["times"], labels=config["labels"], target=config["target"])
    return MODEL_KINDS[kind](**config)


def _from_legacy(payload: dict) -> tuple[dict, list[dict], dict]:
    return {"config": payload["config"]}, [payload["state_dict"]], {k: payload[k] for k in SCALING if k in payload}


GLASS = model_store.ModelKind(
    name="glass",
    label="mlmat-glass model",
    types=tuple(MODEL_KINDS.values()),
    spec=lambda model: {"config": dict(model.config)},
    build=lambda spec: build_model(spec["config"]),
    legacy_format=LEGACY_FORMAT,
    from_legacy=_from_legacy,
    train=lambda mapping, resume=False: _train(mapping, resume),
)


def _train(mapping: dict, resume: bool) -> dict:
    from .train_config import train_from_config  # the training stack only when `mlmat train` asks for it

    return train_from_config(mapping, resume)


def shipped_path(name: str) -> Path:
    """File of the glass model shipped as ``name`` (``mlmat_glass/pretrained/<name>.pt``)."""
    path = Path(str(resources.files("mlmat_glass") / "pretrained" / f"{name}.pt"))
    if not path.is_file():
        raise FileNotFoundError(f"no shipped glass model {name!r}")
    return path


class GlassModelError(CheckpointError):
    """A glass-model file is missing, corrupt, of another format or does not match its architecture."""


def save_model(
    model: nn.Module, path: str | os.PathLike, *, target_mean: float, target_std: float, card: dict | None = None
) -> Path:
    """Write the model, its output scaling (σ) and its model card to one file (rank 0 alone, under torchrun)."""
    metadata = {"target_mean": float(target_mean), "target_std": float(target_std), "card": card or {}}
    if not distributed.is_main():  # every training process holds the same model
        return Path(path)
    return model_store.save_model(model, path, metadata)


def load_model(path: str | os.PathLike) -> tuple[nn.Module, dict]:
    """The network (eval mode) and its plain data (``config``, ``target_mean``, ``target_std``, ``card``)."""
    try:
        model = model_store.load_model(path, kind="glass")
    except CheckpointError as err:
        raise GlassModelError(str(err)) from None
    return model, {"config": dict(model.config), "card": {}, **model.metadata}
