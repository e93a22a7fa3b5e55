"""One-file glass-model checkpoints read with ``torch.load(weights_only=True)`` (loading never runs code).

Payload: ``format`` ("mlmat-glass-model/1"), ``config`` (``kind`` — ``"graph_network"``
(:class:`~mlmat_glass.network.GlassGraphNetwork`, the default for files without it) or ``"linear"``
(:class:`~mlmat_glass.linear_model.DescriptorLinearModel`) or ``"ensemble"``
(:class:`~mlmat_glass.ensemble.PropensityEnsemble`, members' configs under ``members``) — and the builder
arguments),
``state_dict``, ``target_mean`` / ``target_std``
(propensity of A particles in the training data, σ: output = mean + std · network), ``card`` (model card:
plain data) and ``version``.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path

import torch
from torch import nn

from .ensemble import PropensityEnsemble
from .linear_model import DescriptorLinearModel
from .network import GlassGraphNetwork

MODEL_KINDS = {"graph_network": GlassGraphNetwork, "linear": DescriptorLinearModel, "ensemble": PropensityEnsemble}


def build_model(config: dict) -> nn.Module:
    """An untrained model of the kind and architecture ``config`` describes (the inverse of ``model.config``)."""
    config = dict(config)
    kind = config.pop("kind", "graph_network")
    if kind not in MODEL_KINDS:
        raise ValueError(f"unknown model kind {kind!r} (known: {sorted(MODEL_KINDS)})")
    if kind == "ensemble":
        return PropensityEnsemble([build_model(member) for member in config["members"]])
    return MODEL_KINDS[kind](**config)


FORMAT = "mlmat-glass-model/1"


class GlassModelError(ValueError):
    """A glass-model file is missing, corrupt, of another format or does not match its architecture."""


def save_model(
    model: nn.Module, path: str | os.PathLike, *, target_mean: float, target_std: float, card: dict | None = None
) -> Path:
    """Write the model, its output scaling (σ) and its model card to one file."""
    from . import __version__

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": FORMAT,
        "version": __version__,
        "config": dict(model.config),
        "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        "target_mean": float(target_mean),
        "target_std": float(target_std),
        "card": card or {},
    }
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)
    return path


def load_model(path: str | os.PathLike) -> tuple[nn.Module, dict]:
    """The network (eval mode) and the payload's plain data (scaling, card) from ``path``."""
    path = Path(path)
    if not path.is_file():
        raise GlassModelError(f"glass model {str(path)!r} does not exist")
    if not zipfile.is_zipfile(path):
        raise GlassModelError(f"{str(path)!r} is corrupt or not a torch file (not a torch.save zip archive)")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise GlassModelError(f"{str(path)!r} holds objects other than tensors and plain data (refused)") from err
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as err:
        raise GlassModelError(f"{str(path)!r} is corrupt or not a torch file: {err}") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise GlassModelError(f"{str(path)!r} is not a glass-model file (format {FORMAT!r} expected)")
    try:
        model = build_model(payload["config"])
        model.load_state_dict(payload["state_dict"])
    except (KeyError, RuntimeError, TypeError, ValueError) as err:
        raise GlassModelError(f"{str(path)!r} does not match its architecture: {err}") from None
    info = {k: v for k, v in payload.items() if k != "state_dict"}
    return model.eval(), info
