"""One-file glass-model checkpoints read with ``torch.load(weights_only=True)`` (loading never runs code).

Payload: ``format`` ("mlmat-glass-model/1"), ``config`` (``kind`` — ``"graph_network"``
(:class:`~mlmat_glass.network.GlassGraphNetwork`, the default for files without it) or ``"linear"``
(:class:`~mlmat_glass.linear_model.DescriptorLinearModel`) or ``"ensemble"``
(:class:`~mlmat_glass.ensemble.PropensityEnsemble`, members' configs under ``members``) or ``"timescales"``
(:class:`~mlmat_glass.timescales.PropensityTimescales`, one model per timescale, their configs under ``models``)
— and the builder arguments),
``state_dict``, ``target_mean`` / ``target_std``
(propensity of A particles in the training data, σ: output = mean + std · network), ``card`` (model card:
plain data), ``version`` and ``sha256`` (checksum of the rest, checked on load). Reading and writing go through
:func:`ase_mlmat.checkpoint.read_checkpoint` / :func:`~ase_mlmat.checkpoint.write_checkpoint`, as for the core's
potentials and property models.
"""

from __future__ import annotations

import os
from pathlib import Path

from torch import nn

from ase_mlmat.checkpoint import CheckpointError, read_checkpoint, write_checkpoint

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


FORMAT = "mlmat-glass-model/1"


class GlassModelError(CheckpointError):
    """A glass-model file is missing, corrupt, of another format or does not match its architecture."""


def save_model(
    model: nn.Module, path: str | os.PathLike, *, target_mean: float, target_std: float, card: dict | None = None
) -> Path:
    """Write the model, its output scaling (σ) and its model card to one file."""
    from . import __version__

    payload = {
        "format": FORMAT,
        "version": __version__,
        "config": dict(model.config),
        "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        "target_mean": float(target_mean),
        "target_std": float(target_std),
        "card": card or {},
    }
    return write_checkpoint(payload, path)


def load_model(path: str | os.PathLike) -> tuple[nn.Module, dict]:
    """The network (eval mode) and the payload's plain data (scaling, card) from ``path``."""
    try:
        payload = read_checkpoint(path, FORMAT, "mlmat-glass model")
    except CheckpointError as err:
        raise GlassModelError(str(err)) from None
    try:
        model = build_model(payload["config"])
        model.load_state_dict(payload["state_dict"])
    except (KeyError, RuntimeError, TypeError, ValueError) as err:
        raise GlassModelError(f"{str(path)!r} does not match its architecture: {err}") from None
    info = {k: v for k, v in payload.items() if k != "state_dict"}
    return model.eval(), info
